import CUV
import NativeLoop

#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Which engine runs a loop: libuv itself, or SwiftUV's from-scratch loop
/// that follows libuv 1.44.2's rules.
public enum Backend: String, Sendable, CaseIterable, CustomStringConvertible {
    /// The system libuv (the reference).
    case libuv
    /// SwiftUV's own loop over epoll, eventfd and a thread pool.
    case native

    /// `libuv` or `native`.
    public var description: String { rawValue }

    /// The backend the environment variable `SWIFTUV_BACKEND` names, libuv
    /// when it is not set: how `Loop.default` picks its backend, so that
    /// one program runs on either (`uvdemo compare --exec` sets it).
    /// `UVError.invalidArgument` for any other value.
    public static func fromEnvironment() throws(UVError) -> Backend {
        let name = getenv("SWIFTUV_BACKEND").map { String(cString: $0) } ?? "libuv"
        guard let backend = Backend(rawValue: name) else {
            throw InputCheck.refuse("Backend.fromEnvironment", "SWIFTUV_BACKEND is \(InputCheck.quoted(name)); it must be libuv or native")
        }
        return backend
    }
}

/// How `Loop.run` iterates (`uv_run_mode`).
public enum RunMode: Sendable {
    /// Until nothing keeps the loop alive or `stop()` is called (`UV_RUN_DEFAULT`).
    case `default`
    /// One iteration, blocking for I/O if there is nothing else to do (`UV_RUN_ONCE`).
    case once
    /// One iteration without blocking (`UV_RUN_NOWAIT`).
    case noWait
}

/// An event loop, run by one thread at a time, on the backend chosen when it
/// is made. Handles and requests are created on a loop and belong to it.
///
/// The corresponding libuv type is `uv_loop_t`.
public final class Loop {
    enum Core {
        case uv(UnsafeMutablePointer<uv_loop_t>)
        case native(NativeEventLoop)
    }

    /// Options fixed when the loop is made.
    public struct Options: OptionSet, Sendable {
        /// The option bits.
        public let rawValue: Int
        /// The options whose bits are `rawValue`.
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// Accumulate the time spent waiting for events (`UV_METRICS_IDLE_TIME`).
        public static let measureIdleTime = Options(rawValue: 1)
    }

    let core: Core
    /// The engine behind this loop.
    public let backend: Backend
    private let isDefaultLoop: Bool
    /// Whether `close()` has succeeded.
    @exclusivity(unchecked)
    public private(set) var isClosed = false
    @exclusivity(unchecked)
    private var running = false
    /// Which thread is running the loop now (0: none); read from any thread.
    let thread = LoopThread()
    /// Made on first use of `executor`.
    @exclusivity(unchecked)
    var executorStorage: LoopExecutor?
    /// Suspended async operations (tasks awaiting a timer, a read, a
    /// request...) whose continuation has not been resumed yet: a debug
    /// counter that tests use to prove every continuation resumed once.
    @exclusivity(unchecked)
    public internal(set) var suspendedOperationCount = 0
    @exclusivity(unchecked)
    private var lastNow: UInt64 = 0

    /// The buffer every read of this loop goes into (libuv's suggested 64 KiB),
    /// lent to read callbacks for the duration of the call.
    var readBuffer: UnsafeMutableRawBufferPointer {
        if let buffer = readBufferStorage { return buffer }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        readBufferStorage = buffer
        return buffer
    }
    @exclusivity(unchecked)
    private var readBufferStorage: UnsafeMutableRawBufferPointer?

    /// Handles made on this loop whose close has not completed: a debug
    /// counter that tests use to prove nothing leaked.
    @exclusivity(unchecked)
    public internal(set) var liveHandleCount = 0
    /// Requests submitted on this loop whose callback has not run.
    @exclusivity(unchecked)
    public internal(set) var liveRequestCount = 0
    /// Handles and requests made on this loop so far: their trace ids.
    @exclusivity(unchecked)
    var objectCount = 0
    /// Tracing and metrics, while either is on.
    @exclusivity(unchecked)
    var observer: LoopObserver?

