import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import SwiftUV
import TestSupport
import Testing
@testable import UVDemoKit

#if canImport(Glibc)
import Glibc
#endif

/// Collects what a command writes.
final class Captured: @unchecked Sendable {
    private let lock = NSLock()
    private var outText = ""
    private var errText = ""
    var console: Console {
        Console(out: { s in self.lock.withLock { self.outText += s } },
                err: { s in self.lock.withLock { self.errText += s } })
    }
    var out: String { lock.withLock { outText } }
    var err: String { lock.withLock { errText } }
}

func event(_ time: Double, _ message: String, thread: String = "main", backend: String = "libuv",
           tie: String? = nil, floating: Bool = false) -> TraceEvent {
    TraceEvent(time: time, backend: backend, thread: thread, message: message, tie: tie, floating: floating ? true : nil)
}

/// Whether `text` is well-formed XML (every tag closed, entities escaped).
func wellFormedXML(_ text: String) -> (Bool, String) {
    let parser = XMLParser(data: Data(text.utf8))
    let ok = parser.parse()
    return (ok, parser.parserError.map { "\($0)" } ?? "")
}

@Suite("uvdemo: command line")
struct CommandLineTests {
    @Test("list names every program")
    func list() {
        let captured = Captured()
        #expect(UVDemo.execute(["list"], console: captured.console) == 0)
        for program in DemoProgram.all { #expect(captured.out.contains(program.name + " ")) }
        #expect(DemoProgram.all.count >= 5)
    }

    @Test("--help explains the commands and exits 0")
    func help() {
        let captured = Captured()
        #expect(UVDemo.execute(["--help"], console: captured.console) == 0)
        #expect(captured.out.contains("compare"))
        #expect(captured.out.contains("native"))
        #expect(captured.err.isEmpty)
    }

    @Test("an unknown program: a clear message and a non-zero exit")
    func unknownProgram() {
        let captured = Captured()
        let status = UVDemo.execute(["run", "nope"], console: captured.console)
        #expect(status != 0)
        #expect(captured.err.contains("unknown program 'nope'"))
        #expect(captured.err.contains("book"))
        #expect(captured.out.isEmpty)
    }

    @Test("an unknown backend: a clear message and a non-zero exit")
    func unknownBackend() {
        let captured = Captured()
        #expect(UVDemo.execute(["run", "phases", "--backend", "uvloop"], console: captured.console) != 0)
        #expect(captured.err.contains("'uvloop'"))
        #expect(captured.err.contains("'libuv'") && captured.err.contains("'native'"))
    }

    @Test("a timeline file that is neither .svg nor .html is refused")
    func timelineSuffix() {
        let captured = Captured()
        #expect(UVDemo.execute(["compare", "phases", "--timeline", "/tmp/x.png"], console: captured.console) != 0)
        #expect(captured.err.contains(".svg or .html"))
    }

    @Test("run prints the book's line format, with the time and the thread", arguments: Backend.allCases)
    func runPrintsLines(backend: Backend) {
        let captured = Captured()
        #expect(UVDemo.execute(["run", "phases", "--backend", backend.rawValue], console: captured.console) == 0)
        let lines = captured.out.split(separator: "\n")
        #expect(lines.first?.contains("phases on \(backend.rawValue)") == true)
        #expect(lines.contains { $0.contains(" ms  Thread: main\t iteration 1: idle") })
        #expect(lines.contains { $0.contains("Thread: pool0\t summing") })
        #expect(lines.last?.hasSuffix("the loop has ended: nothing left alive") == true)
    }
}

@Suite("uvdemo: comparison verdict")
struct ComparisonTests {
    let base = [event(0, "a"), event(1, "b"), event(2, "c")]

