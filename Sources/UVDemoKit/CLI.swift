import ArgumentParser
import Foundation
import SwiftUV

/// Where the commands write: stdout and stderr in the tool, buffers in tests.
public struct Console: Sendable {
    public let out: @Sendable (String) -> Void
    public let err: @Sendable (String) -> Void

    public init(out: @escaping @Sendable (String) -> Void, err: @escaping @Sendable (String) -> Void) {
        self.out = out
        self.err = err
    }

    /// stdout and stderr; stdout is flushed before each write to stderr so
    /// that the two come out in order on one terminal.
    public static let standard = Console(out: { Swift.print($0, terminator: "") },
                                         err: { fflush(nil); FileHandle.standardError.write(Data($0.utf8)) })
}

/// `uvdemo`: small programs on SwiftUV's two event loops, run alone or
/// side by side.
public struct UVDemo: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "uvdemo",
        abstract: "Run small event-loop programs on SwiftUV's two backends and compare them.",
        discussion: """
        Every program is written once against SwiftUV and runs on either backend: \
        'libuv' (the system's libuv \(libuvVersion)) or 'native' (SwiftUV's own \
        event loop in Swift: epoll, eventfd, a thread pool). Each line a program \
        prints is recorded with the milliseconds since start and the thread it ran \
        on: 'main' is the loop's thread, 'pool0'... are thread-pool threads.

        Start here:
          uvdemo list                      the programs and what each shows
          uvdemo run book                  the book's program on libuv
          uvdemo run book --backend native
          uvdemo compare book              both backends, side by side, with a verdict
          uvdemo compare echo --timeline echo.html
          uvdemo fuzz --count 1000         random programs on both backends, compared
        """,
        subcommands: [List.self, Run.self, Compare.self, Fuzz.self, FuzzWorkerCommand.self]
    )

    public init() {}

    /// Parses `arguments` (without the program's name), runs the command,
    /// and returns the exit status; help and errors go to `console`.
    public static func execute(_ arguments: [String], console: Console = .standard) -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            if let demo = command as? DemoCommand {
                return try demo.execute(console)
            }
            try command.run()
            return 0
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if !message.isEmpty {
                if code == .success { console.out(message + "\n") } else { console.err(message + "\n") }
            }
            return code.rawValue
        }
    }
}

/// A subcommand that writes to a `Console` and returns its exit status.
protocol DemoCommand: ParsableCommand {
    func execute(_ console: Console) throws -> Int32
}

extension DemoCommand {
    public mutating func run() throws {
        let status = try execute(.standard)
        if status != 0 { throw ExitCode(status) }
    }
}

/// `--backend`: which event loop runs the program.
public enum BackendChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
    case libuv, native
    var backend: Backend { self == .libuv ? .libuv : .native }
}

/// The program named on the command line, checked against the bundled ones.
struct ProgramArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The program to run; 'uvdemo list' shows them.",
                                 valueName: DemoProgram.all.map(\.name).joined(separator: "|")))
    var program: String

    func validate() throws {
        guard DemoProgram.named(program) != nil else {
            throw ValidationError("unknown program '\(program)'; the programs are: \(DemoProgram.all.map(\.name).joined(separator: ", "))")
        }
    }

    var resolved: DemoProgram { DemoProgram.named(program)! }
}

/// `--json` and `--timeline FILE`.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print the trace as JSON, one object per event (time_ms, backend, thread, message), instead of text.")
    var json = false

    @Option(help: ArgumentHelp("Also draw the run(s) on one time axis, a row per thread: an SVG picture, or an HTML page with a table of events if FILE ends in .html.",
                               valueName: "FILE"))
    var timeline: String?

    func validate() throws {
        if let timeline, !(timeline.hasSuffix(".svg") || timeline.hasSuffix(".html") || timeline.hasSuffix(".htm")) {
            throw ValidationError("the timeline file must end in .svg or .html: '\(timeline)'")
        }
    }

    func writeTimeline(_ program: String, _ traces: [[TraceEvent]], _ console: Console) throws {
        guard let timeline else { return }
        let text = Render.timeline(program: program, traces: traces, html: !timeline.hasSuffix(".svg"))
        do {
            try text.write(toFile: timeline, atomically: true, encoding: .utf8)
        } catch {
            throw ValidationError("cannot write the timeline to '\(timeline)': \(error.localizedDescription)")
        }
        console.err("timeline written to \(timeline)\n")
    }
}

extension UVDemo {
    struct List: DemoCommand {
        static let configuration = CommandConfiguration(abstract: "List the programs and what each one shows.")

        func execute(_ console: Console) throws -> Int32 {
            for program in DemoProgram.all {
                console.out(pad(program.name, 10) + program.summary + "\n")
                console.out(wrap(program.details, width: 78, indent: 10) + "\n\n")
            }
            return 0
        }
    }

    struct Run: DemoCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one program on one backend, printing each event as it happens.")

        @OptionGroup var program: ProgramArgument
        @Option(help: "The event loop: libuv or native.") var backend: BackendChoice = .libuv
        @OptionGroup var output: OutputOptions

