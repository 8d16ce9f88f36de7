import CUV
import NativeLoop

#if canImport(Glibc)
import Glibc
#endif

/// A duplex byte stream: the shared base of `TCP` (and, to come, pipes and
/// TTYs).
///
/// Reads go into one 64 KiB buffer per loop, lent to the read callback for
/// the duration of the call; copy what you keep, or use `readStart(bytes:)`.
/// Writes copy the caller's bytes into memory the request owns until its
/// callback; write, connect and shutdown callbacks never run inside the call
/// that started them.
///
/// The corresponding libuv type is `uv_stream_t`.
public class UVStream: Handle, NativeStreamReader {
    @exclusivity(unchecked)
    private var readCallback: ((Result<UnsafeRawBufferPointer, UVError>) -> Void)?
    @exclusivity(unchecked)
    private var connectionCallback: ((UVError?) -> Void)?
    /// `setIdleTimeout`'s watch, told of every read and write.
    @exclusivity(unchecked)
    final var idleWatch: IdleWatch?
    /// The writes held by `writeBatch` while its body runs.
    @exclusivity(unchecked)
    final var writeBatch: WriteBatch?

    @inline(__always)
    var uvStream: UnsafeMutablePointer<uv_stream_t>? {
        if case .uv(let h) = core { return UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_stream_t.self) }
        return nil
    }

    @inline(__always)
    var nativeStream: NativeStream {
        guard case .native(let h) = core else { preconditionFailure() }
        return unsafeDowncast(h, to: NativeStream.self)
    }

    // MARK: Reading

    /// Starts reading. The callback gets `.success(bytes)` for data (lent,
    /// valid during the call), `.success` with no bytes when a read found
    /// nothing (libuv reports those too), and `.failure(.endOfFile)` once at
    /// EOF, after which the stream stays open and writable. Any other error
    /// leaves the stream neither readable nor writable: close it.
    /// `UVError.alreadyInProgress` if already reading, `.notConnected` if the
    /// stream is not readable, `.invalidArgument` without a callback.
    ///
    /// The corresponding libuv function is `uv_read_start`.
    public final func readStart(_ callback: ((Result<UnsafeRawBufferPointer, UVError>) -> Void)?) throws(UVError) {
        try ensureOpen("readStart")
        guard let callback else { throw UVError.invalidArgument.with(context: "readStart: no callback") }
        switch core {
        case .uv(let h):
            let s = UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_stream_t.self)
            let status = uv_read_start(s, { h, _, buf in
                Handle.withOwner(of: h?.pointee.data, as: UVStream.self) { stream in
                    let buffer = stream.loop.readBuffer
                    buf?.pointee = uvBuffer(buffer.baseAddress, buffer.count)
                }
            }, { s, nread, buf in
                Handle.withOwner(of: s?.pointee.data, as: UVStream.self) { stream in
                    stream.reportRead(nread, UnsafeRawPointer(buf?.pointee.base))
                }
            })
            if status == 0 { readCallback = callback }
            try check(status)
        case .native(let h):
            do {
                // The engine hands reads to this stream directly; the
                // stream stops reading (or closes) before it can go.
                try unsafeDowncast(h, to: NativeStream.self).readStart(reader: self)
                readCallback = callback
            } catch {
                throw UVError(error)
            }
        }
    }

    /// Starts reading into owned arrays: `.success(bytes)` for each non-empty
    /// read, `.failure` as `readStart`.
    public final func readStart(bytes callback: @escaping (Result<[UInt8], UVError>) -> Void) throws(UVError) {
        let lent: (Result<UnsafeRawBufferPointer, UVError>) -> Void = { result in
            switch result {
            case .success(let buffer): if !buffer.isEmpty { callback(.success(Array(buffer))) }
            case .failure(let error): callback(.failure(error))
            }
        }
        try readStart(lent)
    }

    /// Stops reading; stopping a stream that is not reading does nothing.
    ///
    /// The corresponding libuv function is `uv_read_stop`.
    public final func readStop() throws(UVError) {
        try ensureOpen("readStop")
        switch core {
        case .uv: _ = uv_read_stop(uvStream)
        case .native(let h): unsafeDowncast(h, to: NativeStream.self).readStop()
        }
    }

    // MARK: Writing

    /// Writes `bytes`; `callback` gets nil once they are handed to the kernel,
    /// or the error (`UVError.cancelled` if the stream closed first).
    /// `UVError.badFileDescriptor` without a socket (or once closing),
    /// `.brokenPipe` if the stream is not writable (after `shutdown`, say).
    ///
    /// The corresponding libuv function is `uv_write`.
    public final func write<Bytes: Collection>(_ bytes: Bytes, _ callback: ((UVError?) -> Void)? = nil) throws(UVError)
    where Bytes.Element == UInt8 {
        try submitWrite(.one(OwnedBuffer(bytes)), callback)
    }

    /// Writes the UTF-8 bytes of `string`.
    public final func write(_ string: String, _ callback: ((UVError?) -> Void)? = nil) throws(UVError) {
        try write(string.utf8, callback)
    }

    /// Writes several buffers with one request (a vectored write).
    public final func write(vectored buffers: [[UInt8]], _ callback: ((UVError?) -> Void)? = nil) throws(UVError) {
        // libuv asserts on a write of no buffers.
        if buffers.isEmpty { throw UVError.invalidArgument.with(context: "write: no buffers") }
        try submitWrite(WriteBuffers(buffers.map { OwnedBuffer($0) }), callback)
    }

    /// Writes as much of `bytes` as the kernel takes now, without queueing:
    /// the count written, or `UVError.resourceTemporarilyUnavailable` while
    /// connecting, while writes are queued, or when the kernel takes nothing.
    ///
    /// The corresponding libuv function is `uv_try_write`.
    public final func tryWrite<Bytes: Collection>(_ bytes: Bytes) throws(UVError) -> Int where Bytes.Element == UInt8 {
        try ensureOpen("tryWrite", code: .badFileDescriptor)
        // Held writes are queued writes: bytes written now would overtake them.
        if writeBatch?.isEmpty == false {
            throw UVError.resourceTemporarilyUnavailable.with(context: "tryWrite: writes are held by writeBatch")
        }
        let owned = OwnedBuffer(bytes)
        defer { owned.release() }
        switch core {
        case .uv:
            var buf = uvBuffer(owned.base, owned.count)
            let n = uv_try_write(uvStream, &buf, 1)
            try check(n)
            return Int(n)
        case .native(let h):
            do {
                return try unsafeDowncast(h, to: NativeStream.self).tryWrite([owned.rawBuffer])
            } catch {
                throw UVError(error)
            }
        }
    }

    /// Bytes queued for writing and not yet handed to the kernel
    /// (`uv_stream_get_write_queue_size`).
    public final var writeQueueSize: Int {
        guard state != .closed else { return 0 }
        switch core {
        case .uv: return uv_stream_get_write_queue_size(uvStream)
        case .native(let h): return unsafeDowncast(h, to: NativeStream.self).writeQueueSize
        }
    }

    /// Whether the stream can be read (`uv_is_readable`).
    public final var isReadable: Bool {
        guard state == .open else { return false }
        switch core {
        case .uv: return uv_is_readable(uvStream) != 0
        case .native(let h): return unsafeDowncast(h, to: NativeStream.self).isReadable
        }
    }

    /// Whether the stream can be written (`uv_is_writable`).
    public final var isWritable: Bool {
        guard state == .open else { return false }
        switch core {
        case .uv: return uv_is_writable(uvStream) != 0
        case .native(let h): return unsafeDowncast(h, to: NativeStream.self).isWritable
        }
    }

    // MARK: Shutdown

    /// The native engine's read, handed over without a closure.
    package final func streamRead(_ n: Int, _ buffer: UnsafeMutableRawBufferPointer) {
        reportRead(n, UnsafeRawPointer(buffer.baseAddress))
    }

    /// Hands a read's outcome to the read callback: `n` bytes at `base`, or
    /// the error `n` (EOF included).
    @inline(__always)
    private func reportRead(_ n: Int, _ base: UnsafeRawPointer?) {
        idleWatch?.touch()
        if _slowPath(isObserved) {
            deliver(n >= 0 ? .read(n) : n == Int(UV_EOF.rawValue) ? .eof : .readError(Int32(n))) { passRead(n, base) }
        } else {
            passRead(n, base)
        }
    }

    @inline(__always)
    private func passRead(_ n: Int, _ base: UnsafeRawPointer?) {
        if n >= 0 {
            readCallback?(.success(UnsafeRawBufferPointer(start: n > 0 ? base : nil, count: n)))
        } else {
            readCallback?(.failure(UVError(code: Int32(n))))
        }
    }

    /// Shuts the write side once queued writes are done; the stream stops
    /// being writable at once. `UVError.notConnected` if it is not writable,
    /// already shut (or shutting), or closing.
    ///
    /// The corresponding libuv function is `uv_shutdown`.
    public final func shutdown(_ callback: ((UVError?) -> Void)? = nil) throws(UVError) {
        // libuv answers ENOTCONN for a closing stream.
        try ensureOpen("shutdown", code: .notConnected)
        // The shutdown waits for every write made before it.
        try submitHeldWrites()
        let request = StatusRequest(handle: self, connect: false, callback: callback)
        switch core {
        case .uv:
            try check(request.startUV(uv_shutdown_t.self) { req in
                uv_shutdown(req, uvStream) { req, status in StatusRequest.finishUV(req, status) }
            })
        case .native(let h):
            do {
                try unsafeDowncast(h, to: NativeStream.self).shutdown(NativeStreamRequest { status in request.complete(status) })
            } catch {
                throw UVError(error)
            }
        }
        loop.liveRequestCount += 1
    }

    // MARK: Listening

    /// Starts listening; `callback` runs for each incoming connection (call
    /// `accept` in it) or with an error. Connections are accepted greedily;
    /// while one is not accepted, the stream stops taking more.
    ///
    /// The corresponding libuv function is `uv_listen`.
    public final func listen(backlog: Int32 = 511, _ callback: ((UVError?) -> Void)?) throws(UVError) {
        try ensureOpen("listen")
        guard let callback else { throw UVError.invalidArgument.with(context: "listen: no callback") }
        // The kernel would read a negative backlog as its largest.
        if backlog < 0 { throw InputCheck.refuse("listen", "the backlog \(backlog) is negative") }
        switch core {
        case .uv:
            let status = uv_listen(uvStream, backlog) { s, status in
                let stream = Handle.owner(of: s?.pointee.data, as: UVStream.self)
                stream.deliver(.connection(status)) { stream.connectionCallback?(status == 0 ? nil : UVError(code: status)) }
            }
            try check(status, listenContext)
        case .native:
            do { try nativeListen(backlog: backlog) } catch {
                throw error.context == nil ? error.with(context: listenContext) : error
            }
        }
        connectionCallback = callback
    }

    /// What `listen` was asked to do, for its error (`TCP.listen(0.0.0.0:80)`).
    var listenContext: String { "listen" }

    /// The native part of `listen`, per stream kind.
    func nativeListen(backlog: Int32) throws(UVError) {
        throw UVError.invalidArgument.with(context: "listen: not supported by this stream")
    }

    /// The native connection callback, for subclasses.
    final var nativeConnection: (Int32) -> Void {
        { [unowned(unsafe) self] status in
            self.deliver(.connection(status)) { self.connectionCallback?(status == 0 ? nil : UVError(code: status)) }
        }
    }

    /// Accepts the pending connection into `client`, a new stream of the
    /// same kind on the same loop. `UVError.resourceTemporarilyUnavailable`
    /// when there is none.
    ///
    /// The corresponding libuv function is `uv_accept`.
    public final func accept(_ client: UVStream) throws(UVError) {
        try ensureOpen("accept")
        try client.ensureOpen("accept (client)")
        guard client.loop === loop else {
            throw UVError.invalidArgument.with(context: "accept: the client is on another loop")
        }
        switch (core, client.core) {
        case (.uv, .uv):
            try check(uv_accept(uvStream, client.uvStream))
        case (.native(let server), .native(let c)):
            do {
                try unsafeDowncast(server, to: NativeStream.self).accept(into: unsafeDowncast(c, to: NativeStream.self))
            } catch {
                throw UVError(error)
            }
        default:
            throw UVError.invalidArgument.with(context: "accept: backends differ")
        }
    }

    /// Makes writes block (`uv_stream_set_blocking`).
    public final func setBlocking(_ blocking: Bool) throws(UVError) {
        try ensureOpen("setBlocking")
        switch core {
        case .uv: try check(uv_stream_set_blocking(uvStream, blocking ? 1 : 0))
        case .native(let h):
            do { try unsafeDowncast(h, to: NativeStream.self).setBlocking(blocking) } catch { throw UVError(error) }
        }
    }

    override func releaseCallbacks() {
        readCallback = nil
        connectionCallback = nil
        // Its onIdle may capture this stream.
        idleWatch = nil
    }
}

