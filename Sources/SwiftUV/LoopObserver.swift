import CUV
import NativeLoop

#if canImport(Glibc)
import Glibc
#endif

/// What delivered a callback: a handle's type or a request's kind.
enum CallbackKind: Int, CaseIterable {
    case timer, idle, prepare, check, async, signal, tcp, pipe, udp, poll, tty, process, fsEvent, fsPoll
    case fs, work, getaddrinfo, getnameinfo

    init(_ type: HandleType) {
        switch type {
        case .timer: self = .timer
        case .idle: self = .idle
        case .prepare: self = .prepare
        case .check: self = .check
        case .async: self = .async
        case .signal: self = .signal
        case .tcp: self = .tcp
        case .pipe: self = .pipe
        case .udp: self = .udp
        case .poll: self = .poll
        case .tty: self = .tty
        case .process: self = .process
        case .fsEvent: self = .fsEvent
        case .fsPoll: self = .fsPoll
        case .file: self = .fs
        }
    }

    var name: String {
        switch self {
        case .timer: "timer"
        case .idle: "idle"
        case .prepare: "prepare"
        case .check: "check"
        case .async: "async"
        case .signal: "signal"
        case .tcp: "tcp"
        case .pipe: "pipe"
        case .udp: "udp"
        case .poll: "poll"
        case .tty: "tty"
        case .process: "process"
        case .fsEvent: "fsEvent"
        case .fsPoll: "fsPoll"
        case .fs: "fs"
        case .work: "work"
        case .getaddrinfo: "getaddrinfo"
        case .getnameinfo: "getnameinfo"
        }
    }
}

/// What a delivered callback was about.
enum CallbackEvent {
    case fired, eof, closed
    case change(Int32), ready(Int32)
    case read(Int), received(Int)
    case readError(Int32), write(Int32), connect(Int32), shutdown(Int32), connection(Int32)
    case receiveError(Int32), sent(Int32), done(Int32)
    case exit(Int64, Int32), signal(Int32)

    /// The event's name, count and status as a trace shows them.
    var parts: (name: String, count: Int?, status: String?) {
        func error(_ code: Int32) -> String? { code == 0 ? nil : UVError(code: code).name }
        switch self {
        case .fired: return ("fired", nil, nil)
        case .eof: return ("eof", nil, nil)
        case .closed: return ("closed", nil, nil)
        case .change(let code): return ("change", nil, error(code))
        case .ready(let code): return ("ready", nil, error(code))
        case .read(let n): return ("read", n, nil)
        case .received(let n): return ("received", n, nil)
        case .readError(let code): return ("read", nil, error(code))
        case .write(let code): return ("write", nil, error(code))
        case .connect(let code): return ("connect", nil, error(code))
        case .shutdown(let code): return ("shutdown", nil, error(code))
        case .connection(let code): return ("connection", nil, error(code))
        case .receiveError(let code): return ("received", nil, error(code))
        case .sent(let code): return ("sent", nil, error(code))
        case .done(let code): return ("done", nil, error(code))
        case .exit(let status, let signal): return ("exit", nil, signal != 0 ? "signal \(signal)" : "status \(status)")
        case .signal(let signum): return ("signal", nil, "signal \(signum)")
        }
    }
}

/// Watches one loop's callbacks while tracing or metrics are on: which
/// iteration and phase each ran in, and how long it took.
///
/// The phase comes from two internal watchers, which `walk` does not list
/// and which keep nothing alive: a prepare watcher (started first, so it
/// runs after the prepare watchers started later) marks the start of the
/// poll, and a check watcher marks its end. Timer, idle, prepare, check and
/// close callbacks have their own phase; an I/O callback is in the poll
/// between the two marks and in the pending phase before the first. The
/// same rule runs on both backends, so a native engine that ran a callback
/// in the wrong phase shows it in the trace.
final class LoopObserver {
    unowned(unsafe) let loop: Loop
    /// The trace's receiver, when tracing.
    @exclusivity(unchecked) var traceHandler: ((LoopEvent) -> Void)?
    /// The loop's number in this process's traces.
    @exclusivity(unchecked) var traceNumber = 0
    /// The file the trace goes to, when tracing to a file.
    @exclusivity(unchecked) var traceFile: TraceFile?
    /// The figures, when metrics are on.
    @exclusivity(unchecked) var metrics: MetricsRecorder?
    /// The mode of the `run` in progress.
    @exclusivity(unchecked) var mode = RunMode.default
    let start = uv_hrtime()

    // The phase machine.
    @exclusivity(unchecked) private(set) var iteration = 0
    @exclusivity(unchecked) private var afterPrepare = false
    @exclusivity(unchecked) private var afterCheck = false
    // The poll's blocked time: from the prepare mark to the first callback
    // of another phase, less the prepare callbacks run in between.
    @exclusivity(unchecked) private var pollOpenedAt: UInt64 = 0
    @exclusivity(unchecked) private var pollExcluded: UInt64 = 0
    // Events of callbacks that are still running, in start order, handed on
    // when the outermost one returns.
    @exclusivity(unchecked) private var open: [LoopEvent] = []
    @exclusivity(unchecked) private var depth = 0

