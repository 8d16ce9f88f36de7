import CUV
import NativeLoop

#if canImport(Glibc)
import Glibc
#endif

/// The kind of a handle (`uv_handle_type`).
public enum HandleType: String, Sendable {
    /// A ``UVTimer`` (`UV_TIMER`).
    case timer
    /// An ``Idle`` watcher (`UV_IDLE`).
    case idle
    /// A ``Prepare`` watcher (`UV_PREPARE`).
    case prepare
    /// A ``Check`` watcher (`UV_CHECK`).
    case check
    /// An ``Async`` handle (`UV_ASYNC`).
    case async
    /// A ``Signal`` watcher (`UV_SIGNAL`).
    case signal
    /// A ``TCP`` stream (`UV_TCP`).
    case tcp
    /// A ``UVPipe`` (`UV_NAMED_PIPE`).
    case pipe
    /// A ``UDP`` socket (`UV_UDP`).
    case udp
    /// A ``Poll`` handle (`UV_POLL`).
    case poll
    /// A ``TTY`` (`UV_TTY`).
    case tty
    /// A ``UVProcess`` (`UV_PROCESS`).
    case process
    /// An ``FSEvent`` watcher (`UV_FS_EVENT`).
    case fsEvent
    /// An ``FSPoll`` watcher (`UV_FS_POLL`).
    case fsPoll
    /// Not a handle: what `guessHandle` says of a regular file or a device.
    case file
}

/// A long-lived object on a loop: a timer, a watcher, an async door, a
/// signal watcher.
///
/// **Lifetime.** A handle keeps itself alive from init until its close
/// callback has run, so dropping your last reference to an active handle does
/// not stop it. In return every handle must be closed, as in libuv: a handle
/// never closed stays on its loop (see `Loop.walk`, `Loop.closeAll` and
/// `Loop.shutdown`).
///
/// **Misuse.** Every method on a handle that is closing or closed throws
/// `UVError.invalidArgument` with a context saying so; a second `close` is
/// such a call. Nothing of the kind reaches libuv, where it would abort.
///
/// The corresponding libuv type is `uv_handle_t`.
public class Handle {
    enum Core {
        case uv(UnsafeMutablePointer<uv_handle_t>)
        case native(NativeHandle)
    }

    enum State { case open, closing, closed }

    // The stored properties, in the order Swift lays them out: the two
    // one-byte ones share a word, and what few handles use lives in
    // `extras`, allocated on first use (a timer is 48 bytes smaller).

    /// The loop this handle belongs to.
    public let loop: Loop
    /// The handle's kind.
    public let type: HandleType
    @exclusivity(unchecked)
    private(set) var state = State.open
    let core: Core
    /// Its creation order on its loop, as traces name it.
    let objectID: Int
    @exclusivity(unchecked)
    private var extrasStorage: HandleExtras?

    /// How a comparison of two traces of the program treats this handle's
    /// events (see `Loop.startTracing(_:)` and `uvdemo compare --exec`).
    public var traceOrder: TraceOrder {
        get { extrasStorage?.traceOrder ?? .ordered }
        set { extras.traceOrder = newValue }
    }

    /// Run when a close starts: async operations that no libuv callback
    /// would end (a task awaiting a read, an accept, a sleep, an exit).
    /// Keyed by their owner, which removes its hook when it goes away.
    final var closeHooks: [ObjectIdentifier: () -> Void] {
        get { extrasStorage?.closeHooks ?? [:] }
        _modify { yield &extras.closeHooks }
    }

    /// Writes in flight that pass this handle over an IPC pipe: its libuv
    /// memory is kept until they are done.
    final var pendingSends: Int {
        get { extrasStorage?.pendingSends ?? 0 }
        _modify { yield &extras.pendingSends }
    }

    private var extras: HandleExtras {
        if let extras = extrasStorage { return extras }
        let extras = HandleExtras()
        extrasStorage = extras
        return extras
    }

    init(loop: Loop, type: HandleType, core: Core) {
        self.loop = loop
        self.type = type
        self.core = core
        self.objectID = loop.takeObjectID()
        // The pin: released after the close callback.
        let pinned = Unmanaged.passRetained(self).toOpaque()
        switch core {
        case .uv(let h): h.pointee.data = pinned
        case .native(let h): h.data = pinned
        }
        loop.liveHandleCount += 1
    }