        func execute(_ console: Console) throws -> Int32 {
            let program = program.resolved
            let json = output.json
            if !json { console.out("\(program.name) on \(backend.rawValue): ms since start, then the program's own lines\n") }
            let events = try program.run(on: backend.backend) { event in
                console.out(json ? Render.jsonLines([event]) : Render.line(event) + "\n")
            }
            try output.writeTimeline(program.name, [events], console)
            return 0
        }
    }

    struct Compare: DemoCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one program on libuv, then on native, and show both traces side by side with a verdict.",
            discussion: """
            The verdict compares the loop thread's events in order, the pool threads' \
            events as a set (which pool thread runs a job is the scheduler's choice), \
            and each helper thread's events in order. Events that race by design are \
            marked ~ (their order among themselves is not compared); events whose \
            place depends on CPU speed or the kernel are marked * (compared by presence).
            """)

        @Argument(help: ArgumentHelp("The program to run; 'uvdemo list' shows them. Or --exec.",
                                     valueName: DemoProgram.all.map(\.name).joined(separator: "|")))
        var program: String?
        @OptionGroup var output: OutputOptions
        @Flag(help: "Exit with status 1 when the backends differ, naming the first difference.") var check = false
        @Option(help: ArgumentHelp("Seconds each run of an --exec program may take before it is killed.", valueName: "SECONDS"))
        var timeLimit: Double = 60
        @Option(name: .customLong("exec"), parsing: .remaining,
                help: ArgumentHelp("Compare any program that uses SwiftUV instead: it runs once per backend (SWIFTUV_BACKEND) "
                                   + "with its loop trace on (SWIFTUV_TRACE), and its callbacks and output are compared. "
                                   + "Everything after --exec is the program and its arguments: put uvdemo's options first.",
                                   valueName: "PROGRAM [ARGS...]"))
        var exec: [String] = []

        func validate() throws {
            if exec.isEmpty {
                guard let program else { throw ValidationError("name a program ('uvdemo list' shows them) or give --exec PROGRAM") }
                guard DemoProgram.named(program) != nil else {
                    throw ValidationError("unknown program '\(program)'; the programs are: \(DemoProgram.all.map(\.name).joined(separator: ", "))")
                }
            } else if let program {
                throw ValidationError("give a built-in program ('\(program)') or --exec, not both")
            }
            if !(timeLimit > 0) { throw ValidationError("--time-limit must be a positive number of seconds") }
        }

        func execute(_ console: Console) throws -> Int32 {
            if !exec.isEmpty { return compareExecutable(console) }
            let program = DemoProgram.named(program!)!
            var traces: [[TraceEvent]] = []
            var metrics: [(backend: Backend, loops: [Int: LoopMetrics])] = []
            for backend in Backend.allCases {
                console.err("running \(program.name) on \(backend)... ")
                let start = System.highResolutionTime
                let run = try program.runMeasured(on: backend)
                traces.append(run.events)
                metrics.append((backend, run.metrics.map { [1: $0] } ?? [:]))
                let seconds = Double(System.highResolutionTime - start) / 1e9
                console.err(seconds < 1 ? String(format: "%.0f ms\n", seconds * 1000) : String(format: "%.2f s\n", seconds))
            }
            let comparison = Comparison(traces[0], traces[1])
            if output.json {
                console.out(Render.jsonLines(traces[0] + traces[1]))
            } else {
                console.out("\(program.name) on both backends, aligned event by event\n\n")
                console.out(Render.sideBySide(comparison))
                console.out("\n" + Render.metrics(metrics))
            }
            try output.writeTimeline(program.name, traces, console)
            return check && !comparison.same ? 1 : 0
        }

        /// `--exec`: both runs of an outside program, its trace, output and
        /// metrics. Exit 2 when it cannot be compared.
        func compareExecutable(_ console: Console) -> Int32 {
            let runner = ExecRun(program: exec[0], arguments: Array(exec.dropFirst()), timeLimit: timeLimit)
            var results: [ExecRun.Result] = []
            do {
                _ = try runner.resolvedPath()
                for backend in Backend.allCases {
                    console.err("running \(exec.joined(separator: " ")) on \(backend)... ")
                    let start = System.highResolutionTime
                    results.append(try runner.run(on: backend))
                    let seconds = Double(System.highResolutionTime - start) / 1e9
                    console.err(seconds < 1 ? String(format: "%.0f ms\n", seconds * 1000) : String(format: "%.2f s\n", seconds))
                }
            } catch {
                console.err("\nuvdemo: \(error)\n")
                return 2
            }
            var comparison = Comparison(results[0].events, results[1].events)
            comparison.differences += ExecRun.outputDifferences(results[0], results[1])
            let name = (exec[0] as NSString).lastPathComponent
            if output.json {
                console.out(Render.jsonLines(results[0].events + results[1].events))
            } else {
                console.out("\(name) on both backends: its loops' callbacks, aligned event by event\n\n")
                console.out(Render.sideBySide(comparison))
                console.out("\n" + Render.outputs(results[0], results[1]))
                console.out("\n" + Render.metrics(results.map { ($0.backend, $0.metrics) }))
            }
            do {
                try output.writeTimeline(name, results.map(\.events), console)
            } catch {
                console.err("uvdemo: \(error)\n")
                return 2
            }
            if check, let first = comparison.differences.first {
                console.err("uvdemo: the backends differ; the first difference: \(first)\n")
                return 1
            }
            return 0
        }
    }
}

/// `text` wrapped at `width` columns, each line indented.
func wrap(_ text: String, width: Int, indent: Int) -> String {
    var lines: [String] = []
    var line = ""
    for word in text.split(separator: " ") {
        if !line.isEmpty && indent + line.count + 1 + word.count > width {
            lines.append(line)
            line = ""
        }
        line += (line.isEmpty ? "" : " ") + word
    }
    if !line.isEmpty { lines.append(line) }
    return lines.map { String(repeating: " ", count: indent) + $0 }.joined(separator: "\n")
}
