#if canImport(Glibc)
import Glibc
#endif

/// Carries a loop-bound value into a task that runs on the same loop. Sound
/// only because both ends run on the thread running that loop: the places
/// that make one check it.
struct LoopBound<T>: @unchecked Sendable {
    var value: T
}

/// Where `Loop.run { }` finds its body's outcome.
private final class ResultSlot<T> {
    var result: Result<T, any Error>?
}

/// One async operation of a task on the loop (a sleep, a write, a request):
/// its continuation, resumed exactly once, on the loop thread, by whichever
/// comes first of the operation's callback, the task's cancellation and the
/// handle's close.
final class Suspension<T> {
    let loop: Loop
    @exclusivity(unchecked)
    private var continuation: UnsafeContinuation<T, any Error>?
    /// Stops the underlying operation when the task is cancelled; it resumes
    /// the continuation itself, or makes the operation's callback do it.
    @exclusivity(unchecked)
    var onCancel: (() -> Void)?
    @exclusivity(unchecked)
    private(set) var isCancelled = false

    init(loop: Loop) { self.loop = loop }

    /// Whether the continuation still waits.
    var isPending: Bool { continuation != nil }

    fileprivate func begin(_ c: UnsafeContinuation<T, any Error>) {
        continuation = c
        loop.suspendedOperationCount += 1
    }

    func resume(with result: Result<T, any Error>) {
        guard let c = continuation else { return }
        continuation = nil
        onCancel = nil
        loop.suspendedOperationCount -= 1
        // The task resumes on this same thread (the loop's).
        nonisolated(unsafe) let outcome = result
        c.resume(with: outcome)
    }

    func resume(returning value: T) { resume(with: .success(value)) }
    func resume(throwing error: any Error) { resume(with: .failure(error)) }

    /// Ends with the result of a libuv-style completion: `UVError.cancelled`
    /// after the task's cancellation stopped the operation is the
    /// `CancellationError` the task expects.
    func complete(_ result: Result<T, UVError>) {
        switch result {
        case .success(let value): resume(returning: value)
        case .failure(let error):
            // ECANCELED, or EAI_CANCELED from a lookup.
            let stopped = error == .cancelled || error == .dnsCancelled
            resume(throwing: isCancelled && stopped ? CancellationError() : error)
        }
    }

    fileprivate func cancel() {
        guard isPending, !isCancelled else { return }
        isCancelled = true
        onCancel?()
    }
}

/// A request on the thread pool that can be cancelled while it is queued:
/// `Work`, `FSRequest`, `DNSRequest`.
protocol PoolRequest {
    func cancel() throws(UVError)
}

extension Work: PoolRequest {}
extension FSRequest: PoolRequest {}
extension DNSRequest: PoolRequest {}

extension Suspension where T == Void {
    func complete(_ error: UVError?) { complete(error.map { .failure($0) } ?? .success(())) }
}

extension Loop {
    /// Stops the program unless the calling task runs on this loop's thread:
    /// an async operation's callbacks can only reach a task there.
    @inline(__always)
    func checkAwaitingThread(_ operation: @autoclosure () -> String) {
        if !isOnLoopThread {
            fatalError(
                "SwiftUV: \(operation()) was awaited on a thread that is not running its loop. Await a loop's "
                    + "operations from a task on the loop: loop.run { ... }, loop.task { ... }, "
                    + "Task(executorPreference: loop.executor) or an actor whose executor is loop.executor.")
        }
    }

    /// Suspends the calling task until `start`'s operation resumes the
    /// suspension; `start` runs on the loop thread as the task suspends.
    /// Cancellation of the task is posted to the loop thread, where it runs
    /// the suspension's `onCancel` if it is still pending.
    func suspend<T>(_ operation: String, isolation: isolated (any Actor)? = #isolation,
                    _ start: (Suspension<T>) throws -> Void) async throws -> T {
        checkAwaitingThread(operation)
        try Task.checkCancellation()
        try ensureOpen(operation)
        let suspension = Suspension<T>(loop: self)
        let executor = try self.executor
        let box = LoopBound(value: suspension)
        // The closures name `isolation`, which keeps them on the caller's
        // executor (an actor on the loop, or the loop's task executor).
        return try await withTaskCancellationHandler(operation: {
            _ = isolation
            return try await withUnsafeThrowingContinuation(isolation: isolation) { (c: UnsafeContinuation<T, any Error>) in
                suspension.begin(c)
                do { try start(suspension) } catch { suspension.resume(throwing: error) }
            }
        }, onCancel: {
            executor.post { box.value.cancel() }
        }, isolation: isolation)
    }

    /// Awaits a thread-pool request started by `start` with its completion:
    /// cancellation cancels it while it is queued.
    nonisolated(nonsending)
    func awaitPoolRequest<T, Request: PoolRequest>(
        _ operation: String, _ start: (@escaping (Result<T, UVError>) -> Void) throws -> Request
    ) async throws -> T {
        try await suspend(operation) { (s: Suspension<T>) in
            let request = try start { s.complete($0) }
            s.onCancel = { try? request.cancel() }
        }
    }

