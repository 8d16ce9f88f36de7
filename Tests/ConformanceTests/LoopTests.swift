import SwiftUV
import Testing

/// The cases of libuv's loop tests (test-run-once.c, test-run-nowait.c,
/// test-loop-alive.c, test-loop-stop.c, test-loop-close.c, test-loop-time.c,
/// test-active.c, test-walk-handles.c, test-callback-stack.c).
@Suite("Loop")
struct LoopTests {
    @Test("run_once", arguments: backends)
    func runOnce(backend: Backend) throws {
        try withLoop(backend) { loop in
            let idle = try Idle(loop: loop)
            var calls = 0
            try idle.start { idle in
                calls += 1
                if calls == 64 { try? idle.stop() }
            }
            while try loop.run(.once) {}
            #expect(calls == 64)
        }
    }

    @Test("run_nowait", arguments: backends)
    func runNoWait(backend: Backend) throws {
        try withLoop(backend) { loop in
            let timer = try UVTimer(loop: loop)
            var fired = 0
            try timer.start(timeout: 100, repeat: 100) { _ in fired += 1 }
            let alive = try loop.run(.noWait)
            #expect(alive)
            #expect(fired == 0)
        }
    }

    @Test("loop_alive", arguments: backends)
    func loopAlive(backend: Backend) throws {
        try withLoop(backend) { loop in
            #expect(!loop.isAlive)
            let timer = try UVTimer(loop: loop)
            var fired = 0
            try timer.start(timeout: 100, repeat: 0) { _ in fired += 1 }
            #expect(loop.isAlive)
            #expect(try loop.run() == false)
            #expect(!loop.isAlive)
            #expect(fired == 1)

            var worked = 0
            try loop.queueWork({ () -> Int in 7 }) { result in
                if case .success(7) = result { worked += 1 }
            }
            #expect(loop.isAlive)
            #expect(try loop.run() == false)
            #expect(!loop.isAlive)
            #expect(worked == 1)
        }
    }

    @Test("loop_stop", arguments: backends)
    func loopStop(backend: Backend) throws {
        try withLoop(backend) { loop in
            let prepare = try Prepare(loop: loop)
            let timer = try UVTimer(loop: loop)
            var prepareCalls = 0
            var timerCalls = 0
            try prepare.start { p in
                prepareCalls += 1
                if prepareCalls == 10 { try? p.stop() }
            }
            try timer.start(timeout: 100, repeat: 100) { t in
                timerCalls += 1
                if timerCalls == 1 { loop.stop() }
                if timerCalls == 10 { try? t.stop() }
            }
            #expect(try loop.run() == true)
            #expect(timerCalls == 1)
            #expect(try loop.run(.noWait) == true)
            #expect(prepareCalls > 1)
            #expect(try loop.run() == false)
            #expect(timerCalls == 10)
            #expect(prepareCalls == 10)
        }
    }

    @Test("loop_stop before run: zero iterations", arguments: backends)
    func loopStopBeforeRun(backend: Backend) throws {
        try withLoop(backend) { loop in
            let timer = try UVTimer(loop: loop)
            var fired = 0
            try timer.start(timeout: 0, repeat: 0) { _ in fired += 1 }
            loop.stop()
            #expect(try loop.run() == true)
            #expect(fired == 0)
            #expect(try loop.run() == false)
            #expect(fired == 1)
        }
    }

    @Test("loop_close", arguments: backends)
    func loopClose(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let timer = try UVTimer(loop: loop)
        try timer.start(timeout: 100, repeat: 100) { _ in }
        #expect(throws: UVError.busy) { try loop.close() }
        try timer.close()
        try loop.run()
        try loop.close()
        #expect(loop.isClosed)
        #expect(loop.liveHandleCount == 0)
    }

    @Test("loop_backend_timeout", arguments: backends)
    func loopBackendTimeout(backend: Backend) throws {
        try withLoop(backend) { loop in
            // libuv's test first lets the loop register its internal watchers.
            let primer = try Idle(loop: loop)
            try primer.start { _ in }
            try loop.run(.noWait)
            try primer.stop()
            #expect(!loop.isAlive)

            let timer = try UVTimer(loop: loop)
            #expect(!loop.isAlive)
            #expect(loop.backendTimeout == 0)
            try timer.start(timeout: 1000, repeat: 0) { _ in }
            #expect(loop.backendTimeout == 1000)
            let before = loop.now
            #expect(try loop.run() == false)
            #expect(loop.now - before >= 1000)
            #expect(loop.backendTimeout == 0)
        }
    }

