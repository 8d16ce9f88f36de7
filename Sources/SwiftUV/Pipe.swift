import CUV
import NativeLoop

#if canImport(Glibc)
import Glibc
#endif

/// A stream over a Unix-domain socket (bound to a path, or connected to
/// one) or over any pipe-like descriptor.
///
/// Closing a bound pipe removes its socket file. A missing directory in the
/// bind path gives `UVError.permissionDenied`, as in libuv.
///
/// The corresponding libuv type is `uv_pipe_t`.
public final class UVPipe: UVStream {
    /// Whether this pipe can pass handles (set at init).
    public let ipc: Bool
    @exclusivity(unchecked)
    private var connecting = false

    /// Makes a pipe handle; `ipc` pipes can send and receive handles.
    ///
    /// The corresponding libuv function is `uv_pipe_init`.
    public init(loop: Loop, ipc: Bool = false) throws(UVError) {
        try loop.ensureOpen("UVPipe.init")
        ignoreSIGPIPE
        self.ipc = ipc
        let core: Core
        switch loop.core {
        case .uv(let l): core = try Handle.makeUV(uv_pipe_t.self, on: l) { uv_pipe_init($0, $1, ipc ? 1 : 0) }
        case .native(let l): core = .native(NativePipe(loop: l, ipc: ipc))
        }
        super.init(loop: loop, type: .pipe, core: core)
    }

