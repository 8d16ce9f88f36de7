// The socket workloads: ping_pongs, tcp_pump1, pipe_pump1, tcp_write_batch, tcp4_pound_100,
// udp_pummel_1v1, ping_udp1, tail_latency. Servers and clients are made with NIO's bootstraps and do their
// work in ChannelHandlers; every channel is on the one event loop. Addresses are built
// without name resolution (`SocketAddress(ipAddress:port:)`).
//
// The run state shared by a workload's handlers (counters, the stop flag) is a class that is
// only touched on that loop; it is `@unchecked Sendable` so that the bootstraps' `@Sendable`
// channel initializers can hand it to the handlers they create there.

import Glibc
import NIOCore
import NIOPosix

/// A count over a timed run of D seconds, as the workloads with D report it.
struct Rate: Sendable {
    var count: Int
    var seconds: Double
}

/// The state of a run of D seconds: a counter, and a task scheduled after D that stops the
/// run (libuv's benchmarks use a timer the same way) and reports the count at that moment.
final class TimedRun: @unchecked Sendable {
    let duration: TimeAmount
    let finished: EventLoopPromise<Rate>
    var count = 0
    var done = false
    private var start: UInt64 = 0
    private var started = false

    init(duration: TimeAmount, loop: EventLoop) {
        self.duration = duration
        self.finished = loop.makePromise(of: Rate.self)
    }

    /// Starts the clock and the stop task (once); on the loop.
    func begin(on loop: EventLoop) {
        guard !self.started else { return }
        self.started = true
        self.start = now()
        loop.assumeIsolated().scheduleTask(in: self.duration) {
            self.done = true
            self.finished.succeed(Rate(count: self.count, seconds: seconds(from: self.start, to: now())))
        }
    }

    func wait() throws -> Rate { try self.finished.futureResult.wait() }
}

/// Sent through a pipeline (from the main thread) to start a workload once everything is set up.
struct Start: Sendable {}

private let localhost: SocketAddress = {
    do {
        return try SocketAddress(ipAddress: "127.0.0.1", port: 0)
    } catch {
        fatalError("127.0.0.1: \(error)")
    }
}()

private func makeBuffer(_ bytes: String) -> ByteBuffer {
    ByteBufferAllocator().buffer(string: bytes)
}

private func makeBuffer(count: Int) -> ByteBuffer {
    var buffer = ByteBufferAllocator().buffer(capacity: count)
    buffer.writeRepeatingByte(UInt8(ascii: "x"), count: count)
    return buffer
}

/// Adds `make()`'s handler to a channel being initialised (on its loop).
private func addHandler<H: ChannelHandler>(
    to channel: Channel,
    _ make: @escaping @Sendable () -> H
) -> EventLoopFuture<Void> {
    channel.eventLoop.makeCompletedFuture {
        try channel.pipeline.syncOperations.addHandler(make())
    }
}

// MARK: - Handlers shared by several workloads

/// Echoes each read; flushes once per read burst (NIO's idiom for an echo server).
private final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

/// Reads and discards, counting the bytes; signals `active` when the connection is up.
private final class DiscardHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    final class Counter: @unchecked Sendable {
        var bytes = 0
        let active: EventLoopPromise<Void>?
        let run: TimedRun?

        init(run: TimedRun? = nil, active: EventLoopPromise<Void>? = nil) {
            self.run = run
            self.active = active
        }
    }

    let counter: Counter

    init(_ counter: Counter) { self.counter = counter }

    func channelActive(context: ChannelHandlerContext) {
        self.counter.active?.succeed()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Self.unwrapInboundIn(data).readableBytes
        self.counter.bytes += bytes
        if let run = self.counter.run, !run.done {
            run.count += bytes
        }
    }
}

// MARK: - ping_pongs

private final class PingClient: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let run: TimedRun
    let ping = makeBuffer("PING\n")
    var received = 0

    init(run: TimedRun) { self.run = run }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is Start else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        self.run.begin(on: context.eventLoop)
        context.writeAndFlush(Self.wrapOutboundOut(self.ping), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.received += Self.unwrapInboundIn(data).readableBytes
        if self.received >= self.ping.readableBytes {
            self.received -= self.ping.readableBytes
            guard !self.run.done else { return }
            self.run.count += 1
            context.writeAndFlush(Self.wrapOutboundOut(self.ping), promise: nil)
        }
    }
}