    @Test("the same loop-thread order is the same")
    func same() {
        let c = Comparison(base, base.map { var e = $0; e.backend = "native"; e.time += 0.5; return e })
        #expect(c.same)
        #expect(c.rightName == "native")
        #expect(c.largestGap?.milliseconds == 0.5)
        #expect(c.rows.count == 3 && c.rows.allSatisfy { $0.left != nil && $0.right != nil })
    }

    @Test("a loop-thread event in another place is a difference")
    func reordered() {
        let c = Comparison(base, [event(0, "b"), event(1, "a"), event(2, "c")])
        #expect(!c.same)
        #expect(c.differences.count == 1)
        #expect(c.differences[0].contains("another place"))
    }

    @Test("a missing or extra event is a difference")
    func missing() {
        let c = Comparison(base, [event(0, "a"), event(2, "c"), event(3, "d")])
        #expect(c.differences.contains { $0.contains("only libuv's loop thread prints \"b\"") })
        #expect(c.differences.contains { $0.contains("prints \"d\"") })
    }

    @Test("tied events may come in any order among themselves, not elsewhere")
    func ties() {
        let left = [event(0, "x"), event(1, "a", tie: "t"), event(1, "b", tie: "t"), event(2, "y")]
        let swapped = [event(0, "x"), event(1, "b", tie: "t"), event(1, "a", tie: "t"), event(2, "y")]
        let c = Comparison(left, swapped)
        #expect(c.same)
        #expect(c.notes.count == 1)
        let escaped = [event(0, "b", tie: "t"), event(1, "x"), event(1, "a", tie: "t"), event(2, "y")]
        #expect(!Comparison(left, escaped).same)
    }

    @Test("floating events: anywhere, but on both")
    func floating() {
        let left = base + [event(3, "f", floating: true)]
        var right = base
        right.insert(event(0.5, "f", floating: true), at: 1)
        #expect(Comparison(left, right).same)
        #expect(!Comparison(left, base).same)
    }

    @Test("pool events: which pool thread and when do not matter, what ran does")
    func pool() {
        let left = base + [event(1, "job", thread: "pool0"), event(1, "job2", thread: "pool1")]
        let right = [event(0, "job2", thread: "pool0")] + base + [event(2, "job", thread: "pool3")]
        #expect(Comparison(left, right).same)
        #expect(!Comparison(left, base + [event(1, "job", thread: "pool0")]).same)
    }

    @Test("a helper thread's events are compared in order")
    func helper() {
        let left = base + [event(0, "s1", thread: "server"), event(1, "s2", thread: "server")]
        let right = base + [event(0, "s2", thread: "server"), event(1, "s1", thread: "server")]
        #expect(!Comparison(left, right).same)
    }

    @Test("the side-by-side text aligns rows and ends with the verdict")
    func sideBySide() {
        let right = [event(0, "a", backend: "native"), event(1, "c", backend: "native")]
        let text = Render.sideBySide(Comparison(base, right))
        #expect(text.contains("<"))
        #expect(text.contains("verdict: 1 difference"))
        let same = Render.sideBySide(Comparison(base, base))
        #expect(same.contains("verdict: the same"))
    }
}

@Suite("uvdemo: renderings")
struct RenderTests {
    let trace = [event(0, "start <&> \"quoted\""), event(1, "job", thread: "pool0"), event(5, "done", thread: "pool0"),
                 event(6, "served", thread: "server"), event(7, "end")]
        .enumerated().map { i, e in var e = e; e.span = i == 1 ? "begin" : i == 2 ? "end" : nil; return e }

