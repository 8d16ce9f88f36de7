#if canImport(Glibc)
import Glibc
#endif
import CNativeSystem

/// A request to run `work` on the pool and `done` on the loop thread
/// (`uv_work_t`). While it is queued it can be cancelled; then its work never
/// runs and `done` gets `ECANCELED`.
package final class NativeWork: @unchecked Sendable {
    fileprivate enum State { case queued, running, finished, cancelled }

    let loop: NativeEventLoop
    /// Read by the pool thread only.
    private let work: @Sendable () -> Void
    @exclusivity(unchecked)
    private var done: ((Int32) -> Void)?
    /// Guarded by the pool's lock.
    @exclusivity(unchecked)
    fileprivate var state = State.queued
    /// Loop thread only: whether `done` has run.
    @exclusivity(unchecked)
    fileprivate var completed = false

    package init(loop: NativeEventLoop, work: @escaping @Sendable () -> Void, done: @escaping (Int32) -> Void) {
        self.loop = loop
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
        let status: Int32 = NativeThreadPool.shared.wasCancelled(self) ? NativeError.cancelled.code : 0
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
        let batch: [NativeWork] = completionLock.withLock {
            let b = completions
            completions.removeAll(keepingCapacity: true)
            return b
        }
        for request in batch { request.complete() }
    }
}

/// The process-wide pool: `UV_THREADPOOL_SIZE` threads (default 4, 1...1024),
/// started on first use, taking requests first in, first out.
final class NativeThreadPool: @unchecked Sendable {
    static let shared = NativeThreadPool()

    private let lock = Lock()
    @exclusivity(unchecked)
    private var queue: [NativeWork] = []
    @exclusivity(unchecked)
    private var head = 0
    @exclusivity(unchecked)
    private var started = false
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
        queue.append(request)
        lock.signal()
        lock.unlock()
    }

    /// Called on the request's loop thread. A request cancelled before but
    /// not yet completed can be cancelled again (libuv 1.44.2 says yes and
    /// moves it to the end of the completion queue).
    func cancel(_ request: NativeWork) throws(NativeError) {
        lock.lock()
        let state = request.state
        if state == .queued { request.state = .cancelled }
        lock.unlock()
        switch state {
        case .queued: request.loop.post(request)
        case .cancelled where !request.completed: request.loop.repost(request)
        default: throw .busy
        }
    }

    func wasCancelled(_ request: NativeWork) -> Bool {
        lock.withLock { request.state == .cancelled }
    }

    private func workerLoop() {
        lock.lock()
        while true {
            while head == queue.count { lock.wait() }
            let request = queue[head]
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1024 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            if request.state == .cancelled { continue }
            request.state = .running
            lock.unlock()
            request.runWork()
            lock.lock()
            request.state = .finished
            lock.unlock()
            request.loop.post(request)
            lock.lock()
        }
    }
}