    @Test("loop_update_time", arguments: backends)
    func loopUpdateTime(backend: Backend) throws {
        try withLoop(backend) { loop in
            let start = loop.now
            var spins = 0
            while loop.now - start < 1000 {
                let alive = try loop.run(.noWait)
                #expect(!alive)
                spins += 1
            }
            #expect(spins > 0)
        }
    }

    @Test("active", arguments: backends)
    func active(backend: Backend) throws {
        try withLoop(backend) { loop in
            let timer = try UVTimer(loop: loop)
            #expect(!timer.isActive && !timer.isClosing)
            try timer.start(timeout: 1000, repeat: 0) { _ in }
            #expect(timer.isActive && !timer.isClosing)
            try timer.stop()
            #expect(!timer.isActive && !timer.isClosing)
            try timer.start(timeout: 1000, repeat: 0) { _ in }
            #expect(timer.isActive && !timer.isClosing)
            var closed = 0
            try timer.close { _ in closed += 1 }
            #expect(!timer.isActive && timer.isClosing)
            try loop.run()
            #expect(closed == 1)
            #expect(!timer.isActive && timer.isClosing)
        }
    }

    @Test("walk_handles", arguments: backends)
    func walkHandles(backend: Backend) throws {
        try withLoop(backend) { loop in
            let timer = try UVTimer(loop: loop)
            var seen: [[Handle]] = []
            try timer.start(timeout: 1, repeat: 1) { t in
                seen.append(loop.handles)
                try? t.close()
            }
            try loop.run()
            #expect(seen.count == 1)
            #expect(seen.first?.count == 1)
            #expect(seen.first?.first === timer)
            #expect(loop.handles.isEmpty)
        }
    }

    @Test("callback_stack (timer and close)", arguments: backends)
    func callbackStack(backend: Backend) throws {
        try withLoop(backend) { loop in
            var inCall = false
            var timerCalls = 0
            var closeCalls = 0
            let timer = try UVTimer(loop: loop)
            inCall = true
            try timer.start(timeout: 0, repeat: 0) { t in
                #expect(!inCall)
                timerCalls += 1
                inCall = true
                try? t.close { _ in
                    #expect(!inCall)
                    closeCalls += 1
                }
                inCall = false
            }
            inCall = false
            try loop.run()
            #expect(timerCalls == 1)
            #expect(closeCalls == 1)
        }
    }

    @Test("phase order: timers, pending, idle, prepare, poll, check, closing", arguments: backends)
    func phaseOrder(backend: Backend) throws {
        try withLoop(backend) { loop in
            var trace: [String] = []
            let timer = try UVTimer(loop: loop)
            let idle = try Idle(loop: loop)
            let prepare = try Prepare(loop: loop)
            let check = try Check(loop: loop)
            try timer.start(timeout: 0, repeat: 0) { _ in trace.append("timer") }
            try idle.start { i in trace.append("idle"); try? i.stop() }
            try prepare.start { p in trace.append("prepare"); try? p.stop() }
            try check.start { c in
                trace.append("check")
                try? c.close { _ in trace.append("close") }
            }
            try loop.run(.once)
            #expect(trace == ["timer", "idle", "prepare", "check", "close"])
        }
    }

    @Test("watchers run in reverse start order", arguments: backends)
    func watcherOrder(backend: Backend) throws {
        try withLoop(backend) { loop in
            var trace: [Int] = []
            var idles: [Idle] = []
            for i in 0..<3 {
                let idle = try Idle(loop: loop)
                try idle.start { _ in trace.append(i) }
                idles.append(idle)
            }
            // Started during the phase: runs from the next iteration only.
            var late: Idle?
            try idles[0].start { _ in }  // already active: a no-op
            let starter = try Prepare(loop: loop)
            try starter.start { p in
                if late == nil {
                    late = try? Idle(loop: loop)
                    try? late?.start { _ in trace.append(9) }
                }
            }
            try loop.run(.noWait)
            try loop.run(.noWait)
            #expect(trace == [2, 1, 0, 9, 2, 1, 0])
        }
    }