/// ping_pongs: an echo server and a client (TCP_NODELAY) on the loop; one "PING\n" in flight.
func pingPongs(_ size: Size) throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { try? group.syncShutdownGracefully() }
    let loop = group.next()
    let run = TimedRun(duration: size.duration, loop: loop)

    let server = try ServerBootstrap(group: loop)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { addHandler(to: $0) { EchoHandler() } }
        .bind(to: localhost)
        .wait()
    let client = try ClientBootstrap(group: loop)
        .channelOption(.tcpOption(.tcp_nodelay), value: 1)
        .channelInitializer { addHandler(to: $0) { PingClient(run: run) } }
        .connect(to: server.localAddress!)
        .wait()
    client.pipeline.fireUserInboundEventTriggered(Start())
    let rate = try run.wait()
    report("ping_pongs", "rate", Double(rate.count) / rate.seconds)
}

// MARK: - tcp_pump1, pipe_pump1

/// Writes 8 KiB buffers, one write in flight: the next one is written when the previous
/// write's promise succeeds. (The callback is attached before the write: NIO completes a
/// write inside the flush when the socket takes it at once, and a callback that finds its
/// future already complete would run at once and nest the next write in the stack. Attached
/// first, it runs inside NIO's flush loop, whose re-entrancy guard picks up the next write
/// in the same loop until the socket would block.)
private final class PumpClient: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let run: TimedRun
    let buffer = makeBuffer(count: 8192)

    init(run: TimedRun) { self.run = run }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is Start else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        self.run.begin(on: context.eventLoop)
        self.writeNext(context: context)
    }

    func writeNext(context: ChannelHandlerContext) {
        guard !self.run.done else { return }
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenSuccess {
            self.writeNext(context: context)
        }
        context.writeAndFlush(Self.wrapOutboundOut(self.buffer), promise: written)
    }
}

/// tcp_pump1 / pipe_pump1: a discarding server and a writing client on the loop, over TCP on
/// 127.0.0.1 or over a Unix domain socket; bytes counted on the server side.
func pump(_ size: Size, overUnixSocket: Bool) throws {
    let workload = overUnixSocket ? "pipe_pump1" : "tcp_pump1"
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { try? group.syncShutdownGracefully() }
    let loop = group.next()
    let run = TimedRun(duration: size.duration, loop: loop)
    let counter = DiscardHandler.Counter(run: run)

    let serverBootstrap = ServerBootstrap(group: loop)
        .childChannelInitializer { addHandler(to: $0) { DiscardHandler(counter) } }
    let clientBootstrap = ClientBootstrap(group: loop)
        .channelInitializer { addHandler(to: $0) { PumpClient(run: run) } }
    let client: Channel
    var path: String? = nil
    if overUnixSocket {
        let socketPath = "/tmp/nio-bench-\(getpid()).sock"
        path = socketPath
        _ = try serverBootstrap.bind(unixDomainSocketPath: socketPath, cleanupExistingSocketFile: true).wait()
        client = try clientBootstrap.connect(unixDomainSocketPath: socketPath).wait()
    } else {
        let server = try serverBootstrap
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(to: localhost)
            .wait()
        client = try clientBootstrap.connect(to: server.localAddress!).wait()
    }
    defer {
        if let path { unlink(path) }
    }
    client.pipeline.fireUserInboundEventTriggered(Start())
    let rate = try run.wait()
    report(workload, "gbit_s", Double(rate.count) * 8 / rate.seconds / 1e9)
}

// MARK: - tcp_write_batch

