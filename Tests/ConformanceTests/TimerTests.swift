import SwiftUV
import Testing

/// The cases of libuv's test-timer.c and test-timer-again.c.
@Suite("Timers")
struct TimerTests {
    @Test("timer", arguments: backends)
    func timer(backend: Backend) throws {
        try withLoop(backend) { loop in
            let start = loop.now
            var onceCalls = 0
            var onceCloses = 0
            for i in 0..<10 {
                let once = try UVTimer(loop: loop)
                try once.start(timeout: UInt64(i) * 50, repeat: 0) { t in
                    #expect(!t.isActive)
                    onceCalls += 1
                    try? t.close { _ in onceCloses += 1 }
                }
            }
            var repeatCalls = 0
            var repeatCloses = 0
            let repeating = try UVTimer(loop: loop)
            try repeating.start(timeout: 100, repeat: 100) { t in
                #expect(t.isActive)
                repeatCalls += 1
                if repeatCalls == 5 { try? t.close { _ in repeatCloses += 1 } }
            }
            var neverCalls = 0
            let never = try UVTimer(loop: loop)
            try never.start(timeout: 100, repeat: 100) { _ in neverCalls += 1 }
            try never.stop()
            try never.unref()

            try loop.run()
            #expect(onceCalls == 10)
            #expect(onceCloses == 10)
            #expect(repeatCalls == 5)
            #expect(repeatCloses == 1)
            #expect(neverCalls == 0)
            #expect(loop.now - start >= 500)
        }
    }

    @Test("timer_start_twice", arguments: backends)
    func startTwice(backend: Backend) throws {
        try withLoop(backend) { loop in
            let timer = try UVTimer(loop: loop)
            var calls = 0
            try timer.start(timeout: 86_400_000, repeat: 0) { _ in Issue.record("the first schedule fired") }
            try timer.start(timeout: 10, repeat: 0) { _ in calls += 1 }
            #expect(try loop.run() == false)
            #expect(calls == 1)
        }
    }

    @Test("timer_order", arguments: backends)
    func order(backend: Backend) throws {
        try withLoop(backend) { loop in
            let a = try UVTimer(loop: loop)
            let b = try UVTimer(loop: loop)
            var trace: [String] = []
            try a.start(timeout: 0, repeat: 0) { _ in trace.append("a") }
            try b.start(timeout: 0, repeat: 0) { _ in trace.append("b") }
            try loop.run()
            #expect(trace == ["a", "b"])

            trace = []
            try b.start(timeout: 0, repeat: 0) { _ in trace.append("b") }
            try a.start(timeout: 0, repeat: 0) { _ in trace.append("a") }
            try loop.run()
            #expect(trace == ["b", "a"])
        }
    }

    @Test("timer_huge_timeout", arguments: backends)
    func hugeTimeout(backend: Backend) throws {
        try withLoop(backend) { loop in
            let tiny = try UVTimer(loop: loop)
            let huge1 = try UVTimer(loop: loop)
            let huge2 = try UVTimer(loop: loop)
            let closeAll: (UVTimer) -> Void = { _ in
                for t in [tiny, huge1, huge2] { try? t.close() }
            }
            try tiny.start(timeout: 1, repeat: 0, closeAll)
            try huge1.start(timeout: 0xffff_ffff_ffff, repeat: 0, closeAll)
            try huge2.start(timeout: .max, repeat: 0, closeAll)
            #expect(tiny.dueIn == 1)
            #expect(huge1.dueIn == 281_474_976_710_655)
            #expect(huge2.dueIn >= 0)
            #expect(try loop.run() == false)
        }
    }

    @Test("timer_huge_repeat", arguments: backends)
    func hugeRepeat(backend: Backend) throws {
        try withLoop(backend) { loop in
            let tiny = try UVTimer(loop: loop)
            let huge = try UVTimer(loop: loop)
            var calls: [UVTimer] = []
            let cb: (UVTimer) -> Void = { t in
                calls.append(t)
                if calls.count == 10 {
                    try? tiny.close()
                    try? huge.close()
                }
            }
            try tiny.start(timeout: 2, repeat: 2, cb)
            try huge.start(timeout: 1, repeat: .max, cb)
            try loop.run()
            #expect(calls.count == 10)
            #expect(calls.first === huge)
            #expect(calls.dropFirst().allSatisfy { $0 === tiny })
        }
    }

