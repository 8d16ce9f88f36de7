import CUV
import NativeLoop

/// Calls back after a timeout, and then every `repeat` milliseconds if that
/// is not zero. Timers due at the same loop time fire in the order they were
/// started.
///
/// The corresponding libuv type is `uv_timer_t`.
public final class UVTimer: Handle {
    @exclusivity(unchecked)
    private var callback: ((UVTimer) -> Void)?
    /// The loop time the timer is due at, for the metrics' timer delay.
    @exclusivity(unchecked)
    private var due: UInt64 = 0

    /// Makes a stopped timer on `loop`.
    ///
    /// The corresponding libuv function is `uv_timer_init`.
    public init(loop: Loop) throws(UVError) {
        try loop.ensureOpen("UVTimer.init")
        let core: Core
        switch loop.core {
        case .uv(let l): core = try Handle.makeUV(uv_timer_t.self, on: l) { uv_timer_init($0, $1) }
        case .native(let l): core = .native(NativeTimer(loop: l))
        }
        super.init(loop: loop, type: .timer, core: core)
    }

    @inline(__always)
    private var uvTimer: UnsafeMutablePointer<uv_timer_t>? {
        if case .uv(let h) = core { return UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_timer_t.self) }
        return nil
    }

    @inline(__always)
    private var nativeTimer: NativeTimer {
        guard case .native(let h) = core else { preconditionFailure() }
        return unsafeDowncast(h, to: NativeTimer.self)
    }

    /// Starts the timer: `callback` runs `timeout` milliseconds after the
    /// loop's cached time, then every `repeat` milliseconds if it is not 0.
    /// Starting an active timer restarts it. A missing callback throws
    /// `UVError.invalidArgument`.
    ///
    /// The corresponding libuv function is `uv_timer_start`.
    public func start(timeout: UInt64, repeat: UInt64 = 0, _ callback: ((UVTimer) -> Void)?) throws(UVError) {
        try ensureOpen("UVTimer.start")
        guard let callback else {
            throw UVError.invalidArgument.with(context: "UVTimer.start: no callback")
        }
        self.callback = callback
        if loop.observer != nil { due = loop.now &+ timeout }
        if let t = uvTimer {
            try check(uv_timer_start(t, { t in
                Handle.withOwner(of: t?.pointee.data, as: UVTimer.self) { timer in timer.fire() }
            }, timeout, `repeat`))
        } else {
            // The native timer calls this object back: no closure per timer.
            nativeTimer.start(timeout: timeout, repeat: `repeat`, target: self)
        }
    }

    /// Starts the timer with `Duration`s, rounded down to milliseconds.
    ///
    /// The corresponding libuv function is `uv_timer_start`.
    public func start(after timeout: Duration, repeat: Duration = .zero, _ callback: ((UVTimer) -> Void)?) throws(UVError) {
        try start(timeout: milliseconds(timeout), repeat: milliseconds(`repeat`), callback)
    }

    /// Stops the timer; its callback will not run. Stopping a stopped timer
    /// does nothing.
    ///
    /// The corresponding libuv function is `uv_timer_stop`.
    public func stop() throws(UVError) {
        try ensureOpen("UVTimer.stop")
        if let t = uvTimer { try check(uv_timer_stop(t)) } else { nativeTimer.stop() }
    }

    /// Restarts a repeating timer with its repeat as the timeout; does nothing
    /// when the repeat is 0. Throws `UVError.invalidArgument` if the timer was
    /// never started.
    ///
    /// The corresponding libuv function is `uv_timer_again`.
    public func again() throws(UVError) {
        try ensureOpen("UVTimer.again")
        if loop.observer != nil, repeatInterval > 0 { due = loop.now &+ repeatInterval }
        if let t = uvTimer {
            try check(uv_timer_again(t))
        } else {
            do { try nativeTimer.again() } catch { throw UVError(error).with(context: "UVTimer.again: the timer was never started") }
        }
    }

    /// The repeat interval in milliseconds (`uv_timer_get_repeat`); 0 once closed.
    public var repeatInterval: UInt64 {
        guard state != .closed else { return 0 }
        if let t = uvTimer { return uv_timer_get_repeat(t) }
        return nativeTimer.repeatInterval
    }

    /// Sets the repeat interval; it takes effect at the next reschedule.
    ///
    /// The corresponding libuv function is `uv_timer_set_repeat`.
    public func setRepeat(_ milliseconds: UInt64) throws(UVError) {
        try ensureOpen("UVTimer.setRepeat")
        if let t = uvTimer { uv_timer_set_repeat(t, milliseconds) } else { nativeTimer.repeatInterval = milliseconds }
    }

    /// Milliseconds until the timer is (or, stopped, was) due, by the loop's
    /// cached time; 0 once that time has come, and once the close has completed.
    ///
    /// The corresponding libuv function is `uv_timer_get_due_in`.
    public var dueIn: UInt64 {
        guard state != .closed else { return 0 }
        if let t = uvTimer { return uv_timer_get_due_in(t) }
        return nativeTimer.dueIn
    }

    override func releaseCallbacks() { callback = nil }

    /// Runs the callback (the timer is already rescheduled if it repeats).
    @inline(__always)
    private func fire() {
        if _slowPath(isObserved) { fireObserved() } else { callback?(self) }
    }

    @inline(never)
    private func fireObserved() {
        guard let observer = loop.observer else { return }
        // A timer started before the metrics has no due time to measure from.
        if due != 0 { observer.timerFired(due: due) }
        let interval = repeatInterval
        due = interval > 0 ? loop.now &+ interval : 0
        observer.deliver(.timer, objectID, .fired) { callback?(self) }
    }
}

extension UVTimer: NativeTimerTarget {
    package func nativeTimerFired() { fire() }
}