private final class BatchClient: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let writes: Int
    let finished: EventLoopPromise<Double>
    let buffer = makeBuffer(count: 13)

    init(writes: Int, finished: EventLoopPromise<Double>) {
        self.writes = writes
        self.finished = finished
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is Start else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        let start = now()
        for _ in 0..<self.writes {
            context.write(Self.wrapOutboundOut(self.buffer), promise: nil)
        }
        context.flush()
        // NIO half-closes the output only once every pending write is written, so this
        // promise completes after the last byte went out and shutdown(SHUT_WR) was done.
        let closed = context.eventLoop.makePromise(of: Void.self)
        closed.futureResult.assumeIsolated().whenComplete { result in
            switch result {
            case .success:
                self.finished.succeed(seconds(from: start, to: now()))
            case .failure(let error):
                self.finished.fail(error)
            }
        }
        context.close(mode: .output, promise: closed)
    }
}

/// tcp_write_batch: a connected pair on the loop (the peer discards); N writes of 13 bytes,
/// one flush, then `close(mode: .output)`; timed from the first write to that close's promise.
func tcpWriteBatch(_ size: Size) throws {
    let n = size.pick(1_000_000, quick: 200_000)
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { try? group.syncShutdownGracefully() }
    let loop = group.next()
    let accepted = loop.makePromise(of: Void.self)
    let finished = loop.makePromise(of: Double.self)
    let counter = DiscardHandler.Counter(active: accepted)

    let server = try ServerBootstrap(group: loop)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { addHandler(to: $0) { DiscardHandler(counter) } }
        .bind(to: localhost)
        .wait()
    let client = try ClientBootstrap(group: loop)
        .channelInitializer { addHandler(to: $0) { BatchClient(writes: n, finished: finished) } }
        .connect(to: server.localAddress!)
        .wait()
    try accepted.futureResult.wait()
    client.pipeline.fireUserInboundEventTriggered(Start())
    let elapsed = try finished.futureResult.wait()
    report("tcp_write_batch", "total_s", elapsed)
}

// MARK: - tcp4_pound_100

/// On the server channel: counts the connections it accepts (each arrives as a read).
private final class AcceptCounter: ChannelInboundHandler {
    typealias InboundIn = Channel

    let run: TimedRun

    init(run: TimedRun) { self.run = run }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !self.run.done {
            self.run.count += 1
        }
        context.fireChannelRead(data)
    }
}

/// On an accepted connection: close it on its first read.
private final class CloseOnFirstRead: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

private final class PoundRun: @unchecked Sendable {
    let timed: TimedRun
    let server: SocketAddress
    var bootstrap: ClientBootstrap? = nil

    init(timed: TimedRun, server: SocketAddress) {
        self.timed = timed
        self.server = server
    }

    /// One client connection (on the loop); connected again if the connect fails.
    func connect() {
        guard !self.timed.done, let bootstrap = self.bootstrap else { return }
        bootstrap.connect(to: self.server).assumeIsolated().whenFailure { _ in
            self.connect()
        }
    }
}

/// A client: writes "QS" when connected; on EOF (NIO closes the channel when the peer closes)
/// or an error (closed here) it connects again.
private final class PoundClient: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let run: PoundRun
    let message = makeBuffer("QS")

    init(run: PoundRun) { self.run = run }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(Self.wrapOutboundOut(self.message), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.run.connect()
    }
}

/// tcp4_pound_100: a server that closes each connection on its first read, and 100 clients
/// on the loop that connect, write "QS" and connect again once closed; accepts counted.
func tcp4Pound100(_ size: Size) throws {
    let clients = 100
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { try? group.syncShutdownGracefully() }
    let loop = group.next()
    let timed = TimedRun(duration: size.duration, loop: loop)

    let server = try ServerBootstrap(group: loop)
        .serverChannelOption(.backlog, value: 128)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .serverChannelInitializer { addHandler(to: $0) { AcceptCounter(run: timed) } }
        .childChannelInitializer { addHandler(to: $0) { CloseOnFirstRead() } }
        .bind(to: localhost)
        .wait()
    let run = PoundRun(timed: timed, server: server.localAddress!)
    run.bootstrap = ClientBootstrap(group: loop)
        .channelInitializer { addHandler(to: $0) { PoundClient(run: run) } }
    loop.execute {
        timed.begin(on: loop)
        for _ in 0..<clients {
            run.connect()
        }
    }
    let rate = try timed.wait()
    report("tcp4_pound_100", "rate", Double(rate.count) / rate.seconds)
}

