import Foundation
import SwiftUV
import Synchronization
import Testing

/// The cases of libuv's test-idle.c, test-ref.c and test-async.c.
@Suite("Idle, ref, async")
struct HandleTests {
    @Test("idle_starvation", arguments: backends)
    func idleStarvation(backend: Backend) throws {
        try withLoop(backend) { loop in
            let idle = try Idle(loop: loop)
            let check = try Check(loop: loop)
            let timer = try UVTimer(loop: loop)
            var idleCalls = 0
            var timerCalls = 0
            var closes = 0
            try idle.start { _ in idleCalls += 1 }
            try check.start { _ in }
            try timer.start(timeout: 50, repeat: 0) { _ in
                timerCalls += 1
                for h: Handle in [idle, check, timer] { try? h.close { _ in closes += 1 } }
            }
            #expect(try loop.run() == false)
            #expect(idleCalls > 0)
            #expect(timerCalls == 1)
            #expect(closes == 3)
        }
    }

    /// ref_*: an unref'd active handle lets `run` return at once with no
    /// callback; closing it gives exactly one close callback.
    @Test("ref family: idle, prepare, check, async, timer", arguments: backends)
    func refFamily(backend: Backend) throws {
        typealias Make = (Loop, @escaping () -> Void) throws -> Handle
        let makers: [(String, Make)] = [
            ("idle_ref", { loop, hit in let h = try Idle(loop: loop); try h.start { _ in hit() }; return h }),
            ("prepare_ref", { loop, hit in let h = try Prepare(loop: loop); try h.start { _ in hit() }; return h }),
            ("check_ref", { loop, hit in let h = try Check(loop: loop); try h.start { _ in hit() }; return h }),
            ("async_ref", { loop, hit in try Async(loop: loop) { _ in hit() } }),
            ("timer_ref2", { loop, hit in let h = try UVTimer(loop: loop); try h.start(timeout: 42, repeat: 42) { _ in hit() }; return h }),
        ]
        for (name, make) in makers {
            try withLoop(backend) { loop in
                var hits = 0
                let handle = try make(loop) { hits += 1 }
                #expect(handle.hasRef)
                try handle.unref()
                #expect(!handle.hasRef)
                #expect(try loop.run() == false, "\(name)")
                if handle.type == .timer || handle.type == .async {
                    #expect(hits == 0, "\(name): no callback")
                }
                var closes = 0
                try handle.close { _ in closes += 1 }
                try loop.run()
                #expect(closes == 1, "\(name): one close callback")
            }
        }
    }

    @Test("ref: an inactive handle keeps nothing alive; ref/unref are idempotent", arguments: backends)
    func refIdempotent(backend: Backend) throws {
        try withLoop(backend) { loop in
            let timer = try UVTimer(loop: loop)
            try timer.ref()
            try timer.ref()
            #expect(try loop.run() == false)
            try timer.start(timeout: 1, repeat: 0) { _ in }
            try timer.unref()
            try timer.unref()
            #expect(!loop.isAlive)
            try timer.ref()
            #expect(loop.isAlive)
            try loop.run()
            #expect(!loop.isAlive)
        }
    }

    @Test("unref_in_prepare_cb", arguments: backends)
    func unrefInPrepare(backend: Backend) throws {
        try withLoop(backend) { loop in
            let prepare = try Prepare(loop: loop)
            var calls = 0
            try prepare.start { p in
                calls += 1
                try? p.unref()
            }
            #expect(try loop.run() == false)
            #expect(calls == 1)
        }
    }

    @Test("async", arguments: backends)
    func async(backend: Backend) throws {
        try withLoop(backend) { loop in
            // An atomic, not a Mutex: ThreadSanitizer does not see the
            // standard library Mutex's futex locking.
            let count = Atomic<Int>(0)
            var prepareCalls = 0
            var closes = 0
            var thread: Thread?
            let done = DispatchSemaphore(value: 0)
            let prepare = try Prepare(loop: loop)
            let async = try Async(loop: loop) { a in
                let n = count.add(1, ordering: .acquiringAndReleasing).newValue
                if n == 3 {
                    try? a.close { _ in closes += 1 }
                    try? prepare.close { _ in closes += 1 }
                }
            }
            let sender = async.sender
            try prepare.start { _ in
                prepareCalls += 1
                if prepareCalls > 1 { return }
                thread = Thread {
                    while count.load(ordering: .acquiring) < 3 {
                        // A send racing with the close may find it closed.
                        _ = try? sender.send()
                        sched_yield()
                    }
                    done.signal()
                }
                thread?.start()
            }
            #expect(try loop.run() == false)
            done.wait()
            #expect(prepareCalls > 0)
            #expect(count.load(ordering: .acquiring) == 3)
            #expect(closes == 2)
        }
    }

    @Test("async sends coalesce", arguments: backends)
    func asyncCoalesce(backend: Backend) throws {
        try withLoop(backend) { loop in
            var calls = 0
            let async = try Async(loop: loop) { _ in calls += 1 }
            for _ in 0..<100 { try async.send() }
            try loop.run(.noWait)
            #expect(calls == 1)
            try async.send()
            try loop.run(.noWait)
            #expect(calls == 2)
        }
    }

    @Test("async_null_cb", arguments: backends)
    func asyncNullCallback(backend: Backend) throws {
        try withLoop(backend) { loop in
            let async = try Async(loop: loop, nil)
            let sender = async.sender
            let check = try Check(loop: loop)
            var checks = 0
            try check.start { c in
                checks += 1
                try? c.close()
                try? async.close()
            }
            let t = Thread { _ = try? sender.send() }
            t.start()
            #expect(try loop.run() == false)
            #expect(checks == 1)
        }
    }

    @Test("async: no callback after close; send after close throws", arguments: backends)
    func asyncAfterClose(backend: Backend) throws {
        try withLoop(backend) { loop in
            var calls = 0
            let async = try Async(loop: loop) { _ in calls += 1 }
            try async.send()
            try async.close()
            #expect(throws: UVError.invalidArgument) { try async.send() }
            try loop.run()
            #expect(calls == 0)
        }
    }

    @Test("async from many threads: every burst of sends is seen, none after close", arguments: backends)
    func asyncManyThreads(backend: Backend) throws {
        try withLoop(backend) { loop in
            let threads = 4, sends = 2_000
            let sent = Atomic<Int>(0)
            var calls = 0
            let finished = DispatchGroup()
            let async = try Async(loop: loop) { a in
                calls += 1
                if sent.load(ordering: .acquiring) == threads * sends { try? a.close() }
            }
            let sender = async.sender
            for _ in 0..<threads {
                finished.enter()
                Thread {
                    for _ in 0..<sends {
                        sent.add(1, ordering: .releasing)
                        try? sender.send()
                    }
                    finished.leave()
                }.start()
            }
            #expect(try loop.run() == false)
            finished.wait()
            // Coalesced: at least one call, at most one per send.
            #expect(calls >= 1 && calls <= threads * sends)
            #expect(async.isClosing)
        }
    }
}
