import AllocationCounter
import SwiftUV
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

struct Bench {
    let workload: String
    let quick: Bool
    let backend: Backend
    let instrument: String?

    func size(_ full: Int, _ small: Int) -> Int { quick ? small : full }
    func seconds(_ full: UInt64, _ small: UInt64) -> UInt64 { quick ? small : full }
    func report(_ metric: String, _ value: Double) { print("RESULT \(workload) \(metric) \(value)") }
    func fail(_ what: String, _ error: Error) -> Never {
        standardError("swiftuv-bench \(workload): \(what): \(error)\n")
        exit(1)
    }

    func run() {
        let loop: Loop
        do {
            loop = try Loop(backend: backend)
            switch instrument {
            case nil: break
            case "metrics": try loop.startMetrics()
            case "trace": try loop.startTracing(toFile: "/dev/null")
            default: fail("--instrument", UVError.invalidArgument)
            }
        } catch { fail("Loop", error) }
        func run() { do { try loop.run() } catch { fail("run", error) } }

        /// Stops a duration workload after `s` seconds: `body` runs, then the timer closes.
        func after(_ s: UInt64, _ body: @escaping () -> Void) throws(UVError) {
            let timer = try UVTimer(loop: loop)
            try timer.start(timeout: s * 1000) { t in body(); try? t.close() }
        }

        do throws(UVError) {
            switch workload {
            case "loop_count":
                let n = size(2_000_000, 500_000)
                var count = 0
                let idle = try Idle(loop: loop)
                try idle.start { idle in
                    count += 1
                    if count == n { try? idle.stop() }
                }
                let start = System.highResolutionTime
                run()
                report("rate", Double(n) / elapsed(since: start))
                try? idle.close()
                run()

            case "million_timers":
                let n = size(1_000_000, 200_000)
                var fired = 0
                let before = residentBytes()
                var start = System.highResolutionTime
                var timers: [UVTimer] = []
                timers.reserveCapacity(n)
                let perMillisecond = n / 1000
                // One callback shared by all timers, as the C program's one function.
                let onFire: (UVTimer) -> Void = { _ in fired += 1 }
                for i in 0..<n {
                    let timer = try UVTimer(loop: loop)
                    try timer.start(timeout: UInt64(1 + i / perMillisecond), onFire)
                    timers.append(timer)
                }
                let initTime = elapsed(since: start)
                let after = residentBytes()
                start = System.highResolutionTime
                run()
                let dispatch = elapsed(since: start)
                guard fired == n else { fail("fired", UVError.invalidArgument) }
                start = System.highResolutionTime
                for timer in timers { try timer.close() }
                timers = []
                run()
                let cleanup = elapsed(since: start)
                report("init_s", initTime)
                report("dispatch_s", dispatch)
                report("cleanup_s", cleanup)
                report("total_s", initTime + dispatch + cleanup)
                report("bytes_per_timer", Double(after - before) / Double(n))

            case "async_pummel_1":
                let n = size(1_000_000, 200_000)
                let counter = Counter()
                let async = try Async(loop: loop) { async in
                    if counter.increment() >= n { try? async.close() }
                }
                let sender = async.sender
                let start = System.highResolutionTime
                let thread = Thread {
                    while counter.value < n { try? sender.send() }
                }
                run()
                thread.join()
                report("rate", Double(n) / elapsed(since: start))

            case "async1":
                let n = size(50_000, 10_000)
                let ready = Semaphore()
                let box = SenderBox()
                var pongs = 0
                let toMain = try Async(loop: loop) { a in
                    pongs += 1
                    if pongs == n {
                        try? box.toWorker?.send()   // lets the worker close its side
                        try? a.close()
                    } else {
                        try? box.toWorker?.send()
                    }
                }
                box.toMain = toMain.sender
                let thread = Thread {
                    do throws(UVError) {
                        let workerLoop = try Loop(backend: backend)
                        var pings = 0
                        let toWorker = try Async(loop: workerLoop) { a in
                            pings += 1
                            if pings > n { try? a.close(); return }
                            try? box.toMain?.send()
                        }
                        box.toWorker = toWorker.sender
                        ready.signal()
                        try workerLoop.run()
                        try workerLoop.close()
                    } catch {
                        fail("worker", error)
                    }
                }
                ready.wait()
                let start = System.highResolutionTime
                try box.toWorker?.send()
                run()
                let time = elapsed(since: start)
                thread.join()
                report("rate", Double(n) / time)

            case "queue_work":
                let duration = seconds(5, 1)
                var done = 0
                var stop = false
                func queue() {
                    do {
                        try loop.queueWork({ () -> Int in 0 }) { _ in
                            done += 1
                            if !stop { queue() }
                        }
                    } catch { fail("queueWork", error) }
                }
                queue()
                try after(duration) { stop = true }
                let start = System.highResolutionTime
                run()
                report("rate", Double(done) / elapsed(since: start))

            case "fs_stat":
                let n = size(1_000_000, 200_000)
                var start = System.highResolutionTime
                for _ in 0..<n { _ = try loop.fs.stat(".") }
                report("sync_rate", Double(n) / elapsed(since: start))
                let m = size(100_000, 20_000)
                for concurrency in [1, 4, 8, 16] {
                    var started = 0
                    var finished = 0
                    func next() {
                        started += 1
                        do {
                            _ = try loop.fs.stat(".") { result in
                                if case .failure(let e) = result { fail("stat", e) }
                                finished += 1
                                if started < m { next() }
                            }
                        } catch { fail("stat", error) }
                    }
                    start = System.highResolutionTime
                    for _ in 0..<concurrency { next() }
                    run()
                    report("async\(concurrency)_rate", Double(finished) / elapsed(since: start))
                }

            case "read_file":
                // fs.readFile, one in flight: N files of 4 KiB, then M of 1 MiB.
                let pid = getpid()
                let files = [("/tmp/swiftuv-bench-read-4k-\(pid)", 4096, size(20_000, 5_000), "rate_4k"),
                             ("/tmp/swiftuv-bench-read-1m-\(pid)", 1 << 20, size(500, 100), "rate_1m")]
                for (path, bytes, _, _) in files {
                    try loop.fs.writeFile(path, (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 31) })
                }
                defer { for (path, _, _, _) in files { unlink(path) } }
                for (path, bytes, n, metric) in files {
                    var finished = 0
                    func next() {
                        do {
                            try loop.fs.readFile(path) { result in
                                guard case .success(let content) = result, content.count == bytes else {
                                    fail("readFile", (try? result.get()).map { _ in UVError.invalidArgument } ?? UVError.ioError)
                                }
                                finished += 1
                                if finished < n { next() }
                            }
                        } catch { fail("readFile", error) }
                    }
                    let start = System.highResolutionTime
                    next()
                    run()
                    report(metric, Double(finished) / elapsed(since: start))
                }

            case "allocations":
                // Heap allocations per steady-state operation, counted by the
                // AllocationCounter hook (every thread): each measured over n
                // operations after a warm-up of the same.
                let n = size(100_000, 20_000)
                func perOperation(_ count: Int, _ body: () throws -> Void) rethrows -> Double {
                    let before = allocation_count()
                    try body()
                    return Double(allocation_count() - before) / Double(count)
                }
                // An idle callback, and a restart of an active timer from it.
                let timer = try UVTimer(loop: loop)
                try timer.start(timeout: 60_000) { _ in }
                for (metric, restart) in [("idle_callback", false), ("timer_restart", true)] {
                    for counting in [false, true] {
                        var calls = 0
                        let idle = try Idle(loop: loop)
                        try idle.start { idle in
                            if restart { try? timer.start(timeout: 60_000) { _ in } }
                            calls += 1
                            if calls == n { try? idle.stop() }
                        }
                        let per = perOperation(n) { _ = try? loop.run(.noWait); while idle.isActive { _ = try? loop.run(.once) } }
                        try idle.close()
                        if counting { report(metric, per) }
                    }
                }
                try timer.close()
                run()
                // A pool job, one in flight.
                for counting in [false, true] {
                    var done = 0
                    func next() {
                        _ = try? loop.queueWork({ 1 }) { _ in
                            done += 1
                            if done < n { next() }
                        }
                    }
                    let per = perOperation(n) { next(); run() }
                    if counting { report("pool_job", per) }
                }
                // Writes of 13 bytes queued on a connected pair, and ping-pong
                // round trips (two reads and two writes each) on it.
                let server = try TCP(loop: loop)
                try server.bind(try SocketAddress(ip: "127.0.0.1", port: 0))
                var peer: TCP?
                try server.listen { _ in
                    guard let p = try? TCP(loop: loop) else { return }
                    try? server.accept(p)
                    peer = p
                    try? server.close()
                }
                let client = try TCP(loop: loop)
                try client.setNoDelay(true)
                try client.connect(to: try server.localAddress()) { error in if let error { fail("connect", error) } }
                while peer == nil { _ = try loop.run(.once) }
                var received = 0
                try peer!.readStart({ result in
                    if case .success(let bytes) = result { received += bytes.count }
                })
                let message: [UInt8] = Array("hello, world\n".utf8)
                for counting in [false, true] {
                    received = 0
                    let per = perOperation(n) {
                        for _ in 0..<n { try? client.write(message) }
                        while received < n * message.count { _ = try? loop.run(.once) }
                    }
                    if counting { report("write", per) }
                }
                // Reads alone: the client's side of the pair writes with
                // write(2) (no SwiftUV, no allocation), each read callback
                // writes the next 13 bytes.
                try peer!.readStop()
                var reads = 0
                let clientDescriptor = try client.fileDescriptor()
                func rawWrite() { _ = message.withUnsafeBytes { write(clientDescriptor, $0.baseAddress, $0.count) } }
                for counting in [false, true] {
                    var pendingBytes = 0
                    reads = 0
                    try peer!.readStart({ result in
                        guard case .success(let bytes) = result else { return }
                        reads += 1
                        pendingBytes += bytes.count
                        while pendingBytes >= message.count {
                            pendingBytes -= message.count
                            if reads < n { rawWrite() }
                        }
                    })
                    let per = perOperation(n) {
                        rawWrite()
                        while reads < n { _ = try? loop.run(.once) }
                    }
                    try peer!.readStop()
                    if counting { report("read", per) }
                }
                var trips = 0
                var pending = 0
                try peer!.readStart({ result in
                    if case .success(let bytes) = result, !bytes.isEmpty { try? peer!.write(bytes) }
                })
                try client.readStart({ result in
                    guard case .success(let bytes) = result else { return }
                    pending += bytes.count
                    while pending >= 5 {
                        pending -= 5
                        trips += 1
                        if trips % n != 0 { try? client.write(Array("PING\n".utf8)) }
                    }
                })
                for counting in [false, true] {
                    let goal = trips + n
                    let per = perOperation(n) {
                        try? client.write(Array("PING\n".utf8))
                        while trips < goal { _ = try? loop.run(.once) }
                    }
                    if counting { report("round_trip", per) }
                }
                try client.close()
                try peer!.close()
                run()

            case "getaddrinfo":
                let n = size(10_000, 2_000)
                var started = 0
                var finished = 0
                func next() {
                    started += 1
                    do {
                        _ = try loop.resolve(host: "localhost") { result in
                            if case .failure(let e) = result { fail("getaddrinfo", e) }
                            finished += 1
                            if started < n { next() }
                        }
                    } catch { fail("getAddressInfo", error) }
                }
                let start = System.highResolutionTime
                for _ in 0..<10 { next() }
                run()
                report("rate", Double(finished) / elapsed(since: start))

            case "spawn":
                let n = size(1000, 200)
                var spawned = 0
                func spawnOne() {
                    do throws(UVError) {
                        spawned += 1
                        let out = try UVPipe(loop: loop)
                        var pending = 2
                        func oneDone() {
                            pending -= 1
                            if pending == 0 && spawned < n { spawnOne() }
                        }
                        let options = ProcessOptions(file: "/bin/sh", arguments: ["/bin/sh", "-c", "echo hello; exit 42"],
                                                     stdio: [.ignore, .pipe(out, childReads: false, childWrites: true), .ignore])
                        _ = try UVProcess.spawn(loop: loop, options) { process, status, _ in
                            if status != 42 { fail("exit status \(status)", UVError.invalidArgument) }
                            try? process.close()
                            oneDone()
                        }
                        try out.readStart({ result in
                            if case .failure = result {
                                try? out.close()
                                oneDone()
                            }
                        })
                    } catch {
                        fail("spawn", error)
                    }
                }
                let start = System.highResolutionTime
                spawnOne()
                run()
                report("rate", Double(n) / elapsed(since: start))

            // Reads are lent (`readStart(_:)`, as the C program's slab): a trailing
            // closure would pick `readStart(bytes:)`, which copies each read.
            case "ping_pongs":
                let duration = seconds(5, 1)
                let server = try TCP(loop: loop)
                try server.bind(try SocketAddress(ip: "127.0.0.1", port: 0))
                try server.listen { [unowned server] _ in
                    guard let connection = try? TCP(loop: loop) else { return }
                    try? server.accept(connection)
                    try? connection.readStart({ result in
                        switch result {
                        case .success(let bytes): if !bytes.isEmpty { try? connection.write(bytes) }
                        case .failure: try? connection.close()
                        }
                    })
                }
                let client = try TCP(loop: loop)
                try client.setNoDelay(true)
                var roundTrips = 0
                var received = 0
                var stop = false
                let ping: [UInt8] = Array("PING\n".utf8)
                try client.connect(to: try server.localAddress()) { error in
                    if let error { fail("connect", error) }
                    try? client.readStart({ result in
                        guard case .success(let bytes) = result else { return }
                        received += bytes.count
                        while received >= 5 {
                            received -= 5
                            roundTrips += 1
                            if stop { try? client.close(); try? server.close(); return }
                            try? client.write(ping)
                        }
                    })
                    try? client.write(ping)
                }
                try after(duration) { stop = true }
                let start = System.highResolutionTime
                run()
                report("rate", Double(roundTrips) / elapsed(since: start))

            case "tail_latency":
                // ping_pongs measured one round trip at a time, while the loop
                // also holds 1,000 idle connections and a 1 ms repeating timer.
                let idleCount = 1000, warmUp = 1000, n = size(200_000, 50_000)
                let server = try TCP(loop: loop)
                try server.bind(try SocketAddress(ip: "127.0.0.1", port: 0))
                var accepted: [TCP] = []
                var echo: TCP?
                try server.listen(backlog: 1024) { [unowned server] _ in
                    guard let connection = try? TCP(loop: loop) else { return }
                    do { try server.accept(connection) } catch { fail("accept", error) }
                    if accepted.count < idleCount {
                        accepted.append(connection)
                        try? connection.readStart({ _ in })
                        return
                    }
                    echo = connection
                    try? connection.readStart({ result in
                        if case .success(let bytes) = result, !bytes.isEmpty { try? connection.write(bytes) }
                    })
                }
                let address = try server.localAddress()
                var idle: [TCP] = []
                var connected = 0
                for _ in 0..<idleCount {
                    let socket = try TCP(loop: loop)
                    idle.append(socket)
                    try socket.connect(to: address) { error in
                        if let error { fail("idle connect", error) }
                        connected += 1
                    }
                }
                // Set up the idle connections first: one iteration at a time
                // until both sides have all of them.
                while connected < idleCount || accepted.count < idleCount {
                    do { _ = try loop.run(.once) } catch { fail("run", error) }
                }
                let timer = try UVTimer(loop: loop)
                var fires = 0
                try timer.start(timeout: 1, repeat: 1) { _ in fires += 1 }
                let client = try TCP(loop: loop)
                try client.setNoDelay(true)
                var samples = [UInt64](repeating: 0, count: n)
                var count = 0
                var received = 0
                var sentAt: UInt64 = 0
                let ping: [UInt8] = Array("PING\n".utf8)
                func send() {
                    sentAt = System.highResolutionTime
                    do { try client.write(ping) } catch { fail("write", error) }
                }
                func finish() {
                    try? timer.close()
                    try? client.close()
                    try? echo?.close()
                    try? server.close()
                    for socket in idle + accepted { try? socket.close() }
                }
                try client.connect(to: address) { error in
                    if let error { fail("connect", error) }
                    try? client.readStart({ result in
                        guard case .success(let bytes) = result else { return }
                        received += bytes.count
                        guard received >= 5 else { return }
                        let now = System.highResolutionTime
                        received -= 5
                        if count >= warmUp { samples[count - warmUp] = now - sentAt }
                        count += 1
                        if count == warmUp + n { finish() } else { send() }
                    })
                    send()
                }
                run()
                samples.sort()
                func percentile(_ p: Double) -> Double {
                    let rank = max(Int((p * Double(n)).rounded(.up)) - 1, 0)
                    return Double(samples[rank]) / 1000
                }
                report("p99_us", percentile(0.99))
                report("p50_us", percentile(0.5))
                report("p999_us", percentile(0.999))
                report("max_us", Double(samples[n - 1]) / 1000)
                report("timer_fires", Double(fires))

            case "ping_pongs_async":
                // ping_pongs with async/await only: the server and the client
                // are tasks on the loop; reads are `chunks()`, writes resume
                // once the kernel has the bytes.
                let duration = seconds(5, 1)
                let server = try TCP(loop: loop)
                try server.bind(try SocketAddress(ip: "127.0.0.1", port: 0))
                let connections = try server.connections()
                let address = try server.localAddress()
                var roundTrips = 0
                var stop = false
                let start = System.highResolutionTime
                try loop.task {
                    for try await connection in connections {
                        try loop.task {
                            for try await chunk in connection.chunks() { try await connection.write(chunk) }
                            try connection.close()
                        }
                    }
                }
                try loop.task {
                    let client = try TCP(loop: loop)
                    try client.setNoDelay(true)
                    try await client.connect(to: address)
                    let ping: [UInt8] = Array("PING\n".utf8)
                    var replies = client.chunks().makeAsyncIterator()
                    var received = 0
                    try await client.write(ping)
                    while let chunk = try await replies.next() {
                        received += chunk.count
                        while received >= 5 {
                            received -= 5
                            roundTrips += 1
                        }
                        if stop { break }
                        try await client.write(ping)
                    }
                    try client.close()
                    try server.close()
                }
                try after(duration) { stop = true }
                run()
                report("rate", Double(roundTrips) / elapsed(since: start))

            case "tcp_pump1", "pipe_pump1":
                let duration = seconds(5, 1)
                let tcp = workload == "tcp_pump1"
                let path = "/tmp/swiftuv-bench-\(getpid()).sock"
                unlink(path)
                let server: UVStream = tcp ? try TCP(loop: loop) : try UVPipe(loop: loop)
                if let s = server as? TCP { try s.bind(try SocketAddress(ip: "127.0.0.1", port: 0)) } else { try (server as! UVPipe).bind(path) }
                var bytes = 0
                var stop = false
                var accepted: UVStream?
                try server.listen { _ in
                    guard let connection: UVStream = tcp ? try? TCP(loop: loop) : try? UVPipe(loop: loop) else { return }
                    try? server.accept(connection)
                    accepted = connection
                    try? connection.readStart({ result in
                        if case .success(let chunk) = result { bytes += chunk.count } else { try? connection.close() }
                    })
                }
                let client: UVStream = tcp ? try TCP(loop: loop) : try UVPipe(loop: loop)
                let buffer = [UInt8](repeating: 0x61, count: 8192)
                func pump() {
                    if stop { try? client.close(); try? accepted?.close(); try? server.close(); return }
                    do { try client.write(buffer) { _ in pump() } } catch { fail("write", error) }
                }
                let connected: (UVError?) -> Void = { error in
                    if let error { fail("connect", error) }
                    pump()
                }
                if let c = client as? TCP { try c.connect(to: try (server as! TCP).localAddress(), connected) } else { try (client as! UVPipe).connect(to: path, connected) }
                try after(duration) { stop = true }
                let start = System.highResolutionTime
                run()
                let time = elapsed(since: start)
                unlink(path)
                report("gbit_s", Double(bytes) * 8 / time / 1e9)

            case "tcp_write_batch":
                // Twice on a fresh pair: N writes as C makes them, then the
                // same N writes held by `writeBatch` and sent as one request
                // (as NIO's flush does).
                let n = size(1_000_000, 200_000)
                let message: [UInt8] = Array("Hello, world!".utf8)
                func writeBurst(batched: Bool) throws(UVError) -> Double {
                    let server = try TCP(loop: loop)
                    try server.bind(try SocketAddress(ip: "127.0.0.1", port: 0))
                    try server.listen { [unowned server] _ in
                        guard let connection = try? TCP(loop: loop) else { return }
                        try? server.accept(connection)
                        try? server.close()
                        try? connection.readStart({ result in if case .failure = result { try? connection.close() } })
                    }
                    let client = try TCP(loop: loop)
                    var total = 0.0
                    try client.connect(to: try server.localAddress()) { error in
                        if let error { fail("connect", error) }
                        let start = System.highResolutionTime
                        do {
                            if batched {
                                try client.writeBatch { for _ in 0..<n { try client.write(message) } }
                            } else {
                                for _ in 0..<n { try client.write(message) }
                            }
                            try client.shutdown { _ in
                                total = elapsed(since: start)
                                try? client.close()
                            }
                        } catch { fail("write", error) }
                    }
                    run()
                    return total
                }
                report("total_s", try writeBurst(batched: false))
                report("batched_s", try writeBurst(batched: true))

            case "tcp4_pound_100":
                let duration = seconds(5, 1)
                var accepted = 0
                var stop = false
                let server = try TCP(loop: loop)
                try server.bind(try SocketAddress(ip: "127.0.0.1", port: 0))
                let address = try server.localAddress()
                try server.listen(backlog: 1024) { [unowned server] _ in
                    guard let connection = try? TCP(loop: loop) else { return }
                    do { try server.accept(connection) } catch { try? connection.close(); return }
                    accepted += 1
                    try? connection.readStart({ _ in try? connection.close() })
                }
                let qs: [UInt8] = Array("QS".utf8)
                func client() {
                    guard !stop else { return }
                    do throws(UVError) {
                        let socket = try TCP(loop: loop)
                        try socket.connect(to: address) { error in
                            if error != nil { try? socket.close { _ in client() }; return }
                            try? socket.write(qs)
                            try? socket.readStart({ _ in try? socket.close { _ in client() } })
                        }
                    } catch { fail("client", error) }
                }
                for _ in 0..<100 { client() }
                try after(duration) { stop = true; try? server.close() }
                let start = System.highResolutionTime
                run()
                report("rate", Double(accepted) / elapsed(since: start))

            case "udp_pummel_1v1":
                let duration = seconds(5, 1)
                let receiver = try UDP(loop: loop)
                try receiver.bind(try SocketAddress(ip: "127.0.0.1", port: 0))
                let target = try receiver.localAddress()
                var received = 0
                var stop = false
                try receiver.receiveStart { result in
                    if case .success(let d) = result, d.sender != nil { received += 1 }
                }
                let sender = try UDP(loop: loop)
                let payload = [UInt8](repeating: 0x61, count: 45)
                func send() {
                    if stop { try? sender.close(); try? receiver.close(); return }
                    do { try sender.send(payload, to: target) { _ in send() } } catch { fail("send", error) }
                }
                send()
                try after(duration) { stop = true }
                let start = System.highResolutionTime
                run()
                report("rate", Double(received) / elapsed(since: start))

            case "ping_udp1":
                let duration = seconds(5, 1)
                let socket = try UDP(loop: loop)
                try socket.bind(try SocketAddress(ip: "127.0.0.1", port: 0))
                let me = try socket.localAddress()
                let payload = [UInt8](repeating: 0x61, count: 45)
                var pongs = 0
                var stop = false
                try socket.receiveStart { result in
                    guard case .success(let d) = result, d.sender != nil else { return }
                    pongs += 1
                    if stop { try? socket.close(); return }
                    _ = try? socket.trySend(payload, to: me)
                }
                _ = try socket.trySend(payload, to: me)
                try after(duration) { stop = true }
                let start = System.highResolutionTime
                run()
                report("rate", Double(pongs) / elapsed(since: start))

            default:
                standardError("usage: swiftuv-bench WORKLOAD [--quick] [--backend libuv|native]\n")
                exit(2)
            }
            try loop.close()
        } catch {
            fail("setup", error)
        }
    }
}