// MARK: - udp_pummel_1v1

private final class UDPPummelRun: @unchecked Sendable {
    let timed: TimedRun
    var sender: UDPSender? = nil
    var sendCompleted = false
    var arrived = false

    init(timed: TimedRun) { self.timed = timed }

    /// The next send goes out once the previous one has completed and has been received.
    func maybeSendNext() {
        guard self.sendCompleted, self.arrived, !self.timed.done else { return }
        self.sender?.send()
    }
}

private final class UDPSender: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let run: UDPPummelRun
    let datagram: AddressedEnvelope<ByteBuffer>
    var context: ChannelHandlerContext? = nil

    init(run: UDPPummelRun, to receiver: SocketAddress) {
        self.run = run
        self.datagram = AddressedEnvelope(remoteAddress: receiver, data: makeBuffer(count: 45))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is Start else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        self.run.sender = self
        self.run.timed.begin(on: context.eventLoop)
        self.send()
    }

    func send() {
        guard let context = self.context else { return }
        self.run.sendCompleted = false
        self.run.arrived = false
        let sent = context.eventLoop.makePromise(of: Void.self)
        sent.futureResult.assumeIsolated().whenSuccess {
            self.run.sendCompleted = true
            self.run.maybeSendNext()
        }
        context.writeAndFlush(Self.wrapOutboundOut(self.datagram), promise: sent)
    }
}

private final class UDPReceiver: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let run: UDPPummelRun

    init(run: UDPPummelRun) { self.run = run }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.run.timed.done else { return }
        self.run.timed.count += 1
        self.run.arrived = true
        self.run.maybeSendNext()
    }
}

/// udp_pummel_1v1: a receiver and a sender channel (DatagramBootstrap) on the loop, 45-byte
/// datagrams to 127.0.0.1, one send in flight.
///
/// Does not map cleanly: NIO completes a datagram write's promise inside the flush (a UDP send
/// to loopback never blocks), and a next write issued from that promise is written by the same
/// flush loop, so "each send callback issues the next" never leaves the flush and the receiver
/// never gets to read (re-submitting with `execute` or `scheduleTask` starves it as well, since
/// NIO drains its task queue before polling). libuv instead runs send callbacks on the next
/// loop iteration, after a poll in which the receiver reads. Here the next send is issued when
/// the previous send's promise has succeeded *and* the receiver has read that datagram:
/// per datagram one sendmsg, one readiness poll and one recvmsg, as in libuv's run.
func udpPummel1v1(_ size: Size) throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { try? group.syncShutdownGracefully() }
    let loop = group.next()
    let timed = TimedRun(duration: size.duration, loop: loop)
    let run = UDPPummelRun(timed: timed)

    let receiver = try DatagramBootstrap(group: loop)
        .channelInitializer { addHandler(to: $0) { UDPReceiver(run: run) } }
        .bind(to: localhost)
        .wait()
    let receiverAddress = receiver.localAddress!
    let sender = try DatagramBootstrap(group: loop)
        .channelInitializer { addHandler(to: $0) { UDPSender(run: run, to: receiverAddress) } }
        .bind(to: localhost)
        .wait()
    sender.pipeline.fireUserInboundEventTriggered(Start())
    let rate = try timed.wait()
    report("udp_pummel_1v1", "rate", Double(rate.count) / rate.seconds)
}

// MARK: - ping_udp1

private final class UDPPinger: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let run: TimedRun
    var datagram: AddressedEnvelope<ByteBuffer>? = nil

    init(run: TimedRun) { self.run = run }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is Start, let address = context.channel.localAddress else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        let datagram = AddressedEnvelope(remoteAddress: address, data: makeBuffer(count: 45))
        self.datagram = datagram
        self.run.begin(on: context.eventLoop)
        context.writeAndFlush(Self.wrapOutboundOut(datagram), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.run.done, let datagram = self.datagram else { return }
        self.run.count += 1
        // libuv's try_send: NIO writes at once when the flush happens outside its flush loop.
        context.writeAndFlush(Self.wrapOutboundOut(datagram), promise: nil)
    }
}

