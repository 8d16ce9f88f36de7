import CUV
import NativeLoop

#if canImport(Glibc)
import Glibc
#endif

/// What a child process gets on one of its descriptors.
public enum StdioOption {
    /// Nothing (`/dev/null` for 0, 1 and 2) (`UV_IGNORE`).
    case ignore
    /// This process's descriptor, shared (`UV_INHERIT_FD`).
    case inherit(Int32)
    /// A new socket pair; this end opens into `pipe` (`UV_CREATE_PIPE`).
    /// `childReads`/`childWrites` say which way the child uses it.
    case pipe(UVPipe, childReads: Bool, childWrites: Bool)
    /// The descriptor under a stream (`UV_INHERIT_STREAM`).
    case stream(UVStream)
}

/// How to start a child process (`uv_process_options_t`).
public struct ProcessOptions {
    /// The program, looked up in `PATH` when it has no slash.
    public var file: String
    /// The arguments, the program's name first.
    public var arguments: [String]
    /// `KEY=value` entries; nil inherits this process's environment.
    public var environment: [String]?
    /// The child's working folder; nil keeps this process's.
    public var workingDirectory: String?
    /// Descriptors 0, 1, 2, ... of the child.
    public var stdio: [StdioOption]
    /// In a session of its own, so that it can outlive its parent.
    public var detached: Bool
    /// The user id the child runs as (`UV_PROCESS_SETUID`); nil keeps ours.
    public var uid: UInt32?
    /// The group id the child runs as (`UV_PROCESS_SETGID`); nil keeps ours.
    public var gid: UInt32?

    /// Refuses a NUL byte in the program, an argument, an environment entry
    /// or the working folder (C would run `/bin/true` for
    /// `"/bin/true\0junk"`), and a descriptor number below 0 to inherit.
    func validate() throws(UVError) {
        let op = "UVProcess.spawn"
        try InputCheck.cString(file, op, "program")
        for argument in arguments { try InputCheck.cString(argument, op, "argument") }
        for entry in environment ?? [] { try InputCheck.cString(entry, op, "environment entry") }
        if let workingDirectory { try InputCheck.cString(workingDirectory, op, "working folder") }
        for case .inherit(let fd) in stdio where fd < 0 {
            throw InputCheck.refuse(op, "descriptor \(fd) to inherit is negative")
        }
    }

    /// Refuses stdio streams that libuv would crash on or half-use: a
    /// handle of the other backend (libuv asserts on it, the native engine
    /// traps), a stream with no descriptor yet (`EINVAL`, as libuv), a pipe
    /// to create that is already open or listed twice (`EBUSY`: libuv would
    /// start the child and then fail, leaving it unreaped).
    func validateStdio(on loop: Loop) throws(UVError) {
        let op = "UVProcess.spawn"
        var pipes: [ObjectIdentifier] = []
        for (index, option) in stdio.enumerated() {
            switch option {
            case .ignore, .inherit:
                break
            case .stream(let s):
                guard s.loop.backend == loop.backend else {
                    throw InputCheck.refuse(op, "stdio \(index) is a \(s.loop.backend) stream and the loop is \(loop.backend)")
                }
                guard (try? s.fileDescriptor()) != nil else {
                    throw InputCheck.refuse(op, "stdio \(index): the \(s.type.rawValue) stream has no descriptor yet")
                }
            case .pipe(let p, _, _):
                guard p.loop.backend == loop.backend else {
                    throw InputCheck.refuse(op, "stdio \(index) is a \(p.loop.backend) pipe and the loop is \(loop.backend)")
                }
                if (try? p.fileDescriptor()) != nil || pipes.contains(ObjectIdentifier(p)) {
                    throw UVError.busy.with(context: "\(op): the pipe for stdio \(index) is already open or listed twice")
                }
                pipes.append(ObjectIdentifier(p))
            }
        }
    }

    /// Options to run `file`; `arguments` default to `[file]`, stdio to
    /// ignoring descriptors 0, 1 and 2.
    public init(file: String, arguments: [String]? = nil, environment: [String]? = nil, workingDirectory: String? = nil,
                stdio: [StdioOption] = [.ignore, .ignore, .ignore], detached: Bool = false, uid: UInt32? = nil, gid: UInt32? = nil) {
        self.file = file
        self.arguments = arguments ?? [file]
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.stdio = stdio
        self.detached = detached
        self.uid = uid
        self.gid = gid
    }
}

/// A child process. Its exit callback gets the exit status and the signal
/// that ended it (0 if none). Close the handle when done, as any handle.
///
/// The corresponding libuv type is `uv_process_t`.
public final class UVProcess: Handle {
    @exclusivity(unchecked)
    private var exitCallback: ((UVProcess, Int64, Int32) -> Void)?