    @Test("JSON lines: one object per event with time_ms, backend, thread, message")
    func json() throws {
        let text = Render.jsonLines(trace)
        let lines = text.split(separator: "\n")
        #expect(lines.count == trace.count)
        for (line, original) in zip(lines, trace) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["time_ms"] as? Double == original.time)
            #expect(object["backend"] as? String == "libuv")
            #expect(object["thread"] as? String == original.thread)
            #expect(object["message"] as? String == original.message)
            #expect(try JSONDecoder().decode(TraceEvent.self, from: Data(line.utf8)) == original)
        }
    }

    @Test("the timeline is well-formed SVG and HTML, a row per thread", arguments: [false, true])
    func timeline(html: Bool) {
        let native = trace.map { var e = $0; e.backend = "native"; return e }
        let text = Render.timeline(program: "test", traces: [trace, native], html: html)
        let (ok, error) = wellFormedXML(text)
        #expect(ok, "\(error)")
        #expect(text.contains(html ? "<!DOCTYPE html>" : "<svg"))
        #expect(text.contains("&lt;&amp;&gt; &quot;quoted&quot;"))
        for thread in ["main", "pool0", "server"] {
            #expect(text.components(separatedBy: "class=\"label\">\(thread)<").count == 3, "a row for \(thread) in each band")
        }
        #expect(text.components(separatedBy: "class=\"task\"").count == 3)
        #expect(Render.threadOrder([event(0, "x", thread: "pool10"), event(0, "y", thread: "pool2"), event(0, "z"),
                                    event(0, "w", thread: "aux")]) == ["main", "pool2", "pool10", "aux"])
    }
}

/// The programs run in child processes of this test binary: each has the
/// thread pool to itself (the book's timing windows need its four threads
/// free) and its own signal dispositions (the signal and process programs).
@Suite("uvdemo: the programs on both backends")
struct ProgramTests {
    /// Runs the command line in `UVDEMO_CHILD_ARGS` (tab-separated) and writes
    /// its output to `UVDEMO_CHILD_OUT`.
    @Test("a uvdemo command in a child process (child only)", .enabled(if: getenv("UVDEMO_CHILD_ARGS") != nil))
    func child() throws {
        let arguments = String(cString: getenv("UVDEMO_CHILD_ARGS")).split(separator: "\t").map(String.init)
        let captured = Captured()
        let status = UVDemo.execute(arguments, console: captured.console)
        try captured.out.write(toFile: String(cString: getenv("UVDEMO_CHILD_OUT")), atomically: true, encoding: .utf8)
        #expect(status == 0, "uvdemo \(arguments) exited with \(status): \(captured.err)")
    }

    /// `uvdemo ARGUMENTS` in a child process: its output, and whether it exited 0.
    static func uvdemo(_ arguments: [String], in directory: String) throws -> (output: String, passed: Bool, log: String) {
        let outputPath = directory + "/output"
        let child = try Subprocess(["/proc/self/exe", "--testing-library", "swift-testing", "--filter", "ProgramTests/child"],
                                   environment: ["UVDEMO_CHILD_ARGS": arguments.joined(separator: "\t"), "UVDEMO_CHILD_OUT": outputPath],
                                   pipeStdout: true, mergeStderr: true)
        let log = child.readAll()
        let status = child.wait()
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // It really ran (a filter matching nothing would pass too).
        let ran = log.contains("Test \"a uvdemo command in a child process (child only)\" passed")
        return (output, status == 0 && ran, log)
    }

    @Test("compare: each program does the same on both backends; its JSON parses; its timeline is well-formed",
          arguments: DemoProgram.all.map(\.name))
    func compare(program: String) throws {
        // The programs' own scratch folders, removed at `finish`.
        let context = DemoContext()
        defer { context.finish() }
        let directory = try context.scratchDirectory()
        let timeline = directory + "/\(program)." + (program == "book" ? "html" : "svg")
        let run = try Self.uvdemo(["compare", program, "--json", "--check", "--timeline", timeline], in: directory)
        #expect(run.passed, "\(run.log.suffix(3000))")

        let decoder = JSONDecoder()
        let events = try run.output.split(separator: "\n").map { try decoder.decode(TraceEvent.self, from: Data($0.utf8)) }
        let libuv = events.filter { $0.backend == "libuv" }
        let native = events.filter { $0.backend == "native" }
        #expect(!libuv.isEmpty && !native.isEmpty)
        #expect(libuv.count + native.count == events.count)
        let comparison = Comparison(libuv, native)
        #expect(comparison.same, "\(comparison.differences)")
        for trace in [libuv, native] {
            #expect(trace.last?.message == "the loop has ended: nothing left alive", "\(trace.last?.message ?? "nothing")")
            #expect(trace.allSatisfy { $0.onLoopThread || $0.onPoolThread || ["server", "sender"].contains($0.thread) })
            #expect(zip(trace, trace.dropFirst()).allSatisfy { $0.time <= $1.time }, "times only grow")
            if program == "book" { Self.checkBook(trace) }
        }

        let picture = try String(contentsOfFile: timeline, encoding: .utf8)
        let (ok, error) = wellFormedXML(picture)
        #expect(ok, "\(error)")
        #expect(picture.contains(">libuv<") && picture.contains(">native<"))
    }

