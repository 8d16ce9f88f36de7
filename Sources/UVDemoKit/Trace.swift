import Foundation
import SwiftUV

#if canImport(Glibc)
import Glibc
#endif

/// One line a demo program printed: when (milliseconds since the program
/// started), on which backend, on which thread, and what.
public struct TraceEvent: Codable, Sendable, Equatable {
    /// Milliseconds since the start of the program, from the monotonic clock.
    public var time: Double
    public var backend: String
    /// `main` (the loop's thread), `pool0`... (thread-pool threads, numbered
    /// in the order they first print), or a name the program gave a thread.
    public var thread: String
    public var message: String
    /// Events with the same tie label race by design (two pool jobs that end
    /// at the same moment, a timer due then too): in a run of them their
    /// order is the scheduler's, not the loop's, and is not compared.
    public var tie: String?
    /// The event's place depends on CPU speed or the kernel (a computation's
    /// length, when a child's exit is reported): it must happen on both
    /// backends, but its position is not compared.
    public var floating: Bool?
    /// `begin` and `end` bracket a task on a thread (drawn as a bar on the
    /// timeline); nil for a single moment.
    public var span: String?

    enum CodingKeys: String, CodingKey {
        case time = "time_ms", backend, thread, message, tie, floating, span
    }

    public init(time: Double, backend: String, thread: String, message: String,
                tie: String? = nil, floating: Bool? = nil, span: String? = nil) {
        self.time = time
        self.backend = backend
        self.thread = thread
        self.message = message
        self.tie = tie
        self.floating = floating
        self.span = span
    }

    /// The loop's own thread, as opposed to pool threads and helper threads.
    public var onLoopThread: Bool { thread == "main" }
    /// A thread-pool thread.
    public var onPoolThread: Bool { thread.hasPrefix("pool") }
    public var isFloating: Bool { floating ?? false }

    /// The book's print format: `Thread: <name>\t <message>`.
    public var bookLine: String { "Thread: \(thread)\t \(message)" }
}

/// Collects the events of one run from every thread that prints.
///
/// Thread-safe: pool threads and helper threads log as the loop's thread
/// does. Threads are named on first sight: the thread that made the trace is
/// `main`, a thread that called `name(_:)` has that name, any other is a pool
/// thread, `pool0`, `pool1`... in the order they first print.
public final class Trace: @unchecked Sendable {
    public let backend: Backend
    private let start = System.highResolutionTime
    private let lock = NSLock()
    private var recorded: [TraceEvent] = []
    private var names: [pthread_t: String] = [:]
    private var poolThreads = 0
    private let live: (@Sendable (TraceEvent) -> Void)?

    /// `live` sees each event as it is logged, under the trace's lock (so
    /// lines from several threads come out whole and in order).
    public init(backend: Backend, live: (@Sendable (TraceEvent) -> Void)? = nil) {
        self.backend = backend
        self.live = live
        names[pthread_self()] = "main"
    }

    /// Names the calling thread in this trace (a helper thread of the program).
    public func name(_ name: String) {
        lock.lock()
        names[pthread_self()] = name
        lock.unlock()
    }

    /// Records an event on the calling thread.
    public func log(_ message: String, tie: String? = nil, floating: Bool = false, span: String? = nil) {
        lock.lock()
        defer { lock.unlock() }
        // Read under the lock, so that the order of events is their time order.
        let time = Double(System.highResolutionTime - start) / 1_000_000
        let me = pthread_self()
        let thread: String
        if let known = names[me] {
            thread = known
        } else {
            thread = "pool\(poolThreads)"
            poolThreads += 1
            names[me] = thread
        }
        let event = TraceEvent(time: time, backend: backend.rawValue, thread: thread, message: message,
                               tie: tie, floating: floating ? true : nil, span: span)
        recorded.append(event)
        live?(event)
    }

    /// Everything logged so far, in the order it was logged.
    public var events: [TraceEvent] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }
}
