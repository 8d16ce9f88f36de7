import CUV
import NativeLoop

/// Watches for a Unix signal. Every signal handle of the process that
/// watches a signal gets its callback, on its own loop's thread, in the poll
/// phase after other I/O.
///
/// Signals are process-wide. libuv loops and native loops may watch the same
/// signal at once: the native backend calls the handler it found installed
/// (libuv's) after its own, and SwiftUV installs the native handler again
/// after each libuv call that replaces it.
///
/// The corresponding libuv type is `uv_signal_t`.
public final class Signal: Handle {
    @exclusivity(unchecked)
    private var callback: ((Signal, Int32) -> Void)?
    /// Sticky once a libuv watcher started one-shot, as libuv's own flag.
    @exclusivity(unchecked)
    private var startedOneShot = false
    private lazy var nativeFire: (Int32) -> Void = { [unowned(unsafe) self] signum in self.deliver(.signal(signum)) { self.callback?(self, signum) } }

    /// The corresponding libuv function is `uv_signal_init`.
    public init(loop: Loop) throws(UVError) {
        try loop.ensureOpen("Signal.init")
        let core: Core
        switch loop.core {
        case .uv(let l): core = try Handle.makeUV(uv_signal_t.self, on: l) { uv_signal_init($0, $1) }
        case .native(let l): core = .native(NativeSignal(loop: l))
        }
        super.init(loop: loop, type: .signal, core: core)
    }

    /// The signal being watched; 0 when stopped.
    public var signum: Int32 {
        guard state == .open else { return 0 }
        switch core {
        case .uv(let h): return UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_signal_t.self).pointee.signum
        case .native(let h): return unsafeDowncast(h, to: NativeSignal.self).signum
        }
    }

    /// Starts watching `signum`; the callback gets the handle and the signal.
    /// Starting on the signal already watched only replaces the callback.
    /// An invalid signal or a missing callback throws `UVError.invalidArgument`.
    ///
    /// The corresponding libuv function is `uv_signal_start`.
    public func start(signum: Int32, _ callback: ((Signal, Int32) -> Void)?) throws(UVError) {
        try start(signum: signum, oneShot: false, callback)
    }

    /// Like `start`, but the watcher stops after the first signal.
    ///
    /// The corresponding libuv function is `uv_signal_start_oneshot`.
    public func startOneShot(signum: Int32, _ callback: ((Signal, Int32) -> Void)?) throws(UVError) {
        try start(signum: signum, oneShot: true, callback)
    }

    private func start(signum: Int32, oneShot: Bool, _ callback: ((Signal, Int32) -> Void)?) throws(UVError) {
        let name = oneShot ? "Signal.startOneShot" : "Signal.start"
        try ensureOpen(name)
        guard let callback else { throw UVError.invalidArgument.with(context: "\(name): no callback") }
        self.callback = callback
        switch core {
        case .uv(let h):
            let s = UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_signal_t.self)
            let trampoline: uv_signal_cb = { h, signum in
                let handle = Handle.owner(of: h?.pointee.data, as: Signal.self)
                handle.deliver(.signal(signum)) { handle.callback?(handle, signum) }
                // libuv stops a one-shot watcher as soon as this returns, which
                // may set the default action back over a native handler. Stop
                // it here instead (libuv's own stop is then a no-op), and
                // install the native handler again.
                if handle.startedOneShot && handle.state == .open && SignalRegistry.isWatching {
                    uv_signal_stop(h)
                    SignalRegistry.reassert()
                }
            }
            if oneShot { startedOneShot = true }
            let status = oneShot ? uv_signal_start_oneshot(s, trampoline, signum) : uv_signal_start(s, trampoline, signum)
            SignalRegistry.reassert()
            try check(status)
        case .native(let h):
            do {
                try unsafeDowncast(h, to: NativeSignal.self).start(signum: signum, oneShot: oneShot, callback: nativeFire)
            } catch {
                throw UVError(error)
            }
        }
    }

    /// Stops watching; stopping a stopped watcher does nothing.
    ///
    /// The corresponding libuv function is `uv_signal_stop`.
    public func stop() throws(UVError) {
        try ensureOpen("Signal.stop")
        switch core {
        case .uv(let h):
            let status = uv_signal_stop(UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_signal_t.self))
            SignalRegistry.reassert()
            try check(status)
        case .native(let h): unsafeDowncast(h, to: NativeSignal.self).stop()
        }
    }

    override func releaseCallbacks() { callback = nil }
}
