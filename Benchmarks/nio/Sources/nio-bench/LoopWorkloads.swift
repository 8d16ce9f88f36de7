// The workloads without sockets: loop_count, million_timers, async_pummel_1, async1,
// queue_work, fs_stat, read_file.
//
// Confinement: the mutable state of each run lives in a class that is touched only on the
// event loop thread (NIO's rule for loop state); closures that stay on the loop are handed in
// through `assumeIsolated()`, which lifts the `@Sendable` requirement. Where a closure must
// cross threads (another thread's `execute`, a pool's completion), the state class is
// `@unchecked Sendable` and still only read or written on the loop that owns it.

import Glibc
import NIOCore
import NIOFileSystem
import NIOPosix
import Synchronization

// MARK: - loop_count

/// loop_count: NIO has no idle handle (and no loop phases a callback could hook into), so the
/// closest per-iteration cost is one closure that re-submits itself with `execute` N times.
/// Note that NIO runs newly submitted tasks in the same tick without polling for I/O in
/// between (`runOneLoopTick` drains the task queue until it is empty), so this measures the
/// cost of a task round through the queue, not a full loop iteration with a poll.
private final class LoopCounter {
    let target: Int
    let loop: NIOIsolatedEventLoop
    let finished: EventLoopPromise<Double>
    var count = 0
    var start: UInt64 = 0
    var step: (() -> Void)? = nil

    init(target: Int, loop: NIOIsolatedEventLoop, finished: EventLoopPromise<Double>) {
        self.target = target
        self.loop = loop
        self.finished = finished
    }
}

func loopCount(_ size: Size) throws {
    let n = size.pick(2_000_000, quick: 500_000)
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { try? group.syncShutdownGracefully() }
    let loop = group.next()
    let finished = loop.makePromise(of: Double.self)
    loop.execute {
        let counter = LoopCounter(target: n, loop: loop.assumeIsolated(), finished: finished)
        // One closure, submitted again by itself (the idle callback of libuv's benchmark).
        // (The closure holds the counter strongly and the counter the closure, until the end.)
        counter.step = {
            counter.count += 1
            if counter.count == counter.target {
                counter.finished.succeed(seconds(from: counter.start, to: now()))
                counter.step = nil  // break the closure <-> counter cycle
            } else {
                counter.loop.execute(counter.step!)
            }
        }
        counter.start = now()
        counter.loop.execute(counter.step!)
    }
    let elapsed = try finished.futureResult.wait()
    report("loop_count", "rate", Double(n) / elapsed)
}

// MARK: - million_timers

private struct TimerFigures: Sendable {
    var initSeconds = 0.0
    var dispatchSeconds = 0.0
    var cleanupSeconds = 0.0
    var bytesPerTimer = 0.0
}

private final class TimerRun {
    let target: Int
    let loop: NIOIsolatedEventLoop
    let finished: EventLoopPromise<TimerFigures>
    var fired = 0
    var initEnd: UInt64 = 0
    var figures = TimerFigures()

    init(target: Int, loop: NIOIsolatedEventLoop, finished: EventLoopPromise<TimerFigures>) {
        self.target = target
        self.loop = loop
        self.finished = finished
    }

    func fire() {
        self.fired += 1
        guard self.fired == self.target else { return }
        let lastFired = now()
        self.figures.dispatchSeconds = seconds(from: self.initEnd, to: lastFired)
        // Cleanup: NIO has nothing to close. A scheduled task that has run is released by the
        // loop, and the `Scheduled` handles were never kept (a fire-and-forget NIO timer is
        // the idiomatic form). What is timed is the honest equivalent of libuv's "close all +
        // the run that finishes the closes": one empty turn of the loop.
        self.loop.execute {
            self.figures.cleanupSeconds = seconds(from: lastFired, to: now())
            self.finished.succeed(self.figures)
        }
    }
}

