import Synchronization
import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Lets a value cross to a thread that takes it over (tests only).
struct Handover<T>: @unchecked Sendable {
    var value: T
}

/// What a thread made by `onOwnThread` runs.
final class ThreadStart {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// Runs `work` on a thread of its own and awaits it, so that a test's loop
/// does not hold one of the concurrency pool's threads (2 on this machine)
/// that other tasks may need.
func onOwnThread<T>(_ work: @escaping () throws -> T) async throws -> T {
    let box = Handover(value: work)
    return try await withCheckedThrowingContinuation { (c: CheckedContinuation<Handover<T>, any Error>) in
        let context = ThreadStart {
            do { c.resume(returning: Handover(value: try box.value())) } catch { c.resume(throwing: error) }
        }
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { arg in
            Unmanaged<ThreadStart>.fromOpaque(arg!).takeRetainedValue().run()
            return nil
        }, Unmanaged.passRetained(context).toOpaque())
        precondition(status == 0)
        pthread_detach(thread)
    }.value
}

/// Runs `body` as a task on a fresh loop (made by the test's task, so that
/// it sees the test's task-locals), runs the loop on a thread of its own
/// until nothing is left, then checks that every suspension resumed and
/// the loop closes clean.
func withAsyncLoop(_ backend: Backend, _ body: @escaping (Loop) async throws -> Void) async throws {
    let loop = try Loop(backend: backend)
    let task = try loop.task { try await body(loop) }
    let handover = Handover(value: loop)
    try await onOwnThread { _ = try handover.value.run() }
    try await task.value
    #expect(loop.suspendedOperationCount == 0, "every continuation resumed")
    try assertClosesClean(loop)
}

/// Whether `body` throws `CancellationError`.
func throwsCancellation(_ body: () async throws -> Void) async -> Bool {
    do {
        try await body()
        return false
    } catch is CancellationError {
        return true
    } catch {
        return false
    }
}

/// A TCP listener on 127.0.0.1 (a port the kernel picks) and its accepted
/// connections.
func asyncListener(_ loop: Loop) throws -> (server: TCP, port: Int, connections: Connections<TCP>) {
    let server = try TCP(loop: loop)
    try server.bind("127.0.0.1:0")
    return (server, try server.localAddress().port!, try server.connections())
}

/// A task counting the connections it accepts until the sequence ends.
func countingAcceptor(_ loop: Loop, _ connections: Connections<TCP>) throws -> Task<Int, any Error> {
    try loop.task {
        var n = 0
        for try await _ in connections { n += 1 }
        return n
    }
}

/// A TCP server on 127.0.0.1 that echoes every connection, written only
/// with async/await; the task ends when the listener is closed.
func asyncEchoServer(_ loop: Loop) throws -> (server: TCP, port: Int, task: Task<Int, any Error>) {
    let (server, port, connections) = try asyncListener(loop)
    let task = try loop.task {
        var served = 0
        for try await client in connections {
            served += 1
            try loop.task {
                for try await chunk in client.chunks() {
                    try await client.write(chunk)
                }
                try client.close()
            }
        }
        return served
    }
    return (server, port, task)
}

@Suite("Async/await on the loop")
struct AsyncTests {
    @Test("an echo server and client written only with async/await", arguments: backends)
    func echo(backend: Backend) async throws {
        try await withAsyncLoop(backend) { loop in
            let (server, port, serverTask) = try asyncEchoServer(loop)
            // Two clients at once, each sending 20 messages and checking
            // every echo before the next.
            let clients = try (0..<2).map { n in
                try loop.task { () -> Int in
                    let client = try TCP(loop: loop)
                    try await client.connect(to: "127.0.0.1:\(port)")
                    var replies = client.chunks().makeAsyncIterator()
                    var echoed = 0
                    for i in 0..<20 {
                        let message = Array("client \(n) message \(i);".utf8)
                        try await client.write(message)
                        var got: [UInt8] = []
                        while got.count < message.count {
                            guard let chunk = try await replies.next() else { break }
                            got += chunk
                        }
                        #expect(got == message)
                        echoed += got.count
                    }
                    try await client.shutdown()
                    // The server closes after our EOF: the sequence ends.
                    #expect(try await replies.next() == nil)
                    try client.close()
                    return echoed
                }
            }
            var total = 0
            for c in clients { total += try await c.value }
            #expect(total > 0)
            try server.close()
            #expect(try await serverTask.value == 2)
        }
    }