/// A `uv_buf_t` over `count` bytes at `base` (its length is a `size_t` on
/// Unix; `uv_buf_init` would truncate it to 32 bits).
@inline(__always)
func uvBuffer(_ base: UnsafeRawPointer?, _ count: Int) -> uv_buf_t {
    uv_buf_t(base: UnsafeMutablePointer(mutating: base?.assumingMemoryBound(to: CChar.self)), len: count)
}

/// Bytes copied into memory that a request owns until its callback.
struct OwnedBuffer {
    let base: UnsafeMutableRawPointer?
    let count: Int
    /// An array whose storage `base` points into: kept, not copied (an
    /// array's storage never moves while a reference to it is held, and this
    /// one is never mutated).
    private let kept: [UInt8]?

    init<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        // A metadata comparison, not `as?`: a dynamic cast costs a write of
        // any other collection (a lent read being echoed) ~100 instructions.
        if Bytes.self == [UInt8].self {
            self.init(array: unsafeBitCast(bytes, to: [UInt8].self))
        } else {
            self.init(copying: bytes)
        }
    }

    private init<Bytes: Collection>(copying bytes: Bytes) where Bytes.Element == UInt8 {
        kept = nil
        let n = bytes.count
        count = n
        guard n > 0 else {
            base = nil
            return
        }
        let memory = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 1)
        let copied: Void? = bytes.withContiguousStorageIfAvailable { src in
            memory.copyMemory(from: src.baseAddress!, byteCount: n)
        }
        if copied == nil {
            _ = UnsafeMutableRawBufferPointer(start: memory, count: n).initializeMemory(as: UInt8.self, from: bytes)
        }
        base = memory
    }

    /// Shares the array's storage: no allocation, no copy.
    init(array: [UInt8]) {
        kept = array
        count = array.count
        base = array.isEmpty ? nil : UnsafeMutableRawPointer(mutating: array.withUnsafeBufferPointer { $0.baseAddress })
    }

    var rawBuffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Frees a copy; a kept array is released with the buffer itself.
    func release() { if kept == nil { base?.deallocate() } }
}

