/// The phases of one loop iteration, in the order libuv runs them.
public enum LoopPhase: String, Sendable, CaseIterable, Comparable, Codable {
    /// Due timers.
    case timers
    /// I/O callbacks deferred from the previous iteration (a write that
    /// completed at once, a connect error).
    case pending
    /// Idle watchers.
    case idle
    /// Prepare watchers, just before the loop polls.
    case prepare
    /// I/O callbacks of the poll: reads, accepts, async wake-ups, signals,
    /// child exits, and the completions of thread-pool requests.
    case poll
    /// Check watchers, just after the poll.
    case check
    /// Close callbacks.
    case closing

    /// The phases' order in an iteration.
    public static func < (a: LoopPhase, b: LoopPhase) -> Bool { a.order < b.order }

    /// The phase's place in an iteration, from 0 (no search, no array: the
    /// metrics index by it on every callback).
    var order: Int {
        switch self {
        case .timers: 0
        case .pending: 1
        case .idle: 2
        case .prepare: 3
        case .poll: 4
        case .check: 5
        case .closing: 6
        }
    }
}

/// One callback SwiftUV delivered, as a loop trace records it (see
/// `Loop.startTracing(_:)`), or one run of a work item's closure on the
/// thread pool.
///
/// Written as one JSON object per line by `Loop.startTracing(toFile:)` and
/// `SWIFTUV_TRACE`:
///
/// ```json
/// {"loop":1,"iteration":3,"phase":"poll","kind":"tcp","id":2,"event":"read","count":5,"thread":"loop","time_ns":1250000,"duration_ns":4100}
/// ```
///
/// `status` appears only when the callback got an error, `count` only for
/// reads and receives, `phase` only on the loop thread.
public struct LoopEvent: Sendable, Equatable, Codable {
    /// The loop, numbered from 1 in the order tracing started on it in
    /// this process.
    public var loop: Int
    /// The loop iteration, counted from 1 since tracing started.
    public var iteration: Int
    /// The phase the callback ran in; nil for an event on a pool thread.
    public var phase: LoopPhase?
    /// The handle's type (`timer`, `tcp`, ...) or the request's kind (`fs`,
    /// `work`, `getaddrinfo`, `getnameinfo`).
    public var kind: String
    /// The handle or request: its creation order on its loop, from 1 (one
    /// count for handles and requests), so that two runs of one program
    /// name the same object alike.
    public var id: Int
    /// What happened: `fired`, `read`, `eof`, `write`, `connect`,
    /// `shutdown`, `connection`, `received`, `sent`, `exit`, `signal`,
    /// `change`, `done`, `closed`, or `ran` (a work closure, on the pool).
    public var event: String
    /// Bytes read or received.
    public var count: Int?
    /// The error the callback got, by libuv's name (`ECONNRESET`); nil on
    /// success. For `exit`, the exit status and signal as `status 3` or
    /// `signal 15`.
    public var status: String?
    /// `loop` or `pool`.
    public var thread: String
    /// Nanoseconds from the start of tracing to the callback's start.
    public var time: UInt64
    /// How long the callback ran, in nanoseconds.
    public var duration: UInt64
    /// The handle's `traceOrder` label when it is `.tied`: events with the
    /// same label race by design, and a comparison of two traces does not
    /// order a run of them among themselves.
    public var tie: String?
    /// True when the handle's `traceOrder` is `.unordered`: the event must
    /// happen in both traces, but its place is not compared.
    public var floating: Bool?

    enum CodingKeys: String, CodingKey {
        case loop, iteration, phase, kind, id, event, count, status, thread
        case time = "time_ns", duration = "duration_ns", tie, floating
    }

    /// Makes an event (tools that read traces use this).
    public init(loop: Int, iteration: Int, phase: LoopPhase?, kind: String, id: Int, event: String,
                count: Int? = nil, status: String? = nil, thread: String, time: UInt64, duration: UInt64,
                tie: String? = nil, floating: Bool? = nil) {
        self.loop = loop
        self.iteration = iteration
        self.phase = phase
        self.kind = kind
        self.id = id
        self.event = event
        self.count = count
        self.status = status
        self.thread = thread
        self.time = time
        self.duration = duration
        self.tie = tie
        self.floating = floating
    }

    /// What the event says, without its loop, iteration and times:
    /// `poll tcp#2 read 5`, `closing timer#1 closed`.
    public var summary: String {
        var text = (phase?.rawValue ?? "pool") + " \(kind)#\(id) \(event)"
        if let count { text += " \(count)" }
        if let status { text += " \(status)" }
        return text
    }

    /// The event as one line of JSON (no newline).
    public var jsonLine: String {
        var line = "{\"loop\":\(loop),\"iteration\":\(iteration)"
        if let phase { line += ",\"phase\":\"\(phase.rawValue)\"" }
        line += ",\"kind\":\"\(kind)\",\"id\":\(id),\"event\":\"\(event)\""
        if let count { line += ",\"count\":\(count)" }
        if let status { line += ",\"status\":\"\(status)\"" }
        line += ",\"thread\":\"\(thread)\",\"time_ns\":\(time),\"duration_ns\":\(duration)"
        if let tie { line += ",\"tie\":\"\(jsonEscaped(tie))\"" }
        if floating == true { line += ",\"floating\":true" }
        return line + "}"
    }
}

/// How a comparison of two traces of one program (`uvdemo compare --exec`)
/// treats a handle's events: set `Handle.traceOrder` where the program's
/// order is not defined, so that a difference there is not reported.
public enum TraceOrder: Sendable, Equatable {
    /// In order with the loop's other events (the default).
    case ordered
    /// Racing by design with the other events of this label (two timers
    /// due at once from different sources, jobs ending together): a run of
    /// them is compared as a set.
    case tied(String)
    /// Present on both sides, anywhere (a child's exit, whose moment is the
    /// kernel's).
    case unordered
}

/// `text` with JSON's special characters escaped.
func jsonEscaped(_ text: String) -> String {
    var result = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\t": result += "\\t"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result
}
