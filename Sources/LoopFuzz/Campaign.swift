import Foundation
import Synchronization
import SwiftUV

/// What a campaign found for one program.
public enum Verdict: Sendable {
    /// Both backends gave the same trace, twice each.
    case same
    /// The two libuv runs differed (or a confirmation run did), or the
    /// native runs differed and one of them gave libuv's trace: the program
    /// is not deterministic, so it says nothing about the native engine.
    case discarded
    /// The native runs differed and none gave the trace that eight libuv
    /// runs all gave.
    case nativeUnstable([String], [String])
    /// Every libuv run gave one trace and every native run another.
    case divergent(Divergence)
    /// A run crashed or hung.
    case failed(backend: String, outcome: RunOutcome)
}

/// A stable divergence: the program (shrunk when asked) and both traces.
public struct Divergence: Sendable {
    public init(original: FuzzProgram, program: FuzzProgram, libuv: [String], native: [String], shrinkSteps: Int = 0) {
        self.original = original
        self.program = program
        self.libuv = libuv
        self.native = native
        self.shrinkSteps = shrinkSteps
    }

    public var original: FuzzProgram
    public var program: FuzzProgram
    public var libuv: [String]
    public var native: [String]
    /// How many candidate programs the shrinker ran.
    public var shrinkSteps: Int
}

/// A campaign's counts and findings.
public struct CampaignReport: Sendable {
    public var generated = 0
    public var discarded = 0
    public var compared = 0
    public var same = 0
    public var divergences: [Divergence] = []
    public var unstable: [(seed: UInt64, first: [String], second: [String])] = []
    public var failures: [(seed: UInt64, backend: String, outcome: RunOutcome)] = []
    /// Findings that did not come back when judged again after the
    /// campaign: they depended on the machine's pace, not on the engine.
    public var notReproduced: [(seed: UInt64, finding: String)] = []
    public var seconds = 0.0
    /// Whether the time limit stopped the campaign before its last seed.
    public var stoppedByTimeLimit = false

    /// Nothing diverged, nothing was unstable, nothing crashed or hung.
    public var clean: Bool { divergences.isEmpty && unstable.isEmpty && failures.isEmpty }

    /// The one-line summary other tools read.
    public var summary: String {
        "fuzz: \(generated) programs generated, \(discarded) discarded as not deterministic on libuv, "
            + "\(compared) compared, \(divergences.count) diverging, \(unstable.count) native-unstable, "
            + "\(failures.count) crashed or hung, \(notReproduced.count) not reproduced on a recheck (\(String(format: "%.0f", seconds)) s)"
    }
}

/// Runs generated programs on both backends in worker processes and
/// compares what they saw.
public struct Campaign: Sendable {
    /// The worker's command line (`uvdemo fuzz-worker`).
    public var workerCommand: [String]
    public var seeds: Range<UInt64>
    public var jobs: Int
    /// Stop taking new seeds after this many seconds.
    public var timeLimit: Double?
    /// Stop taking new seeds once this many programs were compared (the
    /// seeds' range is then only an upper bound).
    public var comparedTarget: Int?
    public var shrink: Bool
    /// Seconds one run may take before its worker is killed as hung.
    public var runTimeout: Double = 30
    /// The workers' `UV_THREADPOOL_SIZE`.
    public var poolSize = 1
    /// How many times each finding is judged again after the campaign, one
    /// program at a time: an engine's divergence comes back every time, a
    /// program that only diverged because the machine was busy (a 1 ms
    /// timer against the time a set-up took) does not.
    public var rechecks = 2

    public init(workerCommand: [String], seeds: Range<UInt64>, jobs: Int, timeLimit: Double?, shrink: Bool) {
        self.workerCommand = workerCommand
        self.seeds = seeds
        self.jobs = max(1, jobs)
        self.timeLimit = timeLimit
        self.shrink = shrink
    }

    /// Runs the campaign; `progress` gets a line now and then and one per finding.
    public func run(progress: @escaping @Sendable (String) -> Void = { _ in }) -> CampaignReport {
        signal(SIGPIPE, SIG_IGN)
        let start = Date()
        let next = Mutex(seeds.lowerBound)
        let report = Mutex(CampaignReport())
        let campaign = self
        // One pool thread: jobs then finish in the order they were queued on
        // both backends.
        let environment = WorkerProcess.environment(setting: ["UV_THREADPOOL_SIZE": "\(poolSize)"])
        DispatchQueue.concurrentPerform(iterations: jobs) { _ in
            let judge = Judge(campaign: campaign, environment: environment)
            while true {
                if let limit = campaign.timeLimit, Date().timeIntervalSince(start) > limit {
                    report.withLock { $0.stoppedByTimeLimit = true }
                    return
                }
                if let target = campaign.comparedTarget, report.withLock({ $0.compared >= target }) {
                    return
                }
                let seed: UInt64? = next.withLock { value in
                    guard value < campaign.seeds.upperBound else { return nil }
                    defer { value += 1 }
                    return value
                }
                guard let seed else { return }
                let verdict = judge.verdict(Generator.program(seed: seed))
                let done = report.withLock { report -> Int in
                    report.record(seed, verdict)
                    return report.generated
                }
                if let line = Self.finding(seed, verdict) { progress(line) }
                if done % 100 == 0 { progress("\(done) programs done") }
            }
        }
        var result = report.withLock { $0 }
        recheck(&result, environment: environment, progress: progress)
        result.seconds = Date().timeIntervalSince(start)
        result.divergences.sort { $0.original.seed < $1.original.seed }
        return result
    }