    @Test("pipe connect and accept with async/await", arguments: backends)
    func pipeEcho(backend: Backend) async throws {
        let path = "/tmp/swiftuv-async-\(getpid())-\(backend).sock"
        unlink(path)
        defer { unlink(path) }
        try await withAsyncLoop(backend) { loop in
            let server = try UVPipe(loop: loop)
            try server.bind(path)
            let connections = try server.connections()
            let serverTask = try loop.task { () -> [UInt8] in
                var received: [UInt8] = []
                for try await peer in connections {
                    for try await chunk in peer.chunks() { received += chunk }
                    try await peer.write("bye")
                    try peer.close()
                    try server.close()
                }
                return received
            }
            let client = try UVPipe(loop: loop)
            try await client.connect(to: path)
            try await client.write(vectored: [Array("hello ".utf8), Array("pipe".utf8)])
            try await client.shutdown()
            var reply: [UInt8] = []
            for try await chunk in client.chunks() { reply += chunk }
            try client.close()
            #expect(String(decoding: try await serverTask.value, as: UTF8.self) == "hello pipe")
            #expect(String(decoding: reply, as: UTF8.self) == "bye")
        }
    }

    @Test("Loop.run { } runs its body and the tasks it starts on the loop thread, returns its value, rethrows its error", arguments: backends)
    func runBody(backend: Backend) async throws {
        // Loop.run { } is the entry point of a program: here on a thread of
        // its own, checking in the test's task what the body reports.
        let (value, checks, failed, refused, reusable) = try await onOwnThread { () -> (Int, [Bool], Bool, Bool, Bool) in
            let loop = try Loop(backend: backend)
            let loopThread = pthread_self()
            let (value, checks) = try loop.run { () -> (Int, [Bool]) in
                var checks = [pthread_equal(pthread_self(), loopThread) != 0]
                // A child task and an unstructured loop task: same thread.
                async let child = pthread_equal(pthread_self(), loopThread) != 0
                let other = try loop.task { pthread_equal(pthread_self(), loopThread) != 0 }
                checks.append(await child)
                checks.append(try await other.value)
                // A detour through the global executor comes back to the loop.
                checks.append(await Task.detached { pthread_equal(pthread_self(), loopThread) == 0 }.value)
                checks.append(pthread_equal(pthread_self(), loopThread) != 0)
                try await loop.sleep(for: .milliseconds(1))
                checks.append(pthread_equal(pthread_self(), loopThread) != 0)
                return (42, checks)
            }
            struct Oops: Error {}
            var failed = false
            do { try loop.run { throw Oops() } } catch is Oops { failed = true }
            // A body isolated to an actor would never run on the loop.
            var refused = false
            do { try loop.run { @MainActor in } } catch UVError.invalidArgument { refused = true }
            // The loop is reusable with callbacks afterwards.
            var fired = false
            let timer = try UVTimer(loop: loop)
            try timer.start(timeout: 1) { t in fired = true; try? t.close() }
            try loop.run()
            try loop.close()
            return (value, checks, failed, refused, fired)
        }
        #expect(value == 42)
        #expect(checks == [true, true, true, true, true, true])
        #expect(failed)
        #expect(refused)
        #expect(reusable)
    }

    @Test("an actor whose executor is the loop runs its methods on the loop thread and may use its handles", arguments: backends)
    func actorOnLoop(backend: Backend) async throws {
        actor Ticker {
            let executor: LoopExecutor
            nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
            var ticks = 0
            init(executor: LoopExecutor) { self.executor = executor }
            func tick() async throws -> Bool {
                // Isolated to the actor, so on the loop's thread: the loop is ours.
                let loop = executor.loop
                try await loop.sleep(for: .milliseconds(2))
                ticks += 1
                return loop.isAlive
            }
            func count() -> Int { ticks }
            func checkIsolated() { executor.checkIsolated() }
        }
        try await withAsyncLoop(backend) { loop in
            let ticker = Ticker(executor: try loop.executor)
            // Callers on the global executor: the actor hops to the loop.
            let callers = (0..<3).map { _ in Task.detached { try await ticker.tick() } }
            for c in callers {
                let alive = try await c.value
                #expect(alive)
            }
            #expect(await ticker.count() == 3)
            await ticker.checkIsolated()
        }
    }

