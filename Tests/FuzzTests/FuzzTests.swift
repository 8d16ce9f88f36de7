import Foundation
@testable import LoopFuzz
import SwiftUV
import Testing

@Suite("differential tester: programs")
struct FuzzProgramTests {
    @Test("a seed always gives the same program, and seeds differ")
    func deterministic() {
        for seed in UInt64(0)..<50 {
            #expect(Generator.program(seed: seed) == Generator.program(seed: seed))
        }
        let programs = Set((UInt64(0)..<50).map { Generator.program(seed: $0) })
        #expect(programs.count == 50)
    }

    @Test("a program survives JSON, alone or as a report's replay line")
    func json() throws {
        for seed in UInt64(0)..<20 {
            let program = Generator.program(seed: seed)
            #expect(FuzzProgram(json: program.json) == program)
            #expect(FuzzProgram(json: "== seed\n\nreplay: \(program.json)\n") == program)
        }
        #expect(FuzzProgram(json: "{not json") == nil)
    }

    @Test("the generator covers every kind of slot and every operation")
    func coverage() {
        var entities = Set<Entity>()
        var ops = Set<Op>()
        for seed in UInt64(0)..<2000 {
            let program = Generator.program(seed: seed)
            entities.formUnion(program.entities.compactMap { $0 })
            ops.formUnion(program.setup.map(\.op) + program.reactions.flatMap { $0.actions.map(\.op) })
        }
        #expect(entities == Set(Entity.allCases))
        #expect(ops == Set(Op.allCases))
    }

    @Test("the trace of a small program is what libuv's rules say, on both backends", arguments: Backend.allCases)
    func trace(backend: Backend) {
        // A zero timer fires in the first iteration's timer phase, before
        // the idle watcher's phase; it closes the idle watcher, so the idle
        // callback never runs and the loop ends; the wind-down closes the timer.
        let program = FuzzProgram(
            seed: 0, entities: [.timer, .idle],
            setup: [Action(.start, slot: 0), Action(.start, slot: 1)],
            reactions: [Reaction(on: "h0 timer", nth: 0, actions: [Action(.close, slot: 1), Action(.query, slot: 1)])],
            runs: [.default], budget: 100)
        let lines = FuzzInterpreter.run(program, on: backend)
        #expect(lines == [
            "h0.start(a: 0, b: 0) -> ok",
            "h1.start(a: 0, b: 0) -> ok",
            "h0 timer",
            "  h1.close() -> ok",
            "  print(h1.isActive, .hasRef, .isClosing) -> active false, ref true, closing true",
            "h1 close",
            "run(.default) -> false",
            "after the runs: alive false",
            "h0 close",
        ])
    }

    @Test("the budget winds a program down: a repeating timer ends after that many callbacks", arguments: Backend.allCases)
    func budget(backend: Backend) {
        let program = FuzzProgram(seed: 0, entities: [.timer], setup: [Action(.start, slot: 0, a: 0, b: 1)],
                                  reactions: [], runs: [.default], budget: 5)
        let lines = FuzzInterpreter.run(program, on: backend)
        #expect(lines.filter { $0 == "h0 timer" }.count == 5)
        #expect(lines.contains("budget of 5 callbacks spent"))
        #expect(lines.last == "after the runs: alive false")
    }

    @Test("the watchdog ends a run that would block forever", arguments: Backend.allCases)
    func watchdog(backend: Backend) {
        // A started signal watcher whose signal never comes.
        let program = FuzzProgram(seed: 0, entities: [.signal], setup: [Action(.start, slot: 0, a: 2)],
                                  reactions: [], runs: [.default], budget: 5)
        let lines = FuzzInterpreter.run(program, on: backend)
        #expect(lines.contains { $0.hasPrefix("watchdog:") })
        #expect(lines.contains("h0 close"))
    }
}

@Suite("differential tester: shrinking")
struct ShrinkerTests {
    @Test("a divergence is shrunk to the slot and action that cause it")
    func shrinks() {
        // A made-up engine difference: any program that calls again() on a
        // timer diverges.
        func diverges(_ program: FuzzProgram) -> Bool {
            (program.setup + program.reactions.flatMap(\.actions)).contains {
                $0.op == .again && program.entities.indices.contains($0.slot) && program.entities[$0.slot] == .timer
            }
        }
        var seed: UInt64 = 0
        var program = Generator.program(seed: seed)
        while !diverges(program) || program.setup.count + program.reactions.count < 4 {
            seed += 1
            program = Generator.program(seed: seed)
        }
        var divergence = Divergence(original: program, program: program, libuv: ["a"], native: ["b"])
        Shrinker { diverges($0) ? (["a"], ["b"]) : nil }.shrink(&divergence)
        let small = divergence.program
        #expect(diverges(small))
        #expect(small.entities.compactMap { $0 } == [.timer])
        #expect(small.setup.count + small.reactions.flatMap(\.actions).count == 1)
        #expect(small.runs.isEmpty)
        #expect(divergence.shrinkSteps > 0)
    }