    @Test("timer_null_callback", arguments: backends)
    func nullCallback(backend: Backend) throws {
        try withLoop(backend) { loop in
            let timer = try UVTimer(loop: loop)
            #expect(throws: UVError.invalidArgument) { try timer.start(timeout: 100, repeat: 100, nil) }
            #expect(!timer.isActive)
        }
    }

    @Test("timer_is_closing", arguments: backends)
    func isClosing(backend: Backend) throws {
        try withLoop(backend) { loop in
            let timer = try UVTimer(loop: loop)
            try timer.close()
            #expect(throws: UVError.invalidArgument) { try timer.start(timeout: 100, repeat: 100) { _ in } }
        }
    }

    @Test("timer_early_check", arguments: backends)
    func earlyCheck(backend: Backend) throws {
        try withLoop(backend) { loop in
            let timeoutMs: UInt64 = 10
            let timer = try UVTimer(loop: loop)
            let startedAt = loop.now
            var fired = false
            try timer.start(timeout: timeoutMs, repeat: 0) { _ in
                fired = true
                #expect(System.highResolutionTime / 1_000_000 >= startedAt + timeoutMs)
            }
            try loop.run()
            #expect(fired)
        }
    }

    @Test("timer_init", arguments: backends)
    func initialState(backend: Backend) throws {
        try withLoop(backend) { loop in
            let timer = try UVTimer(loop: loop)
            #expect(timer.repeatInterval == 0)
            #expect(timer.dueIn == 0)
            #expect(!timer.isActive)
            #expect(timer.type == .timer)
        }
    }

    @Test("timer_again", arguments: backends)
    func again(backend: Backend) throws {
        try withLoop(backend) { loop in
            let dummy = try UVTimer(loop: loop)
            // Never started: EINVAL.
            #expect(throws: UVError.invalidArgument) { try dummy.again() }
            try dummy.unref()

            let repeat1 = try UVTimer(loop: loop)
            let repeat2 = try UVTimer(loop: loop)
            var calls1 = 0
            var calls2 = 0
            try repeat1.start(timeout: 50, repeat: 0) { t in
                calls1 += 1
                #expect(t.repeatInterval == 50)
                if calls1 == 5 { try? t.setRepeat(0) ; try? t.close() ; return }
            }
            try repeat1.setRepeat(50)
            try repeat1.again()  // restarts with timeout 50, repeat 50
            try repeat2.start(timeout: 100, repeat: 100) { t in
                calls2 += 1
                if calls2 == 2 { try? t.close() }
            }
            try loop.run()
            #expect(calls1 == 5)
            #expect(calls2 == 2)
        }
    }

    @Test("again with repeat 0 does not stop the timer", arguments: backends)
    func againRepeatZero(backend: Backend) throws {
        try withLoop(backend) { loop in
            let timer = try UVTimer(loop: loop)
            var calls = 0
            try timer.start(timeout: 10, repeat: 0) { _ in calls += 1 }
            try timer.again()
            #expect(timer.isActive)
            try loop.run()
            #expect(calls == 1)
        }
    }

    @Test("timer_run_once", arguments: backends)
    func runOnce(backend: Backend) throws {
        try withLoop(backend) { loop in
            let timer = try UVTimer(loop: loop)
            var calls = 0
            try timer.start(timeout: 0, repeat: 0) { _ in calls += 1 }
            try loop.run(.once)
            #expect(calls == 1)
            try timer.start(timeout: 1, repeat: 0) { _ in calls += 1 }
            try loop.run(.once)
            #expect(calls == 2)
            try timer.close()
            try loop.run(.once)
        }
    }

