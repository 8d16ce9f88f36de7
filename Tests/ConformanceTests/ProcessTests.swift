import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The cases of libuv's test-spawn.c. They live in the signal suite: both
/// backends reap children through a process-wide SIGCHLD handler, so they
/// run one at a time with the other signal cases.
extension SignalTests {
    @Test("spawn_fails: a missing program fails at once", arguments: backends)
    func spawnFails(backend: Backend) throws {
        try withLoop(backend) { loop in
            #expect(throws: UVError.noSuchFileOrDirectory) {
                try UVProcess.spawn(loop: loop, ProcessOptions(file: "/nonexistent/program-\(getpid())"))
            }
            // The handle made for it was closed for us; the loop cleans up.
            try loop.run()
        }
    }

    @Test("spawn_exit_code: exit status 1 and 3, signal 0", arguments: backends)
    func exitCode(backend: Backend) throws {
        try withLoop(backend) { loop in
            var exits: [(Int64, Int32)] = []
            for script in ["exit 1", "exit 3"] {
                _ = try UVProcess.spawn(loop: loop, ProcessOptions(file: "sh", arguments: ["sh", "-c", script])) { p, status, signal in
                    exits.append((status, signal))
                    try? p.close()
                }
            }
            try loop.run()
            #expect(exits.map(\.0).sorted() == [1, 3])
            #expect(exits.allSatisfy { $0.1 == 0 })
        }
    }

    @Test("spawn_stdout: a child's output arrives over a pipe", arguments: backends)
    func stdout(backend: Backend) throws {
        try withLoop(backend) { loop in
            let out = try UVPipe(loop: loop)
            var output: [UInt8] = []
            var exit: (Int64, Int32)?
            let child = try UVProcess.spawn(loop: loop, ProcessOptions(
                file: "/bin/echo", arguments: ["echo", "hello world"],
                stdio: [.ignore, .pipe(out, childReads: false, childWrites: true), .inherit(2)])) { p, status, signal in
                exit = (status, signal)
                try? p.close()
            }
            #expect(child.pid > 0)
            try out.readStart(bytes: { result in
                switch result {
                case .success(let b): output += b
                case .failure: try? out.close()
                }
            })
            try loop.run()
            #expect(String(decoding: output, as: UTF8.self) == "hello world\n")
            #expect(exit?.0 == 0 && exit?.1 == 0)
        }
    }

    @Test("spawn_stdin: cat echoes its stdin back", arguments: backends)
    func stdin(backend: Backend) throws {
        try withLoop(backend) { loop in
            let input = try UVPipe(loop: loop)
            let output = try UVPipe(loop: loop)
            var echoed: [UInt8] = []
            _ = try UVProcess.spawn(loop: loop, ProcessOptions(
                file: "/bin/cat", stdio: [.pipe(input, childReads: true, childWrites: false),
                                          .pipe(output, childReads: false, childWrites: true)])) { p, _, _ in try? p.close() }
            try output.readStart(bytes: { result in
                switch result {
                case .success(let b): echoed += b
                case .failure: try? output.close()
                }
            })
            try input.write("hello world\n") { _ in try? input.close() }
            try loop.run()
            #expect(String(decoding: echoed, as: UTF8.self) == "hello world\n")
        }
    }

    @Test("spawn_and_kill / kill: SIGTERM gives status 0 with the signal; the pid is then gone", arguments: backends)
    func spawnAndKill(backend: Backend) throws {
        try withLoop(backend) { loop in
            var exit: (Int64, Int32)?
            let child = try UVProcess.spawn(loop: loop, ProcessOptions(file: "sleep", arguments: ["sleep", "100"])) { p, status, signal in
                exit = (status, signal)
                try? p.close()
            }
            let pid = child.pid
            let timer = try UVTimer(loop: loop)
            try timer.start(timeout: 50, repeat: 0) { t in
                try? child.kill(SIGTERM)
                try? t.close()
            }
            try loop.run()
            #expect(exit?.0 == 0 && exit?.1 == SIGTERM)
            #expect(throws: UVError.noSuchProcess) { try UVProcess.kill(pid: pid, signal: 0) }
        }
    }

    @Test("spawn with environment and working folder", arguments: backends)
    func environmentAndCwd(backend: Backend) throws {
        try withLoop(backend) { loop in
            let out = try UVPipe(loop: loop)
            var output: [UInt8] = []
            _ = try UVProcess.spawn(loop: loop, ProcessOptions(
                file: "/bin/sh", arguments: ["sh", "-c", "echo $SWIFTUV_GREETING; pwd"],
                environment: ["SWIFTUV_GREETING=hi", "PATH=/usr/bin:/bin"], workingDirectory: "/tmp",
                stdio: [.ignore, .pipe(out, childReads: false, childWrites: true)])) { p, _, _ in try? p.close() }
            try out.readStart(bytes: { result in
                switch result {
                case .success(let b): output += b
                case .failure: try? out.close()
                }
            })
            try loop.run()
            #expect(String(decoding: output, as: UTF8.self) == "hi\n/tmp\n")
        }
    }

    /// Whether `pid` has exited and waits to be reaped (a zombie).
    static func isZombie(_ pid: Int32) -> Bool {
        guard let f = fopen("/proc/\(pid)/stat", "r") else { return false }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 512)
        guard fgets(&line, Int32(line.count), f) != nil else { return false }
        let text = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return false }
        return text[text.index(after: close)...].hasPrefix(" Z")
    }

    /// libuv's uv__wait_children reaps every exited child onto a queue and
    /// reports them in order; uv__process_close takes a closed one off that
    /// queue, but the walk has already read the next entry, so closing the
    /// very next child does not stop its report. (A C probe against libuv
    /// 1.44.2: closing children 1 and 2 from 0's callback reports 0, 1, 2;
    /// closing only 2 reports 0, 1.)
    @Test("exit callbacks of one reap pass: a child closed by an earlier callback is not reported, unless it is the very next",
          arguments: backends, [[1, 2], [2]])
    func exitsClosedInTheSamePass(backend: Backend, closedByFirst: [Int]) throws {
        try withLoop(backend) { loop in
            var processes: [UVProcess] = []
            var reported: [Int] = []
            for index in 0..<3 {
                let process = try UVProcess.spawn(loop: loop, ProcessOptions(file: "/bin/true")) { process, _, _ in
                    reported.append(index)
                    if index == 0 {
                        for other in closedByFirst { try? processes[other].close() }
                    }
                    if !process.isClosing { try? process.close() }
                }
                processes.append(process)
            }
            // All three have exited before the loop runs, so one pass reaps them.
            let pids = processes.map(\.pid)
            var waited = 0
            while !pids.allSatisfy(Self.isZombie) && waited < 30_000 {
                usleep(1000)
                waited += 1
            }
            let allExited = pids.allSatisfy(Self.isZombie)
            #expect(allExited)
            try loop.run()
            #expect(reported == (closedByFirst == [1, 2] ? [0, 1, 2] : [0, 1]))
            #expect(processes.allSatisfy { $0.isClosing })
        }
    }

    /// Waits until `pid` has exited, without reaping it.
    static func waitForExit(_ pid: Int32) {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR {}
    }

    /// Runs `body` with `signals` unblocked on this thread (a test thread
    /// blocks them all), so that each is handled here before the call that
    /// raised it returns: one sent with `raise`, and a child's SIGCHLD, which
    /// the kernel gives to the thread that forked the child when it can.
    /// Left to another thread, a handler may run only after the loop has
    /// read the records of those raised later.
    static func takingSignals(_ signals: [Int32], _ body: () -> Void) {
        var set = sigset_t()
        var saved = sigset_t()
        sigemptyset(&set)
        for signum in signals { sigaddset(&set, signum) }
        pthread_sigmask(SIG_UNBLOCK, &set, &saved)
        body()
        pthread_sigmask(SIG_SETMASK, &saved, nil)
    }

    enum SignalAround: String, CustomTestStringConvertible, CaseIterable {
        case before, after, both, bothFromTimer
        var testDescription: String { rawValue }
    }

    /// libuv learns of exits from its SIGCHLD watcher, whose record takes
    /// its place in the signal pipe among the others, so uv__signal_event
    /// runs uv__chld (and the exit callback) between the signal callbacks
    /// raised before the exit and those raised after it. (A C probe against
    /// libuv 1.44.2: SIGUSR1, the exit, SIGWINCH; the same from a timer
    /// callback.) The signals are handled on the loop's thread as they are
    /// raised; and SIGUSR1 is below SIGCHLD and SIGWINCH above it, so even
    /// pending together the kernel's lowest-first delivery keeps their order.
    @Test("an exit callback runs at the place of the SIGCHLD record among signal callbacks",
          arguments: backends, SignalAround.allCases)
    func exitAmongSignals(backend: Backend, around: SignalAround) throws {
        try withLoop(backend) { loop in
            var trace: [String] = []
            let before = around != .after
            let after = around != .before
            for (wanted, signum, name) in [(before, SIGUSR1, "SIGUSR1"), (after, SIGWINCH, "SIGWINCH")] where wanted {
                let signal = try Signal(loop: loop)
                try signal.start(signum: signum) { s, _ in
                    trace.append(name)
                    try? s.close()
                }
            }
            let child = try UVProcess.spawn(loop: loop, ProcessOptions(file: "sleep", arguments: ["sleep", "100"])) { p, status, signal in
                trace.append("exit \(status) \(signal)")
                try? p.close()
            }
            let act = {
                Self.takingSignals([SIGUSR1, SIGWINCH, SIGCHLD]) {
                    if before { raise(SIGUSR1) }
                    try? child.kill(SIGTERM)
                    Self.waitForExit(child.pid)
                    if after { raise(SIGWINCH) }
                }
            }
            if around == .bothFromTimer {
                let timer = try UVTimer(loop: loop)
                try timer.start(timeout: 0, repeat: 0) { t in
                    trace.append("timer")
                    act()
                    try? t.close()
                }
            } else {
                act()
            }
            #expect(try loop.run() == false)
            var expected = ["exit 0 \(SIGTERM)"]
            if before { expected.insert("SIGUSR1", at: 0) }
            if after { expected.append("SIGWINCH") }
            if around == .bothFromTimer { expected.insert("timer", at: 0) }
            #expect(trace == expected)
        }
    }

    /// libuv's uv_spawn starts the loop's SIGCHLD watcher, which adds no
    /// I/O watcher, so a loop that has polled keeps its timeout after a
    /// spawn: -1 with nothing but the child (a C probe against libuv 1.44.2;
    /// a fresh loop's is 0 before and after, its signal pipe not yet polled).
    /// Once the child has exited (its SIGCHLD taken on the loop's thread),
    /// NOWAIT runs its exit callback.
    @Test("backend timeout after spawn: unchanged in a loop that has polled; NOWAIT reports the exit", arguments: backends)
    func backendTimeoutAfterSpawn(backend: Backend) throws {
        try withLoop(backend) { loop in
            var exits = 0
            let onExit: (UVProcess, Int64, Int32) -> Void = { p, _, _ in
                exits += 1
                try? p.close()
            }
            let first = try UVProcess.spawn(loop: loop, ProcessOptions(file: "sleep", arguments: ["sleep", "100"]), onExit: onExit)
            #expect(loop.backendTimeout == 0)
            #expect(try loop.run(.noWait) == true)
            #expect(loop.backendTimeout == -1)
            Self.takingSignals([SIGCHLD]) {
                try? first.kill(SIGKILL)
                Self.waitForExit(first.pid)
            }
            #expect(try loop.run(.noWait) == false)
            #expect(exits == 1)

            // The loop has polled: the signal pipe is in epoll.
            #expect(loop.backendTimeout == 0)
            let second = try UVProcess.spawn(loop: loop, ProcessOptions(file: "sleep", arguments: ["sleep", "100"]), onExit: onExit)
            #expect(loop.backendTimeout == -1)
            Self.takingSignals([SIGCHLD]) {
                try? second.kill(SIGKILL)
                Self.waitForExit(second.pid)
            }
            #expect(loop.backendTimeout == -1)
            #expect(try loop.run(.noWait) == false)
            #expect(exits == 2)
        }
    }
}
