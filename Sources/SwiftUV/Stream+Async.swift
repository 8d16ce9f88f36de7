// Async forms of the stream calls: connect, write, shutdown, reads as an
// async sequence of chunks with bounded buffering, and accepted connections
// as an async sequence. Await them from a task on the stream's loop.

extension UVStream {
    /// Writes `bytes` and returns once the kernel has taken all of them.
    /// Cancelling the task closes the stream (libuv cannot take back a queued
    /// write, and half a write leaves the byte stream unusable), and throws
    /// `CancellationError`.
    ///
    /// In async code, `try await stream.write(bytes)` is this method; the
    /// callback form needs its callback argument.
    nonisolated(nonsending)
    public final func write<Bytes: Collection>(_ bytes: Bytes) async throws where Bytes.Element == UInt8 {
        try await awaitRequest("write") { done in try self.write(bytes, done) }
    }

    /// Writes the UTF-8 bytes of `string`, as `write(_:)`.
    nonisolated(nonsending)
    public final func write(_ string: String) async throws {
        try await awaitRequest("write") { done in try self.write(string.utf8, done) }
    }

    /// Writes several buffers with one request, as `write(_:)`.
    nonisolated(nonsending)
    public final func write(vectored buffers: [[UInt8]]) async throws {
        try await awaitRequest("write") { done in try self.write(vectored: buffers, done) }
    }

    /// Shuts the write side down once queued writes are done (the peer reads
    /// EOF). Cancelling the task closes the stream.
    nonisolated(nonsending)
    public final func shutdown() async throws {
        try await awaitRequest("shutdown") { done in try self.shutdown(done) }
    }

    /// A request whose callback gets an optional error; cancellation closes
    /// the stream, which makes libuv call it back with `UVError.cancelled`.
    nonisolated(nonsending)
    final func awaitRequest(_ name: String, _ start: (@escaping (UVError?) -> Void) throws -> Void) async throws {
        try await loop.suspend("\(type.rawValue) handle: \(name)") { (s: Suspension<Void>) in
            try start { error in s.complete(error) }
            s.onCancel = { [self] in if !isClosing { try? close() } }
        }
    }

    /// The stream's incoming bytes as an async sequence of chunks (each
    /// what one read returned). Reading starts at the first `next()` and is
    /// stopped while `bufferLimit` bytes or more wait unconsumed; it resumes
    /// when the consumer has brought them down to half of that. So at most
    /// `bufferLimit + 64 KiB` (one read) is buffered, whatever the peer
    /// sends; the rest waits in the kernel, and then in the peer.
    ///
    /// The sequence ends at EOF, and when the stream is closed; a read error
    /// is thrown once. Cancelling the task awaiting `next()` stops reading
    /// (the stream stays open) and throws `CancellationError`. One sequence
    /// reads a stream at a time.
    ///
    /// A `bufferLimit` below 1 byte counts as 1 (reading stops after each
    /// read until the consumer takes it).
    ///
    /// With a `readTimeout`, a `next()` that has waited that long with no
    /// bytes coming throws `UVError.timedOut` (a read timeout: the stream
    /// stays open and reading goes on, so a later `next()` may still get
    /// bytes). A timeout below 1 ms counts as 1 ms; a negative one makes
    /// `next()` throw `UVError.invalidArgument`.
    public final func chunks(bufferLimit: Int = 256 * 1024, readTimeout: Duration? = nil) -> StreamChunks {
        StreamChunks(reader: ChunkReader(stream: self, limit: max(1, bufferLimit), readTimeout: readTimeout))
    }
}

/// What `UVStream.chunks(bufferLimit:)` returns.
public struct StreamChunks: AsyncSequence {
    /// A chunk of bytes as it was read.
    public typealias Element = [UInt8]
    /// What `next()` throws: a `UVError` or `CancellationError`.
    public typealias Failure = any Error
    let reader: ChunkReader