    /// Makes a new loop (`uv_loop_init`).
    public init(backend: Backend = .libuv, options: Options = []) throws(UVError) {
        self.backend = backend
        self.isDefaultLoop = false
        switch backend {
        case .libuv:
            let loop = UnsafeMutablePointer<uv_loop_t>.allocate(capacity: 1)
            let status = uv_loop_init(loop)
            if status != 0 {
                loop.deallocate()
                throw UVError(code: status)
            }
            do throws(UVError) {
                try Self.reserveAcceptSpare(loop)
            } catch {
                uv_loop_close(loop)
                loop.deallocate()
                throw error
            }
            if options.contains(.measureIdleTime) {
                _ = swiftuv_loop_configure_idle_time(loop)
            }
            core = .uv(loop)
        case .native:
            do {
                let loop = try NativeEventLoop()
                loop.measuresIdleTime = options.contains(.measureIdleTime)
                core = .native(loop)
            } catch {
                throw UVError(error)
            }
        }
        traceFromEnvironment()
    }

    private init(defaultLoopOn backend: Backend) throws(UVError) {
        self.backend = backend
        self.isDefaultLoop = true
        switch backend {
        case .libuv:
            errno = 0
            guard let loop = uv_default_loop() else {
                // uv_default_loop gives no code; uv_loop_init left errno (EMFILE...).
                let code = errno != 0 ? -errno : UV_ENOMEM.rawValue
                throw UVError(code: code).with(context: "Loop.defaultLoop: uv_default_loop failed")
            }
            do throws(UVError) {
                try Self.reserveAcceptSpare(loop)
            } catch {
                uv_loop_close(loop)
                throw error
            }
            core = .uv(loop)
        case .native:
            do { core = .native(try NativeEventLoop()) } catch { throw UVError(error) }
        }
        traceFromEnvironment()
    }

    /// Opens libuv's spare descriptor for accepting under `EMFILE`
    /// (`emfile_fd`, which `uv_loop_close` closes) now, as the native engine
    /// does, rather than with the loop's first stream: a loop made while
    /// descriptors remain always has it, so a listener out of descriptors
    /// drops the waiting connections instead of reporting `EMFILE` in a
    /// tight loop. A loop that cannot have it is not made.
    private static func reserveAcceptSpare(_ loop: UnsafeMutablePointer<uv_loop_t>) throws(UVError) {
        if loop.pointee.emfile_fd != -1 { return }
        var fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if fd < 0 { fd = open("/", O_RDONLY | O_CLOEXEC) }
        if fd < 0 { throw UVError(code: -errno).with(context: "Loop: the spare descriptor for accepting under EMFILE") }
        loop.pointee.emfile_fd = fd
    }

    deinit {
        // Every handle and request keeps its loop alive, so a loop that goes
        // away has nothing left on it and closes cleanly. (Were it busy, the
        // libuv loop would be leaked rather than freed under libuv's feet.)
        if !isClosed { try? close() }
        readBufferStorage?.deallocate()
    }

    nonisolated(unsafe) private static var defaultLoopStorage: Loop?
    nonisolated(unsafe) private static let defaultLoopLock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()

    /// The process's default loop (`uv_default_loop`), made on first use. Its
    /// backend is libuv unless the environment variable `SWIFTUV_BACKEND` says
    /// `native`, so that one program can be run on either backend unchanged.
    /// After it is closed, the next use makes a new one. Use it from one thread.
    ///
    /// When the loop cannot be made (no descriptor free, an unknown
    /// `SWIFTUV_BACKEND`), this stops the program with the error; use
    /// `defaultLoop()` to get the error thrown instead.
    public static var `default`: Loop {
        do {
            return try defaultLoop()
        } catch {
            fatalError("SwiftUV: cannot make the default loop: \(error)")
        }
    }

    /// The process's default loop, as `Loop.default`, or the error that kept
    /// it from being made: `UVError.invalidArgument` for a `SWIFTUV_BACKEND`
    /// that is neither `libuv` nor `native`, the system's error (say
    /// `.tooManyOpenFiles`) when the loop's descriptors cannot be opened.
    ///
    /// The corresponding libuv function is `uv_default_loop`.
    public static func defaultLoop() throws(UVError) -> Loop {
        pthread_mutex_lock(defaultLoopLock)
        defer { pthread_mutex_unlock(defaultLoopLock) }
        if let loop = defaultLoopStorage, !loop.isClosed { return loop }
        let loop = try Loop(defaultLoopOn: try Backend.fromEnvironment())
        defaultLoopStorage = loop
        return loop
    }