    @Test("timer_zero_timeout runs in the same pass (libuv 1.44)", arguments: backends)
    func zeroTimeoutSamePass(backend: Backend) throws {
        try withLoop(backend) { loop in
            let first = try UVTimer(loop: loop)
            let second = try UVTimer(loop: loop)
            let check = try Check(loop: loop)
            var trace: [String] = []
            try check.start { c in trace.append("check"); try? c.stop() }
            try first.start(timeout: 0, repeat: 0) { _ in
                trace.append("first")
                try? second.start(timeout: 0, repeat: 0) { _ in trace.append("second") }
            }
            try loop.run(.noWait)
            #expect(trace == ["first", "second", "check"])
        }
    }

    @Test("repeat is scheduled from the loop time, lateness not caught up", arguments: backends)
    func repeatFromLoopTime(backend: Backend) throws {
        try withLoop(backend) { loop in
            let timer = try UVTimer(loop: loop)
            var due: [UInt64] = []
            try timer.start(timeout: 10, repeat: 10) { t in
                due.append(t.dueIn)
                if due.count == 3 { try? t.close() }
            }
            try loop.run()
            // Rescheduled before the callback: due in exactly one repeat.
            #expect(due == [10, 10, 10])
        }
    }

    @Test("ONCE fires a due repeating timer in its closing timer pass", arguments: backends)
    func onceForwardProgress(backend: Backend) throws {
        try withLoop(backend) { loop in
            let timer = try UVTimer(loop: loop)
            var calls = 0
            try timer.start(timeout: 30, repeat: 30) { _ in calls += 1 }
            // The first ONCE blocks in poll until the timer is due, then the
            // trailing timer pass runs it.
            try loop.run(.once)
            #expect(calls == 1)
        }
    }

    @Test("timer_from_check", arguments: backends)
    func fromCheck(backend: Backend) throws {
        try withLoop(backend) { loop in
            let prepare = try Prepare(loop: loop)
            let check = try Check(loop: loop)
            let timer = try UVTimer(loop: loop)
            var prepareCalls = 0, checkCalls = 0, timerCalls = 0
            let timerCallback: (UVTimer) -> Void = { t in
                try? t.stop()
                #expect(prepareCalls == 1 && checkCalls == 1 && timerCalls == 0)
                timerCalls += 1
            }
            try check.start { c in
                try? c.stop()
                try? timer.stop()  // runs before the timer's callback
                try? timer.start(timeout: 50, repeat: 0, timerCallback)
                try? prepare.start { p in
                    try? p.stop()
                    #expect(prepareCalls == 0 && checkCalls == 1 && timerCalls == 0)
                    prepareCalls += 1
                }
                #expect(prepareCalls == 0 && checkCalls == 0 && timerCalls == 0)
                checkCalls += 1
            }
            try timer.start(timeout: 50, repeat: 0, timerCallback)
            #expect(try loop.run() == false)
            #expect(prepareCalls == 1 && checkCalls == 1 && timerCalls == 1)
            for h: Handle in [prepare, check, timer] { try h.close() }
            try loop.run(.once)
        }
    }

    @Test("timer_ref: an unref'd timer, started or not, keeps nothing alive", arguments: backends)
    func timerRef(backend: Backend) throws {
        try withLoop(backend) { loop in
            let idle = try UVTimer(loop: loop)
            try idle.unref()
            #expect(try loop.run() == false)
            let started = try UVTimer(loop: loop)
            var calls = 0
            try started.start(timeout: 10, repeat: 10) { _ in calls += 1 }
            try started.unref()
            #expect(try loop.run() == false)
            #expect(calls == 0)
        }
    }

    @Test("setRepeat inside the callback applies from the next reschedule", arguments: backends)
    func setRepeatInCallback(backend: Backend) throws {
        try withLoop(backend) { loop in
            let timer = try UVTimer(loop: loop)
            var dues: [UInt64] = []
            try timer.start(timeout: 5, repeat: 5) { t in
                // Already rescheduled with the old repeat before this call.
                dues.append(t.dueIn)
                if dues.count == 1 { try? t.setRepeat(30) }
                if dues.count == 3 { try? t.close() }
            }
            try loop.run()
            #expect(dues == [5, 30, 30])
        }
    }
}
