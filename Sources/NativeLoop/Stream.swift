#if canImport(Glibc)
import Glibc
#endif
import CNativeSystem

/// A write request (`uv_write_t`): buffers the caller keeps alive until the
/// callback, written in order, the callback deferred to the pending phase.
/// The first buffer is kept apart from the others, so that a write of one
/// buffer allocates nothing but the request.
package class NativeWriteRequest {
    @exclusivity(unchecked)
    fileprivate var first: UnsafeRawBufferPointer
    @exclusivity(unchecked)
    fileprivate var rest: [UnsafeRawBufferPointer]
    /// A handle to pass with the first bytes (IPC pipes); its descriptor is
    /// read when the bytes go out, as libuv does.
    @exclusivity(unchecked)
    fileprivate var sendHandle: NativeHandle?
    @exclusivity(unchecked)
    fileprivate var index = 0
    @exclusivity(unchecked)
    fileprivate var offset = 0
    @exclusivity(unchecked)
    fileprivate var error: Int32 = 0
    /// The next request in the stream's write queue or completed list.
    @exclusivity(unchecked)
    fileprivate var next: NativeWriteRequest?
    private let callback: ((Int32) -> Void)?

    /// A request whose outcome goes to `callback`; `buffers` is not empty
    /// (`uv_write2` refuses a write of no buffers).
    package init(buffers: [UnsafeRawBufferPointer], sending handle: NativeHandle? = nil, callback: ((Int32) -> Void)?) {
        self.first = buffers.first ?? UnsafeRawBufferPointer(start: nil, count: 0)
        self.rest = buffers.count > 1 ? Array(buffers.dropFirst()) : []
        self.sendHandle = handle
        self.callback = callback
    }

    /// A request for a subclass, which gets its outcome by overriding `complete`.
    init(first: UnsafeRawBufferPointer, rest: [UnsafeRawBufferPointer], sending handle: NativeHandle?) {
        self.first = first
        self.rest = rest
        self.sendHandle = handle
        self.callback = nil
    }

    /// Runs once, from the loop, with 0 or the negative errno.
    func complete(_ status: Int32) { callback?(status) }

    fileprivate var bufferCount: Int { 1 + rest.count }

    @inline(__always)
    fileprivate func buffer(_ i: Int) -> UnsafeRawBufferPointer { i == 0 ? first : rest[i - 1] }

    fileprivate var remaining: Int {
        var n = 0
        for i in index..<bufferCount { n += buffer(i).count }
        return n - offset
    }

    /// Consumes `n` written bytes; true when the request is complete.
    fileprivate func advance(_ n: Int) -> Bool {
        var left = n
        while left > 0 {
            let available = buffer(index).count - offset
            if left < available {
                offset += left
                left = 0
            } else {
                left -= available
                index += 1
                offset = 0
            }
        }
        while index < bufferCount && buffer(index).count == offset {
            index += 1
            offset = 0
        }
        return index == bufferCount
    }
}

/// A write request that carries its owner's state, so that the owner (a
/// SwiftUV write) needs no object of its own: `onComplete` captures
/// nothing, and gets the state to finish.
package final class NativeWriteRequestWith<State>: NativeWriteRequest {
    @exclusivity(unchecked)
    package var state: State
    private let onComplete: (inout State, Int32) -> Void

    package init(first: UnsafeRawBufferPointer, rest: [UnsafeRawBufferPointer], sending handle: NativeHandle?,
                 state: State, onComplete: @escaping (inout State, Int32) -> Void) {
        self.state = state
        self.onComplete = onComplete
        super.init(first: first, rest: rest, sending: handle)
    }

    override func complete(_ status: Int32) { onComplete(&state, status) }
}

/// A first-in, first-out list of write requests linked through their
/// `next` (libuv's intrusive `QUEUE`): unlike an array, it has no storage
/// to allocate when a stream queues its first write. A request is in at
/// most one list at a time.
struct WriteRequestList {
    private(set) var head: NativeWriteRequest?
    /// Not retained: while the list is not empty its last request is held
    /// through the chain from `head` (and is nil with it), so this reference
    /// never outlives its object.
    private unowned(unsafe) var tail: NativeWriteRequest?