    @Test("jobs sent from other threads while the loop waits in poll wake it", arguments: backends)
    func remoteEnqueue(backend: Backend) async throws {
        final class Ran: Sendable { let count = Atomic<Int>(0) }
        let ran = Ran()
        try await withAsyncLoop(backend) { loop in
            let executor = try loop.executor
            // The loop blocks in poll (nothing else to do) while tasks made
            // on other threads arrive. (No time limit: the detached task
            // waits for a thread of the pool, which other tests may hold.)
            await Task.detached {
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<100 {
                        group.addTask(executorPreference: executor) { ran.count.add(1, ordering: .relaxed) }
                    }
                }
            }.value
        }
        #expect(ran.count.load(ordering: .relaxed) == 100)
    }

    @Test("sleep waits on a loop timer; cancellation stops the timer and throws CancellationError", arguments: backends)
    func sleep(backend: Backend) async throws {
        try await withAsyncLoop(backend) { loop in
            let t0 = loop.now
            try await loop.sleep(for: .milliseconds(30))
            #expect(loop.now - t0 >= 30)
            #expect(loop.handles.allSatisfy { $0.isClosing }, "the sleep's timer is closed")

            let sleeper = try loop.task { try await loop.sleep(for: .seconds(30)) }
            try await loop.sleep(for: .milliseconds(10))
            #expect(loop.handles.filter { !$0.isClosing }.count == 1, "one timer while sleeping")
            let t1 = loop.now
            sleeper.cancel()
            #expect(await throwsCancellation { try await sleeper.value })
            #expect(loop.now - t1 < 5000)
            #expect(loop.handles.allSatisfy { $0.isClosing })

            // Already cancelled: nothing starts.
            let early = try loop.task { () -> Int in
                withUnsafeCurrentTask { $0?.cancel() }
                let before = loop.handles.count
                _ = try? await loop.sleep(for: .seconds(30))
                return loop.handles.count - before
            }
            #expect(try await early.value == 0)
        }
    }

    @Test("closing a sleep's timer (closeAll) ends the sleep with UVError.cancelled", arguments: backends)
    func sleepClosed(backend: Backend) async throws {
        try await withAsyncLoop(backend) { loop in
            let sleeper = try loop.task { try await loop.sleep(for: .seconds(30)) }
            try await loop.sleep(for: .milliseconds(5))
            loop.closeAll()
            await #expect(throws: UVError.cancelled) { try await sleeper.value }
        }
    }

    @Test("cancelling a pending connect closes the handle and throws CancellationError", arguments: backends)
    func cancelConnect(backend: Backend) async throws {
        // A listener that never accepts, its queue full: later SYNs are
        // dropped, so a connect stays pending.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listen(fd, 0)
        let port = Int(UInt16(bigEndian: address.sin_port))
        try await withAsyncLoop(backend) { loop in
            // Fill the accept queue (backlog 0 holds one connection).
            let filler = try TCP(loop: loop)
            try await filler.connect(to: "127.0.0.1:\(port)")
            let client = try TCP(loop: loop)
            let connecting = try loop.task { try await client.connect(to: "127.0.0.1:\(port)") }
            try await loop.sleep(for: .milliseconds(50))
            #expect(loop.suspendedOperationCount == 1, "the connect is pending")
            connecting.cancel()
            #expect(await throwsCancellation { try await connecting.value })
            #expect(client.isClosing)
            try filler.close()
        }
    }

    @Test("cancelling a read stops reading, leaves the stream open and throws CancellationError", arguments: backends)
    func cancelRead(backend: Backend) async throws {
        try await withAsyncLoop(backend) { loop in
            let (server, port, serverTask) = try asyncEchoServer(loop)
            let client = try TCP(loop: loop)
            try await client.connect(to: "127.0.0.1:\(port)")
            let reading = try loop.task { () -> [UInt8]? in
                var it = client.chunks().makeAsyncIterator()
                return try await it.next()
            }
            try await loop.sleep(for: .milliseconds(10))
            reading.cancel()
            #expect(await throwsCancellation { _ = try await reading.value })
            #expect(!client.isClosing)
            // Still usable: write, and read the echo with a new sequence.
            try await client.write("again")
            var it = client.chunks().makeAsyncIterator()
            #expect(try await it.next() == Array("again".utf8))
            try client.close()
            try server.close()
            _ = try await serverTask.value
        }
    }

    @Test("cancelling a write the peer does not read closes the stream and throws CancellationError", arguments: backends)
    func cancelWrite(backend: Backend) async throws {
        try await withAsyncLoop(backend) { loop in
            let (server, port, connections) = try asyncListener(loop)
            // The peer is accepted and never read, until the test is done.
            let accepted = try loop.task {
                var it = connections.makeAsyncIterator()
                let peer = try await it.next()
                defer { try? peer?.close() }
                try? await loop.sleep(for: .seconds(60))
            }
            let client = try TCP(loop: loop)
            try await client.connect(to: "127.0.0.1:\(port)")
            let big = [UInt8](repeating: 7, count: 64 << 20)
            let writing = try loop.task { try await client.write(big) }
            try await loop.sleep(for: .milliseconds(20))
            #expect(client.writeQueueSize > 0, "the write is still queued")
            writing.cancel()
            #expect(await throwsCancellation { try await writing.value })
            #expect(client.isClosing)
            accepted.cancel()
            _ = try await accepted.value
            try server.close()
        }
    }

    @Test("cancelling a wait for a connection closes the listener; closing a listener ends the sequence", arguments: backends)
    func cancelAccept(backend: Backend) async throws {
        try await withAsyncLoop(backend) { loop in
            let (server, _, connections) = try asyncListener(loop)
            let waiting = try countingAcceptor(loop, connections)
            try await loop.sleep(for: .milliseconds(10))
            waiting.cancel()
            #expect(await throwsCancellation { _ = try await waiting.value })
            #expect(server.isClosing)

            let (second, _, more) = try asyncListener(loop)
            let ending = try countingAcceptor(loop, more)
            try await loop.sleep(for: .milliseconds(10))
            try second.close()
            #expect(try await ending.value == 0)
        }
    }

    @Test("several tasks accept from one connections sequence; closing the listener ends them all", arguments: backends)
    func sharedAccept(backend: Backend) async throws {
        try await withAsyncLoop(backend) { loop in
            let (server, port, connections) = try asyncListener(loop)
            let acceptors = try (0..<3).map { _ in
                try loop.task { () -> Int in
                    var n = 0
                    for try await peer in connections {
                        n += 1
                        try peer.close()
                    }
                    return n
                }
            }
            try await loop.sleep(for: .milliseconds(5))
            for _ in 0..<5 {
                let client = try TCP(loop: loop)
                try await client.connect(to: "127.0.0.1:\(port)")
                var it = client.chunks().makeAsyncIterator()
                #expect(try await it.next() == nil, "accepted, then closed by the server")
                try client.close()
            }
            try server.close()
            var accepted = 0
            for a in acceptors { accepted += try await a.value }
            #expect(accepted == 5)
        }
    }

    @Test("closing a stream ends its chunks sequence; EOF ends it; reads after the end give nil", arguments: backends)
    func readEnds(backend: Backend) async throws {
        try await withAsyncLoop(backend) { loop in
            let (server, port, serverTask) = try asyncEchoServer(loop)
            let client = try TCP(loop: loop)
            try await client.connect(to: "127.0.0.1:\(port)")
            let chunks = client.chunks()
            let got = Counter()
            let reading = try loop.task { () -> Int in
                for try await chunk in chunks { got.value += chunk.count }
                return got.value
            }
            try await client.write("12345")
            // The echo is in; the reader waits for more when the stream closes.
            while got.value < 5 { try await loop.sleep(for: .milliseconds(2)) }
            try client.close()
            #expect(try await reading.value == 5)
            var it = chunks.makeAsyncIterator()
            #expect(try await it.next() == nil)
            try server.close()
            _ = try await serverTask.value
        }
    }

    @Test("backpressure: a producer ten times faster than the consumer; the buffer stays under its bound", arguments: backends)
    func backpressure(backend: Backend) async throws {
        let limit = 32 * 1024
        let bound = limit + 65536
        let total = 1 << 20
        try await withAsyncLoop(backend) { loop in
            let (server, port, connections) = try asyncListener(loop)
            // Producer: as fast as the kernel takes it (each write resumes
            // once the kernel has the bytes: well over 100 MB/s on loopback,
            // against the consumer's 1.6 MB/s below; its pace is then set by
            // the backpressure, which is the point).
            let producer = try loop.task { () -> Int in
                var it = connections.makeAsyncIterator()
                guard let peer = try await it.next() else { return 0 }
                let block = [UInt8]((0..<32768).map { UInt8(truncatingIfNeeded: $0 &* 7) })
                var sent = 0
                while sent < total {
                    try await peer.write(block)
                    sent += block.count
                }
                try await peer.shutdown()
                try peer.close()
                return sent
            }
            let client = try TCP(loop: loop)
            try await client.connect(to: "127.0.0.1:\(port)")
            let chunks = client.chunks(bufferLimit: limit)
            var it = chunks.makeAsyncIterator()
            var received = 0
            var intact = true
            func check(_ chunk: [UInt8]) {
                for (i, byte) in chunk.enumerated() where byte != UInt8(truncatingIfNeeded: ((received + i) % 32768) &* 7) {
                    intact = false
                }
                received += chunk.count
            }
            // The consumer falls behind at once: after the first chunk it
            // waits until its buffer is full, and reading must then stop.
            guard let first = try await it.next() else { Issue.record("no data"); return }
            check(first)
            while chunks.bufferedByteCount < limit { try await loop.sleep(for: .milliseconds(2)) }
            let full = chunks.bufferedByteCount
            try await loop.sleep(for: .milliseconds(50))
            #expect(chunks.bufferedByteCount == full, "nothing read while the consumer is behind")
            #expect(chunks.pauseCount > 0)
            // Then it consumes 16 KiB per 10 ms (1.6 MB/s).
            var owed = 0
            while let chunk = try await it.next() {
                check(chunk)
                owed += chunk.count
                while owed >= 16384 {
                    owed -= 16384
                    try await loop.sleep(for: .milliseconds(10))
                }
                #expect(chunks.bufferedByteCount <= bound)
            }
            #expect(try await producer.value > 0)
            #expect(received == total)
            #expect(intact, "bytes arrive whole and in order")
            #expect(chunks.peakBufferedByteCount <= bound, "the stated bound: bufferLimit + one 64 KiB read")
            #expect(chunks.pauseCount > 1, "reading stopped and resumed as the consumer caught up and fell behind")
            try client.close()
            try server.close()
        }
    }

    @Test("file system calls awaited: write, read, stat, scandir, rename, unlink; errors are UVErrors", arguments: backends)
    func fileSystem(backend: Backend) async throws {
        try await withAsyncLoop(backend) { loop in
            let fs = loop.fs
            let dir = try await fs.makeTemporaryDirectory(template: "/tmp/swiftuv-async-XXXXXX")
            let path = dir + "/a.txt"
            try await fs.writeFile(path, Array("hello, pool".utf8))
            #expect(try await fs.readFile(path) == Array("hello, pool".utf8))
            #expect(try await fs.stat(path).size == 11)
            let fd = try await fs.open(path, flags: .readWrite)
            #expect(try await fs.write(fd, Array("J".utf8), offset: 0) == 1)
            #expect(try await fs.read(fd, count: 5, offset: 0) == Array("Jello".utf8))
            try await fs.truncate(descriptor: fd, length: 5)
            #expect(try await fs.stat(descriptor: fd).size == 5)
            try await fs.close(fd)
            try await fs.rename(path, to: dir + "/b.txt")
            #expect(try await fs.scandir(dir).map(\.name) == ["b.txt"])
            let directory = try await fs.opendir(dir)
            #expect(try await directory.read().map(\.name) == ["b.txt"])
            try await directory.close()
            await #expect(throws: UVError.noSuchFileOrDirectory) { try await fs.stat(path) }
            try await fs.unlink(dir + "/b.txt")
            try await fs.rmdir(dir)
            await #expect(throws: UVError.noSuchFileOrDirectory) { try await fs.access(dir) }
        }
    }

    @Test("getaddrinfo, getnameinfo and pool work awaited", arguments: backends)
    func poolRequests(backend: Backend) async throws {
        try await withAsyncLoop(backend) { loop in
            let addresses = try await loop.resolve(host: "127.0.0.1", service: "80",
                                                          hints: AddressHints(socketType: Int32(SOCK_STREAM.rawValue)))
            #expect(addresses.contains { $0.address.port == 80 })
            let names = try await loop.resolveName(of: try SocketAddress("127.0.0.1:80"), flags: NI_NUMERICHOST | NI_NUMERICSERV)
            #expect(names.host == "127.0.0.1" && names.service == "80")
            await #expect(throws: UVError.self) { try await loop.resolve(host: "no-such-host.invalid") }
            let loopThread = pthread_self()
            let sum = try await loop.queueWork { () -> Int in
                #expect(pthread_equal(pthread_self(), loopThread) == 0, "on a pool thread")
                return (1...100).reduce(0, +)
            }
            #expect(sum == 5050)
            struct Failed: Error {}
            await #expect(throws: Failed.self) { try await loop.queueWork { () throws -> Int in throw Failed() } }
        }
    }
}