    /// Allocates a libuv handle of type `T` and runs its init function;
    /// frees it again if init fails.
    static func makeUV<T>(
        _: T.Type, on loop: UnsafeMutablePointer<uv_loop_t>,
        _ initialize: (UnsafeMutablePointer<uv_loop_t>, UnsafeMutablePointer<T>) -> Int32
    ) throws(UVError) -> Core {
        let h = UnsafeMutablePointer<T>.allocate(capacity: 1)
        let status = initialize(loop, h)
        if status != 0 {
            h.deallocate()
            throw UVError(code: status)
        }
        return .uv(UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_handle_t.self))
    }

    /// The handle whose `data` is `pointer`.
    @inline(__always)
    static func owner<H: Handle>(of pointer: UnsafeMutableRawPointer?, as: H.Type) -> H {
        Unmanaged<H>.fromOpaque(pointer!).takeUnretainedValue()
    }

    /// Calls `body` with the handle that owns `pointer`, without a
    /// retain/release pair: the handle pins itself until its close callback,
    /// so it outlives any callback libuv makes on it. For the hot paths
    /// (timers, watchers, asyncs, reads).
    @inline(__always)
    static func withOwner<H: Handle>(of pointer: UnsafeMutableRawPointer?, as: H.Type, _ body: (H) -> Void) {
        Unmanaged<H>.fromOpaque(pointer!)._withUnsafeGuaranteedRef(body)
    }

    /// Throws unless the handle is open: `UVError.invalidArgument`, or the
    /// code libuv itself gives for that call on a closing handle.
    @inline(__always)
    final func ensureOpen(_ operation: @autoclosure () -> String, code: UVError = .invalidArgument) throws(UVError) {
        loop.checkThread("\(type.rawValue) handle: \(operation())")
        if state != .open {
            throw code.with(context: "\(operation()): the \(type.rawValue) handle is \(state == .closing ? "closing" : "closed")")
        }
    }

    /// Whether the handle is active: a started timer or watcher, an async
    /// handle before close (`uv_is_active`).
    public final var isActive: Bool {
        if state == .closed { return false }
        switch core {
        case .uv(let h): return uv_is_active(h) != 0
        case .native(let h): return h.isActive
        }
    }

    /// Whether `close` has been called (`uv_is_closing`): true while closing
    /// and after.
    public final var isClosing: Bool { state != .open }

    /// Whether the handle keeps the loop alive while active (`uv_has_ref`).
    public final var hasRef: Bool {
        if state == .closed { return false }
        switch core {
        case .uv(let h): return uv_has_ref(h) != 0
        case .native(let h): return h.hasRef
        }
    }

    /// The descriptor under the handle: `UVError.invalidArgument` for kinds
    /// that have none (timers, watchers...), `.badFileDescriptor` when it is
    /// not made yet.
    ///
    /// The corresponding libuv function is `uv_fileno`.
    public final func fileDescriptor() throws(UVError) -> Int32 {
        try ensureOpen("fileDescriptor")
        switch core {
        case .uv(let h):
            var fd: Int32 = -1
            try check(uv_fileno(h, &fd))
            return fd
        case .native(let h):
            switch type {
            case .tcp, .pipe, .tty, .udp, .poll:
                if h.descriptor < 0 { throw UVError.badFileDescriptor }
                return h.descriptor
            default:
                throw UVError.invalidArgument
            }
        }
    }

    /// The socket's receive buffer size (`SO_RCVBUF`); setting 0 only reads
    /// it. Linux reports twice what was set. (`uv_recv_buffer_size`)
    public final func receiveBufferSize(setting value: Int32 = 0) throws(UVError) -> Int32 {
        try bufferSize(value, option: SO_RCVBUF) { h, v in uv_recv_buffer_size(h, v) }
    }

    /// The socket's send buffer size (`SO_SNDBUF`), as `receiveBufferSize`.
    /// (`uv_send_buffer_size`)
    public final func sendBufferSize(setting value: Int32 = 0) throws(UVError) -> Int32 {
        try bufferSize(value, option: SO_SNDBUF) { h, v in uv_send_buffer_size(h, v) }
    }

    private func bufferSize(_ value: Int32, option: Int32, _ uv: (UnsafeMutablePointer<uv_handle_t>, UnsafeMutablePointer<Int32>) -> Int32) throws(UVError) -> Int32 {
        try ensureOpen("bufferSize")
        // The kernel would read a negative size as a huge one.
        if value < 0 { throw InputCheck.refuse(option == SO_RCVBUF ? "receiveBufferSize" : "sendBufferSize", "the size \(value) is negative") }
        var v = value
        switch core {
        case .uv(let h):
            try check(uv(h, &v))
            return v
        case .native:
            // libuv: only TCP, pipes and UDP have these options.
            guard type == .tcp || type == .pipe || type == .udp else { throw UVError.notSupported }
            let fd = try fileDescriptor()
            var len = socklen_t(4)
            if value == 0 {
                if getsockopt(fd, SOL_SOCKET, option, &v, &len) != 0 { throw UVError(code: -errno) }
            } else if setsockopt(fd, SOL_SOCKET, option, &v, len) != 0 {
                throw UVError(code: -errno)
            }
            return v
        }
    }

    /// Lets the handle keep the loop alive while it is active (the default).
    ///
    /// The corresponding libuv function is `uv_ref`.
    public final func ref() throws(UVError) {
        try ensureOpen("ref")
        switch core {
        case .uv(let h): uv_ref(h)
        case .native(let h): h.ref()
        }
    }

    /// Stops the handle from keeping the loop alive; it still gets its
    /// callbacks while the loop runs for other reasons.
    ///
    /// The corresponding libuv function is `uv_unref`.
    public final func unref() throws(UVError) {
        try ensureOpen("unref")
        switch core {
        case .uv(let h): uv_unref(h)
        case .native(let h): h.unref()
        }
    }

    /// Closes the handle: it stops at once, and `callback` runs in the
    /// closing phase of the loop's iteration (close callbacks run last closed,
    /// first called). A second call throws `UVError.invalidArgument`.
    ///
    /// The corresponding libuv function is `uv_close`.
    public final func close(_ callback: ((Handle) -> Void)? = nil) throws(UVError) {
        try ensureOpen("close")
        try close(callback) { core in
            switch core {
            case .uv(let h):
                uv_close(h, Handle.uvCloseCallback)
                // libuv sets the default action back when a signal loses its
                // last watcher (the child watcher, for a process).
                if self.type == .signal || self.type == .process { SignalRegistry.reassert() }
            case .native(let h): h.close(self.nativeCloseCallback)
            }
        }
    }

    /// Starts a close with `start` (`uv_close`, or a variant such as
    /// `uv_tcp_close_reset`), which may refuse before anything changed.
    final func close(_ callback: ((Handle) -> Void)?, start: (Core) throws(UVError) -> Void) throws(UVError) {
        willClose()
        try start(core)
        state = .closing
        if let callback { extras.closeCallback = callback }
        if let extras = extrasStorage, !extras.closeHooks.isEmpty {
            let hooks = extras.closeHooks
            extras.closeHooks = [:]
            for hook in hooks.values { hook() }
        }
    }

    static let uvCloseCallback: uv_close_cb = { h in
        Handle.owner(of: h?.pointee.data, as: Handle.self).finishClose()
    }

    final var nativeCloseCallback: () -> Void {
        { [unowned(unsafe) self] in self.finishClose() }
    }

    /// Kind-specific work before the close starts.
    func willClose() {}

    /// Drops the user's closures, which may hold the handle.
    func releaseCallbacks() {}

    /// Whether the close frees the libuv handle's memory (an async handle's
    /// door frees it later).
    var freesUVMemoryOnClose: Bool { true }

    func sendFinished() {
        pendingSends -= 1
        if pendingSends == 0 && state == .closed && freesUVMemoryOnClose, case .uv(let h) = core { h.deallocate() }
    }

    private func finishClose() {
        state = .closed
        releaseCallbacks()
        if pendingSends == 0 && freesUVMemoryOnClose, case .uv(let h) = core { h.deallocate() }
        loop.liveHandleCount -= 1
        let callback = extrasStorage?.closeCallback
        extrasStorage?.closeCallback = nil
        deliver(.closed) { callback?(self) }
        Unmanaged.passUnretained(self).release()
    }
}

