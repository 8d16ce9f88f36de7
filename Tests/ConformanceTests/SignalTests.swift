import Foundation
import SwiftUV
import Testing

/// The cases of libuv's test-signal.c and test-signal-multiple-loops.c.
/// Signals are process-wide, so these run one at a time.
@Suite("Signals", .serialized)
struct SignalTests {
    static let nsignals = 10

    /// A timer that sends `signum` to the process every 5 ms, `nsignals`
    /// times, then closes. (UVProcess-directed, not `raise`: the test threads
    /// are Dispatch workers, which block signals.) A signal sent while the
    /// last one is still pending merges with it, which happens when the one
    /// thread that takes signals is kept off a busy machine's cores for 5 ms;
    /// so with `pacedBy`, a tick sends only once each of those counters has
    /// seen every signal sent so far.
    @discardableResult
    func raiser(_ loop: Loop, _ signum: Int32, pacedBy counters: [Counter] = []) throws -> Counter {
        let calls = Counter()
        let timer = try UVTimer(loop: loop)
        try timer.start(timeout: 5, repeat: 5) { t in
            if counters.contains(where: { $0.value < calls.value }) { return }
            kill(getpid(), signum)
            calls.bump()
            if calls.value == Self.nsignals { try? t.close() }
        }
        return calls
    }

    enum Then { case stop, close, nothing }

    func watcher(_ loop: Loop, _ signum: Int32, oneShot: Bool = false, then: Then) throws -> (Signal, Counter) {
        let calls = Counter()
        let signal = try Signal(loop: loop)
        let cb: (Signal, Int32) -> Void = { s, signo in
            #expect(signo == signum)
            calls.bump()
            if calls.value == Self.nsignals || oneShot {
                switch then {
                case .stop: try? s.stop()
                case .close: try? s.close()
                case .nothing: break
                }
            }
        }
        if oneShot { try signal.startOneShot(signum: signum, cb) } else { try signal.start(signum: signum, cb) }
        return (signal, calls)
    }

    @Test("we_get_signal", arguments: backends)
    func weGetSignal(backend: Backend) throws {
        try withLoop(backend) { loop in
            let (signal, calls) = try watcher(loop, SIGCHLD, then: .stop)
            var timer = try raiser(loop, SIGCHLD, pacedBy: [calls])
            #expect(try loop.run() == false)
            #expect(timer.value == Self.nsignals)
            #expect(calls.value == Self.nsignals)

            // Stopped: the signals go unseen.
            timer = try raiser(loop, SIGCHLD)
            #expect(try loop.run() == false)
            #expect(calls.value == Self.nsignals)
            try signal.close()
        }
    }

    @Test("we_get_signals: two watchers per signal each count every signal", arguments: backends)
    func weGetSignals(backend: Backend) throws {
        try withLoop(backend) { loop in
            var watchers: [Counter] = []
            for signum in [SIGUSR1, SIGUSR1, SIGUSR2, SIGUSR2] {
                watchers.append(try watcher(loop, signum, then: .close).1)
            }
            let t1 = try raiser(loop, SIGUSR1, pacedBy: Array(watchers[0...1]))
            let t2 = try raiser(loop, SIGUSR2, pacedBy: Array(watchers[2...3]))
            #expect(try loop.run() == false)
            #expect(watchers.map(\.value) == [10, 10, 10, 10])
            #expect(t1.value == 10 && t2.value == 10)
        }
    }

    @Test("we_get_signal_one_shot", arguments: backends)
    func weGetSignalOneShot(backend: Backend) throws {
        try withLoop(backend) { loop in
            var timer = try raiser(loop, SIGCHLD)
            let (signal, calls) = try watcher(loop, SIGCHLD, oneShot: true, then: .nothing)
            #expect(try loop.run() == false)
            #expect(timer.value == Self.nsignals)
            #expect(calls.value == 1)
            #expect(!signal.isActive)

            timer = try raiser(loop, SIGCHLD)
            #expect(try loop.run() == false)
            #expect(calls.value == 1)

            calls.value = 0
            try signal.startOneShot(signum: SIGCHLD) { s, _ in
                calls.bump()
                try? s.close()
            }
            timer = try raiser(loop, SIGCHLD)
            #expect(try loop.run() == false)
            #expect(timer.value == Self.nsignals)
            #expect(calls.value == 1)
        }
    }

