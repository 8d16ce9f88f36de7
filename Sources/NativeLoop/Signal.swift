#if canImport(Glibc)
import Glibc
#endif
import CNativeSystem
import Synchronization

/// A signal handle (`uv_signal_t`). A process-wide handler writes one record
/// per watching handle into its loop's signal pipe (the loop's child watcher
/// among them); the loop dispatches them in order after every other I/O
/// callback of the poll phase.
package final class NativeSignal: NativeHandle {
    @exclusivity(unchecked)
    private var callback: ((Int32) -> Void)?
    /// `uv_signal_t.signum`: 0 when stopped.
    @exclusivity(unchecked)
    package private(set) var signum: Int32 = 0
    /// Sticky once set, as libuv's `UV_SIGNAL_ONE_SHOT` flag.
    @exclusivity(unchecked)
    private var oneShot = false
    fileprivate let token: UInt32
    /// Written by the signal handler, read on the loop thread.
    fileprivate let caught = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    @exclusivity(unchecked)
    fileprivate var dispatched = 0

    package init(loop: NativeEventLoop) {
        loop.signalTokenCounter &+= 1
        token = loop.signalTokenCounter
        caught.initialize(to: 0)
        super.init(loop: loop, kind: .signal)
        loop.signalHandles[token] = self
    }

    deinit { caught.deallocate() }

    /// `uv_signal_start` / `uv_signal_start_oneshot`. As in libuv, only
    /// signal 0 is refused before an active watcher is stopped; any other
    /// invalid signal fails in `sigaction` and leaves the watcher stopped.
    package func start(signum newSignum: Int32, oneShot newOneShot: Bool, callback: @escaping (Int32) -> Void) throws(NativeError) {
        if newSignum == 0 { throw .invalidArgument }
        if newSignum == signum {
            self.callback = callback
            return
        }
        if signum != 0 { stop() }
        let entry = SignalRegistry.Slot(
            signum: newSignum, oneShot: oneShot || newOneShot,
            loopKey: UInt(bitPattern: ObjectIdentifier(loop)),
            handleKey: UInt(bitPattern: ObjectIdentifier(self)),
            fd: loop.signalWriteFD, token: token, caught: caught)
        guard SignalRegistry.add(entry, startedOneShot: newOneShot) else { throw .invalidArgument }
        signum = newSignum
        if newOneShot { oneShot = true }
        self.callback = callback
        markActive()
    }

    /// Whether the watcher stops after a delivery (sticky once set, as
    /// libuv's `UV_SIGNAL_ONE_SHOT`).
    package var isOneShot: Bool { oneShot }

    /// `uv_signal_stop`.
    package func stop() {
        if signum == 0 { return }
        SignalRegistry.remove(token: token, fd: loop.signalWriteFD, removedOneShot: oneShot)
        signum = 0
        markInactive()
    }

    override func willClose() { stop() }

    override func readyToFinishClose() -> Bool { cnative_counter_load(caught) <= dispatched }

    override func didClose() {
        loop.signalHandles[token] = nil
        callback = nil
    }

    fileprivate func deliver(_ signo: Int32) {
        if signo == signum { callback?(signum) }
        dispatched += 1
        if oneShot { stop() }
    }
}

extension NativeEventLoop {
    /// libuv's `uv__signal_event`: reads the (signum, token) records the
    /// handler wrote and dispatches them in order. A record of the child
    /// watcher (token 0) runs `uv__chld` there and then: the children that
    /// have exited are reaped and their exit callbacks run between the
    /// callbacks of the records before and after it. That reap also covers
    /// the children whose pidfds were ready in this poll.
    func signalsReceived() {
        let recordSize = 8
        var buffer = [Int32](repeating: 0, count: 64)
        var carry = 0
        while true {
            let r = buffer.withUnsafeMutableBytes { raw in
                read(signalReadFD, raw.baseAddress! + carry, raw.count - carry)
            }
            if r == -1 {
                if errno == EINTR { continue }
                if carry > 0 { continue }  // a partial record: the rest is coming
                return
            }
            if r == 0 { return }
            let bytes = carry + r
            let records = bytes / recordSize
            for i in 0..<records {
                let signo = buffer[2 * i]
                let token = UInt32(bitPattern: buffer[2 * i + 1])
                if token == 0 {
                    childrenExited = false
                    reapChildren()
                } else {
                    signalHandles[token]?.deliver(signo)
                }
            }
            carry = bytes - records * recordSize
            if carry > 0 {
                buffer.withUnsafeMutableBytes { raw in
                    raw.baseAddress!.copyMemory(from: raw.baseAddress! + records * recordSize, byteCount: carry)
                }
                continue
            }
            if bytes < buffer.count * 4 { return }
        }
    }
}