    @Test("close callbacks run last closed first", arguments: backends)
    func closeOrder(backend: Backend) throws {
        try withLoop(backend) { loop in
            var trace: [Int] = []
            for i in 0..<4 {
                try UVTimer(loop: loop).close { _ in trace.append(i) }
            }
            try loop.run()
            #expect(trace == [3, 2, 1, 0])
        }
    }

    @Test("idle time metric", arguments: backends)
    func idleTimeMetric(backend: Backend) throws {
        let loop = try Loop(backend: backend, options: .measureIdleTime)
        let timer = try UVTimer(loop: loop)
        try timer.start(timeout: 100, repeat: 0) { _ in }
        try loop.run()
        // Nearly all of the 100 ms was spent waiting in the poll.
        #expect(loop.idleTime >= 50_000_000)
        #expect(loop.idleTime < 10_000_000_000)
        try assertClosesClean(loop)

        let plain = try Loop(backend: backend)
        let t2 = try UVTimer(loop: plain)
        try t2.start(timeout: 20, repeat: 0) { _ in }
        try plain.run()
        #expect(plain.idleTime == 0)
        try assertClosesClean(plain)
    }

    @Test("backend timeout rules: -1, idle, closing, stop", arguments: backends)
    func backendTimeoutRules(backend: Backend) throws {
        try withLoop(backend) { loop in
            let primer = try Idle(loop: loop)
            try primer.start { _ in }
            try loop.run(.noWait)
            try primer.stop()

            // Only an active async handle, no timer: block forever.
            let async = try Async(loop: loop, nil)
            #expect(loop.backendTimeout == -1)
            // Any started idle handle, even unref'd: do not block.
            try primer.unref()
            try primer.start { _ in }
            #expect(loop.backendTimeout == 0)
            try primer.stop()
            #expect(loop.backendTimeout == -1)
            // A timer due in 200 ms bounds the wait.
            let timer = try UVTimer(loop: loop)
            try timer.start(timeout: 200, repeat: 0) { _ in }
            #expect(loop.backendTimeout == 200)
            // A handle closing: do not block.
            try UVTimer(loop: loop).close()
            #expect(loop.backendTimeout == 0)
            try loop.run(.noWait)
            #expect(loop.backendTimeout > 0 && loop.backendTimeout <= 200)
            // The stop flag: do not block.
            loop.stop()
            #expect(loop.backendTimeout == 0)
            try loop.run(.noWait)
            try async.close()
        }
    }

    @Test("ref: an empty loop's run returns at once; has_ref follows ref/unref", arguments: backends)
    func refAndHasRef(backend: Backend) throws {
        try withLoop(backend) { loop in
            #expect(try loop.run() == false)
            let idle = try Idle(loop: loop)
            #expect(idle.hasRef)
            try idle.unref()
            #expect(!idle.hasRef)
            try idle.ref()
            #expect(idle.hasRef)
        }
    }

    @Test("ONCE with nothing to do but a far timer blocks once, then returns alive", arguments: backends)
    func onceBlocksForTimer(backend: Backend) throws {
        try withLoop(backend) { loop in
            let far = try UVTimer(loop: loop)
            try far.start(timeout: 60_000, repeat: 0) { _ in }
            let near = try UVTimer(loop: loop)
            var nearCalls = 0
            try near.start(timeout: 20, repeat: 0) { _ in nearCalls += 1 }
            let start = loop.now
            #expect(try loop.run(.once) == true)
            #expect(nearCalls == 1)
            #expect(loop.now - start >= 20)
        }
    }

    @Test("stop inside a callback: the iteration still runs check and closing", arguments: backends)
    func stopFinishesIteration(backend: Backend) throws {
        try withLoop(backend) { loop in
            var trace: [String] = []
            let timer = try UVTimer(loop: loop)
            let check = try Check(loop: loop)
            try check.start { _ in trace.append("check") }
            try timer.start(timeout: 0, repeat: 1000) { t in
                trace.append("timer")
                loop.stop()
                try? UVTimer(loop: loop).close { _ in trace.append("close") }
            }
            #expect(try loop.run() == true)
            #expect(trace == ["timer", "check", "close"])
        }
    }
}
