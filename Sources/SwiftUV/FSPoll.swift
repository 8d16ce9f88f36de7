import CUV
import NativeLoop

/// Watches a path by stat-ing it every `interval` milliseconds; works where
/// fs events do not (network file systems). The first stat is silent; a
/// change calls back with the previous and the current stat; each distinct
/// error is reported once (with the last good stat, and a zeroed one).
///
/// The corresponding libuv type is `uv_fs_poll_t`.
public final class FSPoll: Handle {
    @exclusivity(unchecked)
    private var callback: ((FSPoll, UVError?, FileStat, FileStat) -> Void)?
    private lazy var nativeFire: (Int32, NativeStat, NativeStat) -> Void = { [unowned(unsafe) self] status, previous, current in
        self.deliver(.change(status)) { self.callback?(self, status == 0 ? nil : UVError(code: status), FileStat(previous), FileStat(current)) }
    }

    /// The corresponding libuv function is `uv_fs_poll_init`.
    public init(loop: Loop) throws(UVError) {
        try loop.ensureOpen("FSPoll.init")
        let core: Core
        switch loop.core {
        case .uv(let l): core = try Handle.makeUV(uv_fs_poll_t.self, on: l) { uv_fs_poll_init($0, $1) }
        case .native(let l): core = .native(NativeFSPoll(loop: l))
        }
        super.init(loop: loop, type: .fsPoll, core: core)
    }

    /// Starts polling; starting an active handle does nothing.
    ///
    /// After a stop, the handle winds down before it can start again: the
    /// stat in flight returns, or the timer between stats closes, at the
    /// latest one loop iteration after the stat returns. A start meanwhile
    /// (`isWindingDown`) throws `UVError.busy`: libuv 1.44.2 would accept it
    /// and then abort the process when the earlier stat comes back. An
    /// interval above `UInt32.max` ms gives `UVError.invalidArgument`.
    ///
    /// The corresponding libuv function is `uv_fs_poll_start`.
    public func start(path: String, interval: UInt64, _ callback: ((FSPoll, UVError?, FileStat, FileStat) -> Void)?) throws(UVError) {
        try ensureOpen("FSPoll.start")
        guard let callback else { throw UVError.invalidArgument.with(context: "FSPoll.start: no callback") }
        try InputCheck.cString(path, "FSPoll.start")
        if interval > UInt64(UInt32.max) {
            throw InputCheck.refuse("FSPoll.start", "the interval \(interval) ms is above \(UInt32.max)")
        }
        if isActive { return }
        if isWindingDown {
            throw UVError.busy.with(context: "FSPoll.start: the handle is still winding down from its last stop (a stat in flight, "
                + "or its timer closing); start it again in a later loop iteration")
        }
        self.callback = callback
        switch core {
        case .uv(let h):
            try check(uv_fs_poll_start(UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_fs_poll_t.self), { h, status, prev, curr in
                let p = Handle.owner(of: h?.pointee.data, as: FSPoll.self)
                p.deliver(.change(status)) { p.callback?(p, status == 0 ? nil : UVError(code: status), FileStat(prev!.pointee), FileStat(curr!.pointee)) }
            }, path, UInt32(interval)))
        case .native(let h):
            do { try unsafeDowncast(h, to: NativeFSPoll.self).start(path: path, interval: interval, callback: nativeFire) } catch { throw UVError(error) }
        }
    }

    /// Whether a stopped handle is still winding down from its last start:
    /// a new start throws `UVError.busy` until it is done. (libuv's
    /// `poll_ctx` is still set.)
    public var isWindingDown: Bool {
        guard state == .open else { return false }
        switch core {
        case .uv(let h):
            let poll = UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_fs_poll_t.self)
            return uv_is_active(h) == 0 && poll.pointee.poll_ctx != nil
        case .native(let h): return unsafeDowncast(h, to: NativeFSPoll.self).isWindingDown
        }
    }

    /// Stops polling (`uv_fs_poll_stop`).
    public func stop() throws(UVError) {
        try ensureOpen("FSPoll.stop")
        switch core {
        case .uv(let h): try check(uv_fs_poll_stop(UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_fs_poll_t.self)))
        case .native(let h): unsafeDowncast(h, to: NativeFSPoll.self).stop()
        }
    }

    /// The path being polled; `UVError.invalidArgument` when not started.
    ///
    /// The corresponding libuv function is `uv_fs_poll_getpath`.
    public func path() throws(UVError) -> String {
        try ensureOpen("FSPoll.path")
        switch core {
        case .uv(let h):
            let poll = UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_fs_poll_t.self)
            return try libuvString { uv_fs_poll_getpath(poll, $0, $1) }
        case .native(let h):
            let n = unsafeDowncast(h, to: NativeFSPoll.self)
            guard n.isActive, let p = n.path else { throw UVError.invalidArgument.with(context: "FSPoll.path: not started") }
            return p
        }
    }

    override func releaseCallbacks() { callback = nil }
}