    /// Bytes read and not yet consumed.
    public var bufferedByteCount: Int { reader.buffered }
    /// The most bytes ever buffered at once.
    public var peakBufferedByteCount: Int { reader.peak }
    /// How many times reading was stopped because the consumer was behind.
    public var pauseCount: Int { reader.pauses }

    /// The iterator; one consumer at a time.
    public func makeAsyncIterator() -> Iterator { Iterator(reader: reader) }

    /// Awaits the chunks in the order they were read.
    public struct Iterator: AsyncIteratorProtocol {
        let reader: ChunkReader

        /// The next chunk; nil at EOF or once the stream is closed.
        public mutating func next() async throws -> [UInt8]? {
            try await reader.next()
        }

        /// The next chunk, as `next()`.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> [UInt8]? {
            try await reader.next()
        }
    }
}

/// The state behind a `StreamChunks` (loop thread only).
final class ChunkReader {
    enum End { case eof, closed, failed(UVError), finished }

    let stream: UVStream
    let limit: Int
    private var queue: [[UInt8]] = []
    private var head = 0
    private(set) var buffered = 0
    private(set) var peak = 0
    private(set) var pauses = 0
    private var reading = false
    private var end: End?
    private var waiter: Suspension<[UInt8]?>? {
        didSet { if waiter == nil { stopTimeout() } }
    }
    /// The read timeout in milliseconds (at least 1), or why it is refused;
    /// nil without one.
    private let readTimeout: Result<UInt64, UVError>?
    /// Ends a `next()` that waited `readTimeout`; made at the first wait.
    private var timeoutTimer: UVTimer?

    init(stream: UVStream, limit: Int, readTimeout: Duration? = nil) {
        self.stream = stream
        self.limit = limit
        self.readTimeout = readTimeout.map { timeout in
            if timeout < .zero { return .failure(InputCheck.refuse("UVStream.chunks", "the read timeout \(timeout) is negative")) }
            return Result { () throws(UVError) in max(1, try SwiftUV.milliseconds(timeout)) }
        }
        if !stream.isClosing {
            stream.closeHooks[ObjectIdentifier(self)] = { [weak self] in self?.streamClosed() }
        } else {
            end = .closed
        }
    }

    deinit {
        if let timeoutTimer, !timeoutTimer.isClosing { try? timeoutTimer.close() }
        if !stream.isClosing {
            stream.closeHooks[ObjectIdentifier(self)] = nil
            if reading { try? stream.readStop() }
        }
    }

    /// Starts the read timeout for the waiter that just suspended.
    private func startTimeout() throws(UVError) {
        guard let milliseconds = try readTimeout?.get() else { return }
        if timeoutTimer == nil {
            let timer = try UVTimer(loop: stream.loop)
            try timer.unref()
            timeoutTimer = timer
        }
        try timeoutTimer!.start(timeout: milliseconds) { [weak self] _ in
            guard let self, let w = self.waiter else { return }
            self.waiter = nil
            w.resume(throwing: UVError.timedOut.with(context: "UVStream.chunks: no bytes in \(milliseconds) ms"))
        }
    }

    private func stopTimeout() {
        if let timeoutTimer, !timeoutTimer.isClosing { try? timeoutTimer.stop() }
    }

    nonisolated(nonsending)
    func next() async throws -> [UInt8]? {
        stream.loop.checkAwaitingThread("UVStream.chunks: next()")
        if case .failure(let refused)? = readTimeout { throw refused }
        if let chunk = take() { return chunk }
        if let done = finish() { return try done.get() }
        try startReading()
        return try await stream.loop.suspend("UVStream.chunks: next()") { (s: Suspension<[UInt8]?>) in
            // Decided here, on the loop thread as the task suspends: a read
            // may have come in while the task was on its way.
            if let chunk = take() { return s.resume(returning: chunk) }
            if let done = finish() { return s.resume(with: done.mapError { $0 }) }
            // Chunks of one stream go to one reader at a time.
            if waiter != nil {
                return s.resume(throwing: UVError.alreadyInProgress.with(context: "UVStream.chunks: another task is waiting for this stream's next chunk"))
            }
            do { try startTimeout() } catch { return s.resume(throwing: error) }
            waiter = s
            s.onCancel = { [self] in
                waiter = nil
                stopReading()
                end = .finished
                s.resume(throwing: CancellationError())
            }
        }
    }