extension ThreadPoolTests {
    @Test("cancelling a task awaiting queued pool work, fs and DNS requests cancels them: CancellationError, the work never runs", arguments: backends)
    func asyncCancelQueued(backend: Backend) async throws {
        final class Ran: Sendable { let count = Atomic<Int>(0) }
        let ran = Ran()
        try await withAsyncLoop(backend) { loop in
            let (_, release) = try occupyPool(loop)
            let work: Task<Void, any Error> = try loop.task { try await loop.queueWork { _ = ran.count.add(1, ordering: .relaxed) } }
            let stat: Task<Void, any Error> = try loop.task { _ = try await loop.fs.stat("/") }
            let lookup: Task<Void, any Error> = try loop.task { _ = try await loop.resolve(host: "localhost") }
            try await loop.sleep(for: .milliseconds(5))
            #expect(loop.suspendedOperationCount == 3, "three requests queued behind the busy pool")
            for t in [work, stat, lookup] { t.cancel() }
            for t in [work, stat, lookup] {
                #expect(await throwsCancellation { try await t.value })
            }
            release()
            // Work already running is not stopped: its result arrives.
            let gate = Ran()
            let running = try loop.task { () -> Int in
                try await loop.queueWork { () -> Int in
                    gate.count.store(1, ordering: .releasing)
                    usleep(20_000)
                    return 7
                }
            }
            while gate.count.load(ordering: .acquiring) == 0 { try await loop.sleep(for: .milliseconds(1)) }
            running.cancel()
            #expect(try await running.value == 7)
        }
        #expect(ran.count.load(ordering: .relaxed) == 0, "the cancelled work never ran")
    }
}

