import Foundation
import SwiftUV
import Synchronization
import Testing

/// The cases of libuv's test-threadpool.c and test-threadpool-cancel.c.
/// The pool is process-wide (one per backend), and several cases fill it
/// with waiting work: they run one at a time so that they cannot starve
/// each other.
@Suite("Thread pool", .serialized)
struct ThreadPoolTests {
    /// Occupies every pool thread with work that waits, so that the next
    /// items stay queued; returns how many threads, and the release.
    func occupyPool(_ loop: Loop, completion: ((Result<Void, UVError>) -> Void)? = nil) throws -> (threads: Int, release: () -> Void) {
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let threads = Int(ProcessInfo.processInfo.environment["UV_THREADPOOL_SIZE"] ?? "4") ?? 4
        for _ in 0..<threads {
            try loop.queueWork({ started.signal(); gate.wait() }, completion: completion)
        }
        for _ in 0..<threads { started.wait() }
        return (threads, { for _ in 0..<threads { gate.signal() } })
    }

    @Test("threadpool_queue_work_simple", arguments: backends)
    func queueWorkSimple(backend: Backend) throws {
        try withLoop(backend) { loop in
            let workCalls = Atomic<Int>(0)
            var afterCalls = 0
            let loopThread = pthread_self()
            try loop.queueWork({ () -> Bool in
                workCalls.add(1, ordering: .relaxed)
                return pthread_equal(pthread_self(), loopThread) != 0
            }) { result in
                afterCalls += 1
                #expect(pthread_equal(pthread_self(), loopThread) != 0, "completion on the loop thread")
                #expect((try? result.get()) == false, "work on a pool thread")
            }
            try loop.run()
            #expect(workCalls.load(ordering: .relaxed) == 1)
            #expect(afterCalls == 1)
        }
    }