    /// What `next()` gives once the stream has ended: nil, or the read
    /// error once (then nil).
    private func finish() -> Result<[UInt8]?, UVError>? {
        switch end {
        case .failed(let error):
            end = .finished
            return .failure(error)
        case .some: return .success(nil)
        case nil: return nil
        }
    }

    /// The oldest buffered chunk; restarts reading once the buffer is down
    /// to half the limit.
    private func take() -> [UInt8]? {
        guard head < queue.count else { return nil }
        let chunk = queue[head]
        queue[head] = []
        head += 1
        if head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
        }
        buffered -= chunk.count
        if !reading && end == nil && buffered <= limit / 2 { try? startReading() }
        return chunk
    }

    private func startReading() throws(UVError) {
        if reading { return }
        let callback: (Result<UnsafeRawBufferPointer, UVError>) -> Void = { [weak self] result in
            self?.received(result)
        }
        try stream.readStart(callback)
        reading = true
    }

    private func stopReading() {
        guard reading else { return }
        reading = false
        if !stream.isClosing { try? stream.readStop() }
    }

    private func received(_ result: Result<UnsafeRawBufferPointer, UVError>) {
        switch result {
        case .success(let bytes):
            if bytes.isEmpty { return }
            let chunk = Array(bytes)
            if let w = waiter {
                waiter = nil
                w.resume(returning: chunk)
                return
            }
            queue.append(chunk)
            buffered += chunk.count
            if buffered > peak { peak = buffered }
            if buffered >= limit {
                pauses += 1
                stopReading()
            }
        case .failure(let error):
            stopReading()
            if let w = waiter {
                waiter = nil
                end = error == .endOfFile ? .eof : .finished
                if error == .endOfFile { w.resume(returning: nil) } else { w.resume(throwing: error) }
            } else {
                end = error == .endOfFile ? .eof : .failed(error)
            }
        }
    }

    private func streamClosed() {
        reading = false
        if let timeoutTimer, !timeoutTimer.isClosing { try? timeoutTimer.close() }
        if end == nil { end = .closed }
        if let w = waiter {
            waiter = nil
            w.resume(returning: nil)
        }
    }
}


// MARK: Accepting

/// What `TCP.connections()` and `UVPipe.connections()` return: each element
/// is a connection accepted by the listening stream. A connection is
/// accepted when `next()` asks for it, so a server that stops asking leaves
/// the rest in the kernel's backlog.
///
/// The sequence ends when the listening stream is closed. Cancelling the
/// task awaiting `next()` closes the listening stream and throws
/// `CancellationError`.
public struct Connections<Client: UVStream>: AsyncSequence {
    /// An accepted connection, open and owned by the caller.
    public typealias Element = Client
    /// What `next()` throws: a `UVError` or `CancellationError`.
    public typealias Failure = any Error
    let acceptor: Acceptor<Client>

    /// The iterator; one consumer at a time.
    public func makeAsyncIterator() -> Iterator { Iterator(acceptor: acceptor) }

    /// Awaits the connections in the order they were accepted.
    public struct Iterator: AsyncIteratorProtocol {
        let acceptor: Acceptor<Client>

        /// The next accepted connection; nil once the listener is closed.
        public mutating func next() async throws -> Client? {
            try await acceptor.next()
        }

        /// The next accepted connection, as `next()`.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> Client? {
            try await acceptor.next()
        }
    }
}