    /// The order and the timing of `book-demo.md`. Nothing may come early
    /// (a timer before its time, a read before its 1 s sleep), which holds on
    /// any machine; how late it comes depends on the machine's load, so the
    /// upper ends are a generous `late` (1.5 s) after the event's time: a
    /// busy machine running sanitizer builds beside the test must not fail
    /// it. The order checks below and the verdict keep the rest exact.
    static func checkBook(_ trace: [TraceEvent]) {
        let backend = trace.first?.backend ?? "?"
        let main = trace.filter(\.onLoopThread)
        func index(_ message: String) -> Int? { main.firstIndex { $0.message == message } }
        func time(_ message: String) -> Double { index(message).map { main[$0].time } ?? -1 }
        func within(_ message: String, _ from: Double, _ to: Double, sourceLocation: SourceLocation = #_sourceLocation) {
            let t = time(message)
            #expect(t >= from && t <= to, "\(backend): \"\(message)\" at \(t) ms, expected \(from)...\(to)", sourceLocation: sourceLocation)
        }
        func before(_ a: String, _ b: String, sourceLocation: SourceLocation = #_sourceLocation) {
            guard let i = index(a), let j = index(b) else {
                Issue.record("\(backend): \"\(a)\" or \"\(b)\" missing", sourceLocation: sourceLocation)
                return
            }
            #expect(i < j, "\(backend): \"\(a)\" before \"\(b)\"", sourceLocation: sourceLocation)
        }

        let registrations = ["First call to read test.txt", "Registering immediate timeout 1", "Registering immediate timeout 2",
                             "Second call to read test.txt", "Registering a 3000 and a 500 ms timeout",
                             "Registering a 1000 ms timeout", "Registering http get request to google.com"]
        #expect(main.prefix(registrations.count).map(\.message) == registrations, "\(backend): registrations print first")
        #expect(main.dropFirst(registrations.count).prefix(2).map(\.message) == ["Immediate1 timed out", "Immediate2 timed out"],
                "\(backend): the 0 ms timers fire before anything else")
        let late = 1500.0
        within("Immediate2 timed out", 0, late)
        within("First count: 39 characters.", 995, 1000 + late)
        within("Second count: 39 characters.", 995, 1000 + late)
        within("SETTIMEOUT", 995, 1000 + late)
        within("===== THREAD main START CONTENT - FILE READ =====", 1990, 2000 + late)
        within("===== THREAD main START CONTENT - WEB CALL =====", 1990, 2000 + late)
        within("3000ms timer timed out", 2995, 3000 + late)
        within("500ms timer(nested) timed out", 3495, 3500 + late)
        // The nested timer counts from the 3000 ms one, however late that was.
        #expect(time("500ms timer(nested) timed out") - time("3000ms timer timed out") >= 495,
                "\(backend): the nested timer fired 500 ms after its parent")
        before("First count: 39 characters.", "\"Encrypted\" number is: 63245986")
        before("Second count: 39 characters.", "Third call to read test.txt")
        before("Third call to read test.txt", "===== THREAD main START CONTENT - FILE READ =====")
        before("3000ms timer timed out", "500ms timer(nested) timed out")
        before("500ms timer(nested) timed out", "the loop has ended: nothing left alive")
        #expect(index("HTTP/1.1 302 Found") != nil && index("Location: http//www.google.com") != nil, "\(backend): the web call's content")
        #expect(index("Hello world! This is a text to encrypt!") != nil)
        #expect(trace.filter { $0.onPoolThread && $0.message == "received a task of type: FileRead" }.count == 3)
        #expect(Set(trace.filter(\.onPoolThread).map(\.thread)).count >= 2, "\(backend): the reads ran on several pool threads")
        #expect(trace.contains { $0.thread == "server" && $0.message.hasPrefix("GET /delay/2000/") })
    }
}

