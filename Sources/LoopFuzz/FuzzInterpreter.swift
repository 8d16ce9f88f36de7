import SwiftUV
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs a `FuzzProgram` on one backend and returns what the program saw:
/// one line per callback (its key, then what it reported), per action (its
/// code, then `ok` or the error's name) and per `run` (the mode and what it
/// returned). No times, descriptors, ports or process ids: two runs of a
/// deterministic program on libuv give the same lines.
public final class FuzzInterpreter {
    /// How long one `loop.run` may block before the watchdog ends the
    /// program (a signal nobody raises, a connection nobody makes).
    public static let watchdogMilliseconds = 100

    private let program: FuzzProgram
    private let loop: Loop
    private let directory: String
    private var handles: [[Handle?]]
    private var names: [ObjectIdentifier: String] = [:]
    private var lines: [String] = []
    private var counts: [String: Int] = [:]
    private var reactions: [String: [Int: [Action]]] = [:]
    private var callbacks = 0
    private var windingDown = false
    private var works: [Int: Work] = [:]
    private var peers: [Int: Int32] = [:]
    private var udpAddresses: [Int: [SocketAddress]] = [:]

    /// Runs `program` on a new loop of `backend`; the loop is closed before
    /// this returns.
    public static func run(_ program: FuzzProgram, on backend: Backend) -> [String] {
        let loop: Loop
        do {
            loop = try Loop(backend: backend)
        } catch {
            return ["cannot make a loop: \(error.name)"]
        }
        let interpreter = FuzzInterpreter(program, loop)
        interpreter.execute()
        return interpreter.lines
    }