/// The state behind `Connections` (loop thread only).
final class Acceptor<Client: UVStream> {
    let server: UVStream
    private let make: () throws(UVError) -> Client
    private var pending = 0
    private var failure: UVError?
    private var closed = false
    /// Tasks waiting for a connection, first come first served (a server
    /// may run several accepting tasks over one sequence).
    private var waiters: [Suspension<Client?>] = []

    init(server: UVStream, backlog: Int32, make: @escaping () throws(UVError) -> Client) throws(UVError) {
        self.server = server
        self.make = make
        try server.listen(backlog: backlog) { [weak self] error in self?.incoming(error) }
        server.closeHooks[ObjectIdentifier(self)] = { [weak self] in self?.serverClosed() }
    }

    deinit {
        if !server.isClosing { server.closeHooks[ObjectIdentifier(self)] = nil }
    }

    nonisolated(nonsending)
    func next() async throws -> Client? {
        server.loop.checkAwaitingThread("connections: next()")
        if closed { return nil }
        return try await server.loop.suspend("connections: next()") { (s: Suspension<Client?>) in
            // Decided on the loop thread as the task suspends.
            if closed { return s.resume(returning: nil) }
            if let error = failure {
                failure = nil
                return s.resume(throwing: error)
            }
            if pending > 0 {
                pending -= 1
                return s.resume(returning: try acceptOne())
            }
            waiters.append(s)
            s.onCancel = { [self] in
                waiters.removeAll { $0 === s }
                s.resume(throwing: CancellationError())
                if !server.isClosing { try? server.close() }
            }
        }
    }

    private func acceptOne() throws(UVError) -> Client {
        let client = try make()
        do {
            try server.accept(client)
        } catch {
            try? client.close()
            throw error
        }
        return client
    }

    private func incoming(_ error: UVError?) {
        guard !waiters.isEmpty else {
            if let error { failure = error } else { pending += 1 }
            return
        }
        let w = waiters.removeFirst()
        if let error {
            w.resume(throwing: error)
            return
        }
        do { w.resume(returning: try acceptOne()) } catch { w.resume(throwing: error) }
    }

    private func serverClosed() {
        closed = true
        let all = waiters
        waiters = []
        for w in all { w.resume(returning: nil) }
    }
}

extension TCP {
    /// Listens (`backlog` as in `listen`) and returns the accepted
    /// connections as an async sequence. See `Connections`.
    public func connections(backlog: Int32 = 511) throws(UVError) -> Connections<TCP> {
        let loop = self.loop
        return Connections(acceptor: try Acceptor(server: self, backlog: backlog) { () throws(UVError) in try TCP(loop: loop) })
    }

    /// Connects to `address` and returns once connected. Cancelling the
    /// task closes the handle and throws `CancellationError`.
    nonisolated(nonsending)
    public func connect(to address: SocketAddress) async throws {
        try await awaitRequest("connect") { done in try self.connect(to: address, done) }
    }

    /// Connects to `"host:port"` (IPv4 or `[IPv6]`), as `connect(to:)`.
    nonisolated(nonsending)
    public func connect(to address: String) async throws {
        try await awaitRequest("connect") { done in try self.connect(to: address, done) }
    }
}

extension UVPipe {
    /// Listens and returns the accepted connections as an async sequence
    /// (each a pipe with this one's `ipc` setting). See `Connections`.
    public func connections(backlog: Int32 = 511) throws(UVError) -> Connections<UVPipe> {
        let loop = self.loop
        let ipc = self.ipc
        return Connections(acceptor: try Acceptor(server: self, backlog: backlog) { () throws(UVError) in try UVPipe(loop: loop, ipc: ipc) })
    }

    /// Connects to the socket at `path` and returns once connected;
    /// cancellation closes the handle.
    nonisolated(nonsending)
    public func connect(to path: String) async throws {
        try await awaitRequest("connect") { done in try self.connect(to: path, done) }
    }
}
