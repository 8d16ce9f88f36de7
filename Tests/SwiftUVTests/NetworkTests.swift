import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Socket addresses")
struct SocketAddressTests {
    @Test("parses IPv4, IPv6 and Unix forms, and prints them back")
    func parsing() throws {
        let v4 = try SocketAddress("127.0.0.1:8080")
        #expect(v4.host == "127.0.0.1" && v4.port == 8080 && !v4.isIPv6)
        #expect(v4.description == "127.0.0.1:8080")
        let v6 = try SocketAddress("[::1]:80")
        #expect(v6.host == "::1" && v6.port == 80 && v6.isIPv6)
        #expect(v6.description == "[::1]:80")
        let unix = try SocketAddress("/tmp/swiftuv.sock")
        #expect(unix.port == nil && unix.description == "/tmp/swiftuv.sock")
        #expect(try SocketAddress(ip: "10.0.0.1", port: 0) == SocketAddress("10.0.0.1:0"))
    }

    @Test("bad addresses and ports are clear errors", arguments: [
        "127.0.0.1", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:65536", "127.0.0.1:-1",
        "300.1.1.1:80", "::1:80", "[::1]80", "[::1", "localhost:80", "",
    ])
    func badInput(text: String) {
        #expect(throws: UVError.invalidArgument) { try SocketAddress(text) }
    }

    @Test("a Unix path longer than sun_path is refused: ENAMETOOLONG")
    func longUnixPath() {
        #expect(throws: UVError.nameTooLong) { try SocketAddress(unixPath: "/" + String(repeating: "x", count: 200)) }
    }
}

@Suite("TCP lifetime and misuse")
struct TCPLifetimeTests {
    @Test("a connection whose references are dropped with writes in flight completes them and is released", arguments: backends)
    func droppedWithWritesInFlight(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        var received = 0
        let server = try acceptingServer(loop) { peer, server in
            try? peer.readStart { result in
                switch result {
                case .success(let b): received += b.count
                case .failure: try? peer.close(); try? server.close()
                }
            }
        }
        var writes = 0
        var weak: Weak<TCP>?
        do {
            let client = try TCP(loop: loop)
            weak = Weak(client)
            try client.connect(to: server.localAddress()) { _ in
                for _ in 0..<10 {
                    try? client.write([UInt8](repeating: 1, count: 100_000)) { error in
                        #expect(error == nil)
                        writes += 1
                    }
                }
                try? client.shutdown { _ in try? client.close() }
            }
        }
        try loop.run()
        #expect(writes == 10)
        #expect(received == 1_000_000)
        #expect(weak?.object == nil)
        #expect(loop.liveHandleCount == 0 && loop.liveRequestCount == 0)
        try loop.close()
    }

    @Test("closing inside the read callback", arguments: backends)
    func closeInReadCallback(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let server = try acceptingServer(loop) { peer, server in
            try? peer.write(String(repeating: "z", count: 200_000)) { _ in try? peer.close() }
            try? server.close()
        }
        let client = try TCP(loop: loop)
        var reads = 0
        try client.connect(to: server.localAddress()) { _ in
            try? client.readStart { _ in
                reads += 1
                try? client.close()  // the remaining reads of this burst must not run
            }
        }
        try loop.run()
        #expect(reads == 1)
        try loop.close()
    }

    @Test("calls on a closed TCP handle, a bad address, write after shutdown", arguments: backends)
    func misuse(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let tcp = try TCP(loop: loop)
        #expect(throws: UVError.invalidArgument) { try tcp.bind("nonsense") }
        #expect(throws: UVError.invalidArgument) { try tcp.connect(to: "127.0.0.1:99999") { _ in } }
        #expect(throws: UVError.invalidArgument) { try tcp.bind(SocketAddress("/tmp/x.sock")) }
        try tcp.close()
        #expect(throws: UVError.invalidArgument) { try tcp.connect(to: "127.0.0.1:80") { _ in } }
        #expect(throws: UVError.invalidArgument) { try tcp.readStart { _ in } }
        #expect(throws: UVError.badFileDescriptor) { try tcp.write("x") }
        #expect(throws: UVError.notConnected) { try tcp.shutdown() }
        #expect(throws: UVError.invalidArgument) { try tcp.closeReset() }
        #expect(throws: UVError.invalidArgument) { try tcp.localAddress() }
        try loop.run()
        #expect(throws: UVError.invalidArgument) { try tcp.close() }
        try loop.close()
    }