    private enum Marks {
        case uv(prepare: UnsafeMutableRawPointer, check: UnsafeMutableRawPointer)
        case native(prepare: NativeWatcher, check: NativeWatcher)
    }
    @exclusivity(unchecked) private var marks: Marks?

    init(loop: Loop) throws(UVError) {
        self.loop = loop
        switch loop.core {
        case .uv(let l):
            // Each mark is a libuv handle followed by this observer's
            // address; `data` stays nil, which keeps it out of `walk`.
            let prepare = try Self.makeMark(uv_prepare_t.self, on: l, init: { uv_prepare_init($0, $1) })
            let check: UnsafeMutableRawPointer
            do {
                check = try Self.makeMark(uv_check_t.self, on: l, init: { uv_check_init($0, $1) })
            } catch {
                uv_close(prepare.assumingMemoryBound(to: uv_handle_t.self), Self.freeMark)
                throw error
            }
            let me = Unmanaged.passUnretained(self).toOpaque()
            prepare.storeBytes(of: me, toByteOffset: Self.observerOffset, as: UnsafeMutableRawPointer.self)
            check.storeBytes(of: me, toByteOffset: Self.observerOffset, as: UnsafeMutableRawPointer.self)
            uv_prepare_start(prepare.assumingMemoryBound(to: uv_prepare_t.self)) { h in
                LoopObserver.owner(of: UnsafeMutableRawPointer(h!))._withUnsafeGuaranteedRef { $0.preparePassed() }
            }
            uv_check_start(check.assumingMemoryBound(to: uv_check_t.self)) { h in
                LoopObserver.owner(of: UnsafeMutableRawPointer(h!))._withUnsafeGuaranteedRef { $0.checkPassed() }
            }
            uv_unref(prepare.assumingMemoryBound(to: uv_handle_t.self))
            uv_unref(check.assumingMemoryBound(to: uv_handle_t.self))
            marks = .uv(prepare: prepare, check: check)
        case .native(let l):
            let prepare = NativeWatcher(loop: l, kind: .prepare)
            let check = NativeWatcher(loop: l, kind: .check)
            prepare.start { [unowned(unsafe) self] in self.preparePassed() }
            check.start { [unowned(unsafe) self] in self.checkPassed() }
            prepare.unref()
            check.unref()
            marks = .native(prepare: prepare, check: check)
        }
    }

    private static let observerOffset = max(MemoryLayout<uv_prepare_t>.size, MemoryLayout<uv_check_t>.size)

