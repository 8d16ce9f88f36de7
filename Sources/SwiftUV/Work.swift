import CUV
import NativeLoop

/// A piece of work on the thread pool: its closure runs on a pool thread,
/// its completion on the loop thread. The request keeps itself (and its
/// loop) alive until the completion has run, exactly once, cancelled or not.
///
/// The pool is shared by every loop of the process: 4 threads, or
/// `UV_THREADPOOL_SIZE` (1...1024), read once.
///
/// The corresponding libuv type is `uv_work_t`.
public final class Work {
    enum Core {
        case uv(UnsafeMutablePointer<uv_work_t>)
        case native(NativeWork)
    }

    /// The loop the completion runs on.
    public let loop: Loop
    @exclusivity(unchecked)
    private var core: Core?
    private let body: @Sendable () -> Void
    /// When the closure ran, while the loop is traced.
    private let timing: PoolTiming?
    /// Its creation order on its loop, as traces name it.
    let objectID: Int
    @exclusivity(unchecked)
    private var finish: ((UVError?) -> Void)?
    /// Whether the completion has run.
    @exclusivity(unchecked)
    public private(set) var isFinished = false

    fileprivate init(loop: Loop, body: @escaping @Sendable () -> Void, finish: @escaping (UVError?) -> Void) {
        self.loop = loop
        self.body = body
        self.finish = finish
        self.timing = loop.observer?.traceHandler != nil ? PoolTiming() : nil
        self.objectID = loop.takeObjectID()
    }

    /// Runs the closure on a pool thread, timed while the loop is traced.
    private static func run(_ body: @Sendable () -> Void, _ timing: PoolTiming?) {
        guard let timing else { return body() }
        let began = uv_hrtime()
        body()
        timing.began = began
        timing.took = uv_hrtime() &- began
    }

    fileprivate func submit() throws(UVError) {
        switch loop.core {
        case .uv(let l):
            let req = UnsafeMutablePointer<uv_work_t>.allocate(capacity: 1)
            req.pointee.data = Unmanaged.passRetained(self).toOpaque()
            let status = uv_queue_work(l, req, { req in
                // On a pool thread: only the immutable, Sendable parts are touched.
                let work = Unmanaged<Work>.fromOpaque(req!.pointee.data).takeUnretainedValue()
                Work.run(work.body, work.timing)
            }, { req, status in
                Unmanaged<Work>.fromOpaque(req!.pointee.data).takeRetainedValue().complete(status)
            })
            if status != 0 {
                Unmanaged<Work>.fromOpaque(req.pointee.data).release()
                req.deallocate()
                throw UVError(code: status)
            }
            core = .uv(req)
        case .native(let l):
            let (body, timing) = (self.body, self.timing)
            let request = NativeWork(loop: l, work: { Work.run(body, timing) }) { [self] status in self.complete(status) }
            do { try request.submit() } catch { throw UVError(error) }
            core = .native(request)
        }
        loop.liveRequestCount += 1
    }

    private func complete(_ status: Int32) {
        isFinished = true
        if case .uv(let req) = core { req.deallocate() }
        core = nil
        loop.liveRequestCount -= 1
        let callback = finish
        finish = nil
        if let timing, timing.took > 0 { loop.observer?.poolRan(.work, objectID, began: timing.began, took: timing.took) }
        loop.deliver(.work, objectID, .done(status)) { callback?(status == 0 ? nil : UVError(code: status)) }
    }

    /// Cancels the work if no pool thread has taken it yet: its closure then
    /// never runs and its completion gets `UVError.cancelled`. Throws
    /// `UVError.busy` once the work is running or done.
    ///
    /// The corresponding libuv function is `uv_cancel`.
    public func cancel() throws(UVError) {
        switch core {
        case .uv(let req):
            try check(uv_cancel(UnsafeMutableRawPointer(req).assumingMemoryBound(to: uv_req_t.self)))
        case .native(let request):
            do { try request.cancel() } catch { throw UVError(error) }
        case nil:
            throw UVError.busy.with(context: "Work.cancel: the work has finished")
        }
    }
}

/// When a work closure ran, written on the pool thread and read at the
/// completion (the pool's hand-off orders the two).
private final class PoolTiming: @unchecked Sendable {
    @exclusivity(unchecked) var began: UInt64 = 0
    @exclusivity(unchecked) var took: UInt64 = 0
}

/// Carries a result from the pool thread to the loop thread; the pool's
/// queue hand-off orders the write before the read.
private final class ResultBox<T: Sendable>: @unchecked Sendable {
    @exclusivity(unchecked)
    var value: T?
}

extension Loop {
    /// Runs `work` on the thread pool, then `completion` on this loop's thread
    /// with its result, or with `UVError.cancelled` if it was cancelled while
    /// queued. A nil `work` throws `UVError.invalidArgument`.
    ///
    /// The corresponding libuv function is `uv_queue_work`.
    @discardableResult
    public func queueWork<T: Sendable>(
        _ work: (@Sendable () -> T)?,
        completion: ((Result<T, UVError>) -> Void)? = nil
    ) throws(UVError) -> Work {
        try ensureOpen("Loop.queueWork")
        guard let work else { throw UVError.invalidArgument.with(context: "Loop.queueWork: no work") }
        let box = ResultBox<T>()
        let request = Work(loop: self, body: { box.value = work() }, finish: { error in
            guard let completion else { return }
            if let error {
                completion(.failure(error))
            } else {
                completion(.success(box.value!))
            }
        })
        try request.submit()
        return request
    }
}
