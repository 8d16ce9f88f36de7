#if canImport(Glibc)
import Glibc
#endif
import CNativeSystem

/// A request to run `work` on the pool and `done` on the loop thread
/// (`uv_work_t`). While it is queued it can be cancelled; then its work never
/// runs and `done` gets `ECANCELED`.
package final class NativeWork: @unchecked Sendable {
    /// A request that has run stays `running`: `cancel` refuses it either way.
    fileprivate enum State { case queued, running, cancelled }

    let loop: NativeEventLoop
    /// Read by the pool thread only.
    private let work: @Sendable () -> Void
    @exclusivity(unchecked)
    private var done: ((Int32) -> Void)?
    /// Written under the pool's lock (by a worker that takes the request,
    /// or by `cancel`). Once the request has been posted for completion it
    /// no longer changes, and the loop thread reads it without the pool's
    /// lock: a worker's write came before its post, which the loop
    /// thread's `runCompletions` sees through the completion lock, and
    /// `cancel` runs on the loop thread itself.
    @exclusivity(unchecked)
    fileprivate var state = State.queued
    /// Loop thread only: whether `done` has run.
    @exclusivity(unchecked)
    fileprivate var completed = false
    /// Slow I/O (libuv's `UV__WORK_SLOW_IO`: DNS), which the pool takes
    /// one at a time behind a marker, so that it cannot hold every thread.
    let isSlowIO: Bool

    package init(loop: NativeEventLoop, slowIO: Bool = false, work: @escaping @Sendable () -> Void, done: @escaping (Int32) -> Void) {
        self.loop = loop
        self.isSlowIO = slowIO
        self.work = work
        self.done = done
    }

    /// `uv_queue_work`: the request counts as active until `done` has run.
    package func submit() throws(NativeError) {
        if loop.isClosed { throw .invalidArgument }
        loop.activeRequests += 1
        NativeThreadPool.shared.enqueue(self)
    }

    /// `uv_cancel`: succeeds only while the request is still queued.
    package func cancel() throws(NativeError) {
        try NativeThreadPool.shared.cancel(self)
    }

    fileprivate func runWork() { work() }

    /// Called on the loop thread in the poll phase.
    fileprivate func complete() {
        completed = true
        // No pool lock (libuv's uv__work_done takes none either): see `state`.
        let status: Int32 = state == .cancelled ? NativeError.cancelled.code : 0
        loop.activeRequests -= 1
        let callback = done
        done = nil
        callback?(status)
    }
}

extension NativeEventLoop {
    /// Queues a finished (or cancelled) request for the loop thread and wakes it.
    /// The wake-up is written under the lock: the loop cannot see (and
    /// complete) the request before it, so once the last request is done the
    /// loop may close its eventfd without a worker still about to write to it.
    fileprivate func post(_ request: NativeWork) {
        completionLock.withLock {
            completions.append(request)
            if completionFlag.beginSend() {
                wakeUp()
                completionFlag.endSend()
            }
        }
    }

    /// Moves a cancelled request that has not completed yet to the end of
    /// the completion queue, as libuv does when it is cancelled again.
    fileprivate func repost(_ request: NativeWork) {
        completionLock.withLock {
            if let i = completions.firstIndex(where: { $0 === request }) { completions.remove(at: i) }
            completions.append(request)
            if completionFlag.beginSend() {
                wakeUp()
                completionFlag.endSend()
            }
        }
    }

    func runCompletions() {
        // The queue's storage and the spare one take turns, so that taking
        // a batch allocates nothing (clearing a shared array would).
        var batch = spareCompletions
        spareCompletions = []
        completionLock.withLock { swap(&batch, &completions) }
        for request in batch { request.complete() }
        batch.clearKeepingCapacity()
        spareCompletions = batch
    }
}

/// The process-wide pool: `UV_THREADPOOL_SIZE` threads (default 4, 1...1024),
/// started on first use, taking requests first in, first out, as libuv's
/// `threadpool.c`: slow I/O requests wait in a queue of their own, and the
/// main queue holds one marker for them; a worker that takes the marker runs
/// the first slow request and, if more wait, puts the marker back at the
/// tail. At most half the threads (rounded up) run slow I/O at once.
final class NativeThreadPool: @unchecked Sendable {
    static let shared = NativeThreadPool()

    /// An entry of the main queue: a request, or the slow I/O marker.
    private enum Entry {
        case work(NativeWork)
        case slowIOMarker
    }