    /// Judges every finding again `rechecks` times, with the workers'
    /// `environment`; one that does not come back (see below) moves to
    /// `notReproduced`.
    func recheck(_ report: inout CampaignReport, environment: [String], progress: (String) -> Void) {
        guard rechecks > 0, !report.clean else { return }
        var plain = self
        plain.shrink = false
        let judge = Judge(campaign: plain, environment: environment)
        // Any finding counts as coming back (a divergence that crashes on a
        // recheck is no less a finding). A divergence, crash or hang must
        // come back every time; a native instability, which shows only in
        // some pairs of runs, at least once.
        func comesBack(_ seed: UInt64, everyTime: Bool) -> Bool {
            let found = { Self.finding(seed, judge.verdict(Generator.program(seed: seed))) != nil }
            return everyTime ? (0..<rechecks).allSatisfy { _ in found() } : (0..<rechecks).contains { _ in found() }
        }
        func keep(_ seed: UInt64, _ finding: String, everyTime: Bool = true) -> Bool {
            if comesBack(seed, everyTime: everyTime) { return true }
            progress("seed \(seed): \(finding) did not come back on a recheck")
            report.notReproduced.append((seed, finding))
            return false
        }
        report.divergences = report.divergences.filter { keep($0.original.seed, "the divergence") }
        report.unstable = report.unstable.filter { keep($0.seed, "the native instability", everyTime: false) }
        report.failures = report.failures.filter { keep($0.seed, "the \($0.outcome == .hung ? "hang" : "crash")") }
    }

    static func finding(_ seed: UInt64, _ verdict: Verdict) -> String? {
        switch verdict {
        case .same, .discarded: return nil
        case .divergent(let divergence): return "seed \(seed): the backends diverge (shrunk to \(divergence.program.entities.compactMap { $0 }.count) slots)"
        case .nativeUnstable: return "seed \(seed): two native runs differ"
        case .failed(let backend, let outcome): return "seed \(seed): \(backend) \(outcome == .hung ? "hung" : "crashed")"
        }
    }
}

extension CampaignReport {
    mutating func record(_ seed: UInt64, _ verdict: Verdict) {
        generated += 1
        switch verdict {
        case .same:
            compared += 1
            same += 1
        case .discarded: discarded += 1
        case .nativeUnstable(let first, let second):
            compared += 1
            unstable.append((seed, first, second))
        case .divergent(let divergence):
            compared += 1
            divergences.append(divergence)
        case .failed(let backend, let outcome):
            failures.append((seed, backend, outcome))
        }
    }
}

/// Runs one job's programs in its own worker process.
final class Judge {
    let campaign: Campaign
    let worker: WorkerProcess

    init(campaign: Campaign, environment: [String]) {
        self.campaign = campaign
        worker = WorkerProcess(command: campaign.workerCommand, timeout: campaign.runTimeout, environment: environment)
    }

    /// Traces of `count` runs on `backend`, or the first failure.
    func traces(_ program: FuzzProgram, _ backend: SwiftUV.Backend, _ count: Int) -> Result<[[String]], FailedRun> {
        var traces: [[String]] = []
        for _ in 0..<count {
            switch worker.run(program, on: backend) {
            case .trace(let lines): traces.append(lines)
            case let outcome: return .failure(FailedRun(backend: backend.rawValue, outcome: outcome))
            }
        }
        return .success(traces)
    }

    func verdict(_ program: FuzzProgram) -> Verdict {
        let libuv: [[String]], native: [[String]]
        switch (traces(program, .libuv, 2), traces(program, .native, 2)) {
        case (.failure(let failed), _), (_, .failure(let failed)):
            return .failed(backend: failed.backend, outcome: failed.outcome)
        case (.success(let l), .success(let n)):
            libuv = l
            native = n
        }
        guard libuv[0] == libuv[1] else { return .discarded }
        guard native[0] == native[1] else {
            // Unstable on native if libuv is stable over more runs and
            // native never gives libuv's trace; a native run that does shows
            // a program whose outcome hangs on timing (a 1 ms timer against
            // the loop's pace), which libuv's pace happens to settle.
            guard case .success(let more) = traces(program, .libuv, 6), more.allSatisfy({ $0 == libuv[0] }),
                  !native.contains(libuv[0]),
                  case .success(let moreNative) = traces(program, .native, 6), !moreNative.contains(libuv[0]) else { return .discarded }
            return .nativeUnstable(native[0], native[1])
        }
        if libuv[0] == native[0] { return .same }
        // Confirm with more runs before calling it a divergence.
        guard isStableDivergence(program, libuv: libuv[0], native: native[0], runs: 3) else { return .discarded }
        var divergence = Divergence(original: program, program: program, libuv: libuv[0], native: native[0], shrinkSteps: 0)
        if campaign.shrink { Shrinker(oracle: stableDivergence).shrink(&divergence) }
        return .divergent(divergence)
    }

    /// Whether `runs` more runs on each backend give exactly these traces.
    func isStableDivergence(_ program: FuzzProgram, libuv: [String], native: [String], runs: Int) -> Bool {
        guard case .success(let l) = traces(program, .libuv, runs), l.allSatisfy({ $0 == libuv }),
              case .success(let n) = traces(program, .native, runs), n.allSatisfy({ $0 == native }) else { return false }
        return libuv != native
    }

    /// The two traces when `program` diverges stably (two runs each), else nil.
    func stableDivergence(_ program: FuzzProgram) -> (libuv: [String], native: [String])? {
        guard case .success(let l) = traces(program, .libuv, 2), l[0] == l[1],
              case .success(let n) = traces(program, .native, 2), n[0] == n[1], l[0] != n[0] else { return nil }
        return (l[0], n[0])
    }
}

struct FailedRun: Error {
    var backend: String
    var outcome: RunOutcome
}
