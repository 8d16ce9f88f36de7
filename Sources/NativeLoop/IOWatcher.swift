#if canImport(Glibc)
import Glibc
#endif
import CNativeSystem

/// Interest in one file descriptor, registered with epoll lazily: changes are
/// queued and applied at the start of the next poll, as libuv does, so that
/// `backendTimeout` is 0 while a change waits to be applied.
final class IOWatcher {
    /// -1 until a stream gets its socket.
    @exclusivity(unchecked)
    var fd: Int32
    /// Events wanted.
    @exclusivity(unchecked)
    var pevents: UInt32 = 0
    /// Events registered in epoll.
    @exclusivity(unchecked)
    var events: UInt32 = 0
    @exclusivity(unchecked)
    var queued = false
    /// In the loop's pending queue.
    @exclusivity(unchecked)
    var pendingFed = false
    let callback: (UInt32) -> Void

    init(fd: Int32, callback: @escaping (UInt32) -> Void) {
        self.fd = fd
        self.callback = callback
    }
}

extension NativeEventLoop {
    func ioStart(_ w: IOWatcher, _ events: UInt32) {
        w.pevents |= events
        if w.events == w.pevents { return }
        if !w.queued {
            w.queued = true
            watcherQueue.append(w)
        }
        growWatchers(to: Int(w.fd) + 1)
        if watchers[Int(w.fd)] == nil {
            watchers[Int(w.fd)] = w
            nfds += 1
        }
    }

    /// Starts watching `w` in epoll at once, not through the queue of
    /// changes: for the engine's own watchers that stand for something libuv
    /// does without an I/O watcher (a child's pidfd, for libuv's SIGCHLD
    /// watcher), so that they leave `backendTimeout` as libuv's would be.
    func ioStartNow(_ w: IOWatcher, _ events: UInt32) {
        ioStart(w, events)
        guard w.queued else { return }
        dequeue(w)
        var e = epoll_event()
        e.events = w.pevents
        e.data.fd = w.fd
        let op = w.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD
        do {
            _ = try syscall { epoll_ctl(epollFD, op, w.fd, &e) }
        } catch where error.code == -EEXIST {
            _ = try? syscall { epoll_ctl(epollFD, EPOLL_CTL_MOD, w.fd, &e) }
        } catch {
            fatalError("epoll_ctl(\(w.fd)) failed: \(error.code)")
        }
        w.events = w.pevents
    }

    func ioStop(_ w: IOWatcher, _ events: UInt32) {
        w.pevents &= ~events
        if w.pevents == 0 {
            dequeue(w)
            if w.fd >= 0, Int(w.fd) < watchers.count, watchers[Int(w.fd)] === w {
                watchers[Int(w.fd)] = nil
                nfds -= 1
            }
            if w.events != 0 {
                var e = epoll_event()
                _ = try? syscall { epoll_ctl(epollFD, EPOLL_CTL_DEL, w.fd, &e) }
                w.events = 0
            }
        } else if !w.queued {
            w.queued = true
            watcherQueue.append(w)
        }
    }

    /// Stops watching `w` for good and drops events for its fd still waiting in
    /// the current batch (the fd may be reused before the batch is done).
    func ioClose(_ w: IOWatcher) {
        ioStop(w, ~0)
        unfeed(w)
        invalidatePendingEvents(fd: w.fd)
    }

    /// Whether the loop polls `fd` (`uv__fd_exists`): a handle that adopted
    /// a descriptor but never started watching it does not count.
    func isWatched(_ fd: Int32) -> Bool {
        fd >= 0 && Int(fd) < watchers.count && watchers[Int(fd)] != nil
    }

    /// Whether `w` waits for any of `events`.
    func ioActive(_ w: IOWatcher, _ events: UInt32) -> Bool { w.pevents & events != 0 }

    private func dequeue(_ w: IOWatcher) {
        guard w.queued else { return }
        w.queued = false
        if let i = watcherQueue.firstIndex(where: { $0 === w }) { watcherQueue.remove(at: i) }
    }

    private func growWatchers(to count: Int) {
        if watchers.count < count {
            watchers.append(contentsOf: repeatElement(nil, count: max(count, watchers.count * 2) - watchers.count))
        }
    }

    func applyWatcherChanges() {
        guard !watcherQueue.isEmpty else { return }
        for w in watcherQueue {
            w.queued = false
            var e = epoll_event()
            e.events = w.pevents
            e.data.fd = w.fd
            let op = w.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD
            do {
                _ = try syscall { epoll_ctl(epollFD, op, w.fd, &e) }
            } catch where error.code == -EEXIST {
                // A descriptor watched before and reactivated.
                _ = try? syscall { epoll_ctl(epollFD, EPOLL_CTL_MOD, w.fd, &e) }
            } catch {
                fatalError("epoll_ctl(\(w.fd)) failed: \(error.code)")
            }
            w.events = w.pevents
        }
        watcherQueue.removeAll(keepingCapacity: true)
    }
}