    private let lock = Lock()
    @exclusivity(unchecked)
    private var queue: [Entry] = []
    @exclusivity(unchecked)
    private var slowQueue: [NativeWork] = []
    /// Whether the marker is in `queue` (libuv's non-empty `run_slow_work_message`).
    @exclusivity(unchecked)
    private var markerQueued = false
    @exclusivity(unchecked)
    private var slowRunning = 0
    private var slowThreshold: Int { (threadCount + 1) / 2 }
    @exclusivity(unchecked)
    private var head = 0
    @exclusivity(unchecked)
    private var started = false
    /// Workers waiting on the condition (libuv's `idle_threads`): with none,
    /// a new request needs no signal, a busy worker takes it next.
    @exclusivity(unchecked)
    private var idleThreads = 0
    let threadCount: Int

    private init() {
        var n = 4
        if let raw = getenv("UV_THREADPOOL_SIZE") {
            // libuv keeps atoi's result in an unsigned int: 0 gives 1,
            // a negative number wraps and is capped at 1024.
            n = Int(atoi(raw))
            if n == 0 { n = 1 }
            if n < 0 || n > 1024 { n = 1024 }
        }
        threadCount = n
    }

    private func startThreads() {
        for _ in 0..<threadCount {
            var thread = pthread_t()
            let context = Unmanaged.passUnretained(self).toOpaque()
            let r = pthread_create(&thread, nil, { context in
                let pool = Unmanaged<NativeThreadPool>.fromOpaque(context!).takeUnretainedValue()
                pool.workerLoop()
                return nil
            }, context)
            if r != 0 { fatalError("thread pool: pthread_create failed with \(r)") }
            pthread_detach(thread)
        }
    }

    func enqueue(_ request: NativeWork) {
        lock.lock()
        if !started {
            started = true
            startThreads()
        }
        if request.isSlowIO {
            slowQueue.append(request)
            // A worker that takes the marker queued already schedules this one too.
            if markerQueued {
                lock.unlock()
                return
            }
            markerQueued = true
            queue.append(.slowIOMarker)
        } else {
            queue.append(.work(request))
        }
        if idleThreads > 0 { lock.signal() }
        lock.unlock()
    }

    /// Called on the request's loop thread. A request cancelled before but
    /// not yet completed can be cancelled again (libuv 1.44.2 says yes and
    /// moves it to the end of the completion queue).
    func cancel(_ request: NativeWork) throws(NativeError) {
        lock.lock()
        let state = request.state
        if state == .queued {
            request.state = .cancelled
            // libuv takes it off the slow queue: a marker with nothing behind it runs nothing.
            if request.isSlowIO, let i = slowQueue.firstIndex(where: { $0 === request }) { slowQueue.remove(at: i) }
        }
        lock.unlock()
        switch state {
        case .queued: request.loop.post(request)
        case .cancelled where !request.completed: request.loop.repost(request)
        default: throw .busy
        }
    }

    /// Whether only the slow I/O marker waits and slow I/O is at its
    /// threshold: then a worker waits, as in libuv.
    private var onlyBlockedSlowIO: Bool {
        guard queue.count - head == 1, case .slowIOMarker = queue[head] else { return false }
        return slowRunning >= slowThreshold
    }

    private func workerLoop() {
        lock.lock()
        while true {
            while head == queue.count || onlyBlockedSlowIO {
                idleThreads += 1
                lock.wait()
                idleThreads -= 1
            }
            let entry = queue[head]
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1024 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            let request: NativeWork
            var isSlow = false
            switch entry {
            case .work(let r):
                if r.state == .cancelled { continue }
                request = r
            case .slowIOMarker:
                markerQueued = false
                // At the threshold: after the rest of the queue.
                if slowRunning >= slowThreshold {
                    markerQueued = true
                    queue.append(.slowIOMarker)
                    continue
                }
                // Nothing behind it: cancelled (cancel takes requests off the slow queue).
                if slowQueue.isEmpty { continue }
                request = slowQueue.removeFirst()
                isSlow = true
                slowRunning += 1
                if !slowQueue.isEmpty {
                    markerQueued = true
                    queue.append(.slowIOMarker)
                    if idleThreads > 0 { lock.signal() }
                }
            }
            request.state = .running
            lock.unlock()
            request.runWork()
            request.loop.post(request)
            lock.lock()
            if isSlow { slowRunning -= 1 }
        }
    }
}
