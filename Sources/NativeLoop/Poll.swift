#if canImport(Glibc)
import Glibc
#endif
import CNativeSystem

/// Readiness of a descriptor the user owns (`uv_poll_t`). Events are libuv's:
/// 1 readable, 2 writable, 4 disconnect, 8 prioritized.
package final class NativePoll: NativeHandle {
    @exclusivity(unchecked)
    private var watcher: IOWatcher!
    @exclusivity(unchecked)
    private var callback: ((Int32, Int32) -> Void)?

    /// `uv_poll_init`: `EEXIST` if the loop already polls `fd`; epoll's own
    /// error (`EPERM` for a regular file or directory) if it cannot.
    package init(loop: NativeEventLoop, fd: Int32) throws(NativeError) {
        if loop.isWatched(fd) { throw NativeError(errno: EEXIST) }
        var e = epoll_event()
        e.events = pollIn
        e.data.fd = -1
        // As `uv__io_check_fd`: a descriptor already in epoll (a stopped
        // watcher leaves it there) is taken out as well.
        if epoll_ctl(loop.epollFD, EPOLL_CTL_ADD, fd, &e) != 0 && errno != EEXIST {
            throw NativeError(errno: errno)
        }
        _ = epoll_ctl(loop.epollFD, EPOLL_CTL_DEL, fd, &e)
        var on: Int32 = 1
        _ = try syscall { ioctl(fd, UInt(FIONBIO), &on) }
        super.init(loop: loop, kind: .poll)
        watcher = IOWatcher(fd: fd) { [unowned self] events in self.io(events) }
    }

    private func io(_ events: UInt32) {
        let pri = UInt32(EPOLLPRI.rawValue)
        if events & pollErr != 0 && events & pri == 0 {
            loop.ioStop(watcher, ~0)
            markInactive()
            callback?(NativeError(errno: EBADF).code, 0)
            return
        }
        var pevents: Int32 = 0
        if events & pollIn != 0 { pevents |= 1 }
        if events & pri != 0 { pevents |= 8 }
        if events & pollOut != 0 { pevents |= 2 }
        if events & UInt32(EPOLLRDHUP.rawValue) != 0 { pevents |= 4 }
        callback?(0, pevents)
    }

    private func stopPolling() {
        loop.ioStop(watcher, ~0)
        markInactive()
        // libuv's uv__poll_stop takes the descriptor out of epoll even when
        // a stream of the loop watches it too, which then never hears of it
        // again (or aborts at its next change): leave that one alone.
        if !loop.isWatched(watcher.fd) { loop.invalidate(fd: watcher.fd) }
    }

    /// `uv_poll_start`: replaces the events watched; 0 stops.
    package func start(events: Int32, callback: @escaping (Int32, Int32) -> Void) throws(NativeError) {
        let fd = watcher.fd
        if loop.isWatched(fd) && loop.watchers[Int(fd)] !== watcher { throw NativeError(errno: EEXIST) }
        stopPolling()
        if events == 0 { return }
        var e: UInt32 = 0
        if events & 1 != 0 { e |= pollIn }
        if events & 8 != 0 { e |= UInt32(EPOLLPRI.rawValue) }
        if events & 2 != 0 { e |= pollOut }
        if events & 4 != 0 { e |= UInt32(EPOLLRDHUP.rawValue) }
        loop.ioStart(watcher, e)
        markActive()
        self.callback = callback
    }

    /// `uv_poll_stop`.
    package func stop() { stopPolling() }

    override package var descriptor: Int32 { watcher.fd }

    override func willClose() { stopPolling() }
    override func didClose() { callback = nil }
}