    func ensureOpen(_ operation: @autoclosure () -> String) throws(UVError) {
        checkThread(operation())
        if isClosed { throw UVError.invalidArgument.with(context: "\(operation()): the loop is closed") }
    }

    /// In debug builds, stops the program with a clear message when a
    /// loop-bound call comes from a thread other than the one running the
    /// loop: a data race on the loop's state, which libuv would not notice.
    /// (While no thread runs the loop, any thread may set things up.)
    @inline(__always)
    func checkThread(_ operation: @autoclosure () -> String) {
        #if DEBUG
        let owner = thread.owner.load(ordering: .relaxed)
        if owner != 0 && owner != UInt(pthread_self()) {
            fatalError(
                "SwiftUV: \(operation()) was called on thread \(LoopThread.name(UInt(pthread_self()))) while thread "
                    + "\(LoopThread.name(owner)) runs its loop. A loop and its handles and requests belong to the thread "
                    + "that runs the loop: from other threads, use an AsyncSender, or run the code as a task on "
                    + "`loop.executor` (loop.task { ... }).")
        }
        #endif
    }

    /// Whether the calling thread is the one running this loop.
    var isOnLoopThread: Bool { thread.owner.load(ordering: .relaxed) == UInt(pthread_self()) }

    // MARK: Running

    /// Runs the loop (`uv_run`). Returns whether it is still alive: whether
    /// an active, referenced handle, an active request or a closing handle
    /// remains. Not reentrant: a call from a callback of the same loop throws
    /// `UVError.busy`.
    ///
    /// The corresponding libuv function is `uv_run`.
    @discardableResult
    public func run(_ mode: RunMode = .default) throws(UVError) -> Bool {
        try claim()
        defer { release() }
        return try runClaimed(mode)
    }

    /// Claims the loop for the calling thread: a second runner (here or on
    /// another thread) gets busy, before it touches anything.
    func claim() throws(UVError) {
        if isClosed { throw UVError.invalidArgument.with(context: "Loop.run: the loop is closed") }
        let me = UInt(pthread_self())
        guard thread.owner.compareExchange(expected: 0, desired: me, ordering: .acquiring).exchanged else {
            throw UVError.busy.with(context: "Loop.run: the loop is already running")
        }
    }

    func release() { thread.owner.store(0, ordering: .releasing) }

    /// `run` on a loop this thread has claimed.
    func runClaimed(_ mode: RunMode) throws(UVError) -> Bool {
        executorStorage?.adoptRemoteJobs()
        observer?.runStarts(mode)
        switch core {
        case .uv(let loop):
            running = true
            defer { running = false }
            let m: uv_run_mode
            switch mode {
            case .default: m = UV_RUN_DEFAULT
            case .once: m = UV_RUN_ONCE
            case .noWait: m = UV_RUN_NOWAIT
            }
            return uv_run(loop, m) != 0
        case .native(let loop):
            let m: NativeRunMode
            switch mode {
            case .default: m = .default
            case .once: m = .once
            case .noWait: m = .noWait
            }
            do {
                return try loop.run(m)
            } catch {
                throw UVError(error).with(context: "Loop.run: the loop is already running")
            }
        }
    }

    /// Makes `run` return after the current iteration (`uv_stop`).
    public func stop() {
        if isClosed { return }
        switch core {
        case .uv(let loop): uv_stop(loop)
        case .native(let loop): loop.stop()
        }
    }

    /// The cached loop time in milliseconds, updated at the start of each
    /// iteration (`uv_now`). It counts from an arbitrary point of the
    /// system's monotonic clock (usually the machine's boot), not from the
    /// loop's creation: compare two readings, as timers do, rather than
    /// reading one as an age.
    public var now: UInt64 {
        if isClosed { return lastNow }
        switch core {
        case .uv(let loop): return uv_now(loop)
        case .native(let loop): return loop.time
        }
    }

    /// Refreshes the cached loop time (`uv_update_time`).
    public func updateTime() {
        if isClosed { return }
        switch core {
        case .uv(let loop): uv_update_time(loop)
        case .native(let loop): loop.updateTime()
        }
    }