/// The parts of a handle that few handles use, allocated on first use:
/// a close callback, close hooks, a trace order, handle-passing writes.
final class HandleExtras {
    @exclusivity(unchecked)
    var traceOrder = TraceOrder.ordered
    @exclusivity(unchecked)
    var closeCallback: ((Handle) -> Void)?
    @exclusivity(unchecked)
    var closeHooks: [ObjectIdentifier: () -> Void] = [:]
    @exclusivity(unchecked)
    var pendingSends = 0
}

extension Handle: CustomStringConvertible {
    /// The kind and state, as `timer (active)` or `tcp (closing)`.
    public var description: String {
        let status = state == .open ? (isActive ? "active" : "inactive") : (state == .closing ? "closing" : "closed")
        return "\(type.rawValue) (\(status))"
    }
}

/// Converts a `Duration` to whole milliseconds for libuv, saturating at
/// `UInt64.max`. Negative durations are refused.
func milliseconds(_ d: Duration) throws(UVError) -> UInt64 {
    let (seconds, attoseconds) = d.components
    if seconds < 0 || attoseconds < 0 {
        throw UVError.invalidArgument.with(context: "a duration must not be negative")
    }
    let (ms, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1000)
    if overflow { return .max }
    let (sum, overflow2) = ms.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000_000_000))
    return overflow2 ? .max : sum
}
