import CUV
import NativeLoop

/// The shared base of `Idle`, `Prepare` and `Check`: a callback run once per
/// loop iteration in one phase. Watchers of a phase run in reverse start
/// order; one started during its phase first runs on the next iteration.
public class LoopWatcher: Handle, NativeWatcherTarget {

    init(loop: Loop, type: HandleType) throws(UVError) {
        try loop.ensureOpen("\(type.rawValue).init")
        let core: Core
        switch loop.core {
        case .uv(let l):
            switch type {
            case .idle: core = try Handle.makeUV(uv_idle_t.self, on: l) { uv_idle_init($0, $1) }
            case .prepare: core = try Handle.makeUV(uv_prepare_t.self, on: l) { uv_prepare_init($0, $1) }
            default: core = try Handle.makeUV(uv_check_t.self, on: l) { uv_check_init($0, $1) }
            }
        case .native(let l):
            let kind: NativeHandleKind = type == .idle ? .idle : (type == .prepare ? .prepare : .check)
            core = .native(NativeWatcher(loop: l, kind: kind))
        }
        super.init(loop: loop, type: type, core: core)
    }

    /// The C callback shared by the three kinds: each `uv_*_t` starts with
    /// the `uv_handle_t` fields, `data` among them.
    private static func fire(_ h: UnsafeMutableRawPointer?) {
        Handle.withOwner(of: h?.assumingMemoryBound(to: uv_handle_t.self).pointee.data, as: LoopWatcher.self) { w in
            w.fireWatched()
        }
    }

    /// Calls the subclass's typed callback (a method, not a wrapping closure:
    /// no extra closure call or retain per iteration).
    func fire() {}

    /// The native watcher's call in its phase.
    package func watcherFired() { fireWatched() }

    /// `fire`, recorded while the loop is traced or measured.
    @inline(__always)
    private func fireWatched() {
        if _slowPath(isObserved) { deliver(.fired) { fire() } } else { fire() }
    }

    /// Starts the watcher; `store` keeps the callback in the subclass.
    func startWatcher<W: LoopWatcher>(_ callback: ((W) -> Void)?, store: (@escaping (W) -> Void) -> Void) throws(UVError) {
        try ensureOpen("\(type.rawValue).start")
        if isActive { return }
        guard let callback else {
            throw UVError.invalidArgument.with(context: "\(type.rawValue).start: no callback")
        }
        store(callback)
        switch core {
        case .uv(let h):
            let raw = UnsafeMutableRawPointer(h)
            switch type {
            case .idle: try check(uv_idle_start(raw.assumingMemoryBound(to: uv_idle_t.self)) { LoopWatcher.fire($0) })
            case .prepare: try check(uv_prepare_start(raw.assumingMemoryBound(to: uv_prepare_t.self)) { LoopWatcher.fire($0) })
            default: try check(uv_check_start(raw.assumingMemoryBound(to: uv_check_t.self)) { LoopWatcher.fire($0) })
            }
        case .native(let h):
            // The watcher calls back without a closure; this handle owns it
            // and closes it before it can go.
            unsafeDowncast(h, to: NativeWatcher.self).start(target: self)
        }
    }

    /// Stops the watcher; stopping a stopped watcher does nothing.
    public final func stop() throws(UVError) {
        try ensureOpen("\(type.rawValue).stop")
        switch core {
        case .uv(let h):
            let raw = UnsafeMutableRawPointer(h)
            switch type {
            case .idle: uv_idle_stop(raw.assumingMemoryBound(to: uv_idle_t.self))
            case .prepare: uv_prepare_stop(raw.assumingMemoryBound(to: uv_prepare_t.self))
            default: uv_check_stop(raw.assumingMemoryBound(to: uv_check_t.self))
            }
        case .native(let h):
            unsafeDowncast(h, to: NativeWatcher.self).stop()
        }
    }

}

/// Runs its callback once per iteration, before prepare; while an idle
/// handle is active the loop polls for I/O without blocking.
///
/// The corresponding libuv type is `uv_idle_t`.
public final class Idle: LoopWatcher {
    /// The corresponding libuv function is `uv_idle_init`.
    public init(loop: Loop) throws(UVError) { try super.init(loop: loop, type: .idle) }

    /// Starts the watcher; starting an active one does nothing. A missing
    /// callback throws `UVError.invalidArgument`.
    ///
    /// The corresponding libuv function is `uv_idle_start`.
    public func start(_ callback: ((Idle) -> Void)?) throws(UVError) {
        try startWatcher(callback) { self.callback = $0 }
    }

    @exclusivity(unchecked)
    private var callback: ((Idle) -> Void)?
    override func fire() { callback?(self) }
    override func releaseCallbacks() { callback = nil }
}

/// Runs its callback once per iteration, just before the loop polls for I/O.
///
/// The corresponding libuv type is `uv_prepare_t`.
public final class Prepare: LoopWatcher {
    /// The corresponding libuv function is `uv_prepare_init`.
    public init(loop: Loop) throws(UVError) { try super.init(loop: loop, type: .prepare) }

    /// Starts the watcher; starting an active one does nothing. A missing
    /// callback throws `UVError.invalidArgument`.
    ///
    /// The corresponding libuv function is `uv_prepare_start`.
    public func start(_ callback: ((Prepare) -> Void)?) throws(UVError) {
        try startWatcher(callback) { self.callback = $0 }
    }

    @exclusivity(unchecked)
    private var callback: ((Prepare) -> Void)?
    override func fire() { callback?(self) }
    override func releaseCallbacks() { callback = nil }
}

/// Runs its callback once per iteration, just after the loop polled for I/O.
///
/// The corresponding libuv type is `uv_check_t`.
public final class Check: LoopWatcher {
    /// The corresponding libuv function is `uv_check_init`.
    public init(loop: Loop) throws(UVError) { try super.init(loop: loop, type: .check) }

    /// Starts the watcher; starting an active one does nothing. A missing
    /// callback throws `UVError.invalidArgument`.
    ///
    /// The corresponding libuv function is `uv_check_start`.
    public func start(_ callback: ((Check) -> Void)?) throws(UVError) {
        try startWatcher(callback) { self.callback = $0 }
    }

    @exclusivity(unchecked)
    private var callback: ((Check) -> Void)?
    override func fire() { callback?(self) }
    override func releaseCallbacks() { callback = nil }
}