extension SignalTests {
    @Test("a process's exit awaited; cancelling the wait leaves the process running", arguments: backends)
    func asyncProcessExit(backend: Backend) async throws {
        try await withAsyncLoop(backend) { loop in
            let quick = try UVProcess.spawn(loop: loop, ProcessOptions(file: "sh", arguments: ["sh", "-c", "exit 3"]))
            let exit = try await quick.waitUntilExit()
            #expect(exit.status == 3 && exit.signal == 0)
            #expect(try await quick.waitUntilExit().status == 3, "asked again after the exit")
            try quick.close()

            // An exit callback that closes the handle: the waiter still
            // gets the exit status.
            let closing = try UVProcess.spawn(loop: loop, ProcessOptions(file: "sh", arguments: ["sh", "-c", "exit 4"])) { p, _, _ in
                try? p.close()
            }
            #expect(try await closing.waitUntilExit().status == 4)

            let slow = try UVProcess.spawn(loop: loop, ProcessOptions(file: "sleep", arguments: ["sleep", "30"]))
            let waiting = try loop.task { try await slow.waitUntilExit() }
            try await loop.sleep(for: .milliseconds(10))
            waiting.cancel()
            #expect(await throwsCancellation { _ = try await waiting.value })
            #expect(slow.exitStatus == nil, "still running")
            try slow.kill(SIGTERM)
            let killed = try await slow.waitUntilExit()
            #expect(killed.signal == SIGTERM)
            try slow.close()
        }
    }
}