/// million_timers: each timer is `scheduleTask(in:)` on the loop (a priority-queue entry, a
/// promise and the closures; the returned `Scheduled` is discarded), all scheduled from the
/// loop thread.
func millionTimers(_ size: Size) throws {
    let n = size.pick(1_000_000, quick: 200_000)
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { try? group.syncShutdownGracefully() }
    let loop = group.next()
    let finished = loop.makePromise(of: TimerFigures.self)
    loop.execute {
        let isolated = loop.assumeIsolated()
        let run = TimerRun(target: n, loop: isolated, finished: finished)
        let perMillisecond = n / 1000
        let rssBefore = residentBytes()
        let start = now()
        for i in 0..<n {
            isolated.scheduleTask(in: .milliseconds(Int64(1 + i / perMillisecond))) {
                run.fire()
            }
        }
        run.initEnd = now()
        let rssAfter = residentBytes()
        run.figures.initSeconds = seconds(from: start, to: run.initEnd)
        run.figures.bytesPerTimer = Double(rssAfter - rssBefore) / Double(n)
    }
    let figures = try finished.futureResult.wait()
    report("million_timers", "init_s", figures.initSeconds)
    report("million_timers", "dispatch_s", figures.dispatchSeconds)
    report("million_timers", "cleanup_s", figures.cleanupSeconds)
    report(
        "million_timers",
        "total_s",
        figures.initSeconds + figures.dispatchSeconds + figures.cleanupSeconds
    )
    report("million_timers", "bytes_per_timer", figures.bytesPerTimer)
}

// MARK: - async_pummel_1

private final class PummelRun: @unchecked Sendable {
    let target: Int
    let finished: EventLoopPromise<UInt64>
    let stop = Atomic<Bool>(false)
    var count = 0  // loop thread only

    init(target: Int, finished: EventLoopPromise<UInt64>) {
        self.target = target
        self.finished = finished
    }

    func callback() {
        self.count += 1
        if self.count == self.target {
            self.stop.store(true, ordering: .relaxed)
            self.finished.succeed(now())
        }
    }
}

/// async_pummel_1: the other thread calls `eventLoop.execute` in a tight loop until the loop
/// has run N of those closures. NIO does not coalesce: unlike `uv_async_send`, every `execute`
/// queues one closure that will run (NIO only coalesces the wake-ups of the loop), so the
/// thread enqueues more closures than N and the rest still run after the count is reached
/// (their number goes to stderr). The closure is made once and submitted again and again.
func asyncPummel1(_ size: Size) throws {
    let n = size.pick(1_000_000, quick: 200_000)
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { try? group.syncShutdownGracefully() }
    let loop = group.next()
    let finished = loop.makePromise(of: UInt64.self)
    let run = PummelRun(target: n, finished: finished)
    let sent = Atomic<Int>(0)
    let callback: @Sendable () -> Void = { run.callback() }
    let start = now()
    let thread = PlainThread {
        var count = 0
        while !run.stop.load(ordering: .relaxed) {
            loop.execute(callback)
            count += 1
        }
        sent.store(count, ordering: .relaxed)
    }
    let end = try finished.futureResult.wait()
    thread.join()
    report("async_pummel_1", "rate", Double(n) / seconds(from: start, to: end))
    printError("async_pummel_1: the other thread submitted \(sent.load(ordering: .relaxed)) closures for \(n) callbacks")
}

// MARK: - async1

private final class PingPongLoops: @unchecked Sendable {
    let target: Int
    let finished: EventLoopPromise<Double>
    var count = 0  // main loop only
    var start: UInt64 = 0
    // The two "async handles": one closure for each direction, made once.
    var toWorker: (@Sendable () -> Void)? = nil
    var toMain: (@Sendable () -> Void)? = nil

    init(target: Int, finished: EventLoopPromise<Double>) {
        self.target = target
        self.finished = finished
    }
}

/// async1: two event loops (each a one-thread group) ping-pong with `execute`: the main loop's
/// closure submits the worker's, whose closure submits the main loop's again; N round trips.
func async1(_ size: Size) throws {
    let n = size.pick(50_000, quick: 10_000)
    let mainGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let workerGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer {
        try? workerGroup.syncShutdownGracefully()
        try? mainGroup.syncShutdownGracefully()
    }
    let mainLoop = mainGroup.next()
    let workerLoop = workerGroup.next()
    let finished = mainLoop.makePromise(of: Double.self)
    let run = PingPongLoops(target: n, finished: finished)
    // Runs on the worker loop: answer the main loop.
    run.toWorker = { mainLoop.execute(run.toMain!) }
    // Runs on the main loop: one round trip done; start the next one.
    run.toMain = {
        run.count += 1
        if run.count == run.target {
            run.finished.succeed(seconds(from: run.start, to: now()))
        } else {
            workerLoop.execute(run.toWorker!)
        }
    }
    mainLoop.execute {
        run.start = now()
        workerLoop.execute(run.toWorker!)
    }
    let elapsed = try finished.futureResult.wait()
    run.toWorker = nil  // break the closure <-> run cycles
    run.toMain = nil
    report("async1", "rate", Double(n) / elapsed)
}