/// The process-wide table the signal handler reads: a compact array of
/// slots kept in libuv's order (signal, normal before one-shot, loop, handle),
/// guarded by the lock of CNativeSystem's handler (a pipe holding one token,
/// which a handler can take safely). Threads that change the table block
/// every signal while they hold the lock, so the handler never waits on its
/// own thread. `dispatch` neither allocates nor calls into the Swift runtime.
///
/// Unlike libuv, which replaces whatever handler a signal had and sets the
/// default action back when its last watcher goes, the native backend keeps
/// the handler it replaced (libuv's, when both backends run in one process)
/// and calls it after its own, and puts it back when its last watcher goes.
/// libuv does not do the same for us, so SwiftUV calls `reassert` after each
/// libuv call that may set a handler (signal start and stop, spawn, closing
/// a process or signal handle).
package enum SignalRegistry {
    struct Slot {
        var signum: Int32
        /// Sticky, as libuv's `UV_SIGNAL_ONE_SHOT` flag.
        var oneShot: Bool
        var loopKey: UInt
        var handleKey: UInt
        var fd: Int32
        var token: UInt32
        var caught: UnsafeMutablePointer<Int>

        func precedes(_ other: Slot) -> Bool {
            if signum != other.signum { return signum < other.signum }
            if oneShot != other.oneShot { return !oneShot }
            if loopKey != other.loopKey { return loopKey < other.loopKey }
            return handleKey < other.handleKey
        }
    }

    // Read by the handler under the lock; changed only under the lock.
    nonisolated(unsafe) static var slots = UnsafeMutablePointer<Slot>.allocate(capacity: 64)
    nonisolated(unsafe) static var capacity = 64
    nonisolated(unsafe) static var count = 0
    /// `count`, readable without the lock: lets `reassert` skip the lock
    /// (and the lock's creation) in a process with no native watcher.
    static let watching = Atomic<Int>(0)

    /// Creates the handler's lock once; the first loop does it at init, as libuv's does.
    private static let prepared: Bool = {
        cnative_signals_prepare(dispatch)
        return true
    }()

    static func prepare() { _ = prepared }

    private static func withTableLocked<R>(_ body: () -> R) -> R {
        prepare()
        var all = sigset_t()
        var saved = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_SETMASK, &all, &saved)
        _ = cnative_signals_lock()
        defer {
            watching.store(count, ordering: .releasing)
            cnative_signals_unlock()
            pthread_sigmask(SIG_SETMASK, &saved, nil)
        }
        return body()
    }

    /// Called by the C handler with the lock held: one record per watcher.
    private static let dispatch: @convention(c) (Int32) -> Void = { signo in
        var record: (Int32, Int32) = (signo, 0)
        for i in 0..<SignalRegistry.count {
            let slot = SignalRegistry.slots[i]
            guard slot.signum == signo else { continue }
            record.1 = Int32(bitPattern: slot.token)
            var r: Int
            repeat {
                r = write(slot.fd, &record, 8)
            } while r == -1 && errno == EINTR
            if r == 8 { cnative_counter_increment(slot.caught) }
        }
    }

    /// Whether any native watcher watches a signal.
    package static var isWatching: Bool { watching.load(ordering: .acquiring) != 0 }

    /// Installs the native handler again in front of any handler another
    /// library (libuv) set since for a signal native watchers still watch.
    /// Cheap when nothing native watches a signal.
    package static func reassert() {
        if !isWatching { return }
        withTableLocked {
            var i = 0
            while i < count {
                let head = slots[i]
                _ = cnative_signals_reassert(head.signum, head.oneShot ? 1 : 0)
                while i < count && slots[i].signum == head.signum { i += 1 }
            }
        }
    }

    /// The first slot watching `signum`: a normal one if there is any.
    private static func first(_ signum: Int32) -> Slot? {
        for i in 0..<count where slots[i].signum == signum { return slots[i] }
        return nil
    }

    private static func register(_ signum: Int32, oneShot: Bool) -> Bool {
        cnative_signals_install(signum, oneShot ? 1 : 0) == 0
    }

    /// Adds a watcher. Like libuv, installs the handler when the signal had
    /// none, or when a normal start joins watchers that are all one-shot
    /// (whose handler resets on delivery). False if `sigaction` refuses.
    static func add(_ entry: Slot, startedOneShot: Bool) -> Bool {
        withTableLocked {
            let head = first(entry.signum)
            if head == nil || (!startedOneShot && head!.oneShot) {
                if !register(entry.signum, oneShot: startedOneShot) { return false }
            }
            if count == capacity {
                let bigger = UnsafeMutablePointer<Slot>.allocate(capacity: capacity * 2)
                bigger.moveInitialize(from: slots, count: count)
                slots.deallocate()
                slots = bigger
                capacity *= 2
            }
            var i = count
            while i > 0 && entry.precedes(slots[i - 1]) {
                (slots + i).moveInitialize(from: slots + i - 1, count: 1)
                i -= 1
            }
            (slots + i).initialize(to: entry)
            count += 1
            return true
        }
    }

    /// Removes a watcher. When it was the last, puts back the handler ours
    /// replaced, or the default action as libuv does; switches to the
    /// resetting handler when a normal watcher leaves only one-shot ones.
    static func remove(token: UInt32, fd: Int32, removedOneShot: Bool) {
        withTableLocked {
            guard let i = (0..<count).first(where: { slots[$0].token == token && slots[$0].fd == fd }) else { return }
            let signum = slots[i].signum
            removeSlot(at: i)
            if let head = first(signum) {
                if head.oneShot && !removedOneShot { _ = register(signum, oneShot: true) }
            } else {
                _ = cnative_signals_restore(signum)
            }
        }
    }

    private static func removeSlot(at i: Int) {
        (slots + i).deinitialize(count: 1)
        if i < count - 1 {
            (slots + i).moveInitialize(from: slots + i + 1, count: count - i - 1)
        }
        count -= 1
    }

    /// Drops every slot of a loop that is going away.
    static func forget(loop: NativeEventLoop) {
        let fd = loop.signalWriteFD
        withTableLocked {
            var i = 0
            while i < count {
                if slots[i].fd == fd {
                    let signum = slots[i].signum
                    removeSlot(at: i)
                    if first(signum) == nil { _ = cnative_signals_restore(signum) }
                } else {
                    i += 1
                }
            }
        }
    }
}