/// A request whose callback gets a status: connect, shutdown. Pinned from
/// submission until its callback, which runs exactly once.
final class StatusRequest {
    let loop: Loop
    /// The stream it is for, which its callback is traced as.
    unowned(unsafe) let handle: Handle
    let isConnect: Bool
    @exclusivity(unchecked)
    private var callback: ((UVError?) -> Void)?
    /// Bookkeeping of the handle, run before the user's callback.
    @exclusivity(unchecked)
    var onComplete: (() -> Void)?
    /// What the request was (`TCP.connect(127.0.0.1:80)`), the context of
    /// its error.
    let context: String?

    init(handle: Handle, connect: Bool, callback: ((UVError?) -> Void)?, context: String? = nil) {
        self.loop = handle.loop
        self.handle = handle
        self.isConnect = connect
        self.callback = callback
        self.context = context
    }

    /// Starts a libuv request of type `R` (connect, shutdown): allocates it,
    /// pins this request in its `data`, and undoes both if `start` fails.
    /// The request's callback must end in `finishUV`.
    func startUV<R>(_: R.Type, _ start: (UnsafeMutablePointer<R>) -> Int32) -> Int32 {
        let req = UnsafeMutablePointer<R>.allocate(capacity: 1)
        // Every uv_*_t request begins with the uv_req_t fields, data first.
        UnsafeMutableRawPointer(req).assumingMemoryBound(to: uv_req_t.self).pointee.data = Unmanaged.passRetained(self).toOpaque()
        let status = start(req)
        if status != 0 {
            Unmanaged.passUnretained(self).release()
            req.deallocate()
        }
        return status
    }

    /// The end of a libuv callback of a request started by `startUV`.
    static func finishUV(_ req: UnsafeMutableRawPointer?, _ status: Int32) {
        let raw = req!
        let request = Unmanaged<StatusRequest>.fromOpaque(raw.assumingMemoryBound(to: uv_req_t.self).pointee.data!).takeRetainedValue()
        raw.deallocate()
        request.complete(status)
    }

    func complete(_ status: Int32) {
        loop.liveRequestCount -= 1
        onComplete?()
        onComplete = nil
        let cb = callback
        callback = nil
        handle.deliver(isConnect ? .connect(status) : .shutdown(status)) {
            cb?(status == 0 ? nil : UVError(code: status, context: context))
        }
    }
}
