#if canImport(Glibc)
import Glibc
#endif
import CNativeSystem

/// A signal handle (`uv_signal_t`). A process-wide handler writes one record
/// per watching handle into its loop's signal pipe; the loop dispatches them
/// after every other I/O callback of the poll phase.
package final class NativeSignal: NativeHandle {
    private var callback: ((Int32) -> Void)?
    /// `uv_signal_t.signum`: 0 when stopped.
    package private(set) var signum: Int32 = 0
    /// Sticky once set, as libuv's `UV_SIGNAL_ONE_SHOT` flag.
    private var oneShot = false
    fileprivate let token: UInt32
    /// Written by the signal handler, read on the loop thread.
    fileprivate let caught = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    fileprivate var dispatched = 0

    package init(loop: NativeEventLoop) {
        loop.signalTokenCounter &+= 1
        token = loop.signalTokenCounter
        caught.initialize(to: 0)
        super.init(loop: loop, kind: .signal)
        loop.signalHandles[token] = self
    }

    deinit { caught.deallocate() }

    /// `uv_signal_start` / `uv_signal_start_oneshot`.
    package func start(signum newSignum: Int32, oneShot newOneShot: Bool, callback: @escaping (Int32) -> Void) throws(NativeError) {
        if newSignum <= 0 || newSignum >= 65 { throw .invalidArgument }
        if newSignum == signum {
            self.callback = callback
            return
        }
        if signum != 0 { stop() }
        let installed = SignalRegistry.add(signum: newSignum, fd: loop.signalWriteFD, token: token,
                                           oneShot: newOneShot, caught: caught)
        guard installed else { throw .invalidArgument }
        signum = newSignum
        if newOneShot { oneShot = true }
        self.callback = callback
        markActive()
    }

    /// `uv_signal_stop`.
    package func stop() {
        if signum == 0 { return }
        SignalRegistry.remove(token: token, fd: loop.signalWriteFD)
        signum = 0
        markInactive()
    }

    override func willClose() { stop() }

    override func readyToFinishClose() -> Bool { caught.pointee <= dispatched }

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
    /// Reads the (signum, token) records the handler wrote and dispatches them.
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
                signalHandles[token]?.deliver(signo)
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

/// The process-wide table the signal handler reads: a fixed array of slots
/// (no allocation, no Swift runtime calls in the handler) guarded by a lock
/// made of a pipe holding one token, which the handler can take safely.
/// Threads that change the table block every signal while they hold it.
enum SignalRegistry {
    struct Slot {
        var signum: Int32
        var fd: Int32
        var token: UInt32
        var oneShot: Bool
        var caught: UnsafeMutablePointer<Int>?
    }

    static let capacity = 512

    nonisolated(unsafe) static let slots: UnsafeMutablePointer<Slot> = {
        let p = UnsafeMutablePointer<Slot>.allocate(capacity: capacity)
        p.initialize(repeating: Slot(signum: 0, fd: -1, token: 0, oneShot: false, caught: nil), count: capacity)
        return p
    }()

    /// The lock pipe: [read, write], blocking, holding one byte when free.
    nonisolated(unsafe) static let lockPipe: UnsafeMutablePointer<Int32> = {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: 2)
        guard pipe(p) == 0 else { fatalError("signal lock pipe: errno \(errno)") }
        _ = fcntl(p[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(p[1], F_SETFD, FD_CLOEXEC)
        var token: UInt8 = 0
        _ = write(p[1], &token, 1)
        return p
    }()

    /// Which signals have our handler installed, and whether it resets on delivery.
    nonisolated(unsafe) static var installed = [Int8](repeating: 0, count: 65)  // 0 none, 1 normal, 2 one-shot

    static func lockFromHandler() -> Bool {
        var token: UInt8 = 0
        while true {
            let r = read(lockPipe[0], &token, 1)
            if r == 1 { return true }
            if r == -1 && errno == EINTR { continue }
            return false
        }
    }

    static func unlock() {
        var token: UInt8 = 0
        while write(lockPipe[1], &token, 1) == -1 && errno == EINTR {}
    }

    private static func blockAndLock() -> sigset_t {
        var all = sigset_t()
        var saved = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_SETMASK, &all, &saved)
        _ = lockFromHandler()
        return saved
    }

    private static func unlockAndUnblock(_ saved: sigset_t) {
        unlock()
        var mask = saved
        pthread_sigmask(SIG_SETMASK, &mask, nil)
    }

    static let handler: @convention(c) (Int32) -> Void = { signo in
        let savedErrno = errno
        guard SignalRegistry.lockFromHandler() else {
            errno = savedErrno
            return
        }
        var record: (Int32, Int32) = (signo, 0)
        for i in 0..<SignalRegistry.capacity {
            let slot = SignalRegistry.slots[i]
            guard slot.signum == signo else { continue }
            record.1 = Int32(bitPattern: slot.token)
            var r: Int
            repeat {
                r = write(slot.fd, &record, 8)
            } while r == -1 && errno == EINTR
            if r == 8 { slot.caught?.pointee += 1 }
        }
        SignalRegistry.unlock()
        errno = savedErrno
    }

    /// Installs the handler as the slots for `signum` need: none, normal, or
    /// reset-on-delivery when every watcher is one-shot. False if `sigaction`
    /// refuses the signal.
    private static func refreshHandler(_ signum: Int32) -> Bool {
        var any = false
        var allOneShot = true
        for i in 0..<capacity where slots[i].signum == signum {
            any = true
            if !slots[i].oneShot { allOneShot = false }
        }
        let wanted: Int8 = any ? (allOneShot ? 2 : 1) : 0
        if installed[Int(signum)] == wanted { return true }
        let status = wanted == 0
            ? cnative_default_handler(signum)
            : cnative_install_handler(signum, handler, wanted == 2 ? 1 : 0)
        if status != 0 { return false }
        installed[Int(signum)] = wanted
        return true
    }

    static func add(signum: Int32, fd: Int32, token: UInt32, oneShot: Bool, caught: UnsafeMutablePointer<Int>) -> Bool {
        let saved = blockAndLock()
        defer { unlockAndUnblock(saved) }
        guard let free = (0..<capacity).first(where: { slots[$0].signum == 0 }) else { return false }
        slots[free] = Slot(signum: signum, fd: fd, token: token, oneShot: oneShot, caught: caught)
        if !refreshHandler(signum) {
            slots[free] = Slot(signum: 0, fd: -1, token: 0, oneShot: false, caught: nil)
            return false
        }
        return true
    }

    static func remove(token: UInt32, fd: Int32) {
        let saved = blockAndLock()
        defer { unlockAndUnblock(saved) }
        for i in 0..<capacity where slots[i].token == token && slots[i].fd == fd && slots[i].signum != 0 {
            let signum = slots[i].signum
            slots[i] = Slot(signum: 0, fd: -1, token: 0, oneShot: false, caught: nil)
            _ = refreshHandler(signum)
        }
    }

    /// Drops every slot of a loop that is going away.
    static func forget(loop: NativeEventLoop) {
        let fd = loop.signalWriteFD
        let saved = blockAndLock()
        defer { unlockAndUnblock(saved) }
        for i in 0..<capacity where slots[i].fd == fd && slots[i].signum != 0 {
            let signum = slots[i].signum
            slots[i] = Slot(signum: 0, fd: -1, token: 0, oneShot: false, caught: nil)
            _ = refreshHandler(signum)
        }
    }
}