    @Test("writing to a socket the peer closed gives an error, not SIGPIPE", arguments: backends)
    func noSIGPIPE(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let server = try acceptingServer(loop) { peer, server in
            try? peer.closeReset()
            try? server.close()
        }
        let client = try TCP(loop: loop)
        var errors: [UVError] = []
        try client.connect(to: server.localAddress()) { _ in
            let timer = try! UVTimer(loop: loop)
            try? timer.start(timeout: 50, repeat: 0) { t in
                for _ in 0..<3 {
                    try? client.write("after the reset") { if let e = $0 { errors.append(e) } }
                }
                try? client.close()
                try? t.close()
            }
        }
        try loop.run()
        #expect(!errors.isEmpty)
        #expect(errors.allSatisfy { [.brokenPipe, .connectionReset, .cancelled].contains($0) })
        try loop.close()
    }

    @Test("refused before libuv would assert: empty vectored write, unknown poll bits, Unix address on an unbound UDP socket, a second pipe connect", arguments: backends)
    func assertsRefused(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        var fds: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        let pipe = try UVPipe(loop: loop)
        try pipe.open(fds[0])
        #expect(throws: UVError.invalidArgument) { try pipe.write(vectored: []) }
        let poll = try Poll(loop: loop, fd: fds[1])
        #expect(throws: UVError.invalidArgument) { try poll.start(Poll.Events(rawValue: 16), nil) }
        let udp = try UDP(loop: loop)
        #expect(throws: UVError.invalidArgument) { try udp.send("x", to: SocketAddress("/tmp/x.sock")) }
        #expect(throws: UVError.invalidArgument) { try udp.trySend([1], to: SocketAddress("/tmp/x.sock")) }
        let client = try UVPipe(loop: loop)
        var calls = 0
        try client.connect(to: "/tmp/nothing-\(getpid()).sock") { _ in calls += 1 }
        #expect(throws: UVError.alreadyInProgress) { try client.connect(to: "/tmp/other.sock") { _ in calls += 1 } }
        try loop.shutdown()
        close(fds[1])
        #expect(calls == 1)
    }
}

@Suite("Connecting by host name")
struct HostConnectTests {
    /// A listener on 127.0.0.1 and a port there where nothing listens.
    static func listenerAndClosedPort(_ loop: Loop) throws -> (TCP, SocketAddress, SocketAddress) {
        let probe = try TCP(loop: loop)
        try probe.bind("127.0.0.1:0")
        let closed = try probe.localAddress()
        try probe.close()
        let listener = try TCP(loop: loop)
        try listener.bind("127.0.0.1:0")
        try listener.listen { _ in
            if let peer = try? TCP(loop: loop) { try? listener.accept(peer); try? peer.close() }
        }
        return (listener, try listener.localAddress(), closed)
    }

    @Test("the addresses are tried in turn: a refused one is closed and the next connects", arguments: backends)
    func inTurn(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let (listener, open, closed) = try Self.listenerAndClosedPort(loop)
        var connected: TCP?
        try TCP.connect(loop: loop, to: [closed, open]) { result in
            connected = try? result.get()
            #expect((try? connected?.peerAddress()) == open)
            try? connected?.close()
            try? listener.close()
        }
        try loop.run()
        #expect(connected != nil)
        var handles = 0
        loop.walk { _ in handles += 1 }
        #expect(handles == 0, "the refused attempt's handle is closed")
        try loop.close()
    }

    @Test("every address refused: the last error, naming what was tried; an empty list is refused", arguments: backends)
    func allRefused(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let (listener, _, closed) = try Self.listenerAndClosedPort(loop)
        try listener.close()
        var failure: UVError?
        try TCP.connect(loop: loop, host: "127.0.0.1", port: closed.port!) { result in
            if case .failure(let error) = result { failure = error }
        }
        try loop.run()
        #expect(failure == .connectionRefused)
        #expect(failure?.context == "TCP.connect(\"127.0.0.1\", port \(closed.port!)): tried \(closed)")
        #expect(throws: UVError.invalidArgument) { try TCP.connect(loop: loop, to: []) { _ in } }
        #expect(throws: UVError.invalidArgument) { try TCP.connect(loop: loop, host: "127.0.0.1", port: 65536) { _ in } }
        #expect(throws: UVError.invalidArgument) { try TCP.connect(loop: loop, host: "127.0.0.1", port: -1) { _ in } }
        try loop.close()
    }