// MARK: - queue_work

private final class QueueWorkRun {
    let pool: NIOThreadPool
    let loop: EventLoop
    let finished: EventLoopPromise<Rate>
    var count = 0
    var start: UInt64 = 0
    var done = false

    init(pool: NIOThreadPool, loop: EventLoop, finished: EventLoopPromise<Rate>) {
        self.pool = pool
        self.loop = loop
        self.finished = finished
    }

    func queue() {
        // The work item: an empty body on the pool; its completion comes back on the loop.
        self.pool.runIfActive(eventLoop: self.loop) {}.assumeIsolated().whenSuccess {
            self.count += 1
            if !self.done {
                self.queue()
            }
        }
    }
}

/// queue_work: `NIOThreadPool.runIfActive(eventLoop:)` with an empty body, queued again from
/// the future's completion on the loop; a task scheduled after D stops it (as libuv's timer).
func queueWork(_ size: Size) throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let pool = NIOThreadPool(numberOfThreads: 4)
    pool.start()
    defer {
        try? group.syncShutdownGracefully()
        try? pool.syncShutdownGracefully()
    }
    let loop = group.next()
    let finished = loop.makePromise(of: Rate.self)
    let duration = size.duration
    loop.execute {
        let run = QueueWorkRun(pool: pool, loop: loop, finished: finished)
        run.start = now()
        loop.assumeIsolated().scheduleTask(in: duration) {
            run.done = true
            run.finished.succeed(Rate(count: run.count, seconds: seconds(from: run.start, to: now())))
        }
        run.queue()
    }
    let rate = try finished.futureResult.wait()
    report("queue_work", "rate", Double(rate.count) / rate.seconds)
}

// MARK: - fs_stat

private final class StatRun {
    let fileIO: NonBlockingFileIO
    let loop: EventLoop
    let total: Int
    let finished: EventLoopPromise<Double>
    var started = 0
    var completed = 0
    var start: UInt64 = 0

    init(fileIO: NonBlockingFileIO, loop: EventLoop, total: Int, finished: EventLoopPromise<Double>) {
        self.fileIO = fileIO
        self.loop = loop
        self.total = total
        self.finished = finished
    }

    func startOne() {
        self.started += 1
        self.fileIO.lstat(path: ".", eventLoop: self.loop).assumeIsolated().whenComplete { result in
            if case .failure(let error) = result {
                self.finished.fail(error)
                return
            }
            self.completed += 1
            if self.started < self.total {
                self.startOne()
            } else if self.completed == self.total {
                self.finished.succeed(seconds(from: self.start, to: now()))
            }
        }
    }
}

/// fs_stat: NIO has no synchronous file API (blocking the loop is what it exists to avoid), so
/// the synchronous part calls Glibc's stat(2) directly, as a NIO program would. The
/// asynchronous part uses NIO's own `NonBlockingFileIO.lstat(path:eventLoop:)`: the call runs
/// on the thread pool (4 threads) and its future completes on the loop, where each completion
/// starts the next stat. (`lstat` and `stat` give the same result for ".", a directory.)
/// `_NIOFileSystem`'s `FileSystem.info(forFileAt:)` would do the same pool hop but only through
/// async/await (Swift concurrency tasks, not the event loop), so NonBlockingFileIO is the
/// event-loop form.
func fsStat(_ size: Size) throws {
    let n = size.pick(1_000_000, quick: 200_000)
    let m = size.pick(100_000, quick: 20_000)

    var info = stat()
    let syncStart = now()
    // The path is converted to a C string once, as the C contender passes a literal.
    let failed = ".".withCString { path in
        for _ in 0..<n where stat(path, &info) != 0 {
            return true
        }
        return false
    }
    let syncSeconds = seconds(from: syncStart, to: now())
    if failed {
        throw IOError(errnoCode: errno, reason: "stat")
    }
    report("fs_stat", "sync_rate", Double(n) / syncSeconds)

    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let pool = NIOThreadPool(numberOfThreads: 4)
    pool.start()
    defer {
        try? group.syncShutdownGracefully()
        try? pool.syncShutdownGracefully()
    }
    let loop = group.next()
    let fileIO = NonBlockingFileIO(threadPool: pool)
    for concurrency in [1, 4, 8, 16] {
        let finished = loop.makePromise(of: Double.self)
        loop.execute {
            let run = StatRun(fileIO: fileIO, loop: loop, total: m, finished: finished)
            run.start = now()
            for _ in 0..<concurrency {
                run.startOne()
            }
        }
        let elapsed = try finished.futureResult.wait()
        report("fs_stat", "async\(concurrency)_rate", Double(m) / elapsed)
    }
}

