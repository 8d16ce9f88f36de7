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
    private let callback: ((UInt32) -> Void)?
    /// A stream's watcher calls its stream directly, so that a stream (one
    /// per connection) allocates no closure context for it. Not retained,
    /// as the closures of the other watchers capture their handle
    /// unowned(unsafe): a stream takes its watcher out of the loop
    /// (`ioClose`) when it closes, before it can be freed, and the loop
    /// calls only the watchers it holds.
    private unowned(unsafe) let stream: NativeStream?

    init(fd: Int32, callback: @escaping (UInt32) -> Void) {
        self.fd = fd
        self.callback = callback
        self.stream = nil
    }

    init(fd: Int32, stream: NativeStream) {
        self.fd = fd
        self.callback = nil
        self.stream = stream
    }

    /// Delivers `events` to the owner.
    @inline(__always)
    func fire(_ events: UInt32) {
        if let stream { stream.io(events) } else { callback!(events) }
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
        register(w)
    }

    /// `uv__io_stop`: with no events left wanted, the watcher leaves the
    /// loop's table but its descriptor stays registered in epoll (libuv takes
    /// it out when it is closed, or when an event comes for a descriptor
    /// nobody watches). A restart then modifies the registration in place, so
    /// the descriptor keeps its place in the kernel's ready list.
    func ioStop(_ w: IOWatcher, _ events: UInt32) {
        w.pevents &= ~events
        if w.pevents == 0 {
            dequeue(w)
            w.events = 0
            if w.fd >= 0, Int(w.fd) < watchers.count, watchers[Int(w.fd)] === w {
                watchers[Int(w.fd)] = nil
                nfds -= 1
            }
        } else if !w.queued {
            w.queued = true
            watcherQueue.append(w)
        }
    }

    /// `uv__io_close`: stops watching `w` for good, takes its descriptor out
    /// of epoll and drops events for it still waiting in the current batch
    /// (the descriptor may be reused before the batch is done).
    func ioClose(_ w: IOWatcher) {
        ioStop(w, ~0)
        unfeed(w)
        invalidate(fd: w.fd)
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
            register(w)
        }
        watcherQueue.clearKeepingCapacity()
    }

    /// Gives epoll the events `w` wants: an add, or a modify for a
    /// descriptor already there (a stopped watcher leaves it registered).
    private func register(_ w: IOWatcher) {
        var e = epoll_event()
        e.events = w.pevents
        e.data.fd = w.fd
        let op = w.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD
        do {
            _ = try syscall { epoll_ctl(epollFD, op, w.fd, &e) }
        } catch where error.code == -EEXIST {
            // A descriptor watched before and reactivated.
            _ = try? syscall { epoll_ctl(epollFD, EPOLL_CTL_MOD, w.fd, &e) }
        } catch where error.code == -ENOENT {
            // Taken out of epoll behind this watcher's back: a poll handle on
            // the same descriptor stopped (libuv 1.44.2 aborts here).
            _ = try? syscall { epoll_ctl(epollFD, EPOLL_CTL_ADD, w.fd, &e) }
        } catch {
            fatalError("epoll_ctl(\(w.fd)) failed: \(error.code)")
        }
        w.events = w.pevents
    }
}