    private init(_ program: FuzzProgram, _ loop: Loop) {
        self.program = program
        self.loop = loop
        var template = Array("/tmp/swiftuv-fuzz-XXXXXX".utf8CString)
        directory = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil ? String(cString: $0.baseAddress!) : "/tmp" }
        handles = program.entities.map { Array(repeating: nil, count: $0?.parts ?? 0) }
        for reaction in program.reactions {
            reactions[reaction.on, default: [:]][reaction.nth, default: []] += reaction.actions
        }
    }

    private func execute() {
        let watchdog = Watchdog(loop: loop) { [unowned self] in
            self.log("watchdog: the loop blocked for \(Self.watchdogMilliseconds) ms")
            self.windDown()
        }
        for slot in program.entities.indices { create(slot) }
        for action in program.setup { perform(action) }
        for step in program.runs {
            let mode: RunMode = step == .default ? .default : step == .once ? .once : .noWait
            watchdog?.arm()
            do {
                let more = try loop.run(mode)
                log("run(.\(step.rawValue)) -> \(more)")
            } catch {
                log("run(.\(step.rawValue)) -> \(error.name)")
            }
            watchdog?.disarm()
            if windingDown { break }
        }
        log("after the runs: alive \(loop.isAlive)")
        windDown()
        watchdog?.arm()
        _ = try? loop.run(.default)
        watchdog?.disarm()
        watchdog?.close()
        _ = try? loop.run(.default)
        do {
            try loop.close()
        } catch {
            log("loop.close() -> \(error.name)")
        }
        for fd in peers.values { Glibc.close(fd) }
        for slot in program.entities.indices { unlink(file(slot)) }
        for id in 0..<3 { rmdir(directory + "/d\(id)") }
        rmdir(directory)
    }

    // MARK: - Trace

    private func log(_ line: String) { lines.append(line) }

    /// A callback: logs it, runs the reactions to it, and winds the
    /// program down once the budget of callbacks is spent.
    private func event(_ key: String, _ detail: String = "") {
        callbacks += 1
        log(detail.isEmpty ? key : key + " " + detail)
        guard !windingDown else { return }
        let n = counts[key, default: 0]
        counts[key] = n + 1
        for action in reactions[key]?[n] ?? [] { perform(action, indent: "  ") }
        if callbacks >= program.budget && !windingDown {
            log("budget of \(program.budget) callbacks spent")
            windDown()
        }
    }

    private func status(_ error: UVError?) -> String { error?.name ?? "ok" }

    /// Closes every handle of the loop (but the watchdog's); reactions stop.
    private func windDown() {
        windingDown = true
        for handle in loop.handles where !handle.isClosing {
            guard let name = names[ObjectIdentifier(handle)] else { continue }
            do {
                try handle.close { [unowned self] _ in self.event("\(name) close") }
            } catch {
                log("\(name).close() -> \(error.name)")
            }
        }
    }

    // MARK: - Slots

    private func file(_ slot: Int) -> String { directory + "/file\(slot)" }

    private func name(_ slot: Int, _ part: Int) -> String { Action(.query, slot: slot, part: part).target }

    private func keep(_ handle: Handle, _ slot: Int, _ part: Int) {
        handles[slot][part] = handle
        names[ObjectIdentifier(handle)] = name(slot, part)
    }

    private func create(_ slot: Int) {
        guard let entity = program.entities[slot] else { return }
        let key = name(slot, 0)
        do {
            switch entity {
            case .timer: keep(try UVTimer(loop: loop), slot, 0)
            case .idle: keep(try Idle(loop: loop), slot, 0)
            case .prepare: keep(try Prepare(loop: loop), slot, 0)
            case .check: keep(try Check(loop: loop), slot, 0)
            case .signal: keep(try Signal(loop: loop), slot, 0)
            case .async: keep(try Async(loop: loop) { [unowned self] _ in self.event("\(key) async") }, slot, 0)
            case .fsPoll, .fsEvent:
                let fd = open(file(slot), O_CREAT | O_WRONLY | O_TRUNC, 0o644)
                if fd >= 0 { Glibc.close(fd) }
                keep(entity == .fsPoll ? try FSPoll(loop: loop) : try FSEvent(loop: loop), slot, 0)
            case .process: break
            case .socketPair, .poll:
                var fds: [Int32] = [-1, -1]
                guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { return log("\(key): socketpair failed") }
                if entity == .poll {
                    _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
                    peers[slot] = fds[1]
                    keep(try Poll(loop: loop, fd: fds[0]), slot, 0)
                    peers[-1 - slot] = fds[0]
                } else {
                    for part in 0...1 {
                        let pipe = try UVPipe(loop: loop)
                        try pipe.open(fds[part])
                        keep(pipe, slot, part)
                    }
                }
            case .udpPair:
                var addresses: [SocketAddress] = []
                for part in 0...1 {
                    let udp = try UDP(loop: loop)
                    try udp.bind("127.0.0.1:0")
                    addresses.append(try udp.localAddress())
                    keep(udp, slot, part)
                }
                udpAddresses[slot] = addresses
            case .tcpPair:
                let listener = try TCP(loop: loop)
                try listener.bind("127.0.0.1:0")
                keep(listener, slot, 2)
                try listener.listen { [unowned self] error in
                    if error == nil, let accepted = try? TCP(loop: self.loop) {
                        do throws(UVError) {
                            try listener.accept(accepted)
                            self.keep(accepted, slot, 1)
                        } catch {
                            self.log("\(self.name(slot, 2)).accept -> \(error.name)")
                            try? accepted.close()
                        }
                    }
                    self.event("\(self.name(slot, 2)) listen", self.status(error))
                }
                let client = try TCP(loop: loop)
                keep(client, slot, 0)
                try client.connect(to: try listener.localAddress()) { [unowned self] error in
                    self.event("\(key) connect", self.status(error))
                }
            }
        } catch {
            log("making \(key) (\(entity.rawValue)) -> \(error.name)")
        }
    }

    // MARK: - Actions

    /// How long the loop thread waits after handing a request to the pool
    /// (or spawning or signalling a child): long enough for the pool to
    /// finish it (for the SIGCHLD handler to run), so that its completion is
    /// ready before anything the program does next.
    static let poolSettleMicroseconds: UInt32 = 2_000

    private func perform(_ action: Action, indent: String = "") {
        let result: String
        do {
            result = try apply(action)
        } catch {
            result = error.name
        }
        log(indent + action.code + " -> " + result)
        switch action.op {
        // A child's SIGCHLD may be handled on another thread: let it run.
        case .queueWork, .fsStat, .fsMkdir, .fsRmdir, .resolve, .spawn, .kill: usleep(Self.poolSettleMicroseconds)
        // An fs poll's start queues its first stat on the pool.
        case .start where program.entities[action.slot] == .fsPoll: usleep(Self.poolSettleMicroseconds)
        default: break
        }
    }

    /// Does `action`; returns what to log (`ok`, or what it answered).
    private func apply(_ action: Action) throws(UVError) -> String {
        let slot = action.slot, part = action.part, a = action.a
        let key = action.target
        switch action.op {
        case .raise:
            // Raised only while a handler catches it: SIGUSR1's default
            // action ends the process. The kernel's disposition is the exact
            // account of libuv's rules: a handler installed for one-shot
            // watchers only has SA_RESETHAND (one delivery, then the default
            // again), a handle once started as a one-shot stays one, a
            // restart on the same signal changes only the callback, and the
            // last watcher's stop restores the default.
            let number = fuzzSignals[a % 3].number
            var disposition = sigaction()
            sigaction(number, nil, &disposition)
            let handler = withUnsafeBytes(of: disposition.__sigaction_handler) { $0.load(as: UInt.self) }
            guard handler > 1 else { return "no handler: not raised" }  // SIG_DFL is 0, SIG_IGN 1
            kill(getpid(), number)
            return "ok"
        case .queueWork:
            works[a] = try loop.queueWork({ a }) { [unowned self] result in
                switch result {
                case .success(let value): self.event("w\(a) done", "\(value)")
                case .failure(let error): self.event("w\(a) done", error.name)
                }
            }
            return "ok"
        case .cancelWork:
            guard let work = works[a] else { return "no such work" }
            try work.cancel()
            return "ok"
        case .fsStat:
            try loop.fs.stat(a % 2 == 0 ? directory : directory + "/missing") { [unowned self] result in
                switch result {
                case .success(let stat): self.event("fs done", "stat directory \(stat.isDirectory)")
                case .failure(let error): self.event("fs done", "stat " + error.name)
                }
            }
            return "ok"
        case .fsMkdir, .fsRmdir:
            let path = directory + "/d\(a % 3)"
            let done: FileSystem.Completion<Void> = { [unowned self] result in
                self.event("fs done", "\(action.op == .fsMkdir ? "mkdir" : "rmdir") d\(a % 3) \(self.status(result.error))")
            }
            if action.op == .fsMkdir { try loop.fs.mkdir(path, done) } else { try loop.fs.rmdir(path, done) }
            return "ok"
        case .resolve:
            try loop.resolve(host: "127.0.0.1", service: "\(80 + a)",
                                    hints: AddressHints(family: AF_INET, socketType: Int32(SOCK_STREAM.rawValue))) { [unowned self] result in
                switch result {
                case .success(let list): self.event("dns done", "\(list.count) \(list.first.map { "\($0.address)" } ?? "")")
                case .failure(let error): self.event("dns done", error.name)
                }
            }
            return "ok"
        case .stopLoop:
            loop.stop()
            return "ok"
        case .queryLoop:
            let timeout = loop.backendTimeout
            return "alive \(loop.isAlive), timeout \(timeout < 0 ? "-1" : timeout == 0 ? "0" : ">0")"
        default:
            break
        }
        guard slot < program.entities.count, let entity = program.entities[slot], part < handles[slot].count else { return "no such slot" }
        if action.op == .spawn, entity == .process {
            if let old = handles[slot][0], !old.isClosing { return "already spawned" }
            let options = ProcessOptions(file: "/bin/sh", arguments: ["sh", "-c", "exit \(a)"])
            let process = try UVProcess.spawn(loop: loop, options) { [unowned self] _, status, signal in
                self.event("\(key) exit", "status \(status) signal \(signal)")
            }
            keep(process, slot, 0)
            // When a child's exit arrives depends on the scheduler; waiting
            // (without reaping) until it has exited makes it part of the program.
            var info = siginfo_t()
            _ = waitid(P_PID, id_t(process.pid), &info, WEXITED | WNOWAIT)
            return "ok"
        }
        if action.op == .touch, entity == .fsPoll || entity == .fsEvent {
            let fd = open(file(slot), O_WRONLY | O_APPEND)
            guard fd >= 0 else { return "cannot open" }
            let bytes = [UInt8](repeating: 120, count: a + 1)
            _ = write(fd, bytes, bytes.count)
            Glibc.close(fd)
            return "ok"
        }
        if action.op == .poke, let peer = peers[slot] {
            var byte: UInt8 = 1
            return write(peer, &byte, 1) == 1 ? "ok" : "failed"
        }
        guard let handle = handles[slot][part] else { return "no handle" }
        switch action.op {
        case .close:
            try handle.close { [unowned self] _ in self.event("\(key) close") }
        case .ref: try handle.ref()
        case .unref: try handle.unref()
        case .query:
            return "active \(handle.isActive), ref \(handle.hasRef), closing \(handle.isClosing)"
        default:
            return try handleOperation(action, handle, key)
        }
        return "ok"
    }

    private func handleOperation(_ action: Action, _ handle: Handle, _ key: String) throws(UVError) -> String {
        let a = action.a
        let bytes = [UInt8](repeating: 97, count: a)
        switch (action.op, handle) {
        case (.start, let timer as UVTimer):
            try timer.start(timeout: UInt64(a), repeat: UInt64(action.b)) { [unowned self] _ in self.event("\(key) timer") }
        case (.stop, let timer as UVTimer): try timer.stop()
        case (.again, let timer as UVTimer): try timer.again()
        case (.setRepeat, let timer as UVTimer): try timer.setRepeat(UInt64(a))
        case (.start, let idle as Idle): try idle.start { [unowned self] _ in self.event("\(key) idle") }
        case (.start, let prepare as Prepare): try prepare.start { [unowned self] _ in self.event("\(key) prepare") }
        case (.start, let check as Check): try check.start { [unowned self] _ in self.event("\(key) check") }
        case (.stop, let watcher as LoopWatcher): try watcher.stop()
        case (.send, let async as Async): try async.send()
        case (.start, let signal as Signal), (.startOneShot, let signal as Signal):
            let callback: (Signal, Int32) -> Void = { [unowned self] _, number in
                self.event("\(key) signal", fuzzSignals.first { $0.number == number }?.name ?? "\(number)")
            }
            let number = fuzzSignals[a % 3].number
            if action.op == .start {
                try signal.start(signum: number, callback)
            } else {
                try signal.startOneShot(signum: number, callback)
            }
        case (.stop, let signal as Signal): try signal.stop()
        case (.start, let poll as Poll):
            let drain = peers[-1 - action.slot] ?? -1
            try poll.start(Poll.Events(rawValue: Int32(a % 4))) { [unowned self] result in
                switch result {
                case .success(let events):
                    var buffer = [UInt8](repeating: 0, count: 64)
                    let drained = events.contains(.readable) ? recv(drain, &buffer, 64, Int32(MSG_DONTWAIT)) : 0
                    self.event("\(key) poll", "readable \(events.contains(.readable)) writable \(events.contains(.writable)) drained \(max(drained, 0))")
                case .failure(let error):
                    self.event("\(key) poll", error.name)
                }
            }
        case (.stop, let poll as Poll): try poll.stop()
        case (.start, let watcher as FSPoll):
            try watcher.start(path: file(action.slot), interval: UInt64(max(a, 1))) { [unowned self] _, error, previous, current in
                self.event("\(key) fsPoll", error?.name ?? "size \(previous.size) -> \(current.size)")
            }
        case (.stop, let watcher as FSPoll): try watcher.stop()
        case (.start, let watcher as FSEvent):
            try watcher.start(path: file(action.slot)) { [unowned self] _, name, events in
                self.event("\(key) fsEvent", "\(name ?? "-") rename \(events.contains(.rename)) change \(events.contains(.change))")
            }
        case (.stop, let watcher as FSEvent): try watcher.stop()
        case (.readStart, let stream as UVStream):
            try stream.readStart { [unowned self] result in
                switch result {
                case .success(let buffer): self.event("\(key) read", "\(buffer.count)")
                case .failure(let error): self.event("\(key) read", error.name)
                }
            }
        case (.readStop, let stream as UVStream): try stream.readStop()
        case (.write, let stream as UVStream):
            try stream.write(bytes) { [unowned self] error in self.event("\(key) write", self.status(error)) }
        case (.tryWrite, let stream as UVStream):
            return "\(try stream.tryWrite(bytes))"
        case (.shutdown, let stream as UVStream):
            try stream.shutdown { [unowned self] error in self.event("\(key) shutdown", self.status(error)) }
        case (.start, let udp as UDP):
            try udp.receiveStart { [unowned self] result in
                switch result {
                case .success(let datagram): self.event("\(key) recv", datagram.sender == nil ? "end of burst" : "\(datagram.bytes.count)")
                case .failure(let error): self.event("\(key) recv", error.name)
                }
            }
        case (.stop, let udp as UDP): try udp.receiveStop()
        case (.write, let udp as UDP), (.tryWrite, let udp as UDP):
            let peer = udpAddresses[action.slot]?[1 - action.part]
            if action.op == .tryWrite { return "\(try udp.trySend(bytes, to: peer))" }
            try udp.send(bytes, to: peer) { [unowned self] error in self.event("\(key) send", self.status(error)) }
        case (.kill, let process as UVProcess): try process.kill(SIGTERM)
        default:
            return "not for this handle"
        }
        return "ok"
    }
}

