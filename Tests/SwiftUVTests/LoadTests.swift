import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Sockets on `port` that still own a descriptor somewhere (TIME_WAIT
/// entries have none), from /proc/net/tcp: robust to other tests running
/// beside this one, unlike counting this process's descriptors.
func socketsWithDescriptors(port: Int) -> Int {
    guard let f = fopen("/proc/net/tcp", "r") else { return -1 }
    defer { fclose(f) }
    var count = 0
    var line = [CChar](repeating: 0, count: 512)
    let hexPort = String(port, radix: 16, uppercase: true)
    let suffix = ":" + String(repeating: "0", count: max(0, 4 - hexPort.count)) + hexPort
    while fgets(&line, Int32(line.count), f) != nil {
        let text = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let fields = text.split(separator: " ")
        guard fields.count > 9, fields[1].hasSuffix(suffix) || fields[2].hasSuffix(suffix) else { continue }
        if fields[9] != "0" { count += 1 }
    }
    return count
}

@Suite("Load")
struct LoadTests {
    @Test("1,000 concurrent connections to an echo server, 64 KiB each: no byte lost, no descriptor left", arguments: backends)
    func thousandConnections(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let server = try TCP(loop: loop)
        try server.bind("127.0.0.1:0")
        let connections = 1000
        let size = 64 * 1024
        var accepted = 0
        try server.listen(backlog: 4096) { error in
            guard error == nil, let peer = try? TCP(loop: loop) else { return }
            guard (try? server.accept(peer)) != nil else { return }
            accepted += 1
            try? peer.readStart { result in
                switch result {
                case .success(let bytes):
                    if !bytes.isEmpty { try? peer.write(Array(bytes)) }
                case .failure(let error):
                    // At EOF, write what is still queued before closing.
                    if error == .endOfFile {
                        do { try peer.shutdown { _ in try? peer.close() } } catch { try? peer.close() }
                    } else {
                        try? peer.close()
                    }
                }
            }
        }
        let address = try server.localAddress()
        var verified = 0
        var failures: [String] = []
        var finished = 0
        let pattern = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        for i in 0..<connections {
            let client = try TCP(loop: loop)
            // Each connection's bytes differ: its number leads the pattern.
            var payload = pattern
            withUnsafeBytes(of: UInt32(i).bigEndian) { payload.replaceSubrange(0..<4, with: $0) }
            var received: [UInt8] = []
            received.reserveCapacity(size)
            try client.connect(to: address) { error in
                if let error {
                    failures.append("connect \(i): \(error)")
                    try? client.close()
                    return
                }
                try? client.readStart { result in
                    switch result {
                    case .success(let bytes):
                        received.append(contentsOf: bytes)
                    case .failure(let error):
                        if error == .endOfFile && received == payload { verified += 1 } else {
                            failures.append("read \(i): \(error), \(received.count) bytes")
                        }
                        try? client.close()
                        finished += 1
                        if finished == connections { try? server.close() }
                    }
                }
                try? client.write(payload)
                try? client.shutdown()
            }
        }
        try loop.run()
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        #expect(accepted == connections)
        #expect(verified == connections)
        #expect(loop.liveHandleCount == 0)
        #expect(socketsWithDescriptors(port: address.port!) == 0)
        try loop.close()
    }
}
