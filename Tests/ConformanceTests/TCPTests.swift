import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// An echo server on 127.0.0.1 written with SwiftUV, on a port the kernel
/// picks. Each connection echoes what it reads; at EOF it shuts down (so
/// that echoes still queued are written first) and then closes, as libuv's
/// own test echo server does.
final class EchoServer {
    let server: TCP
    let address: SocketAddress

    init(loop: Loop) throws {
        server = try TCP(loop: loop)
        try server.bind("127.0.0.1:0")
        let server = self.server
        try server.listen { error in
            guard error == nil, let client = try? TCP(loop: loop) else { return }
            guard (try? server.accept(client)) != nil else { try? client.close(); return }
            try? client.readStart { result in
                switch result {
                case .success(let bytes):
                    if !bytes.isEmpty { try? client.write(Array(bytes)) }
                case .failure(let error):
                    if error == .endOfFile {
                        do { try client.shutdown { _ in try? client.close() } } catch { try? client.close() }
                    } else {
                        try? client.close()
                    }
                }
            }
        }
        address = try server.localAddress()
    }

    func close() { try? server.close() }
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
func closedPort(_ loop: Loop) throws -> SocketAddress {
    let probe = try TCP(loop: loop)
    try probe.bind("127.0.0.1:0")
    let address = try probe.localAddress()
    try probe.close()
    try loop.run()
    return address
}

/// The cases of libuv's TCP and stream tests, against `EchoServer`.
@Suite("TCP and streams")
struct TCPTests {
    @Test("tcp_ping_pong: 1000 round trips, single and vectored buffers", arguments: backends)
    func pingPong(backend: Backend) throws {
        try withLoop(backend) { loop in
            let echo = try EchoServer(loop: loop)
            let client = try TCP(loop: loop)
            var pongs = 0
            var received: [UInt8] = []
            var connectedInCall = true
            try client.connect(to: echo.address) { error in
                #expect(!connectedInCall, "the connect callback is never synchronous")
                #expect(error == nil)
                try? client.readStart(bytes: { result in
                    guard case .success(let bytes) = result else { return }
                    received += bytes
                    while received.count >= 4 {
                        #expect(Array(received.prefix(4)) == Array("PING".utf8))
                        received.removeFirst(4)
                        pongs += 1
                        if pongs == 1000 {
                            try? client.close()
                            echo.close()
                        } else if pongs % 2 == 0 {
                            try? client.write("PING")
                        } else {
                            try? client.write(vectored: [Array("PI".utf8), Array("NG".utf8)])
                        }
                    }
                })
                try? client.write("PING")
            }
            connectedInCall = false
            try loop.run()
            #expect(pongs == 1000)
        }
    }

    @Test("tcp_bind_error_addrinuse_listen", arguments: backends)
    func bindAddrInUseListen(backend: Backend) throws {
        try withLoop(backend) { loop in
            let first = try TCP(loop: loop)
            try first.bind("127.0.0.1:0")
            try first.listen { _ in }
            let address = try first.localAddress()
            let second = try TCP(loop: loop)
            try second.bind(address)  // deferred: succeeds
            #expect(throws: UVError.addressInUse) { try second.listen { _ in } }
        }
    }

    @Test("tcp_bind_error_addrinuse_connect", arguments: backends)
    func bindAddrInUseConnect(backend: Backend) throws {
        try withLoop(backend) { loop in
            let echo = try EchoServer(loop: loop)
            let client = try TCP(loop: loop)
            try client.bind(echo.address)
            var status: UVError?
            var calls = 0
            try client.connect(to: echo.address) { error in
                calls += 1
                status = error
                try? client.close()
                echo.close()
            }
            try loop.run()
            #expect(calls == 1)
            #expect(status == .addressInUse)
        }
    }

    @Test("tcp_bind_error_inval, addrnotavail, listen_without_bind, bind_after_close", arguments: backends)
    func bindErrors(backend: Backend) throws {
        try withLoop(backend) { loop in
            let twice = try TCP(loop: loop)
            try twice.bind("127.0.0.1:0")
            #expect(throws: UVError.invalidArgument) { try twice.bind("127.0.0.1:0") }

            let far = try TCP(loop: loop)
            #expect(throws: UVError.addressNotAvailable) { try far.bind("4.4.4.4:0") }

            let unbound = try TCP(loop: loop)
            try unbound.listen { _ in }
            #expect(try unbound.localAddress().port != 0)

            let closed = try TCP(loop: loop)
            try closed.close()
            #expect(throws: UVError.invalidArgument) { try closed.bind("127.0.0.1:0") }
            #expect(throws: UVError.invalidArgument) { try closed.listen { _ in } }
        }
    }