func elapsed(since start: UInt64) -> Double { Double(System.highResolutionTime - start) / 1e9 }
func standardError(_ s: String) { var b = Array(s.utf8); _ = write(2, &b, b.count) }
func residentBytes() -> Int {
    let fd = open("/proc/self/statm", O_RDONLY)
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 128)
    let n = read(fd, &buffer, 127)
    let fields = String(decoding: buffer.prefix(max(0, n)), as: UTF8.self).split(separator: " ")
    return (fields.count > 1 ? Int(fields[1]) ?? 0 : 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// A counter shared with another thread (an atomic, as the C program's
/// `ACCESS_ONCE` int).
final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .relaxed) }
    func increment() -> Int { count.add(1, ordering: .relaxed).newValue }
}

final class SenderBox: @unchecked Sendable {
    var toMain: AsyncSender?
    var toWorker: AsyncSender?
}

final class Semaphore: @unchecked Sendable {
    private var s = sem_t()
    init() { sem_init(&s, 0, 0) }
    func signal() { sem_post(&s) }
    func wait() { sem_wait(&s) }
}

final class Thread: @unchecked Sendable {
    private var thread = pthread_t()
    init(_ body: @escaping @Sendable () -> Void) {
        final class Box { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box)
    }
    func join() { pthread_join(thread, nil) }
}
