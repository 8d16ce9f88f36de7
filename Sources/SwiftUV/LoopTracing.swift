import CUV
import NativeLoop

#if canImport(Glibc)
import Glibc
#endif

/// Tracing and metrics: every callback the loop delivers, recorded on
/// either backend.
///
/// Off, they cost one check of a nil reference per callback. An unchanged
/// program is traced by setting `SWIFTUV_TRACE` to a file path: every loop
/// it makes then writes its events there, one JSON object per line (see
/// `LoopEvent`), and at its close (or the program's exit) one line with its
/// metrics:
///
/// ```json
/// {"loop":1,"metrics":{"iterations":12,"poll_blocked_ns":51000000,"phase_ns":{"timers":80000,...},"callbacks":{"timer":10},"timer_delay_ns":{"count":10,"p50":120000,"p99":400000,"max":400000},"slowest":[{"kind":"timer","id":1,"event":"fired","phase":"timers","iteration":3,"duration_ns":50100000}]}}
/// ```
extension Loop {
    /// Starts recording every callback this loop delivers, and each work
    /// item's run on the pool: `handler` gets each event on the loop's
    /// thread once its callback has returned (a callback's event comes
    /// before those of callbacks it ran inside itself). Replaces an earlier
    /// handler.
    public func startTracing(_ handler: @escaping (LoopEvent) -> Void) throws(UVError) {
        try ensureOpen("Loop.startTracing")
        let observer = try ensureObserver()
        if observer.traceNumber == 0 { observer.traceNumber = TraceFile.nextLoopNumber() }
        observer.traceHandler = handler
    }

    /// Starts tracing to the file at `path` as JSON lines (appended; see
    /// `LoopEvent.jsonLine`), and turns metrics on so that the loop's
    /// figures are written at its close. Several loops may share a file.
    public func startTracing(toFile path: String) throws(UVError) {
        try InputCheck.cString(path, "Loop.startTracing", "path")
        let file = try TraceFile.open(path)
        try startMetrics()
        try startTracing { event in file.write(event.jsonLine) }
        observer?.traceFile = file
        file.register(observer!)
    }

    /// Stops tracing; metrics go on if they were started.
    public func stopTracing() {
        guard let observer else { return }
        observer.traceFile?.finish(observer)
        observer.traceFile = nil
        observer.traceHandler = nil
        dropObserverIfUnused()
    }

    /// Starts gathering `metrics` (from zero). Cheap enough to leave on:
    /// two clock reads and a few counters per callback.
    public func startMetrics() throws(UVError) {
        try ensureOpen("Loop.startMetrics")
        try ensureObserver().metrics = MetricsRecorder()
    }

    /// Stops gathering metrics; `metrics` is nil afterwards.
    public func stopMetrics() {
        guard let observer else { return }
        observer.metrics = nil
        if observer.traceFile != nil { observer.traceFile?.finish(observer); observer.traceFile = nil; observer.traceHandler = nil }
        dropObserverIfUnused()
    }

    /// What the loop has done since `startMetrics()`; nil while metrics are
    /// off.
    public var metrics: LoopMetrics? { observer?.metrics?.snapshot }

    /// Starts tracing when `SWIFTUV_TRACE` names a file (every new loop).
    func traceFromEnvironment() {
        guard let path = TraceFile.environmentPath else { return }
        do {
            try startTracing(toFile: path)
        } catch {
            let message = "SwiftUV: SWIFTUV_TRACE: cannot trace to \(path): \(error)\n"
            _ = message.withCString { write(2, $0, strlen($0)) }
        }
    }
}