    @Test("tcp_bind_writable_flags: a listening socket is neither readable nor writable", arguments: backends)
    func bindWritableFlags(backend: Backend) throws {
        try withLoop(backend) { loop in
            let server = try TCP(loop: loop)
            try server.bind("127.0.0.1:0")
            try server.listen { _ in }
            #expect(!server.isReadable && !server.isWritable)
            #expect(throws: UVError.brokenPipe) { try server.write("x") }
            #expect(throws: UVError.notConnected) { try server.shutdown() }
            #expect(throws: UVError.notConnected) { try server.readStart { _ in } }
        }
    }

    @Test("connection_fail: ECONNREFUSED in the callback, the handle stays open", arguments: backends)
    func connectionFail(backend: Backend) throws {
        try withLoop(backend) { loop in
            let address = try closedPort(loop)
            let client = try TCP(loop: loop)
            var status: UVError?
            var calls = 0
            try client.connect(to: address) { error in
                calls += 1
                status = error
                #expect(!client.isClosing, "not closed for you")
            }
            #expect(calls == 0)
            try loop.run()
            #expect(calls == 1)
            #expect(status == .connectionRefused)
        }
    }

    @Test("tcp_connect_error_after_write", arguments: backends)
    func connectErrorAfterWrite(backend: Backend) throws {
        try withLoop(backend) { loop in
            let address = try closedPort(loop)
            let client = try TCP(loop: loop)
            #expect(throws: UVError.badFileDescriptor) { try client.write("x") }
            var trace: [String] = []
            try client.connect(to: address) { error in trace.append("connect \(error?.name ?? "ok")") }
            try client.write("x") { error in trace.append("write \(error?.name ?? "ok")") }
            try loop.run()
            #expect(trace.count == 2)
            #expect(trace.first?.hasPrefix("connect E") == true)
            #expect(trace.last?.hasPrefix("write E") == true)
        }
    }

    @Test("tcp_close_while_connecting: ECANCELED, then both close callbacks", arguments: backends)
    func closeWhileConnecting(backend: Backend) throws {
        try withLoop(backend) { loop in
            let echo = try EchoServer(loop: loop)
            let client = try TCP(loop: loop)
            var trace: [String] = []
            try client.connect(to: echo.address) { error in trace.append("connect \(error?.name ?? "ok")") }
            try client.close { _ in trace.append("close client") }
            try echo.server.close { _ in trace.append("close server") }
            try loop.run()
            // Close callbacks run last closed first; the client's pending
            // connect is cancelled just before its own close callback.
            #expect(trace == ["close server", "connect ECANCELED", "close client"])
        }
    }

    @Test("shutdown_eof: the shutdown callback comes before EOF; EOF does not close", arguments: backends)
    func shutdownEOF(backend: Backend) throws {
        try withLoop(backend) { loop in
            let echo = try EchoServer(loop: loop)
            let client = try TCP(loop: loop)
            var trace: [String] = []
            var received: [UInt8] = []
            try client.connect(to: echo.address) { error in
                #expect(error == nil)
                try? client.readStart(bytes: { result in
                    switch result {
                    case .success(let bytes): received += bytes
                    case .failure(let e):
                        trace.append(e.name)
                        #expect(!client.isClosing)
                        #expect(client.isWritable == false)
                        try? client.close()
                        echo.close()
                    }
                })
                #expect(throws: UVError.alreadyInProgress) { try client.readStart { _ in } }
                try? client.write("hello")
                try? client.shutdown { error in trace.append("shutdown \(error?.name ?? "ok")") }
                #expect(throws: UVError.brokenPipe) { try client.write("late") }
            }
            try loop.run()
            #expect(received == Array("hello".utf8))
            #expect(trace == ["shutdown ok", "EOF"])
        }
    }

    @Test("shutdown_twice: the second fails, one callback", arguments: backends)
    func shutdownTwice(backend: Backend) throws {
        try withLoop(backend) { loop in
            let echo = try EchoServer(loop: loop)
            let client = try TCP(loop: loop)
            var calls = 0
            try client.connect(to: echo.address) { _ in
                try? client.shutdown { _ in
                    calls += 1
                    try? client.close()
                    echo.close()
                }
                #expect(throws: UVError.notConnected) { try client.shutdown() }
            }
            try loop.run()
            #expect(calls == 1)
        }
    }

