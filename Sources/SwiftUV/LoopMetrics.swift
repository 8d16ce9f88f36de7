/// What a loop has done since `Loop.startMetrics()`: what Node gives with
/// `monitorEventLoopDelay` and `uv_metrics_idle_time`, on both backends.
///
/// Read it with `Loop.metrics` at any time, from the loop's thread.
public struct LoopMetrics: Sendable {
    /// Loop iterations.
    public var iterations: Int
    /// Time spent in callbacks, per phase.
    public var phaseTime: [LoopPhase: Duration]
    /// Time the loop spent in the poll between callbacks: blocked waiting
    /// for events (with the backend's own work of gathering them).
    public var pollBlockedTime: Duration
    /// Callbacks delivered, per handle type or request kind (`timer`,
    /// `tcp`, `fs`, `work`...).
    public var callbacks: [String: Int]
    /// The slowest callbacks, slowest first (at most `slowestKept`): a
    /// callback that blocks the loop delays everything else on it.
    public var slowestCallbacks: [SlowCallback]
    /// How late timers fired: from the loop time a timer was due to the
    /// moment its callback started.
    public var timerDelay: DelaySummary

    /// How many slow callbacks `slowestCallbacks` keeps.
    public static let slowestKept = 10

    /// One slow callback and its handle or request.
    public struct SlowCallback: Sendable, Equatable {
        /// The handle's type or the request's kind.
        public var kind: String
        /// The handle or request, as `LoopEvent.id` names it.
        public var id: Int
        /// What the callback was about, as `LoopEvent.event`.
        public var event: String
        /// The phase it ran in.
        public var phase: LoopPhase
        /// The iteration it ran in.
        public var iteration: Int
        /// How long it ran.
        public var duration: Duration
    }

    /// Percentiles of the timer delays seen (from a uniform sample of at
    /// most 8,192 of them), and the exact largest.
    public struct DelaySummary: Sendable, Equatable {
        /// Timer callbacks measured.
        public var count: Int
        /// The median delay.
        public var p50: Duration
        /// The 99th percentile.
        public var p99: Duration
        /// The largest delay.
        public var max: Duration
    }
}

/// The running figures behind `LoopMetrics`; loop thread only. A value
/// kept inside the observer, so that recording takes no reference.
struct MetricsRecorder {
    var iterations = 0
    var pollBlocked: UInt64 = 0
    private var phaseNanoseconds = [UInt64](repeating: 0, count: LoopPhase.allCases.count)
    private var callbackCounts = [Int](repeating: 0, count: CallbackKind.allCases.count)
    private var slowest: [(kind: CallbackKind, id: Int, event: CallbackEvent, phase: LoopPhase,
                                                    iteration: Int, nanoseconds: UInt64)] = []
    /// The shortest duration in `slowest` once it is full.
    private var slowestFloor: UInt64 = 0
    private var delays: [UInt64] = []
    private var delayCount = 0
    private var delayMax: UInt64 = 0
    private var random: UInt64 = 0x9E37_79B9_7F4A_7C15

    private static let sampleSize = 8192

    init() {
        delays.reserveCapacity(Self.sampleSize)
        slowest.reserveCapacity(LoopMetrics.slowestKept + 1)
    }

    @inline(__always)
    mutating func record(kind: CallbackKind, id: Int, event: CallbackEvent, phase: LoopPhase, iteration: Int, nanoseconds: UInt64) {
        phaseNanoseconds[phase.order] &+= nanoseconds
        callbackCounts[kind.rawValue] &+= 1
        if slowest.count < LoopMetrics.slowestKept || nanoseconds > slowestFloor {
            keepSlow((kind, id, event, phase, iteration, nanoseconds))
        }
    }

    private mutating func keepSlow(_ entry: (kind: CallbackKind, id: Int, event: CallbackEvent, phase: LoopPhase,
                                    iteration: Int, nanoseconds: UInt64)) {
        let index = slowest.firstIndex { $0.nanoseconds < entry.nanoseconds } ?? slowest.count
        slowest.insert(entry, at: index)
        if slowest.count > LoopMetrics.slowestKept { slowest.removeLast() }
        if slowest.count == LoopMetrics.slowestKept { slowestFloor = slowest.last!.nanoseconds }
    }