/// ping_udp1: one datagram channel bound to 127.0.0.1 sending 45 bytes to itself; each read
/// sends the next.
func pingUDP1(_ size: Size) throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { try? group.syncShutdownGracefully() }
    let loop = group.next()
    let run = TimedRun(duration: size.duration, loop: loop)

    let channel = try DatagramBootstrap(group: loop)
        .channelInitializer { addHandler(to: $0) { UDPPinger(run: run) } }
        .bind(to: localhost)
        .wait()
    channel.pipeline.fireUserInboundEventTriggered(Start())
    let rate = try run.wait()
    report("ping_udp1", "rate", Double(rate.count) / rate.seconds)
}

// MARK: - tail_latency

/// The figures of a tail_latency run, handed from the loop to the main thread.
private struct TailFigures: Sendable {
    var samples: [UInt64]  // nanoseconds, in the order measured
    var timerFires: Int
}

/// A failure of the workload itself (not of a NIO call).
private struct WorkloadFailure: Error, CustomStringConvertible {
    let description: String
}

/// The state of a tail_latency run; touched on the loop only.
private final class TailRun: @unchecked Sendable {
    let idle: Int
    let warmup: Int
    let target: Int
    let loop: EventLoop
    let finished: EventLoopPromise<TailFigures>
    var server: Channel? = nil
    var idleClients: [Channel] = []
    var idlePeers: [Channel] = []  // accepted idle connections, once active (reading)
    var accepted = 0  // connections handed to the child initializer so far
    var peer: Channel? = nil  // the server's end of the ping client's connection
    var client: Channel? = nil
    var timer: RepeatedTask? = nil
    var fires = 0
    var samples: [UInt64]
    var trips = 0  // round trips completed, warm-up included
    var completed = false

    init(idle: Int, warmup: Int, target: Int, loop: EventLoop) {
        self.idle = idle
        self.warmup = warmup
        self.target = target
        self.loop = loop
        self.finished = loop.makePromise(of: TailFigures.self)
        self.samples = [UInt64](repeating: 0, count: target)
    }

    func fail(_ error: Error) {
        guard !self.completed else { return }
        self.completed = true
        self.finished.fail(error)
    }

    /// Starts the measured part once every idle connection is up on both sides.
    func idleConnectionUp() {
        guard self.idleClients.count == self.idle, self.idlePeers.count == self.idle else { return }
        self.timer = self.loop.scheduleRepeatedTask(initialDelay: .milliseconds(1), delay: .milliseconds(1)) { _ in
            self.fires += 1
        }
        ClientBootstrap(group: self.loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { addHandler(to: $0) { LatencyClient(run: self) } }
            .connect(to: self.server!.localAddress!)
            .assumeIsolated()
            .whenFailure { self.fail($0) }
    }

    /// One round trip done; returns whether to send the next ping.
    func roundTrip(nanoseconds: UInt64) -> Bool {
        if self.trips >= self.warmup {
            self.samples[self.trips - self.warmup] = nanoseconds
        }
        self.trips += 1
        guard self.trips == self.warmup + self.target else { return true }
        self.timer?.cancel()
        var channels = self.idleClients + self.idlePeers
        channels += [self.client, self.peer, self.server].compactMap { $0 }
        let closed = channels.map { $0.close() }
        EventLoopFuture.andAllComplete(closed, on: self.loop).assumeIsolated().whenComplete { _ in
            guard !self.completed else { return }
            self.completed = true
            self.finished.succeed(TailFigures(samples: self.samples, timerFires: self.fires))
        }
        return false
    }
}

/// On an accepted idle connection: reads (nothing should come).
private final class IdlePeer: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let run: TailRun

    init(run: TailRun) { self.run = run }

    func channelActive(context: ChannelHandlerContext) {
        self.run.idlePeers.append(context.channel)
        self.run.idleConnectionUp()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.run.fail(WorkloadFailure(description: "an idle connection sent data"))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        self.run.fail(error)
    }
}