    @Test("shutdown_close_tcp: shutdown then close at once", arguments: backends)
    func shutdownClose(backend: Backend) throws {
        try withLoop(backend) { loop in
            let echo = try EchoServer(loop: loop)
            let client = try TCP(loop: loop)
            var shutdowns: [UVError?] = []
            var closes = 0
            try client.connect(to: echo.address) { _ in
                try? client.shutdown { shutdowns.append($0) }
                try? client.close { _ in closes += 1 }
                echo.close()
            }
            try loop.run()
            #expect(shutdowns.count == 1)
            #expect(shutdowns.first! == nil || shutdowns.first! == .cancelled)
            #expect(closes == 1)
        }
    }

    @Test("close cancels queued writes in order, before the close callback", arguments: backends)
    func closeCancelsWrites(backend: Backend) throws {
        try withLoop(backend) { loop in
            let echo = try EchoServer(loop: loop)
            let client = try TCP(loop: loop)
            var trace: [String] = []
            try client.connect(to: echo.address) { error in trace.append("connect \(error?.name ?? "ok")") }
            for i in 0..<3 {
                try client.write("w\(i)") { error in trace.append("write\(i) \(error?.name ?? "ok")") }
            }
            try client.close { _ in trace.append("close") }
            echo.close()
            try loop.run()
            #expect(trace == ["connect ECANCELED", "write0 ECANCELED", "write1 ECANCELED", "write2 ECANCELED", "close"])
        }
    }

    @Test("tcp_try_write: a byte count or EAGAIN; the bytes arrive", arguments: backends)
    func tryWrite(backend: Backend) throws {
        try withLoop(backend) { loop in
            let echo = try EchoServer(loop: loop)
            let client = try TCP(loop: loop)
            var written = 0
            var received = 0
            #expect(throws: UVError.resourceTemporarilyUnavailable) {
                try client.connect(to: echo.address) { _ in }
                _ = try client.tryWrite([1, 2, 3])  // still connecting
            }
            let timer = try UVTimer(loop: loop)
            try timer.start(timeout: 20, repeat: 0) { _ in
                let chunk = [UInt8](repeating: 7, count: 1024)
                for _ in 0..<64 {
                    do throws(UVError) { written += try client.tryWrite(chunk) } catch { #expect(error == .resourceTemporarilyUnavailable); break }
                }
                try? client.readStart { result in
                    if case .success(let b) = result { received += b.count }
                    if received == written {
                        try? client.close()
                        echo.close()
                    }
                }
            }
            try loop.run()
            #expect(written > 0)
            #expect(received == written)
        }
    }

    @Test("tcp_rst: the peer resets; the read callback gets ECONNRESET", arguments: backends)
    func reset(backend: Backend) throws {
        try withLoop(backend) { loop in
            let server = try TCP(loop: loop)
            try server.bind("127.0.0.1:0")
            // The server resets the connection when "QSH" arrives.
            try server.listen { _ in
                let peer = try! TCP(loop: loop)
                try? server.accept(peer)
                try? peer.readStart { _ in try? peer.closeReset() }
                try? server.close()
            }
            let client = try TCP(loop: loop)
            var status: UVError?
            try client.connect(to: server.localAddress()) { _ in
                #expect((try? client.tryWrite(Array("QSH".utf8))) == 3)
                try? client.readStart { result in
                    if case .failure(let e) = result {
                        status = e
                        #expect(!client.isReadable && !client.isWritable)
                        try? client.close()
                    }
                }
            }
            try loop.run()
            #expect(status == .connectionReset)
        }
    }

    @Test("tcp_close_reset after shutdown gives EINVAL; after close_reset, shutdown is refused", arguments: backends)
    func closeResetRules(backend: Backend) throws {
        try withLoop(backend) { loop in
            let echo = try EchoServer(loop: loop)
            let a = try TCP(loop: loop)
            let b = try TCP(loop: loop)
            var writes = 0
            var order: [String] = []
            try a.connect(to: echo.address) { _ in
                try? a.shutdown()
                #expect(throws: UVError.invalidArgument) { try a.closeReset() }
                try? a.close()
            }
            try b.connect(to: echo.address) { _ in
                try? b.write("x") { _ in writes += 1; order.append("write") }
                try? b.closeReset { _ in order.append("close") }
                #expect(throws: UVError.notConnected) { try b.shutdown() }
                echo.close()
            }
            try loop.run()
            #expect(writes == 1)
            #expect(order == ["write", "close"])
        }
    }