    mutating func recordDelay(_ nanoseconds: UInt64) {
        delayCount += 1
        if nanoseconds > delayMax { delayMax = nanoseconds }
        if delays.count < Self.sampleSize {
            delays.append(nanoseconds)
        } else {
            // Reservoir sampling: each delay seen stays with equal chance.
            random ^= random << 13
            random ^= random >> 7
            random ^= random << 17
            let slot = Int(random % UInt64(delayCount))
            if slot < Self.sampleSize { delays[slot] = nanoseconds }
        }
    }

    var snapshot: LoopMetrics {
        var phases: [LoopPhase: Duration] = [:]
        for phase in LoopPhase.allCases { phases[phase] = .nanoseconds(Int64(phaseNanoseconds[phase.order])) }
        var counts: [String: Int] = [:]
        for kind in CallbackKind.allCases where callbackCounts[kind.rawValue] > 0 {
            counts[kind.name] = callbackCounts[kind.rawValue]
        }
        let sorted = delays.sorted()
        func percentile(_ p: Double) -> Duration {
            guard !sorted.isEmpty else { return .zero }
            let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
            return .nanoseconds(Int64(sorted[min(max(rank, 0), sorted.count - 1)]))
        }
        return LoopMetrics(
            iterations: iterations,
            phaseTime: phases,
            pollBlockedTime: .nanoseconds(Int64(pollBlocked)),
            callbacks: counts,
            slowestCallbacks: slowest.map {
                LoopMetrics.SlowCallback(kind: $0.kind.name, id: $0.id, event: $0.event.parts.name, phase: $0.phase,
                                         iteration: $0.iteration, duration: .nanoseconds(Int64($0.nanoseconds)))
            },
            timerDelay: .init(count: delayCount, p50: percentile(0.5), p99: percentile(0.99),
                              max: .nanoseconds(Int64(delayMax))))
    }
}

extension LoopMetrics: Decodable {
    private enum Keys: String, CodingKey {
        case iterations, callbacks, slowest
        case pollBlocked = "poll_blocked_ns", phases = "phase_ns", delay = "timer_delay_ns"
    }
    private enum SlowKeys: String, CodingKey { case kind, id, event, phase, iteration, duration = "duration_ns" }
    private enum DelayKeys: String, CodingKey { case count, p50, p99, max }

    /// Reads the metrics object of a trace file's metrics line (see
    /// `Loop.startTracing(toFile:)`).
    public init(from decoder: any Decoder) throws {
        func ns(_ value: Int64) -> Duration { .nanoseconds(value) }
        let c = try decoder.container(keyedBy: Keys.self)
        iterations = try c.decode(Int.self, forKey: .iterations)
        pollBlockedTime = ns(try c.decode(Int64.self, forKey: .pollBlocked))
        let phases = try c.decode([String: Int64].self, forKey: .phases)
        phaseTime = [:]
        for phase in LoopPhase.allCases { phaseTime[phase] = ns(phases[phase.rawValue] ?? 0) }
        callbacks = try c.decode([String: Int].self, forKey: .callbacks)
        let d = try c.nestedContainer(keyedBy: DelayKeys.self, forKey: .delay)
        timerDelay = DelaySummary(count: try d.decode(Int.self, forKey: .count), p50: ns(try d.decode(Int64.self, forKey: .p50)),
                                  p99: ns(try d.decode(Int64.self, forKey: .p99)), max: ns(try d.decode(Int64.self, forKey: .max)))
        var list = try c.nestedUnkeyedContainer(forKey: .slowest)
        slowestCallbacks = []
        while !list.isAtEnd {
            let s = try list.nestedContainer(keyedBy: SlowKeys.self)
            slowestCallbacks.append(SlowCallback(kind: try s.decode(String.self, forKey: .kind), id: try s.decode(Int.self, forKey: .id),
                                                 event: try s.decode(String.self, forKey: .event),
                                                 phase: try s.decode(LoopPhase.self, forKey: .phase),
                                                 iteration: try s.decode(Int.self, forKey: .iteration),
                                                 duration: ns(try s.decode(Int64.self, forKey: .duration))))
        }
    }
}