    @Test("we_get_signals_mixed: one-shot and normal watchers together", arguments: backends)
    func weGetSignalsMixed(backend: Backend) throws {
        try withLoop(backend) { loop in
            // 2 normal, 1 one-shot that is closed at once.
            let a = try watcher(loop, SIGCHLD, then: .close).1
            let b = try watcher(loop, SIGCHLD, then: .close).1
            let (c, cCalls) = try watcher(loop, SIGCHLD, oneShot: true, then: .close)
            try c.close()
            try raiser(loop, SIGCHLD, pacedBy: [a, b])
            #expect(try loop.run() == false)
            #expect(a.value == 10 && b.value == 10 && cCalls.value == 0)

            // 1 normal, 1 one-shot, 2 normal; close the first and third.
            let (s0, c0) = try watcher(loop, SIGCHLD, then: .nothing)
            let (_, c1) = try watcher(loop, SIGCHLD, oneShot: true, then: .close)
            let (s2, c2) = try watcher(loop, SIGCHLD, then: .nothing)
            let (_, c3) = try watcher(loop, SIGCHLD, then: .close)
            try s0.close()
            try s2.close()
            try raiser(loop, SIGCHLD, pacedBy: [c3])
            #expect(try loop.run() == false)
            let counts: [Int] = [c0.value, c1.value, c2.value, c3.value]
            #expect(counts == [0, 1, 0, 10])
        }
    }

    @Test("signal_close_loop_alive", arguments: backends)
    func closeLoopAlive(backend: Backend) throws {
        try withLoop(backend) { loop in
            let signal = try Signal(loop: loop)
            try signal.start(signum: SIGTERM) { _, _ in }
            try signal.unref()
            #expect(try loop.run() == false)
            try signal.close()
            #expect(loop.isAlive)
            #expect(try loop.run() == false)
            #expect(!loop.isAlive)
        }
    }

    @Test("signal start errors: signum 0 and an invalid signal", arguments: backends)
    func startErrors(backend: Backend) throws {
        try withLoop(backend) { loop in
            let signal = try Signal(loop: loop)
            #expect(throws: UVError.invalidArgument) { try signal.start(signum: 0) { _, _ in } }
            #expect(throws: UVError.invalidArgument) { try signal.start(signum: 9999) { _, _ in } }
            #expect(throws: UVError.invalidArgument) { try signal.start(signum: SIGUSR1, nil) }
            #expect(!signal.isActive)
            #expect(signal.signum == 0)
        }
    }

    @Test("an invalid signal on an active watcher stops it (libuv stops first, then sigaction fails)", arguments: backends)
    func invalidSignalStopsActiveWatcher(backend: Backend) throws {
        try withLoop(backend) { loop in
            let signal = try Signal(loop: loop)
            try signal.start(signum: SIGUSR1) { _, _ in }
            #expect(signal.isActive)
            #expect(throws: UVError.invalidArgument) { try signal.start(signum: 65) { _, _ in } }
            #expect(!signal.isActive)
            #expect(signal.signum == 0)
        }
    }

    @Test("normal watchers are called before one-shot ones", arguments: backends)
    func normalBeforeOneShot(backend: Backend) throws {
        try withLoop(backend) { loop in
            var trace: [String] = []
            let oneShot = try Signal(loop: loop)
            let normal = try Signal(loop: loop)
            try oneShot.startOneShot(signum: SIGCHLD) { s, _ in trace.append("one-shot"); try? s.close() }
            try normal.start(signum: SIGCHLD) { s, _ in trace.append("normal"); try? s.close() }
            kill(getpid(), SIGCHLD)
            try loop.run()
            #expect(trace == ["normal", "one-shot"])
        }
    }

    @Test("signal_multiple_loops (two loops, one signal): each loop's watcher sees it", arguments: backends)
    func twoLoops(backend: Backend) throws {
        let a = try Loop(backend: backend)
        let b = try Loop(backend: backend)
        var seen = [0, 0]
        for (i, loop) in [a, b].enumerated() {
            let s = try Signal(loop: loop)
            try s.start(signum: SIGUSR2) { s, _ in seen[i] += 1; try? s.close() }
        }
        kill(getpid(), SIGUSR2)
        try a.run()
        try b.run()
        #expect(seen == [1, 1])
        try assertClosesClean(a)
        try assertClosesClean(b)
    }
}
