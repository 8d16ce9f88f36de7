import SwiftUV
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Both backends in one process at once. Signal dispositions are process-wide:
/// libuv installs its own handler and sets the default action back when its
/// last watcher of a signal stops, so the native backend must neither lose
/// its signals to libuv nor take libuv's away.
@Suite("Mixed backends in one process", .serialized)
struct MixedBackendTests {
    /// How many signals one side has seen.
    final class Seen: Sendable {
        let count = Atomic<Int>(0)
    }

    /// What one backend's side saw.
    struct Tally: Sendable {
        var exits = 0
        var signals = 0
        var timedOut = false
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
        let watchdog = try Timer(loop: loop)
        func next() {
            guard tally.exits < count, !tally.timedOut else {
                try? watchdog.close()
                try? watcher.close()
                return
            }
            do {
                try watcher.start(signum: SIGCHLD) { _, _ in tally.signals += 1 }
                _ = try Process.spawn(loop: loop, ProcessOptions(file: "/bin/true")) { p, status, _ in
                    if status == 0 { tally.exits += 1 }
                    try? p.close()
                    try? watcher.stop()
                    next()
                }
            } catch {
                Issue.record("spawn on \(backend): \(error)")
                try? watchdog.close()
                try? watcher.close()
            }
        }
        try watchdog.start(timeout: limit) { _ in
            tally.timedOut = true
            loop.walk { h in
                if let p = h as? SwiftUV.Process { try? p.kill(SIGKILL) }
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
        let raiser = try Timer(loop: loop)
        let watchdog = try Timer(loop: loop)
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

    @Test("a signal watched on both backends at once reaches both while each keeps stopping and starting its watcher")
    func signalOnBothBackends() async throws {
        let target = 200
        let seen = [Seen(), Seen()]
        let finished = Mutex<[Backend: Bool]>([:])
        var threads: [pthread_t] = []
        for (i, backend) in Backend.allCases.enumerated() {
            threads.append(startThread {
                let ok = (try? Self.watchInTurn(backend, seen[i], seen[1 - i], target: target, otherTarget: target,
                                                limit: 20_000)) ?? false
                finished.withLock { $0[backend] = ok }
            })
        }
        for thread in threads { pthread_join(thread, nil) }
        for (i, backend) in Backend.allCases.enumerated() {
            #expect(seen[i].count.load(ordering: .relaxed) >= target, "\(backend) stopped hearing the signal")
            #expect(finished.withLock { $0[backend] } == true, "\(backend)")
        }
    }

    @Test("a one-shot watcher that fires on one backend leaves the signal to the other backend's watcher",
          arguments: Backend.allCases)
    func oneShotOnOneBackend(oneShotBackend: Backend) async throws {
        let target = 100
        let seen = [Seen(), Seen()]
        let finished = Mutex<[Backend: Bool]>([:])
        var threads: [pthread_t] = []
        for (i, backend) in Backend.allCases.enumerated() {
            let oneShot = backend == oneShotBackend
            threads.append(startThread {
                let ok = (try? Self.watchInTurn(backend, seen[i], seen[1 - i], oneShot ? .oneShot : .steady,
                                                target: oneShot ? 1 : target, otherTarget: oneShot ? target : 1,
                                                limit: 20_000)) ?? false
                finished.withLock { $0[backend] = ok }
            })
        }
        for thread in threads { pthread_join(thread, nil) }
        for (i, backend) in Backend.allCases.enumerated() {
            let oneShot = backend == oneShotBackend
            let count = seen[i].count.load(ordering: .relaxed)
            if oneShot {
                #expect(count == 1, "\(backend): the one-shot watcher fired once")
            } else {
                #expect(count >= target, "\(backend) stopped hearing the signal")
            }
            #expect(finished.withLock { $0[backend] } == true, "\(backend)")
        }
    }

    @Test("children exit on both backends while both start and stop SIGCHLD watchers: every exit arrives")
    func processesOnBothBackends() async throws {
        let count = 60
        let results = Mutex<[Backend: Tally]>([:])
        var threads: [pthread_t] = []
        for backend in Backend.allCases {
            threads.append(startThread {
                let tally = (try? Self.spawnInTurn(backend, count: count, limit: 30_000)) ?? Tally(timedOut: true)
                results.withLock { $0[backend] = tally }
            })
        }
        for thread in threads { pthread_join(thread, nil) }
        for backend in Backend.allCases {
            let tally = results.withLock { $0[backend] }
            #expect(tally?.timedOut == false, "\(backend): an exit was missed (\(tally?.exits ?? -1) of \(count) arrived)")
        }
    }
}

/// What a test thread runs.
private final class ThreadBody: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// Starts a joinable thread running `body`.
private func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    var thread = pthread_t()
    let status = pthread_create(&thread, nil, { arg in
        Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue().run()
        return nil
    }, Unmanaged.passRetained(ThreadBody(body)).toOpaque())
    precondition(status == 0, "pthread_create: \(status)")
    return thread
}
