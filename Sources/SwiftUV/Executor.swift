import CNativeSystem
import CUV
import NativeLoop
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Which thread runs a loop now: 0 while none does. Read from any thread
/// (the executor's enqueue, the debug thread check), written by `Loop.run`.
final class LoopThread: Sendable {
    let owner = Atomic<UInt>(0)

    /// A thread's name and id, for messages.
    static func name(_ id: UInt) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let hex = "0x" + String(id, radix: 16)
        if cnative_thread_name(id, &buffer, UInt(buffer.count)) == 0, buffer[0] != 0 {
            return "\"\(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))\" (\(hex))"
        }
        return hex
    }
}

/// A loop as a Swift concurrency executor: jobs of tasks that prefer it
/// (`loop.task { }`, `Task(executorPreference: loop.executor)`) and of
/// actors that name it as their executor run on the thread running the
/// loop, one at a time, between the loop's callbacks.
///
/// How jobs reach the loop:
/// - from the loop's own thread (a callback resuming a task, a task starting
///   another), a job goes on a local queue and an idle handle is started, so
///   the poll does not block and the queue is run in the idle phase of the
///   next iteration (a job enqueued by an I/O callback runs one timer check
///   later, with no system call);
/// - from any other thread, it goes on a locked queue and an async handle
///   wakes the loop (one eventfd write, coalesced), which runs it in the poll
///   phase.
///
/// The executor's two handles are the loop's own: `walk` does not list
/// them and they do not count in `liveHandleCount`. The async handle keeps
/// the loop alive only while a task started with `loop.task` or
/// `loop.run { }` is unfinished, so that a job coming back from another
/// thread finds the loop running.
///
/// Jobs enqueued after the loop is closed have nowhere to run: that stops
/// the program with a message (their tasks could never finish).
public final class LoopExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
    enum Item {
        /// A job of a task that prefers the loop.
        case job(UnownedJob)
        /// A job of an actor whose executor is the loop.
        case actorJob(UnownedJob)
        /// Loop-thread work posted from elsewhere (a task's cancellation).
        case call(() -> Void)
    }

    private enum Hooks {
        case uv(idle: UnsafeMutablePointer<uv_idle_t>, async: UnsafeMutablePointer<uv_async_t>)
        case native(idle: NativeWatcher, async: NativeAsync)
    }

    private let thread: LoopThread
    private weak var owner: Loop?
    private let lock = Lock()
    // Guarded by `lock`.
    private var remote: [Item] = []
    private var isShutDown = false
    // The loop thread's own.
    @exclusivity(unchecked) private var hooks: Hooks?
    @exclusivity(unchecked) private var local: [Item] = []
    @exclusivity(unchecked) private var draining: [Item] = []
    @exclusivity(unchecked) private var remoteDraining: [Item] = []
    @exclusivity(unchecked) private var idleStarted = false
    @exclusivity(unchecked) private var keepAliveCount = 0

    init(loop: Loop) throws(UVError) {
        thread = loop.thread
        owner = loop
        switch loop.core {
        case .uv(let l):
            // `data` stays nil: that is how `Loop.walk` tells these two from
            // SwiftUV's handles.
            let idle = UnsafeMutablePointer<uv_idle_t>.allocate(capacity: 1)
            idle.initialize(to: uv_idle_t())
            let async = UnsafeMutablePointer<uv_async_t>.allocate(capacity: 1)
            async.initialize(to: uv_async_t())
            var status = uv_idle_init(l, idle)
            if status == 0 {
                status = uv_async_init(l, async) { a in
                    LoopExecutor.of(a!.pointee.loop).drainRemote()
                }
                if status != 0 {
                    // The close callback frees the idle handle.
                    uv_close(UnsafeMutableRawPointer(idle).assumingMemoryBound(to: uv_handle_t.self), LoopExecutor.free)
                    async.deallocate()
                    throw UVError(code: status).with(context: "Loop.executor")
                }
            }
            if status != 0 {
                async.deallocate()
                idle.deallocate()
                throw UVError(code: status).with(context: "Loop.executor")
            }
            uv_unref(UnsafeMutableRawPointer(async).assumingMemoryBound(to: uv_handle_t.self))
            hooks = .uv(idle: idle, async: async)
            l.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        case .native(let l):
            let idle = NativeWatcher(loop: l, kind: .idle)
            let async = NativeAsync(loop: l, callback: nil)
            async.unref()
            hooks = .native(idle: idle, async: async)
            async.setCallback { [unowned(unsafe) self] in self.drainRemote() }
        }
        actorExecutorStorage = LoopActorExecutor(self)
    }

    private static func of(_ loop: UnsafeMutablePointer<uv_loop_t>?) -> LoopExecutor {
        Unmanaged<LoopExecutor>.fromOpaque(loop!.pointee.data).takeUnretainedValue()
    }

    private static let free: uv_close_cb = { h in UnsafeMutableRawPointer(h)?.deallocate() }

    // MARK: Executor

    /// Queues `job` to run on the loop thread, in order with the other
    /// jobs and `execute` closures; callable from any thread.
    public func enqueue(_ job: consuming ExecutorJob) {
        submit(.job(UnownedJob(job)))
    }

    /// The serial executor for actors: the same queue, but its jobs run
    /// isolated to it (see `run`).
    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        actorExecutor.asUnownedSerialExecutor()
    }

    /// Made in init, before any other thread can see this executor.
    private var actorExecutor: LoopActorExecutor {
        actorExecutorStorage!
    }
    private var actorExecutorStorage: LoopActorExecutor?

    /// This executor as a task executor (`withTaskExecutorPreference`,
    /// `Task(executorPreference:)`): tasks run their code on the loop thread.
    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }

    /// Whether the calling thread is running the loop (and so is isolated
    /// to this executor).
    public func isIsolatingCurrentContext() -> Bool? { isOnLoopThread }

    /// Stops the process with a message unless the calling thread is
    /// running this executor's loop (Swift's check before it assumes
    /// isolation).
    public func checkIsolated() {
        precondition(isOnLoopThread, "SwiftUV: expected to be on the thread running the loop of this executor")
    }

    /// The loop, for code isolated to this executor (an actor whose
    /// executor it is, a task on the loop): it must run on the loop's thread.
    public var loop: Loop {
        guard isOnLoopThread, let loop = owner else {
            fatalError("SwiftUV: LoopExecutor.loop used off the thread running the loop")
        }
        return loop
    }

    var isOnLoopThread: Bool { thread.owner.load(ordering: .relaxed) == UInt(pthread_self()) }

    // MARK: Queues

    /// Queues `item` to run on the loop thread.
    func submit(_ item: Item) {
        if isOnLoopThread {
            local.append(item)
            if !idleStarted { startIdle() }
            return
        }
        lock.lock()
        if isShutDown {
            lock.unlock()
            // A cancellation arriving after everything finished is harmless;
            // a task's job has nowhere to run.
            if case .call = item {} else {
                fatalError("SwiftUV: a task's job was enqueued on the executor of a closed loop; the task can never finish")
            }
            return
        }
        remote.append(item)
        if remote.count == 1 {
            // Under the lock: `shutDown` closes the async handle under it too.
            switch hooks {
            case .uv(_, let async): _ = uv_async_send(async)
            case .native(_, let async): async.send()
            case nil: break
            }
        }
        lock.unlock()
    }

    /// Runs an item on the loop thread soon, from any thread.
    func post(_ body: @escaping () -> Void) { submit(.call(body)) }

    private func run(_ item: Item) {
        switch item {
        case .job(let job):
            // A task's job runs on the task executor with no serial
            // executor: nonisolated code (all of SwiftUV's async calls)
            // then continues here with no executor hop. Were it run isolated
            // to the serial executor, every call of a nonisolated async
            // function would hop (a second trip through the queue).
            job.runSynchronously(on: asUnownedTaskExecutor())
        case .actorJob(let job):
            job.runSynchronously(isolatedTo: actorExecutor.asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
        case .call(let body): body()
        }
    }

    private func startIdle() {
        idleStarted = true
        switch hooks {
        case .uv(let idle, _):
            _ = uv_idle_start(idle) { h in LoopExecutor.of(h!.pointee.loop).drainLocal() }
        case .native(let idle, _):
            idle.start { [unowned(unsafe) self] in self.drainLocal() }
        case nil: break
        }
    }

    private func stopIdle() {
        idleStarted = false
        switch hooks {
        case .uv(let idle, _): _ = uv_idle_stop(idle)
        case .native(let idle, _): idle.stop()
        case nil: break
        }
    }

    /// The idle phase: runs what was queued before it began; what those jobs
    /// queue runs next iteration (a task that keeps yielding cannot starve
    /// the loop's I/O).
    private func drainLocal() {
        swap(&local, &draining)
        for item in draining { run(item) }
        draining.removeAll(keepingCapacity: true)
        if local.isEmpty { stopIdle() }
    }

    /// The async handle's callback: runs what other threads queued.
    private func drainRemote() {
        lock.lock()
        swap(&remote, &remoteDraining)
        lock.unlock()
        for item in remoteDraining { run(item) }
        remoteDraining.removeAll(keepingCapacity: true)
    }

    /// At the start of `Loop.run`: jobs queued while no thread ran the loop
    /// (a task made before `run`) join the local queue.
    func adoptRemoteJobs() {
        lock.lock()
        if !remote.isEmpty {
            local.append(contentsOf: remote)
            remote.removeAll(keepingCapacity: true)
        }
        lock.unlock()
        if !local.isEmpty && !idleStarted { startIdle() }
    }

    // MARK: Keeping the loop alive

    /// A task that must finish keeps the loop alive (loop thread only).
    func retainLoop() {
        keepAliveCount += 1
        if keepAliveCount == 1 { setAsyncRef(true) }
    }

    func releaseLoop() {
        keepAliveCount -= 1
        if keepAliveCount == 0 { setAsyncRef(false) }
    }

    private func setAsyncRef(_ on: Bool) {
        switch hooks {
        case .uv(_, let async):
            let h = UnsafeMutableRawPointer(async).assumingMemoryBound(to: uv_handle_t.self)
            if on { uv_ref(h) } else { uv_unref(h) }
        case .native(_, let async):
            if on { async.ref() } else { async.unref() }
        case nil: break
        }
    }

    /// Closes the two handles (before the loop closes). `UVError.busy` while
    /// jobs are queued or a task started on the loop is unfinished.
    func shutDown() throws(UVError) {
        // Cancellations that arrived after their operations finished are
        // harmless: run them rather than call the loop busy.
        var calls: [Item] = []
        lock.lock()
        remote.removeAll { item in
            guard case .call = item else { return false }
            calls.append(item)
            return true
        }
        lock.unlock()
        for call in calls { run(call) }
        lock.lock()
        defer { lock.unlock() }
        if !remote.isEmpty || !local.isEmpty || keepAliveCount > 0 {
            throw UVError.busy.with(context: "Loop.close: tasks on this loop have not finished")
        }
        isShutDown = true
        switch hooks {
        case .uv(let idle, let async):
            async.pointee.loop.pointee.data = nil
            uv_close(UnsafeMutableRawPointer(idle).assumingMemoryBound(to: uv_handle_t.self), LoopExecutor.free)
            uv_close(UnsafeMutableRawPointer(async).assumingMemoryBound(to: uv_handle_t.self), LoopExecutor.free)
        case .native(let idle, let async):
            idle.close(nil)
            async.close(nil)
        case nil: break
        }
        hooks = nil
    }
}

/// The loop's serial executor, for actors: it queues their jobs on the
/// loop's executor, marked to run isolated to it.
final class LoopActorExecutor: SerialExecutor, @unchecked Sendable {
    unowned let loopExecutor: LoopExecutor
    init(_ loopExecutor: LoopExecutor) { self.loopExecutor = loopExecutor }

    func enqueue(_ job: consuming ExecutorJob) { loopExecutor.submit(.actorJob(UnownedJob(job))) }
    func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }
    func isIsolatingCurrentContext() -> Bool? { loopExecutor.isOnLoopThread }
    func checkIsolated() { loopExecutor.checkIsolated() }
}

extension Loop {
    /// This loop as an executor for Swift concurrency (made on first use).
    /// See `LoopExecutor`, `task(_:)` and `run(_:)`. On a closed loop, or
    /// when its handles cannot be made (no descriptor free), it throws.
    public var executor: LoopExecutor {
        get throws(UVError) {
            if let executor = executorStorage { return executor }
            try ensureOpen("Loop.executor")
            let executor = try LoopExecutor(loop: self)
            executorStorage = executor
            return executor
        }
    }
}