    var isEmpty: Bool { head == nil }

    mutating func append(_ request: NativeWriteRequest) {
        request.next = nil
        if let last = tail { last.next = request } else { head = request }
        tail = request
    }

    mutating func removeFirst() -> NativeWriteRequest? {
        guard let first = head else { return nil }
        head = first.next
        first.next = nil
        if head == nil { tail = nil }
        return first
    }

    /// Empties the list one request at a time (a long chain released from
    /// its head would be freed recursively).
    mutating func removeAll() {
        while removeFirst() != nil {}
    }
}

/// A connect or shutdown request (`uv_connect_t`, `uv_shutdown_t`).
package final class NativeStreamRequest {
    fileprivate let callback: ((Int32) -> Void)?
    package init(callback: ((Int32) -> Void)?) { self.callback = callback }
}

/// What a stream hands its reads to, without a closure in between: its
/// owner (SwiftUV's `UVStream`), which outlives its reading.
package protocol NativeStreamReader: AnyObject {
    /// As `readStart`'s callback: a count (> 0), 0 for "nothing now", or an
    /// error (`-4095` is EOF); the buffer is lent for the call.
    func streamRead(_ n: Int, _ buffer: UnsafeMutableRawBufferPointer)
}

/// The flags of a stream, named after libuv's `UV_HANDLE_*`.
struct StreamFlags: OptionSet {
    let rawValue: UInt32
    static let readable = StreamFlags(rawValue: 1 << 0)
    static let writable = StreamFlags(rawValue: 1 << 1)
    static let reading = StreamFlags(rawValue: 1 << 2)
    static let readPartial = StreamFlags(rawValue: 1 << 3)
    static let readEOF = StreamFlags(rawValue: 1 << 4)
    static let shutting = StreamFlags(rawValue: 1 << 5)
    static let shut = StreamFlags(rawValue: 1 << 6)
    static let bound = StreamFlags(rawValue: 1 << 7)
    static let ipv6 = StreamFlags(rawValue: 1 << 8)
    static let noDelay = StreamFlags(rawValue: 1 << 9)
    static let keepAlive = StreamFlags(rawValue: 1 << 10)
    static let singleAccept = StreamFlags(rawValue: 1 << 11)
    static let blockingWrites = StreamFlags(rawValue: 1 << 12)
}

let pollIn = UInt32(EPOLLIN.rawValue)
let pollOut = UInt32(EPOLLOUT.rawValue)
let pollErr = UInt32(EPOLLERR.rawValue)
let pollHup = UInt32(EPOLLHUP.rawValue)

