import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Passing handles over IPC pipes (libuv's ipc and pipe_sendmsg cases, in
/// one process over a socket pair).
@Suite("IPC")
struct IPCTests {
    func ipcPair(_ loop: Loop) throws -> (UVPipe, UVPipe) {
        var fds: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        let a = try UVPipe(loop: loop, ipc: true)
        let b = try UVPipe(loop: loop, ipc: true)
        try a.open(fds[0])
        try b.open(fds[1])
        return (a, b)
    }

    @Test("a connected TCP socket passed over a pipe is accepted and used on the other side", arguments: backends)
    func passTCP(backend: Backend) throws {
        try withLoop(backend) { loop in
            let (a, b) = try ipcPair(loop)
            var received: [UInt8] = []
            var pending: (Int, HandleType?) = (0, nil)
            // Side B: takes the passed connection and greets through it.
            try b.readStart { result in
                guard case .success(let bytes) = result, !bytes.isEmpty else { return }
                pending = (b.pendingCount, b.pendingType)
                let passed = try! TCP(loop: loop)
                try? b.accept(passed)
                try? passed.write("hello through a passed socket") { _ in
                    try? passed.close()
                    try? b.close()
                }
            }
            // Side A: accepts a connection and passes it to B.
            let server = try tcpServer(loop) { peer in
                try? a.write(Array("take this".utf8), sending: peer) { error in
                    #expect(error == nil)
                    try? peer.close()  // B holds its own copy now
                    try? a.close()
                }
            }
            let client = try TCP(loop: loop)
            try client.connect(to: server.localAddress()) { _ in
                try? client.readStart(bytes: { result in
                    switch result {
                    case .success(let bytes): received += bytes
                    case .failure: try? client.close(); try? server.close()
                    }
                })
            }
            try loop.run()
            #expect(pending.0 == 1 && pending.1 == .tcp)
            #expect(String(decoding: received, as: UTF8.self) == "hello through a passed socket")
        }
    }

    @Test("a bound UDP socket passed over a pipe receives on the other side", arguments: backends)
    func passUDP(backend: Backend) throws {
        try withLoop(backend) { loop in
            let (a, b) = try ipcPair(loop)
            let original = try UDP(loop: loop)
            try original.bind("127.0.0.1:0")
            let address = try original.localAddress()
            var got = ""
            try b.readStart { result in
                guard case .success(let bytes) = result, !bytes.isEmpty, b.pendingType == .udp else { return }
                let passed = try! UDP(loop: loop)
                try? b.accept(passed)
                try? b.close()
                try? passed.receiveStart { result in
                    guard case .success(let d) = result, !d.bytes.isEmpty else { return }
                    got = String(decoding: d.bytes, as: UTF8.self)
                    try? passed.close()
                }
                let sender = try! UDP(loop: loop)
                try? sender.send("to the passed socket", to: address) { _ in try? sender.close() }
            }
            try a.write(Array("udp".utf8), sending: original) { _ in
                try? original.close()
                try? a.close()
            }
            try loop.run()
            #expect(got == "to the passed socket")
        }
    }

    @Test("sending a handle over a pipe that is not IPC gives EINVAL", arguments: backends)
    func notIPC(backend: Backend) throws {
        try withLoop(backend) { loop in
            var fds: [Int32] = [-1, -1]
            #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
            let plain = try UVPipe(loop: loop)
            try plain.open(fds[0])
            close(fds[1])
            let tcp = try TCP(loop: loop, family: .ipv4)
            #expect(throws: UVError.invalidArgument) { try plain.write([1], sending: tcp) }
            #expect(plain.pendingCount == 0 && plain.pendingType == nil)
        }
    }

    @Test("a handle closed before its queued send goes out: the write gets EBADF, nothing is freed early", arguments: backends)
    func sentHandleClosedEarly(backend: Backend) throws {
        try withLoop(backend) { loop in
            let (a, b) = try ipcPair(loop)
            let tcp = try TCP(loop: loop, family: .ipv4)
            var sendStatus: UVError??
            // Fill the pipe so that the send waits in the queue.
            try a.write([UInt8](repeating: 1, count: 4 << 20))
            try a.write(Array("handle".utf8), sending: tcp) { sendStatus = .some($0) }
            // Its close completes while the send waits; only then does the
            // other side start reading and let the queue drain.
            try tcp.close { _ in
                #expect(sendStatus == nil)
                try? b.readStart { _ in }
            }
            let done = try Check(loop: loop)
            try done.start { c in
                if sendStatus != nil { try? a.close(); try? b.close(); try? c.close() }
            }
            try loop.run()
            #expect(sendStatus! == .badFileDescriptor)
        }
    }
}