// MARK: - read_file

/// The rates of read_file's two parts.
private struct ReadRates: Sendable {
    var small = 0.0
    var large = 0.0
}

/// Reads whole files with NIOFileSystem, one at a time. An actor whose executor is the event
/// loop, so that every `await` resumes on the loop thread and starts the next step there, as
/// libuv's completion callbacks do; the blocking system calls run on the file system's
/// thread pool.
private actor FileReader {
    let loop: EventLoop
    let fileSystem: FileSystem

    nonisolated var unownedExecutor: UnownedSerialExecutor {
        self.loop.executor.asUnownedSerialExecutor()
    }

    init(loop: EventLoop, fileSystem: FileSystem) {
        self.loop = loop
        self.fileSystem = fileSystem
    }

    /// Reads the file of `bytes` bytes at `path` `count` times; returns the files per second.
    func rate(path: String, bytes: Int, count: Int) async throws -> Double {
        let filePath = FilePath(path)
        let start = now()
        for _ in 0..<count {
            // open, then readToEnd (an fstat for the size, one read of that size), then close:
            // four trips to the pool, as the C contender's.
            let contents = try await self.fileSystem.withFileHandle(forReadingAt: filePath) { file in
                try await file.readToEnd(maximumSizeAllowed: .bytes(Int64(bytes)))
            }
            guard contents.readableBytes == bytes else {
                throw IOError(errnoCode: EIO, reason: "read_file: \(contents.readableBytes) of \(bytes) bytes read")
            }
        }
        return Double(count) / seconds(from: start, to: now())
    }
}

/// One file of `size` bytes of the C contender's pattern, written with plain POSIX calls.
private func makeFile(_ path: String, size: Int) throws {
    let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw IOError(errnoCode: errno, reason: "open \(path)") }
    defer { close(fd) }
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard written == size else { throw IOError(errnoCode: errno, reason: "write \(path)") }
}

/// read_file: NIOFileSystem's `withFileHandle(forReadingAt:)` and `readToEnd(maximumSizeAllowed:)`
/// (open, fstat, one read, close), one file in flight, N files of 4 KiB then M of 1 MiB. The
/// file system runs its system calls on a `NIOThreadPool` of 4 threads (libuv's default pool
/// size) rather than on `FileSystem.shared`'s, which has one thread per core.
/// (`NonBlockingFileIO` would do the same through futures; NIOFileSystem is NIO's current API.)
func readFile(_ size: Size) throws {
    let n = size.pick(20_000, quick: 5_000)
    let m = size.pick(500, quick: 100)
    let small = "/tmp/nio-bench-read-4k-\(getpid())"
    let large = "/tmp/nio-bench-read-1m-\(getpid())"
    try makeFile(small, size: 4096)
    try makeFile(large, size: 1 << 20)
    defer {
        unlink(small)
        unlink(large)
    }

    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let pool = NIOThreadPool(numberOfThreads: 4)
    pool.start()
    defer {
        try? group.syncShutdownGracefully()
        try? pool.syncShutdownGracefully()
    }
    let loop = group.next()
    let reader = FileReader(loop: loop, fileSystem: FileSystem(threadPool: pool))
    let finished = loop.makePromise(of: ReadRates.self)
    finished.completeWithTask {
        var rates = ReadRates()
        rates.small = try await reader.rate(path: small, bytes: 4096, count: n)
        rates.large = try await reader.rate(path: large, bytes: 1 << 20, count: m)
        return rates
    }
    let rates = try finished.futureResult.wait()
    report("read_file", "rate_4k", rates.small)
    report("read_file", "rate_1m", rates.large)
}