    /// Whether `run` would iterate (`uv_loop_alive`).
    public var isAlive: Bool {
        if isClosed { return false }
        switch core {
        case .uv(let loop): return uv_loop_alive(loop) != 0
        case .native(let loop): return loop.isAlive
        }
    }

    /// How long the next poll would block, in milliseconds; -1 for no limit
    /// (`uv_backend_timeout`).
    public var backendTimeout: Int32 {
        if isClosed { return 0 }
        switch core {
        case .uv(let loop): return uv_backend_timeout(loop)
        case .native(let loop): return loop.backendTimeout
        }
    }

    /// The epoll descriptor the loop waits on (`uv_backend_fd`), for
    /// embedding the loop in another one.
    public var backendFileDescriptor: Int32 {
        if isClosed { return -1 }
        switch core {
        case .uv(let loop): return uv_backend_fd(loop)
        case .native(let loop): return loop.epollFD
        }
    }

    /// Nanoseconds spent waiting for events, when the loop was made with
    /// `.measureIdleTime`; 0 otherwise (`uv_metrics_idle_time`).
    public var idleTime: UInt64 {
        if isClosed { return 0 }
        switch core {
        case .uv(let loop): return uv_metrics_idle_time(loop)
        case .native(let loop): return loop.idleTime
        }
    }

    // MARK: Handles

    /// Every handle of this loop whose close has not completed, closing ones
    /// included, in the order they were made (`uv_walk`). The list is taken
    /// before `body` runs, so `body` may close handles.
    public func walk(_ body: (Handle) -> Void) {
        for handle in handles { body(handle) }
    }

    /// The handles `walk` visits.
    public var handles: [Handle] {
        if isClosed { return [] }
        var result: [Handle] = []
        switch core {
        case .uv(let loop):
            withUnsafeMutablePointer(to: &result) { out in
                uv_walk(loop, { h, arg in
                    guard let h, let data = h.pointee.data, let arg else { return }
                    let list = arg.assumingMemoryBound(to: [Handle].self)
                    list.pointee.append(Unmanaged<Handle>.fromOpaque(data).takeUnretainedValue())
                }, out)
            }
        case .native(let loop):
            for h in loop.handles {
                if let data = h.data { result.append(Unmanaged<Handle>.fromOpaque(data).takeUnretainedValue()) }
            }
        }
        return result
    }

    /// Closes every handle that is not already closing. Their close
    /// callbacks run on the next iteration.
    public func closeAll() {
        for handle in handles where !handle.isClosing {
            try? handle.close()
        }
    }

    /// Closes the loop once nothing is left on it (`uv_loop_close`). Throws
    /// `UVError.busy` while a handle has not finished closing or a request
    /// is in flight.
    public func close() throws(UVError) {
        try ensureOpen("Loop.close")
        // The executor's and the observer's own handles go last, once
        // nothing else is left.
        if executorStorage != nil || observer != nil, thread.owner.load(ordering: .relaxed) == 0,
           liveHandleCount == 0, liveRequestCount == 0 {
            if let executor = executorStorage {
                try executor.shutDown()
                executorStorage = nil
            }
            if let observer {
                observer.traceFile?.finish(observer)
                observer.removeMarks()
                self.observer = nil
            }
            _ = try run(.noWait)
        }
        switch core {
        case .uv(let loop):
            if running { throw UVError.busy.with(context: "Loop.close: the loop is running") }
            let now = uv_now(loop)
            try check(uv_loop_close(loop))
            lastNow = now
            if !isDefaultLoop { loop.deallocate() }
        case .native(let loop):
            let now = loop.time
            do {
                try loop.close()
            } catch {
                throw UVError(error).with(context: "Loop.close: a handle or request is still open, or the loop is running")
            }
            lastNow = now
        }
        isClosed = true
    }

    /// Closes every handle, runs until their close callbacks and all requests
    /// in flight have completed, then closes the loop: libuv's
    /// walk-close-run-close dance. A work item that never finishes keeps it
    /// waiting.
    public func shutdown() throws(UVError) {
        try ensureOpen("Loop.shutdown")
        while true {
            closeAll()
            _ = try run(.default)
            do {
                try close()
                return
            } catch UVError.busy {
                continue
            }
        }
    }
}


/// The version of the libuv that the libuv backend runs (`uv_version_string`).
public var libuvVersion: String { String(cString: uv_version_string()) }
