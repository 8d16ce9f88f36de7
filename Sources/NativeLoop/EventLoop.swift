#if canImport(Glibc)
import Glibc
#endif
import CNativeSystem

/// How `run` iterates, as `uv_run_mode`.
package enum NativeRunMode: Sendable {
    case `default`, once, noWait
}

/// The from-scratch event loop: one thread, epoll, an eventfd for wake-ups,
/// a self-pipe for signals, a timer heap and libuv 1.44.2's phase order.
package final class NativeEventLoop {
    /// The cached loop time in milliseconds (`uv_now`).
    @exclusivity(unchecked)
    package private(set) var time: UInt64 = 0
    private let clock = chooseLoopClock()
    @exclusivity(unchecked)
    var stopFlag = false
    @exclusivity(unchecked)
    package private(set) var isClosed = false

    package let epollFD: Int32
    @exclusivity(unchecked)
    var watchers: [IOWatcher?] = []
    @exclusivity(unchecked)
    var watcherQueue: [IOWatcher] = []
    @exclusivity(unchecked)
    var nfds = 0
    private let events: UnsafeMutablePointer<epoll_event>
    private static let maxEvents: Int32 = 1024
    @exclusivity(unchecked)
    private var batchCount = 0

    // Handles: every open handle in init order, the closing stack, counters.
    @exclusivity(unchecked)
    var handleHead: NativeHandle?
    unowned(unsafe) var handleTail: NativeHandle?
    @exclusivity(unchecked)
    package private(set) var handleCount = 0
    /// Active and referenced handles: what keeps the loop alive. The count
    /// lives behind a pointer so that an embedder can place it: the C ABI
    /// keeps it in `uv_loop_t.active_handles`, which C programs read (and
    /// libuv's own tests adjust by hand).
    @exclusivity(unchecked)
    private var activeHandleCounter: UnsafeMutablePointer<UInt32>
    private let ownActiveHandleCounter: UnsafeMutablePointer<UInt32>
    var activeHandles: UInt32 {
        @inline(__always) get { activeHandleCounter.pointee }
        @inline(__always) set { activeHandleCounter.pointee = newValue }
    }

    /// Moves the active handle count to `counter` (its current value goes
    /// along), or back into the loop with nil. The memory must stay valid
    /// until it is moved back.
    package func placeActiveHandleCounter(_ counter: UnsafeMutablePointer<UInt32>?) {
        let target = counter ?? ownActiveHandleCounter
        target.pointee = activeHandleCounter.pointee
        activeHandleCounter = target
    }
    @exclusivity(unchecked)
    package internal(set) var activeRequests = 0
    @exclusivity(unchecked)
    var closingHandles: NativeHandle?

    /// Watchers fed to the pending phase (`uv__io_feed`): each is called once
    /// with `EPOLLOUT`, however often it was fed.
    @exclusivity(unchecked)
    var pendingQueue: [IOWatcher] = []

    let timers = TimerHeap()
    /// Room in the timer heap (for the test that it shrinks).
    package var timerHeapCapacity: Int { timers.capacity }
    @exclusivity(unchecked)
    var timerCounter: UInt64 = 0

    let idleHandles = WatcherList()
    let prepareHandles = WatcherList()
    let checkHandles = WatcherList()
    @exclusivity(unchecked)
    var watcherStartCounter: UInt64 = 0

    // Cross-thread wake-ups: one eventfd serves async handles and pool completions.
    let wakeFD: Int32
    @exclusivity(unchecked)
    private var wakeWatcher: IOWatcher!
    @exclusivity(unchecked)
    var asyncHandles: [NativeAsync] = []
    let completionFlag = AsyncFlag()
    let completionLock = Lock()
    @exclusivity(unchecked)
    var completions: [NativeWork] = []
    /// Loop thread only: the storage the next batch of completions swaps in.
    @exclusivity(unchecked)
    var spareCompletions: [NativeWork] = []

    // Signals: the process-wide handler writes (signum, token) records here.
    let signalReadFD: Int32
    let signalWriteFD: Int32
    @exclusivity(unchecked)
    private var signalWatcher: IOWatcher!
    @exclusivity(unchecked)
    var signalHandles: [UInt32: NativeSignal] = [:]
    /// The inotify descriptor of fs event handles, made on first use.
    @exclusivity(unchecked)
    var inotifyFD: Int32 = -1
    @exclusivity(unchecked)
    var inotifyWatcher: IOWatcher?
    @exclusivity(unchecked)
    var inotifyWatches: [Int32: InotifyWatch] = [:]

    /// Processes spawned and not yet reaped, in spawn order.
    @exclusivity(unchecked)
    var processes: [NativeProcess] = []
    @exclusivity(unchecked)
    var childWatcherActive = false
    /// Set when a child's pidfd became readable in the current batch.
    @exclusivity(unchecked)
    var childrenExited = false
    /// The SIGCHLD counter the handler bumps for the child watcher
    /// (allocated once no step of init can fail before deinit would free it).
    let childCaught: UnsafeMutablePointer<Int>
    @exclusivity(unchecked)
    var signalTokenCounter: UInt32 = 0

    /// The 64 KiB buffer every read of this loop goes into, lent to the
    /// read callback for the duration of the call.
    lazy var readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    // uv_metrics_idle_time
    @exclusivity(unchecked)
    package var measuresIdleTime = false
    @exclusivity(unchecked)
    package private(set) var idleTime: UInt64 = 0

    @exclusivity(unchecked)
    private var running = false

    /// A descriptor held in reserve for accepting under `EMFILE` (libuv's
    /// `emfile_fd`). libuv opens it with the loop's first stream, so a loop
    /// whose first stream came while the table was full has none, and its
    /// listeners report `EMFILE` in a tight loop; this engine takes it when
    /// the loop is made (and SwiftUV does the same for a libuv loop).
    @exclusivity(unchecked)
    private var spareFD: Int32 = -1

    func reserveSpareDescriptor() {
        if spareFD != -1 { return }
        spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if spareFD < 0 { spareFD = open("/", O_RDONLY | O_CLOEXEC) }
    }

    /// libuv's `uv__emfile_trick`: out of descriptors, frees the spare one to
    /// accept and drop the waiting connections, then takes it back. Returns
    /// the errno to report (`EAGAIN` once the backlog is drained).
    func emfileTrick(listener: Int32) -> Int32 {
        if spareFD == -1 { return EMFILE }
        closeDescriptor(spareFD)
        spareFD = -1
        var err: Int32 = EMFILE
        while true {
            let fd = cnative_accept(listener)
            if fd < 0 {
                err = errno
                if err == EINTR { continue }
                break
            }
            closeDescriptor(fd)
        }
        reserveSpareDescriptor()
        return err
    }

    package init() throws(NativeError) {
        // Descriptors in libuv's order: epoll, the process-wide signal lock
        // pipe (first loop only), the loop's signal pipe, the eventfd.
        epollFD = try syscall { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        SignalRegistry.prepare()
        var fds: [Int32] = [-1, -1]
        do {
            _ = try syscall { pipe(&fds) }
            try makeNonBlockingCloexec(fds[0])
            try makeNonBlockingCloexec(fds[1])
        } catch {
            for fd in fds where fd >= 0 { closeDescriptor(fd) }
            closeDescriptor(epollFD)
            throw error
        }
        signalReadFD = fds[0]
        signalWriteFD = fds[1]
        do {
            wakeFD = try syscall { eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK)) }
        } catch {
            closeDescriptor(signalReadFD)
            closeDescriptor(signalWriteFD)
            closeDescriptor(epollFD)
            throw error
        }
        ownActiveHandleCounter = .allocate(capacity: 1)
        ownActiveHandleCounter.initialize(to: 0)
        activeHandleCounter = ownActiveHandleCounter
        events = .allocate(capacity: Int(Self.maxEvents))
        childCaught = .allocate(capacity: 1)
        childCaught.initialize(to: 0)
        time = milliseconds(of: clock)
        wakeWatcher = IOWatcher(fd: wakeFD) { [unowned(unsafe) self] _ in self.wakeupReceived() }
        signalWatcher = IOWatcher(fd: signalReadFD) { [unowned self] _ in self.signalsReceived() }
        ioStart(wakeWatcher, UInt32(EPOLLIN.rawValue))
        ioStart(signalWatcher, UInt32(EPOLLIN.rawValue))
        // (A throw from here on runs deinit, which releases the rest.)
        reserveSpareDescriptor()
        if spareFD < 0 { throw NativeError(errno: errno) }
    }

    deinit {
        if !isClosed { releaseResources() }
        events.deallocate()
        ownActiveHandleCounter.deallocate()
        readBuffer.deallocate()
        childCaught.deallocate()
    }

    // MARK: Time

    /// `uv_update_time`.
    package func updateTime() {
        time = milliseconds(of: clock)
    }

    // MARK: Liveness

    /// `uv_loop_alive`.
    package var isAlive: Bool {
        activeHandles > 0 || activeRequests > 0 || !pendingQueue.isEmpty || closingHandles != nil
    }

    /// `uv_backend_timeout`: 0 while interest changes wait to reach epoll.
    package var backendTimeout: Int32 {
        watcherQueue.isEmpty ? computeTimeout() : 0
    }

    private func computeTimeout() -> Int32 {
        if !stopFlag && (activeHandles > 0 || activeRequests > 0)
            && pendingQueue.isEmpty && idleHandles.isEmpty && closingHandles == nil {
            return nextTimeout()
        }
        return 0
    }

    /// `uv_stop`: the current iteration finishes, then `run` returns.
    package func stop() { stopFlag = true }

    // MARK: Run

    /// `uv_run`. Not reentrant: a nested call fails with `EBUSY`.
    package func run(_ mode: NativeRunMode) throws(NativeError) -> Bool {
        if isClosed { throw .invalidArgument }
        if running { throw .busy }
        running = true
        defer { running = false }

        var alive = isAlive
        if !alive { updateTime() }
        while alive && !stopFlag {
            updateTime()
            runTimers()
            let canSleep = pendingQueue.isEmpty && idleHandles.isEmpty
            runPending()
            runWatchers(idleHandles)
            runWatchers(prepareHandles)
            var timeout: Int32 = 0
            if (mode == .once && canSleep) || mode == .default {
                timeout = computeTimeout()
            }
            poll(timeout)
            var passes = 0
            while passes < 8 && !pendingQueue.isEmpty {
                runPending()
                passes += 1
            }
            runWatchers(checkHandles)
            runClosingHandles()
            if mode == .once {
                updateTime()
                runTimers()
            }
            alive = isAlive
            if mode != .default { break }
        }
        stopFlag = false
        return alive
    }

    /// Defers a watcher's callback to the pending phase (`uv__io_feed`).
    func feed(_ w: IOWatcher) {
        if w.pendingFed { return }
        w.pendingFed = true
        pendingQueue.append(w)
    }

    /// Drops a watcher from the pending queue (its handle is closing).
    func unfeed(_ w: IOWatcher) {
        guard w.pendingFed else { return }
        w.pendingFed = false
        if let i = pendingQueue.firstIndex(where: { $0 === w }) { pendingQueue.remove(at: i) }
    }

    private func runPending() {
        if pendingQueue.isEmpty { return }
        // Moved out, not copied (clearing a shared array would allocate);
        // the batch's storage comes back for the next phase.
        var batch: [IOWatcher] = []
        swap(&batch, &pendingQueue)
        for w in batch where w.pendingFed {
            w.pendingFed = false
            w.fire(UInt32(EPOLLOUT.rawValue))
        }
        batch.clearKeepingCapacity()
        if pendingQueue.isEmpty { pendingQueue = batch }
    }

    private func runClosingHandles() {
        var next = closingHandles
        closingHandles = nil
        while let handle = next {
            next = handle.nextClosing
            handle.nextClosing = nil
            handle.finishClose()
        }
    }

    // MARK: Poll

    /// One poll phase, following libuv's epoll backend: retries an early or
    /// interrupted wake-up for the rest of the timeout, runs signal watchers
    /// after every other I/O callback, and polls again without blocking when
    /// a full batch of events came back.
    private func poll(_ requestedTimeout: Int32) {
        if nfds == 0 { return }
        applyWatcherChanges()

        let base = time
        var count = 48
        var realTimeout = requestedTimeout
        var timeout = requestedTimeout
        while true {
            let entry: UInt64 = (measuresIdleTime && timeout != 0) ? monotonicNanoseconds() : 0
            var n: Int32
            do {
                n = try syscall(retryOnInterrupt: false) { epoll_wait(epollFD, events, Self.maxEvents, timeout) }
            } catch {
                if error.code != -EINTR { fatalError("epoll_wait failed: \(error.code)") }
                n = -1
            }
            updateTime()
            if entry != 0 { idleTime &+= monotonicNanoseconds() &- entry }

            if n > 0 {
                var haveSignals = false
                var nevents = 0
                batchCount = Int(n)
                var i = 0
                while i < batchCount {
                    let pe = events + i
                    i += 1
                    let fd = pe.pointee.data.fd
                    if fd == -1 { continue }  // invalidated during this batch
                    guard Int(fd) < watchers.count, let w = watchers[Int(fd)] else {
                        var e = epoll_event()
                        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, &e)
                        continue
                    }
                    let errOrHup = UInt32(EPOLLERR.rawValue | EPOLLHUP.rawValue)
                    var got = pe.pointee.events & (w.pevents | errOrHup)
                    if got == UInt32(EPOLLERR.rawValue) || got == UInt32(EPOLLHUP.rawValue) {
                        // Only an error or hang-up: hand it to the read/write path.
                        got |= w.pevents & UInt32(EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLPRI.rawValue)
                    }
                    if got != 0 {
                        if w === signalWatcher {
                            haveSignals = true
                        } else {
                            w.fire(got)
                        }
                        nevents += 1
                    }
                }
                batchCount = 0
                if haveSignals || childrenExited {
                    // libuv runs its signal watchers, the child watcher
                    // among them, after the batch's other I/O callbacks;
                    // the children are reaped at the SIGCHLD record. A ready
                    // pidfd means that record is in the pipe or coming (libuv
                    // would retry its interrupted wait and read it now), or
                    // that SIGCHLD's handler is not ours: read the pipe, and
                    // reap after it if it held no SIGCHLD record.
                    signalWatcher.fire(UInt32(EPOLLIN.rawValue))
                    if childrenExited {
                        childrenExited = false
                        reapChildren()
                    }
                    return  // let the loop cycle now
                }
                if nevents != 0 {
                    count -= 1
                    if n == Self.maxEvents && count != 0 {
                        timeout = 0
                        continue
                    }
                    return
                }
            }
            if timeout == 0 { return }
            if timeout == -1 { continue }
            // libuv 1.44.2 subtracts the whole time since `base` on every retry.
            realTimeout -= Int32(truncatingIfNeeded: time &- base)
            if realTimeout <= 0 { return }
            timeout = realTimeout
        }
    }

    /// `uv__platform_invalidate_fd`: drops the events for `fd` still waiting
    /// in the current batch and takes `fd` out of epoll.
    func invalidate(fd: Int32) {
        guard fd >= 0 else { return }
        var i = 0
        while i < batchCount {
            if events[i].data.fd == fd { events[i].data.fd = -1 }
            i += 1
        }
        var e = epoll_event()
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, &e)
    }

    // MARK: Wake-ups

    /// Wakes the loop thread; safe from any thread.
    func wakeUp() {
        var one: UInt64 = 1
        while true {
            let r = write(wakeFD, &one, 8)
            if r == 8 { return }
            if r == -1 && errno == EINTR { continue }
            return  // EAGAIN: the counter is saturated, the loop is awake anyway
        }
    }

    private func wakeupReceived() {
        var value: UInt64 = 0
        _ = read(wakeFD, &value, 8)
        // libuv's uv__async_io takes the whole list of async handles before
        // it calls any: a handle made during this pass (say in a pool
        // completion) is first dispatched in the next one.
        let snapshot = asyncHandles
        // The thread pool's completions come first, as libuv's internal async
        // handle is the first one a loop initialises.
        if completionFlag.consume() { runCompletions() }
        if snapshot.isEmpty { return }
        for handle in snapshot where !handle.isClosing {
            if handle.flag.consume() { handle.callback?() }
        }
    }

    // MARK: Walk and close

    /// Every handle not yet closed, in init order (`uv_walk`).
    package var handles: [NativeHandle] {
        var result: [NativeHandle] = []
        result.reserveCapacity(handleCount)
        var h = handleHead
        while let handle = h {
            result.append(handle)
            h = handle.nextHandle
        }
        return result
    }

    /// `uv_loop_close`: `EBUSY` while a request is active or a handle has not
    /// finished closing.
    package func close() throws(NativeError) {
        if isClosed { throw .invalidArgument }
        if running || activeRequests > 0 || handleHead != nil { throw .busy }
        releaseResources()
        isClosed = true
    }

    private func releaseResources() {
        SignalRegistry.forget(loop: self)
        if spareFD != -1 { closeDescriptor(spareFD) }
        if inotifyFD != -1 { closeDescriptor(inotifyFD) }
        closeDescriptor(signalReadFD)
        closeDescriptor(signalWriteFD)
        closeDescriptor(wakeFD)
        closeDescriptor(epollFD)
    }

    func link(_ handle: NativeHandle) {
        if let tail = handleTail {
            tail.nextHandle = handle
            handle.prevHandle = tail
        } else {
            handleHead = handle
        }
        handleTail = handle
        handleCount += 1
    }

    func unlink(_ handle: NativeHandle) {
        let next = handle.nextHandle
        if let prev = handle.prevHandle { prev.nextHandle = next } else { handleHead = next }
        if let next { next.prevHandle = handle.prevHandle } else { handleTail = handle.prevHandle }
        handle.prevHandle = nil
        handle.nextHandle = nil
        handleCount -= 1
    }
}
