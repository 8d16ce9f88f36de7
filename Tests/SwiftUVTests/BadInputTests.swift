import NativeLoop
import SwiftUV
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Bad input gets the same `UVError` on both backends: never a trap, an
/// abort inside libuv, or a call made on an input silently changed.
@Suite("Bad input")
struct BadInputTests {
    /// A scratch folder with a regular file in it.
    final class Scratch {
        let path: String
        let file: String
        init() {
            var template = Array("/tmp/swiftuv-bad-XXXXXX".utf8CString)
            path = String(cString: mkdtemp(&template)!)
            file = path + "/file"
            let fd = open(file, O_CREAT | O_WRONLY, 0o644)
            _ = write(fd, "hello", 5)
            close(fd)
        }
        deinit {
            if let dir = opendir(path) {
                while let entry = readdir(dir) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                    if name != "." && name != ".." { unlink(path + "/" + name) }
                }
                closedir(dir)
            }
            rmdir(path)
        }
    }

    /// `body` throws `expected`, with a context naming what was refused.
    func refuses(_ expected: UVError, _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
                 _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("\(what): accepted, expected \(expected.name)", sourceLocation: sourceLocation)
        } catch let error as UVError {
            #expect(error == expected, "\(what): \(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(what): \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Descriptors of the wrong kind

    @Test("TCP, UDP and pipes refuse descriptors epoll cannot watch or of the wrong kind; the loop still runs", arguments: backends)
    func descriptorsOfTheWrongKind(backend: Backend) throws {
        let scratch = Scratch()
        let loop = try Loop(backend: backend)
        let file = open(scratch.file, O_RDONLY)
        let directory = open(scratch.path, O_RDONLY | O_DIRECTORY)
        let null = open("/dev/null", O_RDWR)
        let datagram = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        let stream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { for fd in [file, directory, null, datagram, stream] { close(fd) } }

        for (fd, name) in [(file, "a regular file"), (directory, "a directory"), (null, "/dev/null")] {
            let tcp = try TCP(loop: loop)
            refuses(.notSocket, "TCP.open(\(name))") { try tcp.open(socket: fd) }
            let udp = try UDP(loop: loop)
            refuses(.notSocket, "UDP.open(\(name))") { try udp.open(socket: fd) }
            let pipe = try UVPipe(loop: loop)
            refuses(.notPermitted, "UVPipe.open(\(name))") { try pipe.open(fd) }
            // Refused at open, so reading never reaches the poll (libuv
            // aborted inside uv_run there).
            refuses(.notConnected, "readStart after a refused open") { try pipe.readStart({ _ in }) }
            refuses(.invalidArgument, "TTY(\(name))") { _ = try TTY(loop: loop, fd: fd) }
            for h: Handle in [tcp, udp, pipe] { try h.close() }
        }
        let tcp = try TCP(loop: loop)
        refuses(.invalidArgument, "TCP.open(a datagram socket)") { try tcp.open(socket: datagram) }
        refuses(.badFileDescriptor, "TCP.open(-1)") { try tcp.open(socket: -1) }
        let udp = try UDP(loop: loop)
        refuses(.invalidArgument, "UDP.open(a stream socket)") { try udp.open(socket: stream) }
        refuses(.notPermitted, "Poll(a regular file)") { _ = try Poll(loop: loop, fd: file) }
        try tcp.close()
        try udp.close()
        // The descriptors are untouched: still open, still blocking.
        #expect(fcntl(file, F_GETFL) & O_NONBLOCK == 0)
        try loop.run()
        try loop.close()
    }

    // MARK: Counts and sizes

    @Test("negative and absurd counts: fs.read, Directory.read, randomBytes", arguments: backends)
    func countsAndSizes(backend: Backend) throws {
        let scratch = Scratch()
        let loop = try Loop(backend: backend)
        let fd = try loop.fs.open(scratch.file)
        refuses(.invalidArgument, "fs.read(count: -1)") { _ = try loop.fs.read(fd, count: -1) }
        refuses(.noMemory, "fs.read(count: Int.max)") { _ = try loop.fs.read(fd, count: Int.max) }
        refuses(.invalidArgument, "fs.read(count: -1) asynchronously") { try loop.fs.read(fd, count: -1) { _ in } }
        refuses(.noMemory, "fs.read(count: Int.max) asynchronously") { try loop.fs.read(fd, count: Int.max) { _ in } }
        refuses(.invalidArgument, "fs.read(offset: -5)") { _ = try loop.fs.read(fd, count: 1, offset: -5) }
        refuses(.invalidArgument, "fs.write(offset: -2)") { _ = try loop.fs.write(fd, [1], offset: -2) }
        refuses(.invalidArgument, "fs.sendfile(length: -1)") { _ = try loop.fs.sendfile(to: fd, from: fd, offset: 0, length: -1) }
        #expect(try loop.fs.read(fd, count: 5) == Array("hello".utf8), "a good read still reads")
        try loop.fs.close(fd)

        let directory = try loop.fs.opendir(scratch.path)
        refuses(.invalidArgument, "Directory.read(max: Int.max)") { _ = try directory.read(max: Int.max) }
        refuses(.invalidArgument, "Directory.read(max: 0)") { _ = try directory.read(max: 0) }
        refuses(.invalidArgument, "Directory.read(max: -1)") { _ = try directory.read(max: -1) }
        #expect(try directory.read(max: Directory.maximumEntriesPerRead).map(\.name) == ["file"])
        try directory.close()

        refuses(.invalidArgument, "randomBytes(count: -1)") { _ = try System.randomBytes(count: -1) }
        refuses(.argumentListTooLong, "randomBytes(count: Int.max)") { _ = try System.randomBytes(count: Int.max) }
        refuses(.invalidArgument, "randomBytes(count: -1) on the pool") { try loop.randomBytes(count: -1) { _ in } }
        #expect(try System.randomBytes(count: 0).isEmpty)
        try loop.run()
        try loop.close()
    }

    // MARK: Modes and times

    @Test("modes beyond 0o7777 and times no timespec holds", arguments: backends)
    func modesAndTimes(backend: Backend) throws {
        let scratch = Scratch()
        let loop = try Loop(backend: backend)
        for mode: Int32 in [-1, 0o10000, 0o100644, Int32.max] {
            refuses(.invalidArgument, "fs.open(mode: \(mode))") { _ = try loop.fs.open(scratch.path + "/new", flags: [.create, .writeOnly], mode: mode) }
            refuses(.invalidArgument, "fs.mkdir(mode: \(mode))") { try loop.fs.mkdir(scratch.path + "/dir", mode: mode) }
            refuses(.invalidArgument, "fs.chmod(mode: \(mode))") { try loop.fs.chmod(scratch.file, mode: mode) }
            refuses(.invalidArgument, "fs.chmod(mode: \(mode)) asynchronously") { try loop.fs.chmod(scratch.file, mode: mode) { _ in } }
        }
        // Nothing was made or changed.
        #expect(access(scratch.path + "/new", F_OK) != 0 && access(scratch.path + "/dir", F_OK) != 0)
        #expect(try loop.fs.stat(scratch.file).permissions == 0o644)
        refuses(.invalidArgument, "fs.access(mode: -1)") { try loop.fs.access(scratch.file, mode: -1) }

        let fd = try loop.fs.open(scratch.file)
        refuses(.invalidArgument, "fs.chmod(descriptor: mode: -1)") { try loop.fs.chmod(descriptor: fd, mode: -1) }
        for time in [Double.nan, .infinity, -.infinity, 1e300, -1e300] {
            refuses(.invalidArgument, "fs.utime(\(time))") { try loop.fs.utime(scratch.file, accessed: time, modified: 0) }
            refuses(.invalidArgument, "fs.utime(descriptor: \(time))") { try loop.fs.utime(descriptor: fd, accessed: 0, modified: time) }
            refuses(.invalidArgument, "fs.utime(\(time), followingSymlinks: false)") { try loop.fs.utime(scratch.file, accessed: time, modified: time, followingSymlinks: false) }
            refuses(.invalidArgument, "fs.utime(\(time)) asynchronously") { try loop.fs.utime(scratch.file, accessed: time, modified: 0) { _ in } }
        }
        try loop.fs.utime(scratch.file, accessed: 1_000_000.5, modified: 2_000_000.25)
        #expect(try loop.fs.stat(scratch.file).modified.seconds == 2_000_000)
        try loop.fs.close(fd)
        try loop.run()
        try loop.close()
    }

    // MARK: A closed loop

    @Test("a closed loop: every call throws, the executor and task {} included", arguments: backends)
    func closedLoop(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        try loop.close()
        refuses(.invalidArgument, "UVTimer") { _ = try UVTimer(loop: loop) }
        refuses(.invalidArgument, "TCP") { _ = try TCP(loop: loop) }
        refuses(.invalidArgument, "Async") { _ = try Async(loop: loop) { _ in } }
        refuses(.invalidArgument, "fs.stat") { _ = try loop.fs.stat("/") }
        refuses(.invalidArgument, "fs.stat asynchronously") { try loop.fs.stat("/") { _ in } }
        refuses(.invalidArgument, "fs.read asynchronously") { try loop.fs.read(0, count: 10) { _ in } }
        refuses(.invalidArgument, "queueWork") { try loop.queueWork({ 1 }) { _ in } }
        refuses(.invalidArgument, "getAddressInfo") { try loop.resolve(host: "127.0.0.1") { _ in } }
        refuses(.invalidArgument, "randomBytes") { try loop.randomBytes(count: 4) { _ in } }
        refuses(.invalidArgument, "executor") { _ = try loop.executor }
        refuses(.invalidArgument, "task {}") { try loop.task { 1 } }
        refuses(.invalidArgument, "run") { try loop.run() }
        refuses(.invalidArgument, "run { }") { _ = try loop.run { 1 } }
        refuses(.invalidArgument, "close") { try loop.close() }
        refuses(.invalidArgument, "shutdown") { try loop.shutdown() }
        #expect(!loop.isAlive)
    }

    @Test("Loop.defaultLoop() throws when no descriptor is free (in a child process: the limit is process-wide)")
    func defaultLoopWithoutDescriptors() throws {
        let child = try Subprocess(["/proc/self/exe", "--testing-library", "swift-testing", "--filter", "defaultLoopChild"],
                                   environment: ["SWIFTUV_BAD_INPUT_CHILD": "1"], pipeStdout: true, mergeStderr: true)
        let output = child.readAll()
        #expect(child.wait() == 0, "\(output.suffix(2000))")
        #expect(output.contains("Test \"default loop without descriptors (child process only)\" passed"), "\(output.suffix(2000))")
    }

    @Test("default loop without descriptors (child process only)", .enabled(if: getenv("SWIFTUV_BAD_INPUT_CHILD") != nil))
    func defaultLoopChild() throws {
        // Use up every descriptor below a limit just above what is open now.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        var held: [Int32] = []
        limit.rlim_cur = 256
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        while true {
            let fd = dup(0)
            if fd < 0 { break }
            held.append(fd)
        }
        for backend in backends {
            setenv("SWIFTUV_BACKEND", backend.rawValue, 1)
            refuses(.tooManyOpenFiles, "Loop.defaultLoop() on \(backend)") { _ = try Loop.defaultLoop() }
            refuses(.tooManyOpenFiles, "Loop(backend: \(backend))") { _ = try Loop(backend: backend) }
        }
        for fd in held { close(fd) }
        setenv("SWIFTUV_BACKEND", "uvloop", 1)
        refuses(.invalidArgument, "Loop.defaultLoop() with SWIFTUV_BACKEND=uvloop") { _ = try Loop.defaultLoop() }
        setenv("SWIFTUV_BACKEND", "native", 1)
        let loop = try Loop.defaultLoop()
        #expect(loop.backend == .native && loop === Loop.default)
        try loop.close()
    }

    // MARK: A sequence that aborted libuv

    @Test("FSPoll started, stopped and started again in one callback: the second start is refused until it has wound down", arguments: backends)
    func fsPollRestart(backend: Backend) throws {
        let scratch = Scratch()
        let loop = try Loop(backend: backend)
        let poll = try FSPoll(loop: loop)
        let check = try Check(loop: loop)
        var restart: Result<Void, UVError>?
        var checks = 0
        var restartedAt = 0
        try check.start { check in
            checks += 1
            if checks == 1 {
                try? poll.start(path: scratch.file, interval: 5) { _, _, _, _ in }
                try? poll.stop()
                #expect(poll.isWindingDown, "a stat is in flight")
                do throws(UVError) {
                    try poll.start(path: scratch.file, interval: 5) { _, _, _, _ in }
                    restart = .success(())
                } catch {
                    restart = .failure(error)
                }
            } else if restartedAt == 0 && !poll.isWindingDown {
                // Wound down: a start is accepted again, and runs.
                if (try? poll.start(path: scratch.file, interval: 5) { _, _, _, _ in }) != nil { restartedAt = checks }
            } else if restartedAt != 0 && checks > restartedAt + 3 {
                try? poll.close()
                try? check.close()
            }
        }
        // The check keeps the loop iterating (an idle keeps the poll from blocking).
        let idle = try Idle(loop: loop)
        try idle.start { idle in if check.isClosing { try? idle.close() } }
        try loop.run()
        if case .failure(let error) = restart {
            #expect(error == .busy && error.context?.contains("winding down") == true, "\(error)")
        } else {
            Issue.record("the second start: \(String(describing: restart)), expected EBUSY")
        }
        #expect(restartedAt > 1, "a start after the wind-down succeeded")
        try loop.close()
    }

    // MARK: Nothing silently changed

    @Test("a NUL byte inside a path, an address, a pipe name, a program, an argument or an environment entry", arguments: backends)
    func embeddedNUL(backend: Backend) throws {
        let scratch = Scratch()
        let loop = try Loop(backend: backend)
        refuses(.invalidArgument, "SocketAddress") { _ = try SocketAddress("127.0.0.1\0garbage:80") }
        refuses(.invalidArgument, "SocketAddress(ip:)") { _ = try SocketAddress(ip: "127.0.0.1\0x", port: 80) }
        refuses(.invalidArgument, "SocketAddress(unixPath:)") { _ = try SocketAddress(unixPath: scratch.path + "/s\0x") }
        refuses(.invalidArgument, "fs.stat") { _ = try loop.fs.stat(scratch.file + "\0junk") }
        refuses(.invalidArgument, "fs.open") { _ = try loop.fs.open(scratch.file + "\0junk") }
        refuses(.invalidArgument, "fs.unlink") { try loop.fs.unlink(scratch.file + "\0junk") }
        refuses(.invalidArgument, "fs.rename") { try loop.fs.rename(scratch.file, to: scratch.path + "/b\0c") }
        refuses(.invalidArgument, "fs.mkdtemp") { _ = try loop.fs.makeTemporaryDirectory(template: scratch.path + "/t\0XXXXXX") }
        refuses(.invalidArgument, "fs.stat asynchronously") { try loop.fs.stat(scratch.file + "\0junk") { _ in } }
        #expect(access(scratch.file, F_OK) == 0, "the file before the NUL is untouched")

        let pipe = try UVPipe(loop: loop)
        refuses(.invalidArgument, "UVPipe.bind") { try pipe.bind(scratch.path + "/sock\0junk") }
        refuses(.invalidArgument, "UVPipe.connect") { try pipe.connect(to: scratch.path + "/sock\0junk") { _ in } }
        #expect(access(scratch.path + "/sock", F_OK) != 0, "no socket bound at the prefix")
        try pipe.close()

        for options in [ProcessOptions(file: "/bin/true\0junk"),
                        ProcessOptions(file: "/bin/true", arguments: ["true", "a\0b"]),
                        ProcessOptions(file: "/bin/true", environment: ["A=1\0B=2"]),
                        ProcessOptions(file: "/bin/true", workingDirectory: "/\0tmp"),
                        ProcessOptions(file: "/bin/true", stdio: [.inherit(-1)])] {
            refuses(.invalidArgument, "UVProcess.spawn \(options.file)") { _ = try UVProcess.spawn(loop: loop, options) }
        }
        let watcher = try FSEvent(loop: loop)
        refuses(.invalidArgument, "FSEvent.start") { try watcher.start(path: scratch.path + "\0x") { _, _, _ in } }
        let poll = try FSPoll(loop: loop)
        refuses(.invalidArgument, "FSPoll.start") { try poll.start(path: scratch.file + "\0x", interval: 10) { _, _, _, _ in } }
        refuses(.invalidArgument, "FSPoll.start interval") { try poll.start(path: scratch.file, interval: UInt64(UInt32.max) + 1) { _, _, _, _ in } }
        refuses(.invalidArgument, "System.setEnvironment") { try System.setEnvironment("SWIFTUV_X\0Y", "1") }
        refuses(.invalidArgument, "System.setEnvironment value") { try System.setEnvironment("SWIFTUV_X", "1\0 2") }
        refuses(.invalidArgument, "System.environment") { _ = try System.environment("PATH\0X") }
        refuses(.invalidArgument, "System.changeDirectory") { try System.changeDirectory("/\0tmp") }
        let udp = try UDP(loop: loop)
        refuses(.invalidArgument, "UDP.setMembership") { try udp.setMembership(group: "239.1.1.1\0x", join: true) }
        for h: Handle in [watcher, poll, udp] { try h.close() }
        try loop.run()
        try loop.close()
    }

    @Test("Unix socket names: too long for sun_path, or empty", arguments: backends)
    func socketNames(backend: Backend) throws {
        let scratch = Scratch()
        let loop = try Loop(backend: backend)
        let long = scratch.path + "/" + String(repeating: "s", count: 150 - scratch.path.utf8.count - 1)
        #expect(long.utf8.count == 150)
        let server = try UVPipe(loop: loop)
        refuses(.nameTooLong, "UVPipe.bind (150 bytes)") { try server.bind(long) }
        refuses(.invalidArgument, "UVPipe.bind(\"\")") { try server.bind("") }
        let client = try UVPipe(loop: loop)
        refuses(.nameTooLong, "UVPipe.connect (150 bytes)") { try client.connect(to: long) { _ in } }
        refuses(.nameTooLong, "SocketAddress(unixPath:)") { _ = try SocketAddress(unixPath: long) }
        // 107 bytes, the most sun_path holds, still works.
        let longest = scratch.path + "/" + String(repeating: "m", count: 107 - scratch.path.utf8.count - 1)
        try server.bind(longest)
        #expect(try server.localName() == longest)
        try server.close()
        try client.close()
        try loop.run()
        #expect(access(longest, F_OK) != 0, "close unlinked the name it bound")
        try loop.close()
    }

    @Test("SocketAddress: ports are digits only; an IPv6 zone survives description, an unknown one is refused")
    func socketAddressText() throws {
        for text in ["127.0.0.1:+80", "127.0.0.1:-0", "127.0.0.1:", "127.0.0.1: 80", "127.0.0.1:0x50", "127.0.0.1:65536",
                     "127.0.0.1:000080", "[::1]:+1", "[fe80::1%no-such-interface]:80", "[fe80::1%]:80"] {
            refuses(.invalidArgument, text) { _ = try SocketAddress(text) }
        }
        #expect(try SocketAddress("127.0.0.1:080").port == 80)
        let zoned = try SocketAddress("[fe80::1%lo]:80")
        #expect(zoned.description == "[fe80::1%lo]:80")
        #expect(try SocketAddress(zoned.description) == zoned)
        let index = if_nametoindex("lo")
        let numeric = try SocketAddress("[fe80::1%\(index)]:80")
        #expect(numeric == zoned && numeric.description == "[fe80::1%lo]:80")
        for text in ["1.2.3.4:5", "[::1]:0", "[2001:db8::1]:65535", "/tmp/x.sock"] {
            #expect(try SocketAddress(text).description == text)
        }
    }

    // MARK: Found by the sweep of every entry point

    @Test("copyfile onto itself keeps the file; from a device copies its size (0 bytes)", arguments: backends)
    func copyfileEdges(backend: Backend) throws {
        let scratch = Scratch()
        let loop = try Loop(backend: backend)
        try loop.fs.copyFile(scratch.file, to: scratch.file)
        try loop.fs.copyFile(scratch.file, to: scratch.path + "/./file")
        try loop.fs.link(scratch.file, to: scratch.path + "/hard")
        try loop.fs.copyFile(scratch.file, to: scratch.path + "/hard")
        #expect(try loop.fs.stat(scratch.file).size == 5, "the source kept its bytes")
        refuses(.fileExists, "copyfile onto itself, exclusive") { try loop.fs.copyFile(scratch.file, to: scratch.file, exclusive: true) }
        try loop.fs.copyFile("/dev/zero", to: scratch.path + "/zero")
        #expect(try loop.fs.stat(scratch.path + "/zero").size == 0)
        try loop.close()
    }

    @Test("spawn refuses stdio of the other backend, a pipe already open or listed twice, a stream with no descriptor",
          arguments: backends)
    func spawnStdio(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let other = try Loop(backend: backend == .libuv ? .native : .libuv)
        let foreignPipe = try UVPipe(loop: other)
        let foreignTCP = try TCP(loop: other)
        try foreignTCP.bind("127.0.0.1:0")
        refuses(.invalidArgument, "a pipe of the other backend") {
            _ = try UVProcess.spawn(loop: loop, ProcessOptions(file: "/bin/true", stdio: [.ignore, .pipe(foreignPipe, childReads: false, childWrites: true)]))
        }
        refuses(.invalidArgument, "a stream of the other backend") {
            _ = try UVProcess.spawn(loop: loop, ProcessOptions(file: "/bin/true", stdio: [.ignore, .stream(foreignTCP)]))
        }
        let unbound = try TCP(loop: loop)
        refuses(.invalidArgument, "a stream with no descriptor") {
            _ = try UVProcess.spawn(loop: loop, ProcessOptions(file: "/bin/true", stdio: [.ignore, .stream(unbound)]))
        }
        let pipe = try UVPipe(loop: loop)
        refuses(.busy, "a pipe listed twice") {
            _ = try UVProcess.spawn(loop: loop, ProcessOptions(file: "/bin/true", stdio: [.ignore, .pipe(pipe, childReads: false, childWrites: true),
                                                                                       .pipe(pipe, childReads: false, childWrites: true)]))
        }
        let pair = try System.socketPair()
        let open = try UVPipe(loop: loop)
        try open.open(pair.0)
        refuses(.busy, "a pipe already open") {
            _ = try UVProcess.spawn(loop: loop, ProcessOptions(file: "/bin/true", stdio: [.ignore, .pipe(open, childReads: false, childWrites: true)]))
        }
        close(pair.1)
        // Fewer than three stdio entries: the missing ones are /dev/null, as in libuv.
        var status: Int64 = -1
        let child = try UVProcess.spawn(loop: loop, ProcessOptions(
            file: "/bin/sh", arguments: ["sh", "-c", "[ \"$(readlink /proc/$$/fd/1)\" = /dev/null ] && [ \"$(readlink /proc/$$/fd/2)\" = /dev/null ]"],
            stdio: [.ignore])) { process, exit, _ in
            status = exit
            try? process.close()
        }
        _ = child
        for h: Handle in [unbound, pipe, open] { try h.close() }
        try loop.run()
        #expect(status == 0, "stdout and stderr of the child are /dev/null")
        try loop.close()
        for h: Handle in [foreignPipe, foreignTCP] { try h.close() }
        try other.run()
        try other.close()
    }

    @Test("an IPC pipe refuses to send a handle that is not TCP, a pipe or UDP: EBADF", arguments: backends)
    func sendingOtherHandles(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let pair = try System.socketPair()
        let ipc = try UVPipe(loop: loop, ipc: true)
        try ipc.open(pair.0)
        let other = try System.socketPair()
        let poll = try Poll(loop: loop, fd: other.0)
        refuses(.badFileDescriptor, "sending a poll handle") { try ipc.write([1], sending: poll) }
        refuses(.invalidArgument, "Poll.start without a callback") { try poll.start(.readable, nil) }
        let tcp = try TCP(loop: loop)
        refuses(.invalidArgument, "listen(backlog: -1)") { try tcp.listen(backlog: -1) { _ in } }
        refuses(.invalidArgument, "setKeepAlive(delay: 0)") { try tcp.setKeepAlive(true, delay: 0) }
        try tcp.bind("127.0.0.1:0")
        refuses(.invalidArgument, "receiveBufferSize(-5)") { _ = try tcp.receiveBufferSize(setting: -5) }
        refuses(.invalidArgument, "sendBufferSize(-5)") { _ = try tcp.sendBufferSize(setting: -5) }
        refuses(.invalidArgument, "environment(\"A=B\")") { _ = try System.environment("PATH=x") }
        refuses(.invalidArgument, "resolve(NUL)") { try loop.resolve(host: "localhost\0x") { _ in } }
        refuses(.invalidArgument, "resolve(256 bytes)") { _ = try loop.resolve(host: String(repeating: "a", count: 256)) }
        let udp = try UDP(loop: loop)
        try udp.bind("0.0.0.0:0")
        refuses(.invalidArgument, "setMembership(an IPv6 interface for an IPv4 group)") {
            try udp.setMembership(group: "239.1.1.1", interface: "::1", join: true)
        }
        refuses(.invalidArgument, "setMembership(a bad interface)") { try udp.setMembership(group: "239.1.1.1", interface: "bogus", join: true) }
        refuses(.invalidArgument, "setMulticastInterface(%bogus)") { try udp.setMulticastInterface("fe80::1%no-such-interface") }
        for h: Handle in [ipc, poll, tcp, udp] { try h.close() }
        close(pair.1)
        close(other.0)
        close(other.1)
        try loop.run()
        try loop.close()
    }

    // MARK: Smaller

    @Test("the native timer heap gives its memory back after a million timers close")
    func timerHeapShrinks() throws {
        let loop = try NativeEventLoop()
        let timers = (0..<1_000_000).map { _ in NativeTimer(loop: loop) }
        for (i, timer) in timers.enumerated() { timer.start(timeout: UInt64(1000 + i % 5000), repeat: 0) {} }
        let full = loop.timerHeapCapacity
        #expect(full >= 1_000_000)
        for timer in timers.dropFirst(10) { timer.close(nil) }
        #expect(loop.timerHeapCapacity <= 2048, "room for \(loop.timerHeapCapacity) timers kept after closing all but 10")
        for timer in timers.prefix(10) { timer.close(nil) }
        _ = try loop.run(.noWait)
        try loop.close()
    }

    @Test("a listener out of descriptors drops waiting clients instead of reporting EMFILE in a tight loop (in a child process)",
          arguments: backends)
    func acceptWithoutDescriptors(backend: Backend) throws {
        let child = try Subprocess(["/proc/self/exe", "--testing-library", "swift-testing", "--filter", "emfileChild"],
                                   environment: ["SWIFTUV_BAD_INPUT_CHILD": "1", "SWIFTUV_EMFILE_BACKEND": backend.rawValue],
                                   pipeStdout: true, mergeStderr: true)
        let output = child.readAll()
        #expect(child.wait() == 0, "\(output.suffix(2000))")
        #expect(output.contains("Test \"EMFILE listener (child process only)\" passed"), "\(output.suffix(2000))")
    }

    /// The loop's first stream is made while the descriptor table is full:
    /// libuv (and the native engine before) then had no spare descriptor,
    /// and the listener's callback got EMFILE 200,000 times without a loop
    /// iteration between. The spare is now taken when the loop is made.
    @Test("EMFILE listener (child process only)", .enabled(if: getenv("SWIFTUV_EMFILE_BACKEND") != nil))
    func emfileChild() throws {
        let backend = Backend(rawValue: String(cString: getenv("SWIFTUV_EMFILE_BACKEND")))!
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = 256
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let loop = try Loop(backend: backend)
        var held: [Int32] = []
        func fill() { while true { let fd = dup(0); if fd < 0 { break }; held.append(fd) } }
        fill()
        let server = try TCP(loop: loop)  // the loop's first stream, made with no descriptor free
        for fd in held.suffix(4) { close(fd) }
        held.removeLast(4)
        try server.bind("127.0.0.1:0")
        let port = try server.localAddress().port!
        var errors = 0
        var accepted = 0
        try server.listen { [unowned(unsafe) server] error in
            if error != nil {
                errors += 1
                // Without a spare this never ends by itself: end it, and fail below.
                if errors == 1000 { try? server.close() }
                return
            }
            accepted += 1
        }
        // Two clients wait in the backlog; then the table is full again.
        var clients: [Int32] = []
        for _ in 0..<2 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let status = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(status == 0)
            clients.append(fd)
        }
        fill()
        let timer = try UVTimer(loop: loop)
        try timer.start(timeout: 50) { _ in if !server.isClosing { try? server.close() } }
        try loop.run()
        for fd in held { close(fd) }
        // Dropped: each client sees its connection end.
        for fd in clients {
            var byte: UInt8 = 0
            #expect(recv(fd, &byte, 1, 0) <= 0, "the server dropped the client")
            close(fd)
        }
        #expect(errors == 0, "\(errors) EMFILE callbacks")
        #expect(accepted == 0)
        try timer.close()
        try loop.run()
        try loop.close()
    }
}
