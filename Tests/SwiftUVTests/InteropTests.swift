import TestSupport
import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Peers not written here: Python's `socket` module, byte for byte.
@Suite("Interop with Python")
struct InteropTests {
    static let size = 10 * 1024 * 1024

    /// A payload of `size` bytes that no shifted copy of itself matches.
    static let payload: [UInt8] = {
        var state: UInt32 = 2_463_534_242
        return (0..<size).map { _ in
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            return UInt8(truncatingIfNeeded: state)
        }
    }()

    static let pythonEchoServer = """
    import socket, sys
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
    print(s.getsockname()[1], flush=True)
    c, _ = s.accept()
    while True:
        b = c.recv(65536)
        if not b: break
        c.sendall(b)
    c.close()
    """

    static let pythonClient = """
    import socket, sys, hashlib
    port, size = int(sys.argv[1]), int(sys.argv[2])
    data = sys.stdin.buffer.read()
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(data); c.shutdown(socket.SHUT_WR)
    got = bytearray()
    while True:
        b = c.recv(65536)
        if not b: break
        got += b
    sys.exit(0 if bytes(got) == data and len(data) == size else 1)
    """

    @Test("a SwiftUV client and a Python echo server exchange 10 MB", arguments: backends)
    func clientToPython(backend: Backend) throws {
        let python = try Subprocess(["python3", "-c", Self.pythonEchoServer], pipeStdout: true)
        let port = try #require(Int(python.readLine()))

        let loop = try Loop(backend: backend)
        let client = try TCP(loop: loop)
        var received: [UInt8] = []
        received.reserveCapacity(Self.size)
        var ended = false
        try client.connect(to: SocketAddress(ip: "127.0.0.1", port: port)) { error in
            #expect(error == nil)
            try? client.readStart(bytes: { result in
                switch result {
                case .success(let bytes): received += bytes
                case .failure(let e):
                    #expect(e == .endOfFile)
                    ended = true
                    try? client.close()
                }
            })
            try? client.write(Self.payload)
            try? client.shutdown()
        }
        try loop.run()
        #expect(ended)
        #expect(received.count == Self.size)
        #expect(received == Self.payload)
        try loop.close()
        #expect(python.wait() == 0)
    }

    @Test("a Python client and a SwiftUV echo server exchange 10 MB", arguments: backends)
    func pythonToServer(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        var echoed = 0
        let server = try acceptingServer(loop) { peer, server in
            try? peer.readStart { result in
                switch result {
                case .success(let bytes):
                    echoed += bytes.count
                    if !bytes.isEmpty { try? peer.write(Array(bytes)) }
                case .failure:
                    try? peer.shutdown { _ in try? peer.close() }
                    try? server.close()
                }
            }
        }
        let python = try Subprocess(["python3", "-c", Self.pythonClient, String(try server.localAddress().port!), String(Self.size)],
                                    pipeStdin: true)
        // The child reads all of stdin before it connects.
        python.writeAllAndClose(Self.payload)
        try loop.run()
        #expect(python.wait() == 0, "the Python client saw every byte come back")
        #expect(echoed == Self.size)
        try loop.close()
    }

    static let pythonUDPEcho = """
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1], flush=True)
    while True:
        data, peer = s.recvfrom(65536)
        if data == b"BYE": break
        s.sendto(data, peer)
    """

    static let pythonUDPClient = """
    import socket, sys
    port = int(sys.argv[1])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
    for i in range(200):
        d = bytes((i * 7 + k) % 256 for k in range(1000 + i))
        s.sendto(d, ("127.0.0.1", port))
        back, _ = s.recvfrom(65536)
        if back != d: sys.exit(1)
    s.sendto(b"BYE", ("127.0.0.1", port))
    """

    static func datagram(_ i: Int) -> [UInt8] {
        (0..<(1000 + i)).map { UInt8(truncatingIfNeeded: i * 7 + $0) }
    }

    @Test("UDP: SwiftUV sends 200 datagrams to a Python echo, each comes back byte for byte", arguments: backends)
    func udpToPython(backend: Backend) throws {
        let python = try Subprocess(["python3", "-c", Self.pythonUDPEcho], pipeStdout: true)
        let port = try #require(Int(python.readLine()))
        let loop = try Loop(backend: backend)
        let udp = try UDP(loop: loop)
        let peer = try SocketAddress(ip: "127.0.0.1", port: port)
        var next = 0
        var matched = 0
        try udp.receiveStart { result in
            guard case .success(let d) = result, !d.bytes.isEmpty else { return }
            if Array(d.bytes) == Self.datagram(next) { matched += 1 }
            next += 1
            if next == 200 {
                try? udp.send("BYE", to: peer) { _ in try? udp.close() }
            } else {
                try? udp.send(Self.datagram(next), to: peer)
            }
        }
        try udp.send(Self.datagram(0), to: peer)
        try loop.run()
        #expect(matched == 200)
        #expect(python.wait() == 0)
        try loop.close()
    }

    @Test("UDP: a Python client's 200 datagrams come back from a SwiftUV echo byte for byte", arguments: backends)
    func pythonToUDP(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let udp = try UDP(loop: loop)
        try udp.bind("127.0.0.1:0")
        try udp.receiveStart { result in
            guard case .success(let d) = result, !d.bytes.isEmpty, let sender = d.sender else { return }
            if Array(d.bytes) == Array("BYE".utf8) { try? udp.close(); return }
            try? udp.send(Array(d.bytes), to: sender)
        }
        let python = try Subprocess(["python3", "-c", Self.pythonUDPClient, String(try udp.localAddress().port!)])
        try loop.run()
        #expect(python.wait() == 0, "the Python client saw each datagram come back")
        try loop.close()
    }
}