/// `uvdemo compare --exec`: any program that uses SwiftUV, compared.
@Suite("uvdemo compare --exec")
struct ExecCompareTests {
    /// The program DemoTests compare: built by the package beside the tests.
    static var subject: String {
        let tests = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        return tests.appendingPathComponent("swiftuv-trace-subject").path
    }

    @Test("a program written outside uvdemo is found the same on both backends, output and metrics shown")
    func same() throws {
        let captured = Captured()
        let status = UVDemo.execute(["compare", "--check", "--exec", Self.subject], console: captured.console)
        #expect(status == 0, "\(captured.err)\n\(captured.out)")
        let out = captured.out
        #expect(out.contains("verdict: the same"))
        #expect(out.contains("timers timer#5 fired"))
        #expect(out.contains("poll tcp#2 read 4"))
        #expect(out.contains("echoed: ping"))
        #expect(out.contains("libuv, loop 1:") && out.contains("native, loop 1:"))
        #expect(out.contains("callbacks: tcp 10, timer 3, work 1"))
    }

    @Test("a program that behaves differently on purpose is found different, the difference named")
    func different() {
        let captured = Captured()
        let status = UVDemo.execute(["compare", "--check", "--exec", Self.subject, "--differ"], console: captured.console)
        #expect(status == 1)
        #expect(captured.err.contains("the first difference: only native's loop thread prints \"timers timer#6 fired\""), "\(captured.err)")
    }

    @Test("--json gives the traces as JSON lines of both backends")
    func json() throws {
        let captured = Captured()
        #expect(UVDemo.execute(["compare", "--json", "--exec", Self.subject], console: captured.console) == 0)
        let lines = captured.out.split(separator: "\n")
        let events = try lines.map { try JSONDecoder().decode(TraceEvent.self, from: Data($0.utf8)) }
        #expect(Set(events.map(\.backend)) == ["libuv", "native"])
        #expect(events.contains { $0.message == "poll work#4 done" && $0.tie != nil })
    }

    @Test("bad programs: a clear message and exit 2, never a hang", arguments: [
        (["/nonexistent/program"], "no such program"),
        (["/etc/passwd"], "is not executable"),
        (["/tmp"], "is a directory"),
        (["/bin/true"], "left no loop trace"),
        (["--time-limit", "1", "--exec", "/bin/sleep", "30"], "did not end within 1 s"),
        (["/bin/sh", "-c", "kill -SEGV $$"], "crashed on libuv with signal 11"),
    ])
    func badPrograms(arguments: [String], message: String) {
        let captured = Captured()
        let command = arguments.first == "--time-limit" ? ["compare"] + arguments : ["compare", "--exec"] + arguments
        #expect(UVDemo.execute(command, console: captured.console) == 2)
        #expect(captured.err.contains(message), "\(captured.err)")
    }

    @Test("a trace line that is not a loop event is reported, not skipped")
    func malformedTrace() {
        #expect(throws: ExecRun.Failure.self) { _ = try ExecRun.parse("{\"not\":\"an event\"}\n", backend: .libuv) }
    }
}