    private init(loop: Loop, core: Core) {
        super.init(loop: loop, type: .process, core: core)
    }

    /// Starts a child process. A program that cannot be run fails here
    /// (`UVError.noSuchFileOrDirectory`, `.permissionDenied`); the handle
    /// libuv made for it is closed for you.
    ///
    /// The corresponding libuv function is `uv_spawn`.
    public static func spawn(loop: Loop, _ options: ProcessOptions,
                             onExit: ((UVProcess, Int64, Int32) -> Void)? = nil) throws(UVError) -> UVProcess {
        try loop.ensureOpen("UVProcess.spawn")
        try options.validate()
        for option in options.stdio {
            if case .pipe(let p, _, _) = option { try p.ensureOpen("UVProcess.spawn (stdio pipe)") }
            if case .stream(let s) = option { try s.ensureOpen("UVProcess.spawn (stdio stream)") }
        }
        try options.validateStdio(on: loop)
        switch loop.core {
        case .uv(let l):
            let h = UnsafeMutablePointer<uv_process_t>.allocate(capacity: 1)
            h.initialize(to: uv_process_t())
            let process = UVProcess(loop: loop, core: .uv(UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_handle_t.self)))
            process.exitCallback = onExit
            let status = withProcessOptions(options) { (opts: inout uv_process_options_t) in
                opts.exit_cb = { h, status, signal in
                    Handle.owner(of: h?.pointee.data, as: UVProcess.self).exited(status, signal)
                }
                // uv_spawn initialises the handle (not its data) first,
                // so a failed spawn leaves a handle that must be closed.
                return uv_spawn(l, h, &opts)
            }
            // uv_spawn installs libuv's SIGCHLD handler over any other.
            SignalRegistry.reassert()
            if status != 0 {
                try? process.close()
                throw UVError(code: status)
            }
            return process
        case .native(let l):
            let native = NativeProcess(loop: l)
            let process = UVProcess(loop: loop, core: .native(native))
            process.exitCallback = onExit
            do {
                var fds: [Int32] = []
                var childEnds: [Int32] = []
                // This end of each socket pair goes into its UVPipe only once
                // the spawn succeeded, as libuv does.
                var parentEnds: [(UVPipe, Int32, Bool, Bool)] = []
                var opened = false
                defer {
                    for fd in childEnds { Glibc.close(fd) }
                    if !opened { for (_, fd, _, _) in parentEnds { Glibc.close(fd) } }
                }
                for option in options.stdio {
                    switch option {
                    case .ignore: fds.append(-1)
                    case .inherit(let fd): fds.append(fd)
                    case .stream(let s): fds.append(try s.fileDescriptor())
                    case .pipe(let p, let childReads, let childWrites):
                        var pair: [Int32] = [-1, -1]
                        if socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) != 0 {
                            throw UVError(code: -errno)
                        }
                        childEnds.append(pair[1])
                        parentEnds.append((p, pair[0], childWrites, childReads))
                        fds.append(pair[1])
                    }
                }
                // libuv gives the child /dev/null for a missing 0, 1 or 2.
                while fds.count < 3 { fds.append(-1) }
                try native.spawn(file: options.file, arguments: options.arguments, environment: options.environment,
                                 cwd: options.workingDirectory, stdio: fds, detached: options.detached,
                                 uid: options.uid, gid: options.gid) { [unowned(unsafe) process] status, signal in
                    process.exited(status, signal)
                }
                opened = true
                for (p, fd, parentReads, parentWrites) in parentEnds {
                    do {
                        try unsafeDowncast(p.nativeStream, to: NativePipe.self)
                            .open(childEnd: fd, parentReads: parentReads, parentWrites: parentWrites)
                    } catch {
                        Glibc.close(fd)
                    }
                }
            } catch let error as UVError {
                try? process.close()
                throw error
            } catch let error as NativeError {
                try? process.close()
                throw UVError(error)
            } catch {
                try? process.close()
                throw UVError.unknown
            }
            return process
        }
    }

    /// The child's process id (`uv_process_get_pid`).
    public var pid: Int32 {
        guard state != .closed else { return 0 }
        switch core {
        case .uv(let h): return uv_process_get_pid(UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_process_t.self))
        case .native(let h): return unsafeDowncast(h, to: NativeProcess.self).pid
        }
    }

    /// Sends a signal to the child (`uv_process_kill`).
    public func kill(_ signum: Int32) throws(UVError) {
        try ensureOpen("UVProcess.kill")
        switch core {
        case .uv(let h): try check(uv_process_kill(UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_process_t.self), signum))
        case .native(let h): do { try unsafeDowncast(h, to: NativeProcess.self).kill(signum) } catch { throw UVError(error) }
        }
    }

    /// Sends a signal to any process (`uv_kill`).
    public static func kill(pid: Int32, signal: Int32) throws(UVError) {
        try check(uv_kill(pid, signal))
    }

    override func releaseCallbacks() { exitCallback = nil }

    /// The exit status and the signal that ended the process (0 if none),
    /// once it has exited.
    @exclusivity(unchecked)
    public private(set) var exitStatus: (status: Int64, signal: Int32)?
    @exclusivity(unchecked)
    private var exitWaiters: [Suspension<(status: Int64, signal: Int32)>] = []

    private func exited(_ status: Int64, _ signal: Int32) {
        exitStatus = (status, signal)
        deliver(.exit(status, signal)) {
            // Waiters first: an exit callback that closes the handle must not
            // turn their answer into the close's.
            let waiters = exitWaiters
            exitWaiters = []
            for waiter in waiters { waiter.resume(returning: (status, signal)) }
            exitCallback?(self, status, signal)
        }
    }

    /// Returns the exit status and the signal that ended the process (0 if
    /// none), waiting for the exit if it has not happened. Cancelling the
    /// task stops the wait (not the process) and throws
    /// `CancellationError`; closing the handle first throws
    /// `UVError.cancelled`.
    nonisolated(nonsending)
    public func waitUntilExit() async throws -> (status: Int64, signal: Int32) {
        loop.checkAwaitingThread("UVProcess.waitUntilExit")
        if let status = exitStatus { return status }
        return try await loop.suspend("UVProcess.waitUntilExit") { (s: Suspension<(status: Int64, signal: Int32)>) in
            if let status = exitStatus { return s.resume(returning: status) }
            // A closed handle gets no exit callback any more.
            try ensureOpen("UVProcess.waitUntilExit", code: .cancelled)
            closeHooks[ObjectIdentifier(self)] = { [unowned self] in
                let waiters = exitWaiters
                exitWaiters = []
                for waiter in waiters { waiter.resume(throwing: UVError.cancelled.with(context: "UVProcess.waitUntilExit: the handle was closed")) }
            }
            exitWaiters.append(s)
            s.onCancel = { [self] in
                exitWaiters.removeAll { $0 === s }
                s.resume(throwing: CancellationError())
            }
        }
    }

    /// Calls `body` with `options` in libuv's C form, valid during the call.
    private static func withProcessOptions(_ options: ProcessOptions, _ body: (inout uv_process_options_t) -> Int32) -> Int32 {
        let args = options.arguments.map { strdup($0) } + [nil]
        defer { args.forEach { free($0) } }
        let env: [UnsafeMutablePointer<CChar>?]? = options.environment.map { $0.map { strdup($0) } + [nil] }
        defer { env?.forEach { free($0) } }
        let file = strdup(options.file)
        defer { free(file) }
        let cwd = options.workingDirectory.map { strdup($0) }
        defer { if let cwd { free(cwd) } }
        var containers: [uv_stdio_container_t] = options.stdio.map { option in
            var c = uv_stdio_container_t()
            switch option {
            case .ignore: c.flags = UV_IGNORE
            case .inherit(let fd):
                c.flags = UV_INHERIT_FD
                c.data.fd = fd
            case .stream(let s):
                c.flags = UV_INHERIT_STREAM
                c.data.stream = s.uvStream
            case .pipe(let p, let childReads, let childWrites):
                var flags = UV_CREATE_PIPE.rawValue
                if childReads { flags |= UV_READABLE_PIPE.rawValue }
                if childWrites { flags |= UV_WRITABLE_PIPE.rawValue }
                c.flags = uv_stdio_flags(flags)
                c.data.stream = p.uvStream
            }
            return c
        }
        var argv = args
        var envp = env
        return argv.withUnsafeMutableBufferPointer { a in
            containers.withUnsafeMutableBufferPointer { c in
                var opts = uv_process_options_t()
                opts.file = UnsafePointer(file)
                opts.args = a.baseAddress
                opts.cwd = cwd.flatMap { UnsafePointer($0) }
                opts.stdio_count = Int32(c.count)
                opts.stdio = c.baseAddress
                var flags: UInt32 = 0
                if options.detached { flags |= UV_PROCESS_DETACHED.rawValue }
                if let uid = options.uid { flags |= UV_PROCESS_SETUID.rawValue; opts.uid = uid }
                if let gid = options.gid { flags |= UV_PROCESS_SETGID.rawValue; opts.gid = gid }
                opts.flags = flags
                if envp != nil {
                    return envp!.withUnsafeMutableBufferPointer { e in
                        opts.env = e.baseAddress
                        return body(&opts)
                    }
                }
                return body(&opts)
            }
        }
    }
}
