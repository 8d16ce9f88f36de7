#if canImport(Glibc)
import Glibc
#endif

/// Polls a path's metadata on an interval (`uv_fs_poll_t`), following
/// libuv's `fs-poll.c`: the first successful stat is silent; a change gives
/// (0, previous, current); each distinct error is reported once, with the
/// last good stat as previous and zeros as current. Its close waits for a
/// stat in flight.
package final class NativeFSPoll: NativeHandle {
    @exclusivity(unchecked)
    private var callback: ((Int32, NativeStat, NativeStat) -> Void)?
    @exclusivity(unchecked)
    package private(set) var path: String?
    @exclusivity(unchecked)
    private var interval: UInt64 = 1
    @exclusivity(unchecked)
    private var startTime: UInt64 = 0
    @exclusivity(unchecked)
    private var previous = NativeStat()
    /// libuv's `busy_polling`: 0 before the first stat, 1 after a good one,
    /// else the last error reported.
    @exclusivity(unchecked)
    private var busyPolling = 0
    @exclusivity(unchecked)
    private var statInFlight = false
    @exclusivity(unchecked)
    private var timer: NativeTimer?
    /// Bumped by each start and stop: a stat from an earlier run is ignored.
    @exclusivity(unchecked)
    private var generation = 0

    package init(loop: NativeEventLoop) {
        super.init(loop: loop, kind: .fsPoll)
    }

    /// `uv_fs_poll_start`: starting an active handle does nothing.
    package func start(path: String, interval: UInt64, callback: @escaping (Int32, NativeStat, NativeStat) -> Void) throws(NativeError) {
        if isActive { return }
        self.path = path
        self.interval = max(interval, 1)
        self.callback = callback
        busyPolling = 0
        previous = NativeStat()
        generation += 1
        startTime = loop.time
        markActive()
        try stat()
    }

    private func stat() throws(NativeError) {
        guard let path else { return }
        let run = generation
        let box = StatBox()
        let work = NativeWork(loop: loop, work: { box.result = NativeFS.perform(.stat(path: path)) }) { [self] status in
            self.statInFlight = false
            if self.isClosing {
                // The close waited for this stat: it completes now.
                self.makeClosePending()
                return
            }
            let result = status != 0 ? NativeFSResult() : box.result
            if run == self.generation && self.isActive && !self.isClosing {
                self.statDone(result)
            }
        }
        statInFlight = true
        try work.submit()
    }

    private func statDone(_ r: NativeFSResult) {
        if r.result != 0 {
            if busyPolling != r.result {
                callback?(Int32(r.result), previous, NativeStat())
                busyPolling = r.result
            }
        } else if let current = r.stat {
            if busyPolling != 0 && (busyPolling < 0 || !Self.same(previous, current)) {
                callback?(0, previous, current)
            }
            previous = current
            busyPolling = 1
        }
        guard isActive && !isClosing else { return }
        // Reschedule, less the time the stat took.
        let wait = interval - (loop.time &- startTime) % interval
        let t = timer ?? NativeTimer(internalTo: loop)
        timer = t
        t.start(timeout: wait, repeat: 0) { [unowned self] in
            self.startTime = self.loop.time
            try? self.stat()
        }
    }

    /// libuv's `statbuf_eq`.
    private static func same(_ a: NativeStat, _ b: NativeStat) -> Bool {
        a.ctime == b.ctime && a.mtime == b.mtime && a.birthtime == b.birthtime && a.size == b.size
            && a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.ino == b.ino && a.dev == b.dev
            && a.flags == b.flags && a.gen == b.gen
    }

    /// `uv_fs_poll_stop`.
    package func stop() {
        guard isActive else { return }
        timer?.stop()
        generation += 1
        markInactive()
    }

    override func willClose() { stop() }
    /// A stat in flight holds the close back until it returns (the request
    /// keeps the loop alive meanwhile, so the loop blocks instead of spinning).
    override func defersClose() -> Bool { statInFlight }
    override func didClose() {
        callback = nil
        timer = nil
    }
}

private final class StatBox: @unchecked Sendable {
    @exclusivity(unchecked)
    var result = NativeFSResult()
}
