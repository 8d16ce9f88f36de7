import Foundation
import LoopFuzz
import SwiftUV

#if canImport(Glibc)
import Glibc
#endif

/// Runs any executable that uses SwiftUV once per backend, each time with
/// `SWIFTUV_BACKEND` set and its loop trace written to a file through
/// `SWIFTUV_TRACE`, and turns the traces into the events a `Comparison`
/// sets side by side.
public struct ExecRun: Sendable {
    /// Why a run could not be compared.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// One run on one backend.
    public struct Result: Sendable {
        public let backend: Backend
        /// The loop trace's events, as comparison events.
        public let events: [TraceEvent]
        /// The loops' metrics, by loop number.
        public let metrics: [Int: LoopMetrics]
        public let stdout: String
        public let stderr: String
        /// The exit status, or the signal that ended it.
        public let status: Int32
        public let signal: Int32
    }

    public let program: String
    public let arguments: [String]
    /// Seconds a run may take before it is killed.
    public let timeLimit: Double

    public init(program: String, arguments: [String], timeLimit: Double = 60) {
        self.program = program
        self.arguments = arguments
        self.timeLimit = timeLimit
    }

    /// The program's path: as given if it has a slash, else found on `PATH`.
    /// Throws when it is missing or not executable.
    public func resolvedPath() throws -> String {
        if program.isEmpty { throw Failure("--exec needs a program") }
        var candidates: [String] = []
        if program.contains("/") {
            candidates = [program]
        } else {
            let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
            candidates = path.split(separator: ":").map { "\($0)/\(program)" }
        }
        for candidate in candidates {
            var info = stat()
            guard stat(candidate, &info) == 0 else { continue }
            if info.st_mode & S_IFMT == S_IFDIR { throw Failure("'\(candidate)' is a directory, not a program") }
            guard access(candidate, X_OK) == 0 else { throw Failure("'\(candidate)' is not executable") }
            return candidate
        }
        throw Failure(program.contains("/") ? "no such program: '\(program)'" : "'\(program)' is not on PATH")
    }

