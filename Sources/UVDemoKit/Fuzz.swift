import ArgumentParser
import Foundation
import LoopFuzz

extension UVDemo {
    /// `uvdemo fuzz`: the differential tester's command line.
    struct Fuzz: DemoCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run random programs on both backends and report every program on which they differ.",
            discussion: """
            Each seed makes one random SwiftUV program (timers, loop watchers, async \
            handles, signals, socket and TCP pairs, UDP, poll handles, processes, fs \
            polls and events, pool work, fs and DNS requests, actions inside callbacks, \
            run modes). It runs twice on libuv and twice on the native engine, in \
            worker processes, and each run's trace (callbacks, statuses, answers; no \
            times) is compared. A program whose libuv runs differ is not deterministic \
            and is discarded; one whose native runs differ is reported as unstable; a \
            stable divergence is confirmed by three more runs each, shrunk to a small \
            program, and printed as code with both traces. A crash or hang is reported \
            with its seed and the campaign goes on. Exit status 1 when anything was found.

              uvdemo fuzz --count 300              seeds 0..<300
              uvdemo fuzz --start 5000 --count 20000 --jobs 2 --time-limit 3600
              uvdemo fuzz --compared 20000         seeds from 0 until 20,000 programs were compared
              uvdemo fuzz --show 42                one program and its traces
            """)

        @Option(help: "The first seed.") var start: UInt64 = 0
        @Option(help: "How many seeds (programs) to run.") var count: UInt64 = 1000
        @Option(help: ArgumentHelp("Instead of --count: run seeds until this many programs were compared (not discarded).", valueName: "N"))
        var compared: Int?
        @Option(help: "Worker processes run at once (default: one per core).") var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
        @Option(name: .customLong("time-limit"), help: ArgumentHelp("Stop taking new seeds after this many seconds.", valueName: "seconds"))
        var timeLimit: Double?
        @Option(help: ArgumentHelp("Judge each finding this many more times after the campaign; one that does not come back every time is listed apart and does not fail the run.", valueName: "N"))
        var rechecks: Int = 2
        @Flag(name: .customLong("no-shrink"), help: "Report diverging programs as generated, without shrinking them.")
        var noShrink = false
        @Option(help: ArgumentHelp("Also write the report to this file.", valueName: "FILE")) var report: String?
        @Option(help: ArgumentHelp("Print one seed's program and its trace on each backend, side by side, and stop.", valueName: "SEED"))
        var show: UInt64?
        @Option(help: ArgumentHelp("Run a program given as JSON (the 'replay:' line of a report, or a file holding it) on each backend, side by side, and stop.", valueName: "JSON|FILE"))
        var replay: String?

        func validate() throws {
            guard jobs >= 1 && jobs <= 64 else { throw ValidationError("--jobs must be 1...64") }
            guard count >= 1, start <= UInt64.max - count else { throw ValidationError("--count must be at least 1, and the seeds must fit in 64 bits") }
            if let compared, compared < 1 { throw ValidationError("--compared must be at least 1") }
            guard rechecks >= 0 && rechecks <= 100 else { throw ValidationError("--rechecks must be 0...100") }
            if let timeLimit, !(timeLimit > 0) { throw ValidationError("--time-limit must be a positive number of seconds") }
        }

        func execute(_ console: Console) throws -> Int32 {
            if show != nil || replay != nil {
                let program: FuzzProgram
                if let replay {
                    let text = (try? String(contentsOfFile: replay, encoding: .utf8)) ?? replay
                    guard let decoded = FuzzProgram(json: text) else {
                        throw ValidationError("--replay wants a program as JSON, or a file holding one: \(replay.prefix(80))")
                    }
                    program = decoded
                } else {
                    program = Generator.program(seed: show!)
                }
                let libuv = FuzzInterpreter.run(program, on: .libuv)
                let native = FuzzInterpreter.run(program, on: .native)
                console.out(program.description + "\n\n" + sideBySide(libuv, native) + "\n")
                console.out(libuv == native ? "same on both backends\n" : "the backends differ\n")
                console.out("replay: " + program.json + "\n")
                return libuv == native ? 0 : 1
            }
            let end = compared == nil ? start + count : UInt64.max
            var campaign = Campaign(workerCommand: [Self.executablePath(), "fuzz-worker"], seeds: start..<end,
                                    jobs: jobs, timeLimit: timeLimit, shrink: !noShrink)
            campaign.comparedTarget = compared
            campaign.rechecks = rechecks
            let range = compared.map { "seeds from \(start) until \($0) programs are compared" } ?? "seeds \(start)..<\(end)"
            console.err("fuzz: \(range), \(jobs) worker\(jobs == 1 ? "" : "s")\(timeLimit.map { String(format: ", at most %.0f s", $0) } ?? "")\n")
            let result = campaign.run { console.err($0 + "\n") }
            let text = result.text
            console.out(text)
            if let report {
                do {
                    try text.write(toFile: report, atomically: true, encoding: .utf8)
                } catch {
                    throw ValidationError("cannot write the report to '\(report)': \(error.localizedDescription)")
                }
            }
            return result.clean ? 0 : 1
        }

        /// This executable, for its worker processes.
        static func executablePath() -> String {
            var buffer = [CChar](repeating: 0, count: 4096)
            let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
            return n > 0 ? String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        }
    }

    /// `uvdemo fuzz-worker`: runs programs sent on stdin (used by `fuzz`).
    struct FuzzWorkerCommand: DemoCommand {
        static let configuration = CommandConfiguration(
            commandName: "fuzz-worker",
            abstract: "Run fuzz programs read from stdin, one JSON request per line (started by 'uvdemo fuzz').",
            shouldDisplay: false)

        func execute(_ console: Console) throws -> Int32 { FuzzWorker.serve() }
    }
}