/// The ping client: one "PING\n" in flight, each round trip timed from just before the write
/// to the read that completes the pong.
private final class LatencyClient: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let run: TailRun
    let ping = makeBuffer("PING\n")
    var received = 0
    var sentAt: UInt64 = 0

    init(run: TailRun) { self.run = run }

    func channelActive(context: ChannelHandlerContext) {
        self.run.client = context.channel
        self.send(context: context)
        context.fireChannelActive()
    }

    func send(context: ChannelHandlerContext) {
        self.sentAt = now()
        context.writeAndFlush(Self.wrapOutboundOut(self.ping), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let arrived = now()
        self.received += Self.unwrapInboundIn(data).readableBytes
        guard self.received >= self.ping.readableBytes else { return }
        guard self.received == self.ping.readableBytes else {
            self.run.fail(WorkloadFailure(description: "\(self.received) bytes back for one ping"))
            return
        }
        self.received = 0
        if self.run.roundTrip(nanoseconds: arrived &- self.sentAt) {
            self.send(context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        self.run.fail(error)
    }
}

/// Every descriptor the workload holds at once (2 per connection, the listener, the loop's
/// own) has to fit under RLIMIT_NOFILE: its soft limit is raised to the hard one.
private func raiseDescriptorLimit(needed: rlim_t) throws {
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    var limit = rlimit()
    guard getrlimit(resource, &limit) == 0 else {
        throw IOError(errnoCode: errno, reason: "getrlimit(RLIMIT_NOFILE)")
    }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max
        guard setrlimit(resource, &limit) == 0 else {
            throw IOError(errnoCode: errno, reason: "setrlimit(RLIMIT_NOFILE)")
        }
    }
    guard limit.rlim_cur >= needed else {
        throw WorkloadFailure(
            description: "needs \(needed) file descriptors, RLIMIT_NOFILE allows \(limit.rlim_cur)"
        )
    }
}

/// tail_latency: ping_pongs' round trip timed one by one, on a loop that also watches 1000 idle
/// connections (the server's end of each reading) and runs a 1 ms repeated task; the
/// percentiles of the recorded round trips (nearest rank) are the figures. The idle clients do
/// not read (`autoRead` off), as in the C contender, where they are never read from.
func tailLatency(_ size: Size) throws {
    try raiseDescriptorLimit(needed: 2100)
    let idle = 1000
    let n = size.pick(200_000, quick: 50_000)
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { try? group.syncShutdownGracefully() }
    let loop = group.next()
    let run = TailRun(idle: idle, warmup: 1000, target: n, loop: loop)

    let server = try ServerBootstrap(group: loop)
        .serverChannelOption(.backlog, value: 1024)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { channel in
            // The first `idle` connections are the idle ones; the one after is the ping client's.
            run.accepted += 1
            if run.accepted <= run.idle {
                return addHandler(to: channel) { IdlePeer(run: run) }
            }
            run.peer = channel
            return addHandler(to: channel) { EchoHandler() }
        }
        .bind(to: localhost)
        .wait()
    let address = server.localAddress!
    loop.execute {
        run.server = server
        let idleBootstrap = ClientBootstrap(group: loop).channelOption(.autoRead, value: false)
        for _ in 0..<idle {
            idleBootstrap.connect(to: address).assumeIsolated().whenComplete { result in
                switch result {
                case .success(let channel):
                    run.idleClients.append(channel)
                    run.idleConnectionUp()
                case .failure(let error):
                    run.fail(error)
                }
            }
        }
    }
    var figures = try run.finished.futureResult.wait()
    figures.samples.sort()
    // Nearest rank: the sorted sample at index ceil(p*N)-1, p = num/den.
    func microseconds(_ num: Int, _ den: Int) -> Double {
        Double(figures.samples[(num * n + den - 1) / den - 1]) / 1000
    }
    report("tail_latency", "p99_us", microseconds(99, 100))
    report("tail_latency", "p50_us", microseconds(1, 2))
    report("tail_latency", "p999_us", microseconds(999, 1000))
    report("tail_latency", "max_us", Double(figures.samples[n - 1]) / 1000)
    print("RESULT tail_latency timer_fires \(figures.timerFires)")
}