    @Test("delayed_accept: a connection accepted a while later still works", arguments: backends)
    func delayedAccept(backend: Backend) throws {
        try withLoop(backend) { loop in
            let server = try TCP(loop: loop)
            try server.bind("127.0.0.1:0")
            var acceptedLate = false
            try server.listen { _ in
                let timer = try! UVTimer(loop: loop)
                try? timer.start(timeout: 100, repeat: 0) { t in
                    let peer = try! TCP(loop: loop)
                    try? server.accept(peer)
                    acceptedLate = true
                    try? peer.close()
                    try? server.close()
                    try? t.close()
                }
            }
            let client = try TCP(loop: loop)
            var connected: UVError??
            try client.connect(to: server.localAddress()) { connected = $0; try? client.close() }
            try loop.run()
            #expect(acceptedLate)
            #expect(connected! == nil)
        }
    }

    @Test("socket and peer names; options", arguments: backends)
    func names(backend: Backend) throws {
        try withLoop(backend) { loop in
            let echo = try EchoServer(loop: loop)
            let client = try TCP(loop: loop)
            try client.setNoDelay(true)
            try client.setKeepAlive(true, delay: 30)
            var peer: SocketAddress?
            var local: SocketAddress?
            try client.connect(to: echo.address) { _ in
                peer = try? client.peerAddress()
                local = try? client.localAddress()
                try? client.close()
                echo.close()
            }
            try loop.run()
            #expect(peer == echo.address)
            #expect(local?.host == "127.0.0.1")
        }
    }

    @Test("the handle's write queue size grows while the peer does not read", arguments: backends)
    func writeQueueGrows(backend: Backend) throws {
        try withLoop(backend) { loop in
            let server = try TCP(loop: loop)
            try server.bind("127.0.0.1:0")
            var peer: TCP?
            try server.listen { _ in
                peer = try? TCP(loop: loop)
                try? server.accept(peer!)  // accepted, never read
            }
            let client = try TCP(loop: loop)
            var maxQueued = 0
            var callbacks = 0
            let chunk = [UInt8](repeating: 1, count: 64 * 1024)
            try client.connect(to: server.localAddress()) { _ in
                for _ in 0..<200 {
                    try? client.write(chunk) { _ in callbacks += 1 }
                }
                maxQueued = client.writeQueueSize
                let timer = try! UVTimer(loop: loop)
                try? timer.start(timeout: 50, repeat: 0) { t in
                    maxQueued = max(maxQueued, client.writeQueueSize)
                    try? client.close()
                    try? peer?.close()
                    try? server.close()
                    try? t.close()
                }
            }
            try loop.run()
            #expect(maxQueued > 0)
            #expect(callbacks == 200)
        }
    }

    /// libuv's uv__io_stop clears the wanted events but leaves the descriptor
    /// in epoll: a client whose connect completed (POLLOUT stopped) and that
    /// then starts reading keeps its place in the kernel's ready list, ahead
    /// of a socket added since. (A C probe against libuv 1.44.2: accepted,
    /// connected, read client 5, read serverEnd 5.)
    @Test("a stopped watcher keeps its descriptor in epoll: the client's read comes before a newer socket's", arguments: backends)
    func stoppedWatcherKeepsItsPlace(backend: Backend) throws {
        try withLoop(backend) { loop in
            var events: [String] = []
            let server = try TCP(loop: loop)
            try server.bind("127.0.0.1:0")
            let serverEnd = try TCP(loop: loop)
            let client = try TCP(loop: loop)
            func closeAllAfterTwoReads() {
                if events.count == 4 {
                    try? serverEnd.close(); try? client.close(); try? server.close()
                }
            }
            try server.listen { _ in
                guard (try? server.accept(serverEnd)) != nil else { return }
                events.append("accepted")
                try? serverEnd.write("hello")
                try? serverEnd.readStart { result in
                    events.append("read serverEnd \((try? result.get())?.count ?? -1)")
                    try? serverEnd.readStop()
                    closeAllAfterTwoReads()
                }
            }
            try client.connect(to: try server.localAddress()) { error in
                events.append("connected \(error.map { "\($0)" } ?? "0")")
                try? client.write("world")
                try? client.readStart { result in
                    events.append("read client \((try? result.get())?.count ?? -1)")
                    try? client.readStop()
                    closeAllAfterTwoReads()
                }
            }
            try loop.run()
            #expect(events == ["accepted", "connected 0", "read client 5", "read serverEnd 5"])
        }
    }
}