    @Test("every candidate is smaller than the program")
    func candidates() {
        for seed in UInt64(0)..<30 {
            let program = Generator.program(seed: seed)
            func size(_ p: FuzzProgram) -> Int {
                p.entities.compactMap { $0 }.count + p.setup.count + p.reactions.count + p.reactions.flatMap(\.actions).count
                    + p.runs.map { $0 == .default ? 3 : $0 == .once ? 2 : 1 }.reduce(0, +) + p.budget
            }
            for candidate in Shrinker.candidates(program) {
                #expect(size(candidate) < size(program))
            }
        }
    }
}

@Suite("differential tester: worker processes")
struct WorkerTests {
    static let program = Generator.program(seed: 1)

    @Test("a worker that dies is reported as a crash, with its signal")
    func crash() {
        let worker = WorkerProcess(command: ["/bin/sh", "-c", "read line; kill -SEGV $$"], timeout: 30)
        guard case .crashed(let message) = worker.run(Self.program, on: .libuv) else {
            Issue.record("not reported as a crash")
            return
        }
        #expect(message.contains("killed by signal 11"), "\(message)")
    }

    @Test("a worker that does not answer in time is killed and reported as hung")
    func hang() {
        let worker = WorkerProcess(command: ["/bin/sh", "-c", "exec sleep 60"], timeout: 0.5)
        let start = Date()
        #expect(worker.run(Self.program, on: .native) == .hung)
        #expect(Date().timeIntervalSince(start) < 30)
    }

    @Test("a campaign with a compared target stops once that many programs were compared")
    func comparedTarget() {
        var campaign = Campaign(workerCommand: ["/bin/sh", "-c", "while read line; do echo '[\"same\"]'; done"],
                                seeds: 0..<1000, jobs: 1, timeLimit: nil, shrink: false)
        campaign.comparedTarget = 5
        let poolSize = { getenv("UV_THREADPOOL_SIZE").map { String(cString: $0) } }
        let poolSizeBefore = poolSize()
        let report = campaign.run()
        #expect(report.compared == 5)
        #expect(report.generated == 5)
        #expect(report.clean)
        #expect(poolSize() == poolSizeBefore, "the campaign's pool size is the workers' only, not this process's")
    }

    /// A worker whose native answers differ from its libuv ones until it has
    /// answered `until` requests in all (then `marker` exists and every
    /// answer is the same), or for ever with no `until`.
    static func divergingWorker(marker: String, until: Int?) -> [String] {
        let stop = until.map { "[ $n -ge \($0) ] && touch '\(marker)'" } ?? ":"
        return ["/bin/sh", "-c", """
            n=0; while read line; do n=$((n+1))
            if [ ! -e '\(marker)' ] && echo "$line" | grep -q '"backend":"native"'; then echo '["native"]'; else echo '["same"]'; fi
            \(stop); done
            """]
    }

    @Test("a divergence that does not come back on a recheck is listed apart and does not fail the campaign")
    func recheckDropsWhatDoesNotComeBack() {
        let marker = NSTemporaryDirectory() + "swiftuv-fuzz-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(marker) }
        // A first judgement takes 10 runs (2 + 3 confirming, on each backend).
        var campaign = Campaign(workerCommand: Self.divergingWorker(marker: marker, until: 10), seeds: 7..<8, jobs: 1, timeLimit: nil, shrink: false)
        campaign.rechecks = 2
        let report = campaign.run()
        #expect(report.divergences.isEmpty)
        #expect(report.notReproduced.map(\.seed) == [7])
        #expect(report.clean)
        #expect(report.summary.contains("0 diverging") && report.summary.contains("1 not reproduced on a recheck"))
    }

    @Test("a divergence that comes back on every recheck stays a divergence")
    func recheckKeepsWhatComesBack() {
        let marker = NSTemporaryDirectory() + "swiftuv-fuzz-test-never-\(getpid())"
        var campaign = Campaign(workerCommand: Self.divergingWorker(marker: marker, until: nil), seeds: 7..<8, jobs: 1, timeLimit: nil, shrink: false)
        campaign.rechecks = 2
        let report = campaign.run()
        #expect(report.divergences.map(\.original.seed) == [7])
        #expect(report.notReproduced.isEmpty)
        #expect(!report.clean)
    }

    @Test("a worker gets the environment it is given on top of this process's")
    func environment() {
        let worker = WorkerProcess(command: ["/bin/sh", "-c", "read line; echo \"[\\\"$UV_THREADPOOL_SIZE $PATH\\\"]\""], timeout: 30,
                                   environment: WorkerProcess.environment(setting: ["UV_THREADPOOL_SIZE": "1"]))
        #expect(worker.run(Self.program, on: .libuv) == .trace(["1 \(String(cString: getenv("PATH")))"]))
    }

    @Test("a worker that answers nonsense is reported, not trusted")
    func nonsense() {
        let worker = WorkerProcess(command: ["/bin/sh", "-c", "read line; echo nonsense; sleep 60"], timeout: 30)
        guard case .crashed(let message) = worker.run(Self.program, on: .libuv) else {
            Issue.record("nonsense accepted")
            return
        }
        #expect(message.contains("nonsense"))
    }
}