    /// Runs the program on `backend`; throws when it cannot start, does
    /// not end within the time limit, or wrote no loop trace.
    public func run(on backend: Backend) throws -> Result {
        let path = try resolvedPath()
        let scratch = try makeScratchDirectory()
        defer { removeTree(scratch) }
        let tracePath = scratch + "/trace.jsonl"
        let outPath = scratch + "/stdout"
        let errPath = scratch + "/stderr"

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, so that a time limit kills its children too.
        posix_spawnattr_setpgroup(&attributes, 0)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))

        var environment = ProcessInfo.processInfo.environment
        environment["SWIFTUV_BACKEND"] = backend.rawValue
        environment["SWIFTUV_TRACE"] = tracePath
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, path, &actions, &attributes, argv, envp)
        if spawned != 0 { throw Failure("cannot start '\(path)': \(String(cString: strerror(spawned)))") }

        let deadline = Date().addingTimeInterval(timeLimit)
        var waitStatus: Int32 = 0
        while true {
            let r = waitpid(child, &waitStatus, WNOHANG)
            if r == child { break }
            if r < 0 && errno != EINTR { throw Failure("waiting for '\(path)': \(String(cString: strerror(errno)))") }
            if Date() > deadline {
                kill(-child, SIGKILL)
                _ = waitpid(child, &waitStatus, 0)
                throw Failure("\(program) did not end within \(Int(timeLimit)) s on \(backend) (killed; --time-limit changes the limit)")
            }
            usleep(2_000)
        }
        let signal = waitStatus & 0x7f
        let status = signal == 0 ? (waitStatus >> 8) & 0xff : 0
        let stdout = fileText(outPath)
        let stderr = fileText(errPath)
        if signal != 0 {
            let tail = stderr.split(separator: "\n").suffix(5).joined(separator: "\n")
            throw Failure("\(program) crashed on \(backend) with signal \(signal) (\(String(cString: strsignal(signal))))"
                + (tail.isEmpty ? "" : "; its last lines on stderr:\n" + tail))
        }
        let traceText = fileText(tracePath)
        if traceText.isEmpty {
            throw Failure("\(program) left no loop trace on \(backend): it does not use SwiftUV, or made no loop "
                + "(exit status \(status))")
        }
        let (events, metrics) = try Self.parse(traceText, backend: backend)
        return Result(backend: backend, events: events, metrics: metrics, stdout: stdout, stderr: stderr,
                      status: status, signal: signal)
    }

    /// The comparison events of a trace file, and its metrics lines.
    static func parse(_ text: String, backend: Backend) throws -> ([TraceEvent], [Int: LoopMetrics]) {
        let decoder = JSONDecoder()
        var loopEvents: [LoopEvent] = []
        var metrics: [Int: LoopMetrics] = [:]
        for (number, line) in text.split(separator: "\n").enumerated() {
            let data = Data(line.utf8)
            if line.contains("\"metrics\":") {
                guard let line = try? decoder.decode(MetricsLine.self, from: data) else {
                    throw Failure("trace line \(number + 1) is not a metrics line: \(line.prefix(120))")
                }
                metrics[line.loop] = line.metrics
                continue
            }
            do {
                loopEvents.append(try decoder.decode(LoopEvent.self, from: data))
            } catch {
                throw Failure("trace line \(number + 1) is not a loop event: \(line.prefix(120))")
            }
        }
        let severalLoops = Set(loopEvents.map(\.loop)).count > 1
        let events = loopEvents.map { event in
            let prefix = severalLoops ? "loop \(event.loop): " : ""
            // Completions of pool requests that come one after another race
            // by design: which job ends first is the pool's choice.
            let pooled = event.thread == "loop" && event.event == "done"
                && ["fs", "work", "getaddrinfo", "getnameinfo"].contains(event.kind)
            return TraceEvent(time: Double(event.time) / 1_000_000, backend: backend.rawValue,
                              thread: event.thread == "loop" ? "main" : "pool", message: prefix + event.summary,
                              tie: event.tie ?? (pooled ? "pool completions" : nil),
                              floating: event.floating)
        }
        return (events, metrics)
    }

    /// A file's text, read with read(2) (LoopFuzz's `readWholeFile`:
    /// Foundation's `String(contentsOfFile:)` leaks under LeakSanitizer).
    private func fileText(_ path: String) -> String {
        String(decoding: readWholeFile(path), as: UTF8.self)
    }

    private func makeScratchDirectory() throws -> String {
        var template = Array("/tmp/uvdemo-exec-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Failure("cannot make a scratch directory: errno \(errno)") }
        return String(cString: made)
    }

    private func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A trace file's last line of a loop: its number and its metrics.
private struct MetricsLine: Decodable {
    let loop: Int
    let metrics: LoopMetrics
}

extension ExecRun {
    /// Where the two runs' exit status, stdout and stderr differ: the first
    /// line that differs in each stream.
    static func outputDifferences(_ a: Result, _ b: Result) -> [String] {
        var differences: [String] = []
        let (l, r) = (a.backend.rawValue, b.backend.rawValue)
        if a.status != b.status { differences.append("the exit status is \(a.status) on \(l) and \(b.status) on \(r)") }
        for (stream, x, y) in [("stdout", a.stdout, b.stdout), ("stderr", a.stderr, b.stderr)] where x != y {
            let (xs, ys) = (x.split(separator: "\n", omittingEmptySubsequences: false), y.split(separator: "\n", omittingEmptySubsequences: false))
            let index = (0..<min(xs.count, ys.count)).first { xs[$0] != ys[$0] } ?? min(xs.count, ys.count)
            let left = index < xs.count ? "\"\(xs[index])\"" : "nothing"
            let right = index < ys.count ? "\"\(ys[index])\"" : "nothing"
            differences.append("\(stream) differs at line \(index + 1): \(l) printed \(left), \(r) printed \(right)")
        }
        return differences
    }
}

extension Render {
    /// Both runs' stdout side by side, a line per row, `|` where they agree.
    public static func outputs(_ a: ExecRun.Result, _ b: ExecRun.Result, width: Int = 64) -> String {
        let (xs, ys) = (a.stdout.split(separator: "\n").map(String.init), b.stdout.split(separator: "\n").map(String.init))
        var out = "stdout (exit status \(a.status) on \(a.backend), \(b.status) on \(b.backend))\n"
        out += pad(a.backend.rawValue, width) + "   " + b.backend.rawValue + "\n"
        for (i, j) in align(xs, ys, ==) {
            let left = i.map { truncate(xs[$0], width) } ?? ""
            let right = j.map { truncate(ys[$0], width) } ?? ""
            let mark = i == nil ? " > " : j == nil ? " < " : " | "
            out += (pad(left, width) + mark + right).trimmingTrailingSpaces() + "\n"
        }
        if xs.isEmpty && ys.isEmpty { out += "(nothing on either)\n" }
        return out
    }

    /// Each run's loop metrics.
    public static func metrics(_ runs: [(backend: Backend, loops: [Int: LoopMetrics])]) -> String {
        func ms(_ d: Duration) -> String {
            let (seconds, attoseconds) = d.components
            return String(format: "%.2f ms", Double(seconds) * 1000 + Double(attoseconds) / 1e15)
        }
        var out = "loop metrics\n"
        for (backend, loops) in runs {
            for loop in loops.keys.sorted() {
                let m = loops[loop]!
                out += "  \(backend), loop \(loop): \(m.iterations) iterations, \(ms(m.pollBlockedTime)) blocked in the poll\n"
                let busy = LoopPhase.allCases.compactMap { phase -> String? in
                    guard let d = m.phaseTime[phase], d > .zero else { return nil }
                    return "\(phase.rawValue) \(ms(d))"
                }
                out += "    in callbacks: " + (busy.isEmpty ? "none" : busy.joined(separator: ", ")) + "\n"
                out += "    callbacks: " + m.callbacks.keys.sorted().map { "\($0) \(m.callbacks[$0]!)" }.joined(separator: ", ") + "\n"
                if m.timerDelay.count > 0 {
                    out += "    timer delay: p50 \(ms(m.timerDelay.p50)), p99 \(ms(m.timerDelay.p99)), max \(ms(m.timerDelay.max))"
                        + " over \(m.timerDelay.count) timer callbacks\n"
                }
                if let slow = m.slowestCallbacks.first {
                    out += "    slowest callback: \(slow.kind)#\(slow.id) \(slow.event) (\(slow.phase.rawValue)), \(ms(slow.duration))\n"
                }
            }
            if loops.isEmpty { out += "  \(backend): no metrics (the program did not end normally?)\n" }
        }
        return out
    }
}