    @Test("threadpool_queue_work_einval", arguments: backends)
    func queueWorkEinval(backend: Backend) throws {
        try withLoop(backend) { loop in
            var afterCalls = 0
            #expect(throws: UVError.invalidArgument) {
                try loop.queueWork(nil as (@Sendable () -> Int)?) { _ in afterCalls += 1 }
            }
            try loop.run()
            #expect(afterCalls == 0)
        }
    }

    @Test("threadpool_cancel_work: queued work is cancelled, its work never runs", arguments: backends)
    func cancelQueued(backend: Backend) throws {
        try withLoop(backend) { loop in
            var blockersDone = 0
            let (threads, release) = try occupyPool(loop) { _ in blockersDone += 1 }

            let ran = Atomic<Int>(0)
            var results: [UVError?] = []
            var requests: [Work] = []
            for _ in 0..<5 {
                requests.append(try loop.queueWork({ ran.add(1, ordering: .relaxed) }) { result in
                    if case .failure(let e) = result { results.append(e) } else { results.append(nil) }
                })
            }
            for r in requests { try r.cancel() }
            release()
            try loop.run()
            #expect(ran.load(ordering: .relaxed) == 0)
            #expect(results.count == 5)
            #expect(results.allSatisfy { $0 == .cancelled })
            #expect(blockersDone == threads)
            // Finished: cancel is refused.
            #expect(throws: UVError.busy) { try requests[0].cancel() }
        }
    }

    @Test("cancel of running work gives EBUSY and the work completes", arguments: backends)
    func cancelRunning(backend: Backend) throws {
        try withLoop(backend) { loop in
            let started = DispatchSemaphore(value: 0)
            let gate = DispatchSemaphore(value: 0)
            var status: Result<Int, UVError>?
            let work = try loop.queueWork({ () -> Int in started.signal(); gate.wait(); return 5 }) { status = $0 }
            started.wait()
            #expect(throws: UVError.busy) { try work.cancel() }
            gate.signal()
            try loop.run()
            #expect((try? status?.get()) == 5)
        }
    }

    @Test("cancelling a cancelled request again moves its completion last", arguments: backends)
    func cancelTwice(backend: Backend) throws {
        try withLoop(backend) { loop in
            let (_, release) = try occupyPool(loop)
            var order: [String] = []
            let a = try loop.queueWork({}) { _ in order.append("a") }
            let c = try loop.queueWork({}) { _ in order.append("c") }
            try a.cancel()
            try c.cancel()
            try a.cancel()
            release()
            try loop.run()
            #expect(order == ["c", "a"])
        }
    }

    @Test("closing the loop from a callback while it runs is refused", arguments: backends)
    func closeWhileRunning(backend: Backend) throws {
        try withLoop(backend) { loop in
            let timer = try UVTimer(loop: loop)
            var refused: UVError?
            try timer.start(timeout: 0, repeat: 0) { t in
                try? t.close { _ in
                    do { try loop.close() } catch let e as UVError { refused = e } catch {}
                }
            }
            try loop.run()
            #expect(refused == .busy)
            #expect(!loop.isClosed)
        }
    }

    @Test("work queued from a completion keeps the loop alive until it is done", arguments: backends)
    func chainedWork(backend: Backend) throws {
        try withLoop(backend) { loop in
            var results: [Int] = []
            func step(_ i: Int) {
                _ = try? loop.queueWork({ i * i }) { result in
                    results.append((try? result.get()) ?? -1)
                    if i < 5 { step(i + 1) }
                }
            }
            step(1)
            let alive = try loop.run()
            #expect(!alive)
            #expect(results == [1, 4, 9, 16, 25])
        }
    }

    @Test("getaddrinfo and getnameinfo cancelled while queued give EAI_CANCELED", arguments: backends)
    func dnsCancel(backend: Backend) throws {
        try withLoop(backend) { loop in
            let (_, release) = try occupyPool(loop)
            var results: [UVError?] = []
            let lookup = try loop.resolve(host: "localhost") { result in
                if case .failure(let e) = result { results.append(e) } else { results.append(nil) }
            }
            let reverse = try loop.resolveName(of: SocketAddress("127.0.0.1:80")) { result in
                if case .failure(let e) = result { results.append(e) } else { results.append(nil) }
            }
            try lookup.cancel()
            try reverse.cancel()
            release()
            try loop.run()
            #expect(results.count == 2)
            #expect(results.allSatisfy { $0 == .dnsCancelled })
            #expect(throws: UVError.busy) { try lookup.cancel() }
        }
    }

    @Test("fs requests cancelled while queued give ECANCELED", arguments: backends)
    func fsCancel(backend: Backend) throws {
        try withLoop(backend) { loop in
            let (_, release) = try occupyPool(loop)
            var results: [UVError?] = []
            let stat = try loop.fs.stat("/") { r in if case .failure(let e) = r { results.append(e) } else { results.append(nil) } }
            let read = try loop.fs.read(0, count: 16) { r in if case .failure(let e) = r { results.append(e) } else { results.append(nil) } }
            try stat.cancel()
            try read.cancel()
            release()
            try loop.run()
            #expect(results.count == 2)
            #expect(results.allSatisfy { $0 == .cancelled })
        }
    }

    /// libuv's uv__async_io takes the list of async handles before it runs
    /// the pool's completions (from its first, internal, async handle): an
    /// async handle made and sent in a completion fires in the next
    /// iteration. (A C probe against libuv 1.44.2: done in 0, fired in 1.)
    @Test("an async handle made and sent in a pool completion fires in the next iteration", arguments: backends)
    func asyncMadeInCompletion(backend: Backend) throws {
        try withLoop(backend) { loop in
            var iteration = 0
            var events: [String] = []
            let check = try Check(loop: loop)
            try check.start { _ in iteration += 1 }
            try loop.queueWork({ 0 }) { _ in
                events.append("work done in \(iteration)")
                guard let async = try? Async(loop: loop, { async in
                    events.append("async fired in \(iteration)")
                    try? async.close()
                    try? check.close()
                }) else { return }
                try? async.send()
            }
            try loop.run()
            #expect(events == ["work done in 0", "async fired in 1"])
        }
    }

    /// libuv runs DNS requests as slow I/O: they wait in a queue of their
    /// own behind one marker in the main queue, which goes back to the tail
    /// after each one. With one pool thread free, lookups A and B, work W
    /// and lookup C complete A, W, B, C. (A C probe against libuv 1.44.2
    /// with UV_THREADPOOL_SIZE=1 gave that order.)
    @Test("DNS is slow I/O: lookups wait behind a marker, so work queued after them runs between", arguments: backends)
    func dnsIsSlowIO(backend: Backend) throws {
        try withLoop(backend) { loop in
            let gate = DispatchSemaphore(value: 0)
            let started = DispatchSemaphore(value: 0)
            let threads = Int(ProcessInfo.processInfo.environment["UV_THREADPOOL_SIZE"] ?? "4") ?? 4
            for _ in 0..<threads { try loop.queueWork({ started.signal(); gate.wait() }) { _ in } }
            for _ in 0..<threads { started.wait() }
            var order: [String] = []
            for (name, host) in [("A", "127.0.0.1"), ("B", "127.0.0.2")] {
                try loop.resolve(host: host) { _ in order.append(name) }
            }
            try loop.queueWork({ 0 }) { _ in order.append("W") }
            try loop.resolve(host: "127.0.0.3") { _ in
                order.append("C")
                for _ in 1..<threads { gate.signal() }
            }
            // One thread free: it takes the queue in libuv's order, one at a time.
            gate.signal()
            try loop.run()
            #expect(order == ["A", "W", "B", "C"])
        }
    }
}