    @inline(__always)
    private var uvPipe: UnsafeMutablePointer<uv_pipe_t>? {
        if case .uv(let h) = core { return UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_pipe_t.self) }
        return nil
    }

    @inline(__always)
    private var nativePipe: NativePipe { unsafeDowncast(nativeStream, to: NativePipe.self) }

    /// Binds to a socket path. `UVError.invalidArgument` if already bound,
    /// `.addressInUse` if the path exists; `.invalidArgument` for an empty
    /// name or one with a NUL byte, `.nameTooLong` beyond 107 bytes (which
    /// libuv 1.44.2 would cut short).
    ///
    /// The corresponding libuv function is `uv_pipe_bind`.
    public func bind(_ path: String) throws(UVError) {
        try ensureOpen("UVPipe.bind")
        try InputCheck.socketName(path, "UVPipe.bind")
        if let p = uvPipe { try check(uv_pipe_bind(p, path), "UVPipe.bind(\(InputCheck.quoted(path)))") } else {
            do { try nativePipe.bind(path: path) } catch { throw UVError(error).with(context: "UVPipe.bind(\(InputCheck.quoted(path)))") }
        }
        boundPath = path
    }

    /// The path given to `bind`, for `listen`'s error.
    private var boundPath: String?

    override var listenContext: String { "UVPipe.listen(\(boundPath.map(InputCheck.quoted) ?? "an unbound pipe"))" }

    /// Connects to a socket path; `callback` gets nil or the error
    /// (`UVError.noSuchFileOrDirectory`, `.connectionRefused`, ...), never
    /// inside this call.
    ///
    /// The corresponding libuv function is `uv_pipe_connect`.
    public func connect(to path: String, _ callback: ((UVError?) -> Void)?) throws(UVError) {
        try ensureOpen("UVPipe.connect")
        // libuv would overwrite the pending request, which then never calls
        // back and keeps the loop alive forever: refuse, as TCP does.
        if connecting { throw UVError.alreadyInProgress.with(context: "UVPipe.connect: a connect is pending") }
        try InputCheck.socketName(path, "UVPipe.connect")
        let request = StatusRequest(handle: self, connect: true, callback: callback, context: "UVPipe.connect(\(InputCheck.quoted(path)))")
        if let p = uvPipe {
            // uv_pipe_connect reports every error through its callback.
            _ = request.startUV(uv_connect_t.self) { req in
                uv_pipe_connect(req, p, path) { req, status in StatusRequest.finishUV(req, status) }
                return 0
            }
        } else {
            nativePipe.connect(path: path, request: NativeStreamRequest { status in request.complete(status) })
        }
        connecting = true
        request.onComplete = { [unowned(unsafe) self] in self.connecting = false }
        loop.liveRequestCount += 1
    }

    /// Adopts an existing descriptor (made non-blocking); readable and
    /// writable as its access mode allows. `UVError.fileExists` if the loop
    /// already watches it; epoll's `UVError.notPermitted` for a descriptor
    /// it cannot watch (a regular file, a directory, `/dev/null`), which
    /// libuv 1.44.2 takes and then aborts on in `uv_run`.
    ///
    /// The corresponding libuv function is `uv_pipe_open`.
    public func open(_ descriptor: Int32) throws(UVError) {
        try ensureOpen("UVPipe.open")
        // libuv takes any descriptor and aborts in uv_run when epoll refuses
        // it (a regular file, a directory, /dev/null).
        try InputCheck.pollable(descriptor, "UVPipe.open")
        if let p = uvPipe { try check(uv_pipe_open(p, descriptor)) } else {
            do { try nativePipe.open(descriptor: descriptor) } catch { throw UVError(error) }
        }
    }

    override func nativeListen(backlog: Int32) throws(UVError) {
        do { try nativePipe.listen(backlog: backlog, nativeConnection) } catch { throw UVError(error) }
    }

    /// The bound path (`uv_pipe_getsockname`); `UVError.badFileDescriptor`
    /// before bind or connect.
    public func localName() throws(UVError) -> String { try name(peer: false) }

    /// The peer's path (`uv_pipe_getpeername`).
    public func peerName() throws(UVError) -> String { try name(peer: true) }

    private func name(peer: Bool) throws(UVError) -> String {
        try ensureOpen(peer ? "UVPipe.peerName" : "UVPipe.localName")
        if let p = uvPipe {
            var buffer = [CChar](repeating: 0, count: 256)
            var size = buffer.count
            try check(peer ? uv_pipe_getpeername(p, &buffer, &size) : uv_pipe_getsockname(p, &buffer, &size))
            return String(decoding: buffer.prefix(size).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        do { return try nativePipe.name(peer: peer) } catch { throw UVError(error) }
    }

    /// Makes the socket file readable and/or writable by everyone.
    ///
    /// The corresponding libuv function is `uv_pipe_chmod`.
    public func chmod(readable: Bool, writable: Bool) throws(UVError) {
        try ensureOpen("UVPipe.chmod")
        if let p = uvPipe {
            let mode = (readable ? Int32(UV_READABLE.rawValue) : 0) | (writable ? Int32(UV_WRITABLE.rawValue) : 0)
            try check(uv_pipe_chmod(p, mode))
        } else {
            do { try nativePipe.chmod(readable: readable, writable: writable) } catch { throw UVError(error) }
        }
    }

    /// Writes `bytes` and passes `handle` (a TCP, pipe or UDP handle) with
    /// them to the process at the other end of this IPC pipe, which accepts
    /// it with `accept`. `UVError.invalidArgument` on a pipe that is not IPC;
    /// `UVError.badFileDescriptor` for a handle of another kind (a TTY, a
    /// poll handle) or one without a descriptor.
    ///
    /// The corresponding libuv function is `uv_write2`.
    public func write<Bytes: Collection>(_ bytes: Bytes, sending handle: Handle,
                                         _ callback: ((UVError?) -> Void)? = nil) throws(UVError) where Bytes.Element == UInt8 {
        try submitWrite(.one(OwnedBuffer(bytes)), sending: handle, callback)
    }

    /// Handles received and not yet accepted (`uv_pipe_pending_count`).
    public var pendingCount: Int {
        guard state == .open else { return 0 }
        if let p = uvPipe { return Int(uv_pipe_pending_count(p)) }
        return nativePipe.pendingCount
    }

    /// The kind of the next handle to accept, or nil (`uv_pipe_pending_type`).
    public var pendingType: HandleType? {
        guard state == .open else { return nil }
        if let p = uvPipe {
            switch uv_pipe_pending_type(p) {
            case UV_TCP: return .tcp
            case UV_NAMED_PIPE: return .pipe
            case UV_UDP: return .udp
            default: return nil
            }
        }
        switch nativePipe.pendingType {
        case .tcp: return .tcp
        case .pipe: return .pipe
        case .udp: return .udp
        default: return nil
        }
    }

    /// Accepts a UDP socket passed over this IPC pipe into `client`.
    ///
    /// The corresponding libuv function is `uv_accept`.
    public func accept(_ client: UDP) throws(UVError) {
        try ensureOpen("accept")
        try client.ensureOpen("accept (client)")
        guard client.loop === loop else {
            throw UVError.invalidArgument.with(context: "accept: the client is on another loop")
        }
        switch (core, client.core) {
        case (.uv(let server), .uv(let c)):
            try check(uv_accept(UnsafeMutableRawPointer(server).assumingMemoryBound(to: uv_stream_t.self),
                                UnsafeMutableRawPointer(c).assumingMemoryBound(to: uv_stream_t.self)))
        case (.native, .native(let c)):
            do { try nativePipe.accept(into: unsafeDowncast(c, to: NativeUDP.self)) } catch { throw UVError(error) }
        default:
            throw UVError.invalidArgument.with(context: "accept: backends differ")
        }
    }

    /// Sets the number of pending pipe instances; it only matters on
    /// Windows, so this does nothing (`uv_pipe_pending_instances`).
    public func setPendingInstances(_ count: Int32) throws(UVError) {
        try ensureOpen("UVPipe.setPendingInstances")
        if let p = uvPipe { uv_pipe_pending_instances(p, count) }
    }
}

/// Ignores SIGPIPE once per process, so that a write to a closed socket or
/// pipe returns EPIPE instead of killing the process.
let ignoreSIGPIPE: Void = {
    signal(SIGPIPE, SIG_IGN)
}()