    private static func makeMark<T>(_: T.Type, on loop: UnsafeMutablePointer<uv_loop_t>,
                                    init initialize: (UnsafeMutablePointer<uv_loop_t>, UnsafeMutablePointer<T>) -> Int32)
        throws(UVError) -> UnsafeMutableRawPointer {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: observerOffset + MemoryLayout<UnsafeMutableRawPointer>.size,
                                                   alignment: 16)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: observerOffset)
        let status = initialize(loop, raw.assumingMemoryBound(to: T.self))
        if status != 0 {
            raw.deallocate()
            throw UVError(code: status).with(context: "Loop tracing")
        }
        return raw
    }

    private static func owner(of mark: UnsafeMutableRawPointer) -> Unmanaged<LoopObserver> {
        Unmanaged<LoopObserver>.fromOpaque(mark.load(fromByteOffset: observerOffset, as: UnsafeMutableRawPointer.self))
    }

    private static let freeMark: uv_close_cb = { h in UnsafeMutableRawPointer(h)?.deallocate() }

    /// Closes the two marks; their close completes in the loop's next
    /// closing phase.
    func removeMarks() {
        switch marks {
        case .uv(let prepare, let check):
            uv_close(prepare.assumingMemoryBound(to: uv_handle_t.self), Self.freeMark)
            uv_close(check.assumingMemoryBound(to: uv_handle_t.self), Self.freeMark)
        case .native(let prepare, let check):
            prepare.close(nil)
            check.close(nil)
        case nil:
            break
        }
        marks = nil
    }

    // MARK: The phase machine

    /// `Loop.run` is starting: what comes next belongs to a new iteration.
    func runStarts(_ mode: RunMode) {
        self.mode = mode
        if afterPrepare || afterCheck { newIteration() }
    }

    private func newIteration() {
        afterPrepare = false
        afterCheck = false
    }

    private func preparePassed() {
        iteration += 1
        afterPrepare = true
        afterCheck = false
        pollOpenedAt = uv_hrtime()
        pollExcluded = 0
        metrics?.iterations += 1
    }

    private func checkPassed() {
        closePoll(at: uv_hrtime())
        afterCheck = true
    }

    private func closePoll(at now: UInt64) {
        guard pollOpenedAt != 0 else { return }
        let blocked = now &- pollOpenedAt &- pollExcluded
        if blocked < (1 << 62) { metrics?.pollBlocked &+= blocked }
        pollOpenedAt = 0
    }

    /// The phase and iteration of a callback of `kind` about `event` that
    /// is about to run.
    private func place(_ kind: CallbackKind, _ event: CallbackEvent) -> LoopPhase {
        if case .closed = event { return .closing }
        switch kind {
        case .timer:
            // After the check mark: the timers a `run(.once)` runs at its
            // end, or the next iteration's.
            if afterCheck && mode != .once { newIteration() }
            return .timers
        case .idle:
            if afterPrepare { newIteration() }
            return .idle
        case .prepare:
            if afterCheck { newIteration() }
            return .prepare
        case .check:
            return .check
        default:
            if afterCheck { newIteration() }
            return afterPrepare ? .poll : .pending
        }
    }

    // MARK: Delivering

    /// Runs `body`, a callback of the handle or request `id` of `kind`
    /// about `event`, and records it.
    func deliver(_ kind: CallbackKind, _ id: Int, _ event: CallbackEvent, order: TraceOrder = .ordered, _ body: () -> Void) {
        let phase = place(kind, event)
        let iterationNow = afterPrepare ? iteration : iteration + 1
        let began = uv_hrtime()
        if pollOpenedAt != 0 && phase != .prepare { closePoll(at: began) }
        var slot = -1
        if traceHandler != nil {
            let (name, count, status) = event.parts
            slot = open.count
            open.append(LoopEvent(loop: traceNumber, iteration: iterationNow, phase: phase, kind: kind.name, id: id,
                                  event: name, count: count, status: status, thread: "loop",
                                  time: began &- start, duration: 0))
            switch order {
            case .ordered: break
            case .tied(let label): open[slot].tie = label
            case .unordered: open[slot].floating = true
            }
        }
        depth += 1
        body()
        depth -= 1
        let took = uv_hrtime() &- began
        if pollOpenedAt != 0 && phase == .prepare { pollExcluded &+= took }
        if metrics != nil {
            metrics!.record(kind: kind, id: id, event: event, phase: phase, iteration: iterationNow, nanoseconds: took)
        }
        if slot >= 0 {
            open[slot].duration = took
            if depth == 0, let traceHandler {
                let events = open
                open.removeAll(keepingCapacity: true)
                for event in events { traceHandler(event) }
            }
        }
    }

    /// Records a work item's closure, which ran on a pool thread from
    /// `began` for `took` nanoseconds (reported at its completion).
    func poolRan(_ kind: CallbackKind, _ id: Int, began: UInt64, took: UInt64) {
        guard let traceHandler else { return }
        let event = LoopEvent(loop: traceNumber, iteration: afterPrepare ? iteration : iteration + 1, phase: nil,
                              kind: kind.name, id: id, event: "ran", thread: "pool",
                              time: began > start ? began - start : 0, duration: took)
        if depth == 0 { traceHandler(event) } else { open.append(event) }
    }

    /// How late a timer fired: `due` is the loop time (ms) it was due at.
    func timerFired(due: UInt64) {
        guard metrics != nil else { return }
        let dueNanoseconds = due &* 1_000_000
        let now = uv_hrtime()
        metrics!.recordDelay(now > dueNanoseconds ? now - dueNanoseconds : 0)
    }
}

extension Loop {
    /// Runs `body`, a callback, recording it while tracing or metrics are on.
    @inline(__always)
    func deliver(_ kind: @autoclosure () -> CallbackKind, _ id: Int, _ event: @autoclosure () -> CallbackEvent,
                 _ body: () -> Void) {
        // Off, a nil test and nothing else: no reference taken, no call.
        if _slowPath(observer != nil) { deliverObserved(kind(), id, event(), .ordered, body) } else { body() }
    }

    /// The observed path of `deliver`, out of line.
    @inline(never)
    func deliverObserved(_ kind: CallbackKind, _ id: Int, _ event: CallbackEvent, _ order: TraceOrder, _ body: () -> Void) {
        guard let observer else { return body() }
        // The loop holds the observer for as long as it runs callbacks.
        Unmanaged.passUnretained(observer)._withUnsafeGuaranteedRef { $0.deliver(kind, id, event, order: order, body) }
    }

    /// The next id of a handle or request on this loop.
    func takeObjectID() -> Int {
        objectCount += 1
        return objectCount
    }

    /// The observer, made when tracing or metrics first need it.
    func ensureObserver() throws(UVError) -> LoopObserver {
        if let observer { return observer }
        let made = try LoopObserver(loop: self)
        observer = made
        return made
    }

    /// Drops the observer once neither tracing nor metrics use it.
    func dropObserverIfUnused() {
        guard let observer, observer.traceHandler == nil, observer.metrics == nil else { return }
        observer.removeMarks()
        self.observer = nil
    }
}

extension Handle {
    /// Whether the loop is traced or measured: the hot callbacks test this
    /// first, so that their unobserved path is the plain call.
    @inline(__always)
    var isObserved: Bool { loop.observer != nil }

    /// Runs `body`, this handle's callback about `event`, recording it
    /// while the loop is traced or measured.
    @inline(__always)
    func deliver(_ event: @autoclosure () -> CallbackEvent, _ body: () -> Void) {
        if _slowPath(loop.observer != nil) {
            loop.deliverObserved(CallbackKind(type), objectID, event(), traceOrder, body)
        } else {
            body()
        }
    }
}
