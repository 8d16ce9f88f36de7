import SwiftUV
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Both backends in one process at once. Signal dispositions are process-wide:
/// libuv installs its own handler and sets the default action back when its
/// last watcher of a signal stops, so the native backend must neither lose
/// its signals to libuv nor take libuv's away. These are part of the
/// serialized signal suite, so that their storms of signals do not overlap
/// the cases that count signals.
extension SignalTests {
    /// How many signals one side has seen.
    final class Seen: Sendable {
        let count = Atomic<Int>(0)
    }

    /// What one backend's side saw.
    struct Tally: Sendable {
        var exits = 0
        var timedOut = false
        var error: String?
    }

    /// Spawns `/bin/true` `count` times, one after another, on a loop of
    /// `backend`; while each child runs, a SIGCHLD watcher is started (and
    /// stopped at the exit), so that each side keeps installing and removing
    /// its handler while the other side waits for a child. A watchdog gives
    /// up after `limit` ms of loop time and closes everything.
    static func spawnInTurn(_ backend: Backend, count: Int, limit: UInt64) throws -> Tally {
        let loop = try Loop(backend: backend)
        var tally = Tally()
        let watcher = try Signal(loop: loop)
        let watchdog = try UVTimer(loop: loop)
        func next() {
            guard tally.exits < count, !tally.timedOut else {
                try? watchdog.close()
                try? watcher.close()
                return
            }
            do {
                // Only there to make each side install and remove its handler;
                // how many SIGCHLDs it sees is not defined (they merge).
                try watcher.start(signum: SIGCHLD) { _, _ in }
                _ = try UVProcess.spawn(loop: loop, ProcessOptions(file: "/bin/true")) { p, status, _ in
                    if status == 0 { tally.exits += 1 }
                    try? p.close()
                    try? watcher.stop()
                    next()
                }
            } catch {
                tally.error = "\(error)"
                try? watchdog.close()
                try? watcher.close()
            }
        }
        try watchdog.start(timeout: limit) { _ in
            tally.timedOut = true
            loop.walk { h in
                if let p = h as? UVProcess { try? p.kill(SIGKILL) }
                try? h.close()
            }
        }
        next()
        try loop.run()
        try loop.close()
        return tally
    }

    /// How a side watches.
    enum Watching {
        /// Stops and restarts its watcher at each signal.
        case churning
        /// Starts its watcher once.
        case steady
        /// Starts its watcher once, one-shot.
        case oneShot
    }

    /// Watches SIGURG on a loop of `backend` (by default stopping and
    /// restarting the watcher at each signal, so that each side keeps
    /// removing and installing its handler), and sends SIGURG to the
    /// process every millisecond until this side has seen `target` signals
    /// and the other side `otherTarget`. A watchdog gives up after `limit`
    /// ms of loop time.
    static func watchInTurn(_ backend: Backend, _ seen: Seen, _ other: Seen, _ watching: Watching = .churning,
                            target: Int, otherTarget: Int, limit: UInt64) throws -> Bool {
        let loop = try Loop(backend: backend)
        var timedOut = false
        let watcher = try Signal(loop: loop)
        let raiser = try UVTimer(loop: loop)
        let watchdog = try UVTimer(loop: loop)
        func onSignal(_ s: Signal, _ signum: Int32) {
            seen.count.add(1, ordering: .relaxed)
            try? s.stop()
            try? s.start(signum: SIGURG, onSignal)
        }
        switch watching {
        case .churning: try watcher.start(signum: SIGURG, onSignal)
        case .steady: try watcher.start(signum: SIGURG) { _, _ in seen.count.add(1, ordering: .relaxed) }
        case .oneShot: try watcher.startOneShot(signum: SIGURG) { _, _ in seen.count.add(1, ordering: .relaxed) }
        }
        try raiser.start(timeout: 1, repeat: 1) { _ in
            if seen.count.load(ordering: .relaxed) >= target && other.count.load(ordering: .relaxed) >= otherTarget {
                loop.closeAll()
            } else {
                kill(getpid(), SIGURG)
            }
        }
        try watchdog.start(timeout: limit) { _ in
            timedOut = true
            loop.closeAll()
        }
        try loop.run()
        try loop.close()
        return !timedOut
    }

    /// Runs `body` for each backend at the same time, each on a thread of
    /// its own; the results in `Backend.allCases` order.
    static func onBothBackendsAtOnce<T: Sendable>(_ body: @escaping @Sendable (Int, Backend) throws -> T) async throws -> [T] {
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            for (i, backend) in Backend.allCases.enumerated() {
                group.addTask { (i, try await onOwnThread { try body(i, backend) }) }
            }
            var results: [Int: T] = [:]
            for try await (i, result) in group { results[i] = result }
            return Backend.allCases.indices.map { results[$0]! }
        }
    }

    @Test("a signal watched on both backends at once reaches both while each keeps stopping and starting its watcher")
    func signalOnBothBackends() async throws {
        let target = 200
        let seen = [Seen(), Seen()]
        let finished = try await Self.onBothBackendsAtOnce { i, backend in
            try Self.watchInTurn(backend, seen[i], seen[1 - i], target: target, otherTarget: target, limit: 20_000)
        }
        for (i, backend) in Backend.allCases.enumerated() {
            #expect(seen[i].count.load(ordering: .relaxed) >= target, "\(backend) stopped hearing the signal")
            #expect(finished[i], "\(backend)")
        }
    }

    @Test("a one-shot watcher that fires on one backend leaves the signal to the other backend's watcher",
          arguments: Backend.allCases)
    func oneShotOnOneBackend(oneShotBackend: Backend) async throws {
        let target = 100
        let seen = [Seen(), Seen()]
        let finished = try await Self.onBothBackendsAtOnce { i, backend in
            let oneShot = backend == oneShotBackend
            return try Self.watchInTurn(backend, seen[i], seen[1 - i], oneShot ? .oneShot : .steady,
                                        target: oneShot ? 1 : target, otherTarget: oneShot ? target : 1, limit: 20_000)
        }
        for (i, backend) in Backend.allCases.enumerated() {
            let count = seen[i].count.load(ordering: .relaxed)
            if backend == oneShotBackend {
                #expect(count == 1, "\(backend): the one-shot watcher fired once")
            } else {
                #expect(count >= target, "\(backend) stopped hearing the signal")
            }
            #expect(finished[i], "\(backend)")
        }
    }

    @Test("children exit on both backends while both start and stop SIGCHLD watchers: every exit arrives")
    func processesOnBothBackends() async throws {
        let count = 60
        let tallies = try await Self.onBothBackendsAtOnce { _, backend in
            try Self.spawnInTurn(backend, count: count, limit: 30_000)
        }
        for (i, backend) in Backend.allCases.enumerated() {
            let tally = tallies[i]
            #expect(tally.error == nil, "\(backend): \(tally.error ?? "")")
            #expect(!tally.timedOut, "\(backend): an exit was missed (\(tally.exits) of \(count) arrived)")
            #expect(tally.exits == count, "\(backend)")
        }
    }
}