    // MARK: Tasks

    /// Starts a task whose jobs run on this loop's thread
    /// (`Task(executorPreference: executor)`), and keeps the loop alive until
    /// it finishes. Call it on the loop's thread (or before the loop runs):
    /// the operation may then use this loop's handles. On a closed loop it
    /// throws `UVError.invalidArgument`.
    @discardableResult
    public func task<T: Sendable>(priority: TaskPriority? = nil,
                                  _ operation: @escaping () async throws -> T) throws(UVError) -> Task<T, any Error> {
        try ensureOpen("Loop.task")
        let executor = try self.executor
        executor.retainLoop()
        let body = LoopBound(value: operation)
        return Task(executorPreference: executor, priority: priority) {
            defer { executor.releaseLoop() }
            return try await body.value()
        }
    }

    /// Runs `body` as a task on this loop, running the loop until the body
    /// returns; returns what it returns or throws what it throws. The loop
    /// is not closed; other tasks left suspended continue when it runs
    /// again. Not from a callback of this loop (`UVError.busy`).
    ///
    /// Call it from nonisolated code. A closure isolated to an actor (top
    /// level code in `main.swift` is `@MainActor`) would run its jobs on that
    /// actor, which for the main actor waits for the main thread: the thread
    /// running the loop. Such a body is refused with `UVError.invalidArgument`.
    ///
    /// ```swift
    /// nonisolated func main() throws {
    ///     let loop = try Loop(backend: .native)
    ///     try loop.run {
    ///         try await loop.sleep(for: .milliseconds(10))
    ///     }
    /// }
    /// ```
    public func run<T: Sendable>(_ body: @isolated(any) @escaping () async throws -> T) throws -> T {
        if let actor = body.isolation {
            throw UVError.invalidArgument.with(
                context: "Loop.run { }: the body is isolated to \(type(of: actor)) and would run there, not on the loop "
                    + "(top-level code in main.swift is @MainActor); call Loop.run from a nonisolated function")
        }
        // Claimed first: nothing is queued unless this thread runs the loop.
        try claim()
        defer { release() }
        let executor = try self.executor
        let slot = LoopBound(value: ResultSlot<T>())
        let operation = LoopBound(value: body)
        let loop = LoopBound(value: self)
        executor.retainLoop()
        Task(executorPreference: executor) {
            let result: Result<T, any Error>
            do { result = .success(try await operation.value()) } catch { result = .failure(error) }
            slot.value.result = result
            executor.releaseLoop()
            loop.value.stop()
        }
        while true {
            let alive = try runClaimed(.default)
            if let result = slot.value.result { return try result.get() }
            precondition(alive, "SwiftUV: Loop.run { }: the loop ended before its body could finish")
        }
    }

    // MARK: Sleeping

    /// Suspends the task for `duration` on a timer of this loop (rounded
    /// down to milliseconds, as libuv's timers). Cancellation stops the
    /// timer and throws `CancellationError`; closing the timer (say with
    /// `closeAll`) throws `UVError.cancelled`.
    nonisolated(nonsending)
    public func sleep(for duration: Duration) async throws {
        let timeout = try milliseconds(duration)
        try await suspend("Loop.sleep") { (s: Suspension<Void>) in
            let timer = try UVTimer(loop: self)
            timer.closeHooks[ObjectIdentifier(s)] = {
                s.resume(throwing: UVError.cancelled.with(context: "Loop.sleep: the timer was closed"))
            }
            do {
                try timer.start(timeout: timeout) { timer in
                    s.resume(returning: ())
                    try? timer.close()
                }
            } catch {
                try? timer.close()
                throw error
            }
            s.onCancel = {
                s.resume(throwing: CancellationError())
                try? timer.close()
            }
        }
    }

    // MARK: The thread pool

    /// Runs `work` on the thread pool and returns its result (or rethrows
    /// its error). Cancelling the task while the work is still queued
    /// removes it and throws `CancellationError`; work already running
    /// finishes and its result is returned.
    nonisolated(nonsending)
    public func queueWork<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let result: Result<T, any Error> = try await awaitPoolRequest("Loop.queueWork") { done in
            try queueWork({ Result { try work() } }, completion: done)
        }
        return try result.get()
    }

    // MARK: DNS

    /// Resolves `host` and/or `service` on the thread pool
    /// (`uv_getaddrinfo`). Cancelling the task while the lookup is queued
    /// cancels it (`CancellationError`).
    nonisolated(nonsending)
    public func resolve(host: String?, service: String? = nil, hints: AddressHints? = nil) async throws -> [AddressInfo] {
        try await awaitPoolRequest("Loop.resolve") { done in
            try resolve(host: host, service: service, hints: hints, done)
        }
    }

    /// The host and service names of `address` (`uv_getnameinfo`), as
    /// `resolve(host:service:hints:)`.
    nonisolated(nonsending)
    public func resolveName(of address: SocketAddress, flags: Int32 = 0) async throws -> (host: String, service: String) {
        try await awaitPoolRequest("Loop.resolveName") { done in try resolveName(of: address, flags: flags, done) }
    }
}
