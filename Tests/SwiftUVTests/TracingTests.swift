import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Loop traces and metrics, on both backends.
@Suite("Tracing and metrics")
struct TracingTests {
    /// A program whose callbacks come one after another: an idle, a
    /// prepare and a check watcher that each stop after one call; a TCP echo
    /// of 5 bytes; at the client's EOF a work item; at its completion a
    /// timer that fires twice and closes everything.
    static func scriptedProgram(_ loop: Loop) throws {
        let idle = try Idle(loop: loop)
        try idle.start { idle in try? idle.stop() }
        let prepare = try Prepare(loop: loop)
        try prepare.start { p in try? p.stop() }
        let check = try Check(loop: loop)
        try check.start { c in try? c.stop() }
        let timer = try UVTimer(loop: loop)
        let server = try TCP(loop: loop)
        try server.bind("127.0.0.1:0")
        try server.listen { _ in
            guard let peer = try? TCP(loop: loop) else { return }
            try? server.accept(peer)
            try? peer.readStart { result in
                if case .success(let bytes) = result, !bytes.isEmpty {
                    try? peer.write(Array(bytes)) { _ in try? peer.close() }
                }
            }
            try? server.close()
        }
        let client = try TCP(loop: loop)
        try client.connect(to: server.localAddress()) { _ in
            try? client.write(Array("hello".utf8))
            try? client.readStart { result in
                guard case .failure = result else { return }
                try? client.close()
                _ = try? loop.queueWork({ 42 }) { _ in
                    var ticks = 0
                    try? timer.start(timeout: 1, repeat: 1) { timer in
                        ticks += 1
                        guard ticks == 2 else { return }
                        for handle in [timer, idle, prepare, check] as [Handle] { try? handle.close() }
                    }
                }
            }
        }
        try loop.run()
    }

    /// Each handle's or request's events in order, keyed `kind#id`.
    static func perObject(_ events: [LoopEvent]) -> [String: [String]] {
        Dictionary(grouping: events.filter { $0.thread == "loop" }) { "\($0.kind)#\($0.id)" }.mapValues { $0.map(\.summary) }
    }