extension Result {
    var error: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

/// Ends a `loop.run` that blocks longer than the interpreter allows: a
/// thread sends to an unreferenced async handle once the deadline passes.
final class Watchdog {
    private let handle: Async
    private let state: WatchdogState
    private var thread: pthread_t?

    init?(loop: Loop, _ fired: @escaping () -> Void) {
        guard let handle = try? Async(loop: loop, { _ in fired() }) else { return nil }
        try? handle.unref()
        self.handle = handle
        let state = WatchdogState(sender: handle.sender)
        self.state = state
        let box = Unmanaged.passRetained(state)
        var thread = pthread_t()
        guard pthread_create(&thread, nil, { raw in
            let state = Unmanaged<WatchdogState>.fromOpaque(raw!).takeRetainedValue()
            state.watch()
            return nil
        }, box.toOpaque()) == 0 else {
            box.release()
            try? handle.close()
            return nil
        }
        self.thread = thread
    }

    func arm() { state.deadline.store(monotonicMilliseconds() + UInt64(FuzzInterpreter.watchdogMilliseconds), ordering: .releasing) }
    func disarm() { state.deadline.store(0, ordering: .releasing) }

    /// Stops the thread and closes the handle.
    func close() {
        state.finished.store(true, ordering: .releasing)
        if let thread { pthread_join(thread, nil) }
        thread = nil
        try? handle.close()
    }
}

final class WatchdogState: Sendable {
    let deadline = Atomic<UInt64>(0)
    let finished = Atomic<Bool>(false)
    let sender: AsyncSender

    init(sender: AsyncSender) { self.sender = sender }

    func watch() {
        while !finished.load(ordering: .acquiring) {
            let deadline = self.deadline.load(ordering: .acquiring)
            if deadline != 0 && monotonicMilliseconds() >= deadline {
                self.deadline.store(0, ordering: .releasing)
                try? sender.send()
            }
            usleep(5_000)
        }
    }
}

func monotonicMilliseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
}