extension LoopMetrics {
    /// The metrics as the JSON object a trace file's last line of a loop
    /// holds.
    var json: String {
        func ns(_ d: Duration) -> String {
            let (s, a) = d.components
            return String(s * 1_000_000_000 + a / 1_000_000_000)
        }
        let phases = LoopPhase.allCases.map { "\"\($0.rawValue)\":\(ns(phaseTime[$0] ?? .zero))" }.joined(separator: ",")
        let counts = callbacks.keys.sorted().map { "\"\($0)\":\(callbacks[$0]!)" }.joined(separator: ",")
        let slow = slowestCallbacks.map {
            "{\"kind\":\"\($0.kind)\",\"id\":\($0.id),\"event\":\"\($0.event)\",\"phase\":\"\($0.phase.rawValue)\","
                + "\"iteration\":\($0.iteration),\"duration_ns\":\(ns($0.duration))}"
        }.joined(separator: ",")
        return "{\"iterations\":\(iterations),\"poll_blocked_ns\":\(ns(pollBlockedTime)),\"phase_ns\":{\(phases)},"
            + "\"callbacks\":{\(counts)},\"timer_delay_ns\":{\"count\":\(timerDelay.count),\"p50\":\(ns(timerDelay.p50)),"
            + "\"p99\":\(ns(timerDelay.p99)),\"max\":\(ns(timerDelay.max))},\"slowest\":[\(slow)]}"
    }
}

/// A trace file: lines from any loop of the process, buffered, written
/// whole under a lock, flushed at 64 KiB, at each loop's close and at exit.
final class TraceFile: @unchecked Sendable {
    private let fd: Int32
    private let lock = Lock()
    private var buffer: [UInt8] = []
    /// The loops tracing here whose metrics line is not written yet.
    private var observers: [ObjectIdentifier: Unmanaged<LoopObserver>] = [:]

    nonisolated(unsafe) private static var files: [String: TraceFile] = [:]
    nonisolated(unsafe) private static var loopCount = 0
    private static let registryLock = Lock()
    nonisolated(unsafe) private static var exitHookInstalled = false

    /// `SWIFTUV_TRACE`, read once.
    static let environmentPath: String? = {
        guard let value = getenv("SWIFTUV_TRACE"), value.pointee != 0 else { return nil }
        return String(cString: value)
    }()

    private init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(1 << 16)
    }

    static func nextLoopNumber() -> Int {
        registryLock.lock()
        defer { registryLock.unlock() }
        loopCount += 1
        return loopCount
    }

    /// The process's writer for `path`, opened (for appending) on first use.
    static func open(_ path: String) throws(UVError) -> TraceFile {
        registryLock.lock()
        defer { registryLock.unlock() }
        if let file = files[path] { return file }
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if fd < 0 { throw UVError(code: -errno).with(context: "Loop.startTracing(toFile: \(InputCheck.quoted(path)))") }
        let file = TraceFile(fd: fd)
        files[path] = file
        if !exitHookInstalled {
            exitHookInstalled = true
            atexit { TraceFile.finishAll() }
        }
        return file
    }

    /// At exit: the metrics of loops still tracing, then every buffer.
    private static func finishAll() {
        registryLock.lock()
        let all = Array(files.values)
        registryLock.unlock()
        for file in all { file.finishRemaining() }
    }

    func write(_ line: String) {
        lock.lock()
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
        let full = buffer.count >= 1 << 16
        lock.unlock()
        if full { flush() }
    }

    func flush() {
        lock.lock()
        defer { lock.unlock() }
        var offset = 0
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func register(_ observer: LoopObserver) {
        lock.lock()
        observers[ObjectIdentifier(observer)] = Unmanaged.passUnretained(observer)
        lock.unlock()
    }

    /// Writes `observer`'s metrics line and flushes (the loop is closing or
    /// stops tracing).
    func finish(_ observer: LoopObserver) {
        lock.lock()
        let known = observers.removeValue(forKey: ObjectIdentifier(observer)) != nil
        lock.unlock()
        if known, let metrics = observer.metrics?.snapshot {
            write("{\"loop\":\(observer.traceNumber),\"metrics\":\(metrics.json)}")
        }
        flush()
    }

    private func finishRemaining() {
        lock.lock()
        let remaining = Array(observers.values)
        lock.unlock()
        for observer in remaining { finish(observer.takeUnretainedValue()) }
        flush()
    }
}