    @Test("a trace names each callback's phase, kind, id and what happened, the same on both backends")
    func sameTraceOnBothBackends() throws {
        var traces: [[LoopEvent]] = []
        for backend in backends {
            let loop = try Loop(backend: backend)
            var events: [LoopEvent] = []
            try loop.startTracing { events.append($0) }
            try Self.scriptedProgram(loop)
            try loop.close()
            traces.append(events)
        }
        let (libuv, native) = (Self.perObject(traces[0]), Self.perObject(traces[1]))
        #expect(libuv == native, "libuv: \(libuv)\nnative: \(native)")
        for events in traces {
            let loopEvents = events.filter { $0.thread == "loop" }
            // Iterations never go back, and phases go forward within one.
            for (a, b) in zip(loopEvents, loopEvents.dropFirst()) {
                #expect(a.iteration <= b.iteration)
                if a.iteration == b.iteration, let pa = a.phase, let pb = b.phase { #expect(pa <= pb, "\(a.summary) then \(b.summary)") }
            }
            let s = Self.perObject(events)
            // Made in this order: idle 1, prepare 2, check 3, timer 4,
            // server 5, client 6, then the peer 7 and the work item 8.
            #expect(s["idle#1"] == ["idle idle#1 fired", "closing idle#1 closed"])
            #expect(s["prepare#2"] == ["prepare prepare#2 fired", "closing prepare#2 closed"])
            #expect(s["check#3"] == ["check check#3 fired", "closing check#3 closed"])
            #expect(s["timer#4"] == ["timers timer#4 fired", "timers timer#4 fired", "closing timer#4 closed"])
            #expect(s["tcp#5"] == ["poll tcp#5 connection", "closing tcp#5 closed"])
            #expect(s["tcp#7"]?.first == "poll tcp#7 read 5")
            #expect(s["tcp#7"]?.contains { $0.hasSuffix("tcp#7 write") } == true)
            #expect(s["tcp#6"]?.first?.hasSuffix("tcp#6 connect") == true)
            #expect(s["tcp#6"]?.contains("poll tcp#6 read 5") == true)
            #expect(s["tcp#6"]?.contains("poll tcp#6 eof") == true)
            #expect(s["work#8"] == ["poll work#8 done"])
            // The work item's closure, on the pool, before its completion.
            let ran = events.firstIndex { $0.kind == "work" && $0.event == "ran" }
            let done = events.firstIndex { $0.kind == "work" && $0.event == "done" }
            #expect(ran != nil && done != nil && ran! < done!)
            if let ran { #expect(events[ran].thread == "pool" && events[ran].phase == nil) }
        }
    }

    @Test("tracing off leaves no trace of itself: walk, live counts and closing the loop", arguments: backends)
    func tracingHidesItsWatchers(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        try loop.startTracing { _ in }
        try loop.startMetrics()
        #expect(loop.handles.isEmpty)
        #expect(loop.liveHandleCount == 0)
        #expect(!loop.isAlive)
        #expect(try loop.run() == false)
        loop.stopTracing()
        #expect(loop.metrics != nil)
        try loop.close()
    }

    @Test("a callback that blocks 50 ms is the slowest, with its handle, and the timer delays show it", arguments: backends)
    func metricsNameTheSlowCallback(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        try loop.startMetrics()
        let blocker = try Idle(loop: loop)
        try blocker.start { idle in
            usleep(50_000)
            try? idle.close()
        }
        let timer = try UVTimer(loop: loop)
        var fired = 0
        try timer.start(timeout: 1, repeat: 1) { timer in
            fired += 1
            if fired == 20 { try? timer.close() }
        }
        try loop.run()
        let metrics = try #require(loop.metrics)
        let slowest = try #require(metrics.slowestCallbacks.first)
        #expect(slowest.kind == "idle" && slowest.id == 1 && slowest.event == "fired" && slowest.phase == .idle)
        #expect(slowest.duration >= .milliseconds(50))
        #expect(metrics.phaseTime[.idle]! >= .milliseconds(50))
        // Close callbacks count too: 20 ticks and the close; one call and the close.
        #expect(metrics.callbacks["timer"] == 21)
        #expect(metrics.callbacks["idle"] == 2)
        #expect(metrics.iterations >= 20)
        // The first tick was due 1 ms after the start and waited for the
        // 50 ms callback: the largest delay is at least 40 ms; most ticks
        // are on time.
        #expect(metrics.timerDelay.count == 20)
        #expect(metrics.timerDelay.max >= .milliseconds(40))
        #expect(metrics.timerDelay.p50 <= metrics.timerDelay.max)
        #expect(metrics.slowestCallbacks.count <= LoopMetrics.slowestKept)
        try loop.close()
    }

    @Test("the poll's blocked time counts a wait for a timer", arguments: backends)
    func pollBlockedTime(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        try loop.startMetrics()
        let timer = try UVTimer(loop: loop)
        try timer.start(timeout: 30) { timer in try? timer.close() }
        try loop.run()
        let metrics = try #require(loop.metrics)
        #expect(metrics.pollBlockedTime >= .milliseconds(20))
        try loop.close()
    }

    @Test("startTracing(toFile:) writes JSON lines and the loop's metrics at close", arguments: backends)
    func traceFile(backend: Backend) throws {
        var template = Array("/tmp/swiftuv-trace-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        #expect(fd >= 0)
        close(fd)
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { unlink(path) }
        let loop = try Loop(backend: backend)
        try loop.startTracing(toFile: path)
        let timer = try UVTimer(loop: loop)
        try timer.start(timeout: 0) { timer in try? timer.close() }
        try loop.run()
        try loop.close()
        let text = String(decoding: fileContents(path), as: UTF8.self)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(lines)")
        #expect(lines[0].contains("\"phase\":\"timers\",\"kind\":\"timer\",\"id\":1,\"event\":\"fired\""))
        #expect(lines[1].contains("\"phase\":\"closing\",\"kind\":\"timer\",\"id\":1,\"event\":\"closed\""))
        #expect(lines[2].contains("\"metrics\":{\"iterations\":"))
        #expect(lines[2].contains("\"callbacks\":{\"timer\":2}"))
    }

    @Test("tracing a closed loop is an error, not a crash", arguments: backends)
    func closedLoop(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        try loop.close()
        #expect(throws: UVError.invalidArgument) { try loop.startTracing { _ in } }
        #expect(throws: UVError.invalidArgument) { try loop.startMetrics() }
        #expect(loop.metrics == nil)
        #expect(throws: UVError.invalidArgument) { try loop.startTracing(toFile: "/tmp/a\0b") }
    }
}

/// The whole file at `path`.
private func fileContents(_ path: String) -> [UInt8] {
    guard let f = fopen(path, "r") else { return [] }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&buffer, 1, buffer.count, f)
        if n <= 0 { break }
        bytes += buffer[0..<n]
    }
    return bytes
}
