import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A listening TCP server whose accepted connections are handed to `onPeer`.
func tcpServer(_ loop: Loop, _ onPeer: @escaping (TCP) -> Void) throws -> TCP {
    let server = try TCP(loop: loop)
    try server.bind("127.0.0.1:0")
    try server.listen { _ in
        guard let peer = try? TCP(loop: loop) else { return }
        if (try? server.accept(peer)) != nil { onPeer(peer) } else { try? peer.close() }
    }
    return server
}

/// More of libuv's stream cases, and faults.
@Suite("Streams")
struct StreamTests {
    @Test("tcp_write_queue_order: 10,000 writes, all callbacks, in order; the tail cancelled", arguments: backends)
    func writeQueueOrder(backend: Backend) throws {
        try withLoop(backend) { loop in
            var peer: TCP?
            let server = try tcpServer(loop) { peer = $0 }  // never reads
            let client = try TCP(loop: loop)
            var order: [Int] = []
            var ok = 0
            var cancelled = 0
            try client.connect(to: server.localAddress()) { _ in
                let fd = try! client.fileDescriptor()
                var size: Int32 = 16 * 1024
                setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, 4)
                let chunk = [UInt8](repeating: 0x55, count: 1024)
                for i in 0..<10_000 {
                    try? client.write(chunk) { error in
                        order.append(i)
                        if error == nil { ok += 1 } else if error == .cancelled { cancelled += 1 }
                    }
                }
                let timer = try! UVTimer(loop: loop)
                try? timer.start(timeout: 1000, repeat: 0) { t in
                    try? client.close()
                    try? peer?.close()
                    try? server.close()
                    try? t.close()
                }
            }
            try loop.run()
            #expect(order.count == 10_000)
            #expect(order == Array(0..<10_000))
            #expect(ok > 0 && cancelled > 0 && ok + cancelled == 10_000)
        }
    }

    @Test("writeBatch: 5,000 writes held, sent as one request: every byte in order, every callback once in order, then shutdown", arguments: backends)
    func writeBatch(backend: Backend) throws {
        try withLoop(backend) { loop in
            var received: [UInt8] = []
            var peer: TCP?
            let server = try tcpServer(loop) { p in
                peer = p
                try? p.readStart(bytes: { result in
                    if case .success(let bytes) = result { received += bytes } else { try? p.close() }
                })
            }
            let client = try TCP(loop: loop)
            var order: [Int] = []
            var statuses: [UVError?] = []
            var triedWhileHeld: UVError?
            var queuedDuringBatch = -1
            var queuedAfterBatch = -1
            var shutDown = false
            try client.connect(to: server.localAddress()) { _ in
                try? client.writeBatch {
                    for i in 0..<5_000 {
                        try client.write([UInt8(i % 251), UInt8(i / 251)]) { error in
                            order.append(i)
                            statuses.append(error)
                        }
                    }
                    do throws(UVError) { _ = try client.tryWrite([1]) } catch { triedWhileHeld = error }
                    queuedDuringBatch = order.count
                }
                // One request of 10,000 bytes, tried at once (the queue was
                // empty): its first writev takes 1,024 buffers (IOV_MAX), 2,048
                // bytes. 5,000 requests would leave 4,999 writes (9,998 bytes)
                // queued.
                queuedAfterBatch = client.writeQueueSize
                try? client.shutdown { error in
                    #expect(error == nil)
                    shutDown = order.count == 5_000
                    try? client.close()
                    try? server.close()
                }
            }
            try loop.run()
            _ = peer
            #expect(queuedDuringBatch == 0)
            #expect(queuedAfterBatch == 10_000 - 2 * 1024)
            #expect(triedWhileHeld == .resourceTemporarilyUnavailable)
            #expect(order == Array(0..<5_000))
            #expect(statuses.allSatisfy { $0 == nil })
            #expect(shutDown)
            let expected = (0..<5_000).flatMap { [UInt8($0 % 251), UInt8($0 / 251)] }
            #expect(received == expected)
        }
    }

    @Test("writeBatch on a stream closed inside the body throws, and none of its writes is called back", arguments: backends)
    func writeBatchClosedInside(backend: Backend) throws {
        try withLoop(backend) { loop in
            let server = try tcpServer(loop) { try? $0.close() }
            let client = try TCP(loop: loop)
            var calledBack = 0
            var thrown: UVError?
            try client.connect(to: server.localAddress()) { _ in
                do {
                    try client.writeBatch {
                        try client.write([1, 2, 3]) { _ in calledBack += 1 }
                        try client.close()
                    }
                } catch { thrown = error as? UVError }
                try? server.close()
            }
            try loop.run()
            #expect(thrown == .badFileDescriptor)
            #expect(calledBack == 0)
        }
    }

    @Test("tcp_writealot: 3 writes of 4096 x 10024 bytes, then shutdown; every byte comes back", arguments: backends)
    func writeALot(backend: Backend) throws {
        try withLoop(backend) { loop in
            let echo = try EchoServer(loop: loop)
            let client = try TCP(loop: loop)
            let size = 4096 * 10024
            var writeCallbacks = 0
            var shutdownSawEmptyQueue = false
            var received = 0
            var eof = false
            try client.connect(to: echo.address) { _ in
                let data = [UInt8](repeating: 0x61, count: size)
                for _ in 0..<3 {
                    try? client.write(data) { error in
                        #expect(error == nil)
                        writeCallbacks += 1
                    }
                }
                try? client.shutdown { error in
                    #expect(error == nil)
                    shutdownSawEmptyQueue = client.writeQueueSize == 0 && writeCallbacks == 3
                }
                try? client.readStart { result in
                    switch result {
                    case .success(let b): received += b.count
                    case .failure(let e):
                        eof = e == .endOfFile
                        try? client.close()
                        echo.close()
                    }
                }
            }
            try loop.run()
            #expect(writeCallbacks == 3)
            #expect(shutdownSawEmptyQueue)
            #expect(received == 3 * size)
            #expect(eof)
        }
    }

    @Test("tcp_unexpected_read: a client that is not reading does not make the loop spin", arguments: backends)
    func unexpectedRead(backend: Backend) throws {
        try withLoop(backend) { loop in
            var peer: TCP?
            let server = try tcpServer(loop) { p in
                peer = p
                try? p.write([UInt8](repeating: 1, count: 1000))
            }
            let client = try TCP(loop: loop)
            var ticks = 0
            let check = try Check(loop: loop)
            try check.start { _ in ticks += 1 }
            try client.connect(to: server.localAddress()) { _ in
                let timer = try! UVTimer(loop: loop)
                try? timer.start(timeout: 1000, repeat: 0) { t in
                    for h: Handle in [client, server, check, t] { try? h.close() }
                    try? peer?.close()
                }
            }
            try loop.run()
            #expect(ticks <= 20, "the loop iterated \(ticks) times in a second")
        }
    }

    @Test("multiple_listen: a second listen succeeds", arguments: backends)
    func multipleListen(backend: Backend) throws {
        try withLoop(backend) { loop in
            let server = try TCP(loop: loop)
            try server.bind("127.0.0.1:0")
            try server.listen { _ in }
            try server.listen { _ in }
        }
    }

    @Test("tcp_ref3/tcp_ref4: an unref'd TCP handle's connect, write and shutdown complete", arguments: backends)
    func tcpRef34(backend: Backend) throws {
        try withLoop(backend) { loop in
            let echo = try EchoServer(loop: loop)
            let client = try TCP(loop: loop)
            var trace: [String] = []
            try client.connect(to: echo.address) { error in
                trace.append("connect")
                try? client.write("x") { _ in trace.append("write") }
                try? client.shutdown { _ in trace.append("shutdown") }
            }
            try client.unref()
            try echo.server.unref()
            try loop.run()
            #expect(trace == ["connect", "write", "shutdown"])
        }
    }

    @Test("pipe_ref3/pipe_ref4: an unref'd pipe's connect and write complete", arguments: backends)
    func pipeRef34(backend: Backend) throws {
        try withLoop(backend) { loop in
            let path = socketPath("ref-\(backend)")
            let server = try UVPipe(loop: loop)
            try server.bind(path)
            try server.listen { _ in
                let peer = try! UVPipe(loop: loop)
                try? server.accept(peer)
                try? peer.close()
            }
            try server.unref()
            let client = try UVPipe(loop: loop)
            var trace: [String] = []
            try client.connect(to: path) { error in
                trace.append("connect \(error?.name ?? "ok")")
                try? client.write("x") { _ in trace.append("write") }
            }
            try client.unref()
            try loop.run()
            #expect(trace == ["connect ok", "write"])
        }
    }

    @Test("callback_stack: connect, write, read, shutdown and close callbacks never run inside their call", arguments: backends)
    func callbackStack(backend: Backend) throws {
        try withLoop(backend) { loop in
            let echo = try EchoServer(loop: loop)
            let client = try TCP(loop: loop)
            var inCall = false
            var calls: [String] = []
            func guarded(_ name: String) { #expect(!inCall, "\(name) ran inside its call"); calls.append(name) }
            inCall = true
            try client.connect(to: echo.address) { _ in
                guarded("connect")
                inCall = true
                try? client.readStart { result in
                    guarded("read")
                    if case .failure = result {
                        inCall = true
                        try? client.close { _ in guarded("close"); echo.close() }
                        inCall = false
                    }
                }
                try? client.write("ping") { _ in guarded("write") }
                try? client.shutdown { _ in guarded("shutdown") }
                inCall = false
            }
            inCall = false
            try loop.run()
            #expect(calls.first == "connect")
            #expect(calls.contains("write") && calls.contains("shutdown") && calls.contains("read"))
            #expect(calls.last == "close")
        }
    }

    @Test("fault: the peer resets mid-write; the error reaches the write callback", arguments: backends)
    func resetMidWrite(backend: Backend) throws {
        try withLoop(backend) { loop in
            let server = try tcpServer(loop) { peer in
                try? peer.readStart { _ in try? peer.closeReset() }
            }
            let client = try TCP(loop: loop)
            var errors: [UVError] = []
            var callbacks = 0
            try client.connect(to: server.localAddress()) { _ in
                for _ in 0..<50 {
                    try? client.write([UInt8](repeating: 2, count: 256 * 1024)) { error in
                        callbacks += 1
                        if let error { errors.append(error) }
                        if callbacks == 50 { try? client.close(); try? server.close() }
                    }
                }
            }
            try loop.run()
            #expect(callbacks == 50)
            #expect(!errors.isEmpty)
            #expect(errors.allSatisfy { [.connectionReset, .brokenPipe, .cancelled].contains($0) })
        }
    }

    @Test("fault: a writer far faster than its reader; the queue is reported and drains, every byte in order", arguments: backends)
    func slowReader(backend: Backend) throws {
        try withLoop(backend) { loop in
            let chunk = 65536
            // Well above what the kernel buffers on loopback (a few MiB each way).
            let total = 48 * 1024 * 1024
            func expected(_ offset: Int) -> UInt8 { UInt8(truncatingIfNeeded: offset / chunk) }
            var received = 0
            var inOrder = true
            var peer: TCP?
            let server = try tcpServer(loop) { peer = $0 }
            let client = try TCP(loop: loop)
            var queueAfterWrites = 0
            var peakQueue = 0
            var reading = false
            func readOnce(_ p: TCP, _ timer: UVTimer) {
                reading = true
                try? p.readStart { result in
                    guard case .success(let b) = result, !b.isEmpty else { return }
                    if b.first != expected(received) || b.last != expected(received + b.count - 1) { inOrder = false }
                    received += b.count
                    reading = false
                    try? p.readStop()
                    if received == total {
                        for h: Handle in [p, client, server, timer] { try? h.close() }
                    }
                }
            }
            try client.connect(to: server.localAddress()) { _ in
                for i in 0..<(total / chunk) {
                    try? client.write([UInt8](repeating: UInt8(truncatingIfNeeded: i), count: chunk))
                }
                queueAfterWrites = client.writeQueueSize
                // The reader takes at most one read (64 KiB) per millisecond.
                let timer = try! UVTimer(loop: loop)
                try? timer.start(timeout: 1, repeat: 1) { t in
                    peakQueue = max(peakQueue, client.writeQueueSize)
                    if let p = peer, !reading, !p.isClosing { readOnce(p, t) }
                }
            }
            try loop.run()
            // Most of it waited in the write queue, which only shrank.
            #expect(queueAfterWrites > total / 2, "queued: \(queueAfterWrites)")
            #expect(peakQueue <= queueAfterWrites)
            #expect(received == total)
            #expect(inOrder)
        }
    }

    @Test("tcp_try_write: after the peer closes, try_write ends in EPIPE, ECONNABORTED or ECONNRESET", arguments: backends)
    func tryWriteAfterPeerClose(backend: Backend) throws {
        try withLoop(backend) { loop in
            let server = try tcpServer(loop) { peer in try? peer.close() }
            let client = try TCP(loop: loop)
            var final: UVError?
            try client.connect(to: server.localAddress()) { _ in
                try? client.readStart { result in
                    guard case .failure = result else { return }
                    // The peer is gone: keep writing until the kernel says so.
                    for _ in 0..<1000 {
                        do throws(UVError) {
                            _ = try client.tryWrite([UInt8](repeating: 3, count: 4096))
                        } catch {
                            if error != .resourceTemporarilyUnavailable { final = error; break }
                        }
                    }
                    #expect(client.writeQueueSize == 0)
                    try? client.close()
                    try? server.close()
                }
            }
            try loop.run()
            #expect(final == .brokenPipe || final == .connectionAborted || final == .connectionReset)
        }
    }

    @Test("ref family: tcp_ref, pipe_ref (listening handles, unref'd)", arguments: backends)
    func listeningRef(backend: Backend) throws {
        try withLoop(backend) { loop in
            let tcp = try TCP(loop: loop)
            try tcp.bind("127.0.0.1:0")
            try tcp.listen { _ in }
            try tcp.unref()
            let pipe = try UVPipe(loop: loop)
            try pipe.bind(socketPath("unref-\(backend)"))
            try pipe.listen { _ in }
            try pipe.unref()
            #expect(try loop.run() == false)
            var closes = 0
            try tcp.close { _ in closes += 1 }
            try pipe.close { _ in closes += 1 }
            try loop.run()
            #expect(closes == 2)
        }
    }

    /// libuv writes one buffer with write(2), which reports EPIPE for 0
    /// bytes too when the peer is gone; a zero-total writev returns 0 without
    /// asking the socket. (A C probe against libuv 1.44.2: try_write of one
    /// empty buffer -32, write callback -32.)
    @Test("a zero-length write to a stream whose peer is gone: EPIPE, from try_write and in the write callback", arguments: backends)
    func zeroLengthWriteToGonePeer(backend: Backend) throws {
        try withLoop(backend) { loop in
            let pair = try System.socketPair()
            close(pair.1)
            let pipe = try UVPipe(loop: loop)
            try pipe.open(pair.0)
            #expect(throws: UVError.brokenPipe) { try pipe.tryWrite([UInt8]()) }
            var status: UVError?? = .none
            try pipe.write([UInt8]()) { error in status = .some(error) }
            try loop.run()
            #expect(status == .some(.brokenPipe))
            try pipe.close()
        }
    }
}