/// A byte stream over a non-blocking descriptor (`uv_stream_t`), following
/// libuv's `stream.c`: reads of up to 64 KiB, at most 32 per readiness event;
/// a write attempted at once when the queue is empty, one request completed
/// per writable event, every write callback deferred to the pending phase;
/// shutdown once the queue drains; greedy accept that pauses while the user
/// has not taken the last connection.
package class NativeStream: NativeHandle {
    @exclusivity(unchecked)
    var flags: StreamFlags = []
    @exclusivity(unchecked)
    private(set) var watcher: IOWatcher!
    @exclusivity(unchecked)
    private var isServer = false

    /// Called with the byte count (> 0), 0 for "nothing now", or an error
    /// (`-4095` is EOF); the buffer is the loop's, lent for the call.
    @exclusivity(unchecked)
    private var readCallback: ((Int, UnsafeMutableRawBufferPointer) -> Void)?
    /// Called instead of `readCallback` when set; not retained (the owner
    /// stops reading, or closes the stream, before it goes).
    @exclusivity(unchecked)
    private unowned(unsafe) var reader: (any NativeStreamReader)?
    @exclusivity(unchecked)
    private var connectionCallback: ((Int32) -> Void)?
    @exclusivity(unchecked)
    var connectRequest: NativeStreamRequest?
    @exclusivity(unchecked)
    private var shutdownRequest: NativeStreamRequest?
    @exclusivity(unchecked)
    private var writeQueue = WriteRequestList()
    @exclusivity(unchecked)
    private var writeCompleted = WriteRequestList()
    /// Bytes queued and not yet written (`write_queue_size`).
    @exclusivity(unchecked)
    package private(set) var writeQueueSize = 0
    @exclusivity(unchecked)
    var delayedError: Int32 = 0
    @exclusivity(unchecked)
    var acceptedFD: Int32 = -1
    /// Where each read goes, asked for before every read with the suggested
    /// size (64 KiB), as libuv's `alloc_cb`; nil reads into the loop's
    /// buffer. An empty buffer (or one without memory) gives the read
    /// callback `ENOBUFS` instead of a read. Set by the C ABI, whose users
    /// own their read buffers.
    @exclusivity(unchecked)
    package var readAllocator: ((Int) -> UnsafeMutableRawBufferPointer)?
    /// Descriptors received after `acceptedFD`, in order (IPC pipes).
    @exclusivity(unchecked)
    private var queuedFDs: [Int32] = []

    /// Whether reads carry passed descriptors (an IPC pipe).
    var isIPC: Bool { false }

    override init(loop: NativeEventLoop, kind: NativeHandleKind) {
        loop.reserveSpareDescriptor()
        super.init(loop: loop, kind: kind)
        watcher = IOWatcher(fd: -1, stream: self)
    }

    deinit {
        // Normally empty (a close completes every request).
        writeQueue.removeAll()
        writeCompleted.removeAll()
    }

    /// The watcher's events (`uv__stream_io`, or `uv__server_io` for a
    /// listening stream).
    final func io(_ events: UInt32) {
        if isServer { serverIO(events) } else { streamIO(events) }
    }

    /// The descriptor, or -1.
    package var fd: Int32 { watcher.fd }
    package var isReadable: Bool { flags.contains(.readable) }
    package var isWritable: Bool { flags.contains(.writable) }
    package var isShutting: Bool { flags.contains(.shutting) }

    /// `uv__stream_open`.
    func open(fd: Int32, flags extra: StreamFlags) throws(NativeError) {
        if !(watcher.fd == -1 || watcher.fd == fd) { throw .busy }
        flags.formUnion(extra)
        if kind == .tcp {
            if flags.contains(.noDelay) { try setNoDelay(fd, true) }
            if flags.contains(.keepAlive) { try setKeepAlive(fd, true, 60) }
        }
        watcher.fd = fd
    }

    // MARK: Reading

    /// `uv_read_start`; the caller has checked closing and the callback.
    package func readStart(_ callback: @escaping (Int, UnsafeMutableRawBufferPointer) -> Void) throws(NativeError) {
        try beginReading()
        readCallback = callback
    }

    /// `readStart` handing the reads to `reader` directly (no closure call
    /// or retain per read).
    package func readStart(reader: any NativeStreamReader) throws(NativeError) {
        try beginReading()
        self.reader = reader
    }

    private func beginReading() throws(NativeError) {
        if flags.contains(.reading) { throw .alreadyInProgressCode }
        if !flags.contains(.readable) { throw NativeError(errno: ENOTCONN) }
        flags.insert(.reading)
        flags.remove(.readEOF)
        loop.ioStart(watcher, pollIn)
        markActive()
    }

    @inline(__always)
    private var hasReader: Bool { reader != nil || readCallback != nil }

    @inline(__always)
    private func deliverRead(_ n: Int, _ buffer: UnsafeMutableRawBufferPointer) {
        if let reader { reader.streamRead(n, buffer) } else { readCallback?(n, buffer) }
    }

    /// `uv_read_stop`.
    package func readStop() {
        guard flags.contains(.reading) else { return }
        flags.remove(.reading)
        loop.ioStop(watcher, pollIn)
        markInactive()
        readCallback = nil
        reader = nil
    }

    private func eof(_ buffer: UnsafeMutableRawBufferPointer) {
        flags.insert(.readEOF)
        flags.remove(.reading)
        loop.ioStop(watcher, pollIn)
        markInactive()
        deliverRead(Int(NativeError.endOfFile.code), buffer)
    }

    private func read() {
        flags.remove(.readPartial)
        var count = 32
        while hasReader, flags.contains(.reading), count > 0 {
            count -= 1
            var buffer = loop.readBuffer
            if let readAllocator {
                buffer = readAllocator(64 * 1024)
                if buffer.baseAddress == nil || buffer.count == 0 {
                    deliverRead(Int(-ENOBUFS), buffer)
                    return
                }
            }
            var n: Int
            if isIPC {
                var fds = [Int32](repeating: -1, count: 64)
                var count: Int32 = 0
                repeat {
                    n = cnative_recvmsg_fds(watcher.fd, buffer.baseAddress, buffer.count, &fds, 64, &count)
                } while n < 0 && errno == EINTR
                for fd in fds.prefix(Int(count)) {
                    if acceptedFD == -1 { acceptedFD = fd } else { queuedFDs.append(fd) }
                }
            } else {
                repeat {
                    n = Glibc.read(watcher.fd, buffer.baseAddress, buffer.count)
                } while n < 0 && errno == EINTR
            }
            if n < 0 {
                let err = errno
                if err == EAGAIN || err == EWOULDBLOCK {
                    if flags.contains(.reading) { loop.ioStart(watcher, pollIn) }
                    deliverRead(0, buffer)
                } else {
                    flags.remove([.readable, .writable])
                    deliverRead(Int(-err), buffer)
                    if flags.contains(.reading) {
                        flags.remove(.reading)
                        loop.ioStop(watcher, pollIn)
                        markInactive()
                    }
                }
                return
            } else if n == 0 {
                eof(buffer)
                return
            } else {
                deliverRead(n, UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n]))
                if n < buffer.count {
                    flags.insert(.readPartial)
                    return
                }
            }
        }
    }

    // MARK: The I/O callback

    private func streamIO(_ events: UInt32) {
        if connectRequest != nil {
            finishConnect()
            return
        }
        if events & (pollIn | pollErr | pollHup) != 0 { read() }
        if watcher.fd == -1 { return }
        if events & pollHup != 0 && flags.contains(.reading) && flags.contains(.readPartial) && !flags.contains(.readEOF) {
            eof(UnsafeMutableRawBufferPointer(start: nil, count: 0))
        }
        if watcher.fd == -1 { return }
        if events & (pollOut | pollErr | pollHup) != 0 {
            write()
            writeCallbacks()
            if writeQueueIsEmpty { drain() }
        }
    }

    // MARK: Connecting

    /// Starts a connect request after the socket's `connect(2)`:
    /// `EINPROGRESS` waits for writability, a synchronous error is
    /// delivered from the pending phase.
    func beginConnect(_ request: NativeStreamRequest, watchWritable: Bool = true) {
        loop.activeRequests += 1
        connectRequest = request
        if watchWritable { loop.ioStart(watcher, pollOut) }
        if delayedError != 0 { loop.feed(watcher) }
    }

    private func finishConnect() {
        guard let request = connectRequest else { return }
        var error: Int32
        if delayedError != 0 {
            error = delayedError
            delayedError = 0
        } else {
            var soError: Int32 = 0
            var len = socklen_t(4)
            getsockopt(watcher.fd, SOL_SOCKET, SO_ERROR, &soError, &len)
            error = -soError
        }
        if error == -EINPROGRESS { return }
        connectRequest = nil
        loop.activeRequests -= 1
        if error < 0 || writeQueueIsEmpty { loop.ioStop(watcher, pollOut) }
        request.callback?(error)
        if watcher.fd == -1 { return }
        if error < 0 {
            flushWriteQueue(NativeError.cancelled.code)
            writeCallbacks()
        }
    }

    // MARK: Writing

    private var writeQueueIsEmpty: Bool { writeQueue.isEmpty }

    /// `uv_write`: with an empty queue and no pending connect the write is
    /// tried at once; the callback always waits for the pending phase.
    package func write(_ request: NativeWriteRequest) throws(NativeError) {
        if watcher.fd < 0 { throw NativeError(errno: EBADF) }
        if !flags.contains(.writable) { throw NativeError(errno: EPIPE) }
        if let h = request.sendHandle {
            if !isIPC { throw .invalidArgument }
            // libuv's `uv__handle_fd`: only TCP, pipe and UDP handles have one.
            if ![.tcp, .pipe, .udp].contains(h.kind) || h.descriptor < 0 { throw NativeError(errno: EBADF) }
        }
        let emptyQueue = writeQueueSize == 0
        loop.activeRequests += 1
        writeQueueSize += request.remaining
        writeQueue.append(request)
        if connectRequest != nil {
            // Written once connected.
        } else if emptyQueue {
            write()
        } else {
            loop.ioStart(watcher, pollOut)
        }
    }

    /// `uv_try_write`: bytes written now, or `EAGAIN` while connecting or
    /// while requests are queued.
    package func tryWrite(_ buffers: [UnsafeRawBufferPointer]) throws(NativeError) -> Int {
        if connectRequest != nil || writeQueueSize != 0 { throw NativeError(errno: EAGAIN) }
        if watcher.fd < 0 { throw NativeError(errno: EBADF) }
        if !flags.contains(.writable) { throw NativeError(errno: EPIPE) }
        return try writeNow(count: buffers.count, index: 0, offset: 0) { buffers[$0] }
    }

    /// Writes buffers `index...` (of `count`, the first from `offset`) with
    /// one system call: at most 1024 of them (`IOV_MAX`), their iovecs on
    /// the stack.
    private func writeNow(count: Int, index: Int, offset: Int, sending sendFD: Int32 = -1,
                          _ buffer: (Int) -> UnsafeRawBufferPointer) throws(NativeError) -> Int {
        let iovCount = min(count - index, 1024)
        let n = withUnsafeTemporaryAllocation(of: iovec.self, capacity: iovCount) { iov -> Int in
            for j in 0..<iovCount {
                let b = buffer(index + j)
                let skip = j == 0 ? offset : 0
                iov[j] = iovec(iov_base: UnsafeMutableRawPointer(mutating: b.baseAddress.map { $0 + skip }), iov_len: b.count - skip)
            }
            var n: Int
            repeat {
                if sendFD != -1 {
                    n = cnative_sendmsg_fd(watcher.fd, iov.baseAddress, Int32(iovCount), sendFD)
                } else if iovCount == 1 {
                    // As libuv's uv__writev: one buffer goes through write(2),
                    // which asks the socket even for 0 bytes (EPIPE when the peer
                    // is gone); a zero-total writev returns 0 without asking.
                    n = Glibc.write(watcher.fd, iov[0].iov_base, iov[0].iov_len)
                } else {
                    n = writev(watcher.fd, iov.baseAddress, Int32(iovCount))
                }
            } while n < 0 && errno == EINTR
            return n
        }
        if n >= 0 { return n }
        let err = errno
        if err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS { throw NativeError(errno: EAGAIN) }
        if err == EPROTOTYPE { throw NativeError(errno: ECONNRESET) }
        throw NativeError(errno: err)
    }

    /// Writes the head request; completes at most one request per call.
    private func write() {
        guard watcher.fd >= 0 else { return }
        while let request = writeQueue.head {
            do throws(NativeError) {
                var sendFD: Int32 = -1
                if let h = request.sendHandle {
                    if h.isClosing { throw NativeError(errno: EBADF) }
                    sendFD = h.descriptor
                }
                let n = try writeNow(count: request.bufferCount, index: request.index, offset: request.offset, sending: sendFD) { request.buffer($0) }
                request.sendHandle = nil
                writeQueueSize -= n
                if request.advance(n) {
                    finish(request)
                    return
                }
            } catch where error.code == -EAGAIN {
                // Wait for writability.
            } catch {
                request.error = error.code
                finish(request)
                loop.ioStop(watcher, pollOut)
                return
            }
            if flags.contains(.blockingWrites) { continue }
            loop.ioStart(watcher, pollOut)
            return
        }
    }

    private func finish(_ request: NativeWriteRequest) {
        // Only the head request is ever finished.
        _ = writeQueue.removeFirst()
        writeCompleted.append(request)
        loop.feed(watcher)
    }

    private func flushWriteQueue(_ error: Int32) {
        while let request = writeQueue.removeFirst() {
            request.error = error
            writeCompleted.append(request)
        }
    }

    private func writeCallbacks() {
        if writeCompleted.isEmpty { return }
        // The batch is taken whole: requests completed by its callbacks wait
        // for the next pass, as in libuv.
        var batch = WriteRequestList()
        swap(&batch, &writeCompleted)
        while let request = batch.removeFirst() {
            loop.activeRequests -= 1
            // A failed request's bytes leave the queue size only now, as in
            // libuv: until then a non-zero size tells the user to stop.
            if request.error != 0 { writeQueueSize -= request.remaining }
            request.complete(request.error)
        }
    }

    // MARK: Shutdown

    /// `uv_shutdown`: the stream stops being writable at once; `shutdown(2)`
    /// runs when the write queue has drained.
    package func shutdown(_ request: NativeStreamRequest) throws(NativeError) {
        if !flags.contains(.writable) || flags.contains(.shut) || flags.contains(.shutting) || isClosing {
            throw NativeError(errno: ENOTCONN)
        }
        loop.activeRequests += 1
        shutdownRequest = request
        flags.insert(.shutting)
        flags.remove(.writable)
        if writeQueueIsEmpty { loop.feed(watcher) }
    }

    private func drain() {
        if !isClosing { loop.ioStop(watcher, pollOut) }
        guard flags.contains(.shutting), let request = shutdownRequest else { return }
        if isClosing || !flags.contains(.shut) {
            shutdownRequest = nil
            flags.remove(.shutting)
            loop.activeRequests -= 1
            var err: Int32 = 0
            if isClosing {
                err = NativeError.cancelled.code
            } else if Glibc.shutdown(watcher.fd, Int32(SHUT_WR)) != 0 {
                err = -errno
            } else {
                flags.insert(.shut)
            }
            request.callback?(err)
        }
    }

    // MARK: Listening

    /// Starts accepting (`uv_listen` after `listen(2)` succeeded).
    func beginListening(_ callback: @escaping (Int32) -> Void) {
        connectionCallback = callback
        isServer = true
        loop.ioStart(watcher, pollIn)
        markActive()
    }

    private func serverIO(_ events: UInt32) {
        loop.ioStart(watcher, pollIn)
        while watcher.fd != -1 {
            var fd: Int32
            repeat {
                fd = cnative_accept(watcher.fd)
            } while fd < 0 && errno == EINTR
            if fd < 0 {
                var err = errno
                if err == EAGAIN || err == EWOULDBLOCK { return }
                if err == ECONNABORTED { continue }
                if err == EMFILE || err == ENFILE {
                    err = loop.emfileTrick(listener: watcher.fd)
                    if err == EAGAIN || err == EWOULDBLOCK { break }
                }
                connectionCallback?(-err)
                continue
            }
            acceptedFD = fd
            connectionCallback?(0)
            if acceptedFD != -1 {
                // The user did not accept: stop polling until they do.
                loop.ioStop(watcher, pollIn)
                return
            }
            if flags.contains(.singleAccept) {
                var ts = timespec(tv_sec: 0, tv_nsec: 1)
                nanosleep(&ts, nil)
            }
        }
    }

    /// `uv_accept`: hands the pending connection to `client`.
    package func accept(into client: NativeStream) throws(NativeError) {
        if client.kind != .tcp && client.kind != .pipe { throw .invalidArgument }
        try accept { fd throws(NativeError) in
            try client.open(fd: fd, flags: [.readable, .writable])
            client.flags.insert(.bound)
        }
    }

    /// `uv_accept` into a UDP handle (a socket passed over an IPC pipe).
    package func accept(into client: NativeUDP) throws(NativeError) {
        try accept { fd throws(NativeError) in try client.open(socket: fd) }
    }

    private func accept(_ adopt: (Int32) throws(NativeError) -> Void) throws(NativeError) {
        if acceptedFD == -1 { throw NativeError(errno: EAGAIN) }
        let fd = acceptedFD
        var failure: NativeError?
        do {
            try adopt(fd)
        } catch {
            closeDescriptor(fd)
            failure = error
        }
        if !queuedFDs.isEmpty {
            acceptedFD = queuedFDs.removeFirst()
        } else {
            acceptedFD = -1
            if failure == nil { loop.ioStart(watcher, pollIn) }
        }
        if let failure { throw failure }
    }

    /// Handles received and not yet accepted (`uv_pipe_pending_count`).
    package var pendingCount: Int {
        guard isIPC, acceptedFD != -1 else { return 0 }
        return 1 + queuedFDs.count
    }

    /// The kind of the next handle to accept (`uv_pipe_pending_type`).
    package var pendingType: NativeHandleGuess {
        guard isIPC, acceptedFD != -1 else { return .unknown }
        return NativeHandleGuess.guess(acceptedFD)
    }

    /// `uv_stream_set_blocking`.
    package func setBlocking(_ blocking: Bool) throws(NativeError) {
        let current = try syscall { fcntl(watcher.fd, F_GETFL) }
        let wanted = blocking ? current & ~O_NONBLOCK : current | O_NONBLOCK
        if wanted != current { _ = try syscall { fcntl(watcher.fd, F_SETFL, wanted) } }
    }

    // MARK: Close

    override package var descriptor: Int32 { watcher.fd }

    override func willClose() {
        loop.ioClose(watcher)
        readStop()
        markInactive()
        flags.remove([.readable, .writable])
        if watcher.fd != -1 {
            if watcher.fd > 2 { closeDescriptor(watcher.fd) }
            watcher.fd = -1
        }
        if acceptedFD != -1 {
            closeDescriptor(acceptedFD)
            acceptedFD = -1
        }
        for fd in queuedFDs { closeDescriptor(fd) }
        queuedFDs.removeAll()
    }

    /// `uv__stream_destroy`: a pending connect, then queued writes (their real
    /// status if written, else `ECANCELED`), then a pending shutdown, each
    /// get their callback before the close callback.
    override func didClose() {
        if let request = connectRequest {
            connectRequest = nil
            loop.activeRequests -= 1
            request.callback?(NativeError.cancelled.code)
        }
        flushWriteQueue(NativeError.cancelled.code)
        writeCallbacks()
        drain()
        readCallback = nil
        reader = nil
        connectionCallback = nil
    }
}

extension NativeError {
    static let endOfFile = NativeError(code: -4095)
    static let alreadyInProgressCode = NativeError(errno: EALREADY)
}

func setNoDelay(_ fd: Int32, _ on: Bool) throws(NativeError) {
    var v: Int32 = on ? 1 : 0
    _ = try syscall { setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &v, 4) }
}

func setKeepAlive(_ fd: Int32, _ on: Bool, _ delay: UInt32) throws(NativeError) {
    var v: Int32 = on ? 1 : 0
    _ = try syscall { setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, 4) }
    if on {
        var d = Int32(bitPattern: delay), intvl: Int32 = 1, cnt: Int32 = 10
        _ = try syscall { setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, &d, 4) }
        _ = try syscall { setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, &intvl, 4) }
        _ = try syscall { setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, &cnt, 4) }
    }
}
