#if canImport(Glibc)
import Glibc
#endif

/// Polls a path's metadata on an interval (`uv_fs_poll_t`), following
/// libuv's `fs-poll.c`: the first successful stat is silent; a change gives
/// (0, previous, current); each distinct error is reported once, with the
/// last good stat as previous and zeros as current.
///
/// As in libuv, each start makes a context (`struct poll_ctx`) with an
/// internal timer between stats. A stop closes that timer when it is waiting,
/// or leaves the stat in flight to close it when it returns; the context ends
/// with the timer's close callback, in a closing phase, and the handle's own
/// close waits for that. Until then the handle is winding down
/// (`isWindingDown`) and a new start is refused with `EBUSY`: libuv 1.44.2
/// aborts when a start lands while the earlier context's stat is in flight
/// (`timer_cb`'s assertion), so SwiftUV refuses that start on both engines.
package final class NativeFSPoll: NativeHandle {
    /// One start's state (libuv's `struct poll_ctx`).
    private final class Context {
        let path: String
        let interval: UInt64
        var startTime: UInt64
        /// libuv's `busy_polling`: 0 before the first stat, 1 after a good
        /// one, else the last error reported.
        var busyPolling = 0
        var previous = NativeStat()
        let timer: NativeTimer

        init(path: String, interval: UInt64, startTime: UInt64, timer: NativeTimer) {
            self.path = path
            self.interval = interval
            self.startTime = startTime
            self.timer = timer
        }
    }

    @exclusivity(unchecked)
    private var callback: ((Int32, NativeStat, NativeStat) -> Void)?
    /// libuv's `handle->poll_ctx`: set by a start, cleared by the close
    /// callback of its timer.
    @exclusivity(unchecked)
    private var context: Context?

    package init(loop: NativeEventLoop) {
        super.init(loop: loop, kind: .fsPoll)
    }

    /// The polled path while active (`uv_fs_poll_getpath`).
    package var path: String? { isActive ? context?.path : nil }

    /// Whether a stopped handle's last context has not ended yet (libuv's
    /// `poll_ctx` is still set): its stat is in flight or its timer closing.
    package var isWindingDown: Bool { !isActive && context != nil }

    /// `uv_fs_poll_start`: starting an active handle does nothing; starting
    /// one that is winding down gives `EBUSY`.
    package func start(path: String, interval: UInt64, callback: @escaping (Int32, NativeStat, NativeStat) -> Void) throws(NativeError) {
        if isActive { return }
        if context != nil { throw .busy }
        let ctx = Context(path: path, interval: max(interval, 1), startTime: loop.time, timer: NativeTimer(internalTo: loop))
        self.callback = callback
        context = ctx
        markActive()
        try stat(ctx)
    }

    private func stat(_ ctx: Context) throws(NativeError) {
        let path = ctx.path
        let box = StatBox()
        let work = NativeWork(loop: loop, work: { box.result = NativeFS.perform(.stat(path: path)) }) { [self] status in
            self.statDone(ctx, status != 0 ? NativeFSResult() : box.result)
        }
        try work.submit()
    }

    /// libuv's `poll_cb`.
    private func statDone(_ ctx: Context, _ r: NativeFSResult) {
        if !isActive || isClosing {
            closeTimer(ctx)
            return
        }
        if r.result != 0 {
            if ctx.busyPolling != r.result {
                callback?(Int32(r.result), ctx.previous, NativeStat())
                ctx.busyPolling = r.result
            }
        } else if let current = r.stat {
            if ctx.busyPolling != 0 && (ctx.busyPolling < 0 || !Self.same(ctx.previous, current)) {
                callback?(0, ctx.previous, current)
            }
            ctx.previous = current
            ctx.busyPolling = 1
        }
        // The callback may have stopped or closed the handle.
        if !isActive || isClosing {
            closeTimer(ctx)
            return
        }
        // Reschedule, less the time the stat took.
        let wait = ctx.interval - (loop.time &- ctx.startTime) % ctx.interval
        ctx.timer.start(timeout: wait, repeat: 0) { [unowned self] in
            ctx.startTime = self.loop.time
            if (try? self.stat(ctx)) == nil { self.closeTimer(ctx) }
        }
    }

    /// `uv_close` of a context's timer; the context ends in its close callback
    /// (libuv's `timer_close_cb`).
    private func closeTimer(_ ctx: Context) {
        if ctx.timer.isClosing { return }
        ctx.timer.close { [self] in
            if self.context === ctx { self.context = nil }
            if self.context == nil && self.isClosing { self.makeClosePending() }
        }
    }

    /// libuv's `statbuf_eq`.
    private static func same(_ a: NativeStat, _ b: NativeStat) -> Bool {
        a.ctime == b.ctime && a.mtime == b.mtime && a.birthtime == b.birthtime && a.size == b.size
            && a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.ino == b.ino && a.dev == b.dev
            && a.flags == b.flags && a.gen == b.gen
    }

    /// `uv_fs_poll_stop`: closes the timer when it is waiting; a stat in
    /// flight closes it when it returns.
    package func stop() {
        guard isActive else { return }
        if let ctx = context, ctx.timer.isActive { closeTimer(ctx) }
        markInactive()
    }

    override func willClose() { stop() }
    /// The context holds the close back until its timer has closed.
    override func defersClose() -> Bool { context != nil }
    override func didClose() {
        callback = nil
    }
}

private final class StatBox: @unchecked Sendable {
    @exclusivity(unchecked)
    var result = NativeFSResult()
}