    @Test("async: connect to localhost by name and get the handle", arguments: backends)
    func byName(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let (listener, open, _) = try Self.listenerAndClosedPort(loop)
        var peer: SocketAddress?
        try loop.run {
            let tcp = try await TCP.connect(loop: loop, host: "localhost", port: open.port!)
            peer = try tcp.peerAddress()
            try tcp.close()
            try listener.close()
        }
        #expect(peer?.port == open.port)
        try loop.close()
    }
}

@Suite("Idle and read timeouts")
struct IdleTimeoutTests {
    /// A pipe handle on one end of a socket pair, and the other end's descriptor.
    static func pipeOnSocketPair(_ loop: Loop) throws -> (UVPipe, Int32) {
        let pair = try System.socketPair()
        let stream = try UVPipe(loop: loop)
        try stream.open(pair.0)
        return (stream, pair.1)
    }

    @Test("onIdle runs only after the timeout of quiet since the last read or write, and may close the stream", arguments: backends)
    func idleAfterQuiet(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let (stream, peerFD) = try Self.pipeOnSocketPair(loop)
        let peer = try UVPipe(loop: loop)
        try peer.open(peerFD)
        var lastActivity = loop.now
        var quietAtIdle: [UInt64] = []
        try stream.readStart { _ in lastActivity = loop.now }
        try stream.setIdleTimeout(.milliseconds(50)) { idle in
            quietAtIdle.append(loop.now - lastActivity)
            if quietAtIdle.count == 2 { try? idle.close(); try? peer.close() }
        }
        // Five writes 10 ms apart keep it busy for a while (however late the
        // timer runs), then quiet.
        let writer = try UVTimer(loop: loop)
        var writes = 0
        try writer.start(after: .milliseconds(10), repeat: .milliseconds(10)) { timer in
            writes += 1
            try? peer.write("x")
            if writes == 5 { try? timer.close() }
        }
        try loop.run()
        #expect(quietAtIdle.count == 2)
        #expect(quietAtIdle.allSatisfy { $0 >= 50 }, "\(quietAtIdle)")
        #expect(throws: UVError.invalidArgument) { try UVPipe(loop: loop).setIdleTimeout(.milliseconds(-1)) { _ in } }
        try loop.shutdown()
    }

    @Test("a watch set to nil never fires, and does not keep the loop alive", arguments: backends)
    func stopped(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let (stream, peerFD) = try Self.pipeOnSocketPair(loop)
        var fired = false
        try stream.setIdleTimeout(.milliseconds(1)) { _ in fired = true }
        try stream.setIdleTimeout(nil, nil)
        let timer = try UVTimer(loop: loop)
        try timer.start(after: .milliseconds(20)) { t in try? t.close() }
        try loop.run()
        #expect(!fired)
        // Only the stream is open, not reading: nothing keeps the loop alive.
        try stream.setIdleTimeout(.milliseconds(1)) { _ in fired = true }
        #expect(try loop.run(.noWait) == false)
        try stream.close()
        close(peerFD)
        try loop.shutdown()
    }

    @Test("async: next() gives up after the read timeout, and the stream reads on", arguments: backends)
    func readTimeout(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let (stream, peerFD) = try Self.pipeOnSocketPair(loop)
        var outcomes: [String] = []
        try loop.run {
            var chunks = stream.chunks(readTimeout: .milliseconds(20)).makeAsyncIterator()
            do {
                _ = try await chunks.next()
                outcomes.append("bytes")
            } catch let error as UVError {
                outcomes.append(error.name)
            }
            _ = write(peerFD, "late", 4)
            let late = try await chunks.next()
            outcomes.append(String(decoding: late ?? [], as: UTF8.self))
            try stream.close()
        }
        close(peerFD)
        #expect(outcomes == ["ETIMEDOUT", "late"])
        try loop.shutdown()
    }
}
