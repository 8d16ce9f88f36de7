/// Two traces of one program, one per backend, set against each other.
///
/// What must match, and what is left to chance:
/// - the loop thread's events, in order. Within a run of consecutive events
///   with the same tie label (they race by design: two pool jobs that end at
///   the same moment) only the set is compared;
/// - floating events (a computation's answer, a child's exit): present on
///   both, anywhere;
/// - pool threads' events: the same set; which pool thread ran a job and how
///   its lines fall against the loop thread's is the OS scheduler's choice;
/// - a named helper thread's events: in order.
/// Times are not part of the verdict; the largest gap is reported.
public struct Comparison {
    public struct Row {
        public let left: TraceEvent?
        public let right: TraceEvent?
    }

    public let leftName: String
    public let rightName: String
    /// Both traces aligned event by event (a row with one side empty is an
    /// event the other side does not have at that place).
    public let rows: [Row]
    /// Each difference, in words; empty when the runs agree.
    public internal(set) var differences: [String]
    /// What the verdict allowed for (ties that came out in another order).
    public let notes: [String]
    /// The largest difference in time between the same loop-thread event.
    public let largestGap: (milliseconds: Double, message: String)?

    public var same: Bool { differences.isEmpty }

    public init(_ left: [TraceEvent], _ right: [TraceEvent]) {
        leftName = left.first?.backend ?? "left"
        rightName = right.first?.backend ?? "right"
        rows = align(left, right) { $0.displayKey == $1.displayKey }.map { Row(left: $0.map { left[$0] }, right: $1.map { right[$0] }) }

        var differences: [String] = []
        var notes: [String] = []
        let (l, r) = (leftName, rightName)

        // The loop thread, in order, ties canonicalised.
        let leftLoop = left.filter { $0.onLoopThread && !$0.isFloating }
        let rightLoop = right.filter { $0.onLoopThread && !$0.isFloating }
        let leftCanon = canonical(leftLoop)
        let rightCanon = canonical(rightLoop)
        let pairs = align(leftCanon, rightCanon) { $0 == $1 }
        var unmatchedLeft: [String] = []
        var unmatchedRight: [String] = []
        for (i, j) in pairs {
            if let i, j == nil { unmatchedLeft.append(leftCanon[i]) }
            if let j, i == nil { unmatchedRight.append(rightCanon[j]) }
        }
        for message in unmatchedLeft {
            if let k = unmatchedRight.firstIndex(of: message) {
                unmatchedRight.remove(at: k)
                differences.append("\"\(message)\" comes at another place in the loop thread's order on \(l) than on \(r)")
            } else {
                differences.append("only \(l)'s loop thread prints \"\(message)\"")
            }
        }
        for message in unmatchedRight { differences.append("only \(r)'s loop thread prints \"\(message)\"") }
        for tie in reorderedTies(leftLoop, rightLoop) {
            notes.append("the events tied as \"\(tie)\" came in another order (their order is not defined; not a difference)")
        }

        // Floating events and pool threads: the same sets.
        differences += setDifferences(left.filter(\.isFloating), right.filter(\.isFloating), l, r, what: "floating event")
        differences += setDifferences(left.filter { $0.onPoolThread && !$0.isFloating },
                                      right.filter { $0.onPoolThread && !$0.isFloating }, l, r, what: "pool thread event")

        // Named helper threads, each in order.
        let helpers = Set((left + right).filter { !$0.onLoopThread && !$0.onPoolThread }.map(\.thread)).sorted()
        for thread in helpers {
            let a = left.filter { $0.thread == thread && !$0.isFloating }.map(\.message)
            let b = right.filter { $0.thread == thread && !$0.isFloating }.map(\.message)
            if a != b {
                differences.append("thread \(thread) printed \(a.count) events on \(l) and \(b.count) on \(r), not the same sequence")
            }
        }

        // Timing, for information.
        var gap: (Double, String)?
        let timed = align(leftLoop, rightLoop) { $0.message == $1.message }
        for case let (i?, j?) in timed {
            let d = abs(leftLoop[i].time - rightLoop[j].time)
            if d > (gap?.0 ?? -1) { gap = (d, leftLoop[i].message) }
        }
        largestGap = gap.map { (milliseconds: $0.0, message: $0.1) }
        self.differences = differences
        self.notes = notes
    }
}

extension TraceEvent {
    /// What rows are aligned on: the thread's kind and the message.
    var displayKey: String {
        (onLoopThread ? "main" : onPoolThread ? "pool" : thread) + "\u{0}" + message
    }
}

/// The loop thread's messages with each run of a tie sorted.
private func canonical(_ events: [TraceEvent]) -> [String] {
    var result: [String] = []
    var index = 0
    while index < events.count {
        guard let tie = events[index].tie else {
            result.append(events[index].message)
            index += 1
            continue
        }
        var end = index
        while end < events.count && events[end].tie == tie { end += 1 }
        result += events[index..<end].map(\.message).sorted()
        index = end
    }
    return result
}

/// The tie labels whose runs came out in a different order on each side.
private func reorderedTies(_ left: [TraceEvent], _ right: [TraceEvent]) -> [String] {
    func runs(_ events: [TraceEvent]) -> [String: [[String]]] {
        var result: [String: [[String]]] = [:]
        var previous: String?
        for event in events {
            if let tie = event.tie {
                if tie == previous { result[tie]![result[tie]!.count - 1].append(event.message) } else { result[tie, default: []].append([event.message]) }
            }
            previous = event.tie
        }
        return result
    }
    let (a, b) = (runs(left), runs(right))
    return a.keys.sorted().filter { key in
        guard let other = b[key] else { return false }
        return a[key]! != other && a[key]!.map { $0.sorted() } == other.map { $0.sorted() }
    }
}

private func setDifferences(_ left: [TraceEvent], _ right: [TraceEvent], _ l: String, _ r: String, what: String) -> [String] {
    var counts: [String: Int] = [:]
    for e in left { counts[e.message, default: 0] += 1 }
    for e in right { counts[e.message, default: 0] -= 1 }
    return counts.keys.sorted().compactMap { message in
        let n = counts[message]!
        if n > 0 { return "\(l) has \(n) more \(what)\(n > 1 ? "s" : "") \"\(message)\" than \(r)" }
        if n < 0 { return "\(r) has \(-n) more \(what)\(n < -1 ? "s" : "") \"\(message)\" than \(l)" }
        return nil
    }
}

/// A longest-common-subsequence alignment: pairs of indices, one side nil
/// where the other side has an event of its own.
func align<T>(_ a: [T], _ b: [T], _ equal: (T, T) -> Bool) -> [(Int?, Int?)] {
    let n = a.count, m = b.count
    var length = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
    for i in stride(from: n - 1, through: 0, by: -1) {
        for j in stride(from: m - 1, through: 0, by: -1) {
            length[i][j] = equal(a[i], b[j]) ? length[i + 1][j + 1] + 1 : max(length[i + 1][j], length[i][j + 1])
        }
    }
    var result: [(Int?, Int?)] = []
    var i = 0, j = 0
    while i < n || j < m {
        if i < n && j < m && equal(a[i], b[j]) {
            result.append((i, j)); i += 1; j += 1
        } else if j >= m || (i < n && length[i + 1][j] >= length[i][j + 1]) {
            result.append((i, nil)); i += 1
        } else {
            result.append((nil, j)); j += 1
        }
    }
    return result
}
