#if canImport(Glibc)
import Glibc
#endif

/// A child process for tests, by `posix_spawnp` with pipes to its stdin and
/// from its stdout. (Foundation's `Process` leaks a weak-reference side
/// table per run, which LeakSanitizer reports.)
public final class Subprocess {
    public let pid: pid_t
    /// Write end of the child's stdin, or -1.
    public private(set) var stdinFD: Int32 = -1
    /// Read end of the child's stdout, or -1.
    public private(set) var stdoutFD: Int32 = -1

    public init(_ arguments: [String], environment: [String: String] = [:], pipeStdin: Bool = false, pipeStdout: Bool = false,
         mergeStderr: Bool = false) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var inPipe: [Int32] = [-1, -1]
        var outPipe: [Int32] = [-1, -1]
        if pipeStdin {
            guard pipe(&inPipe) == 0 else { throw SubprocessError.pipe(errno) }
            Self.closeOnExec(inPipe)
            posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
            posix_spawn_file_actions_addclose(&actions, inPipe[1])
        }
        if pipeStdout {
            guard pipe(&outPipe) == 0 else { throw SubprocessError.pipe(errno) }
            Self.closeOnExec(outPipe)
            posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
            if mergeStderr { posix_spawn_file_actions_adddup2(&actions, outPipe[1], 2) }
            posix_spawn_file_actions_addclose(&actions, outPipe[0])
        }
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var envp: [UnsafeMutablePointer<CChar>?] = []
        var e = environ
        while let entry = e.pointee {
            envp.append(strdup(entry))
            e += 1
        }
        for (key, value) in environment { envp.append(strdup("\(key)=\(value)")) }
        envp.append(nil)
        defer { envp.forEach { free($0) } }
        var child: pid_t = 0
        let status = posix_spawnp(&child, arguments[0], &actions, nil, argv, envp)
        if pipeStdin { close(inPipe[0]) }
        if pipeStdout { close(outPipe[1]) }
        guard status == 0 else {
            if pipeStdin { close(inPipe[1]) }
            if pipeStdout { close(outPipe[0]) }
            throw SubprocessError.spawn(status)
        }
        pid = child
        stdinFD = inPipe[1]
        stdoutFD = outPipe[0]
    }

    /// Other tests spawn children at the same time: none may inherit these.
    private static func closeOnExec(_ fds: [Int32]) {
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    }

    /// Reads one line from the child's stdout.
    public func readLine() -> String {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while read(stdoutFD, &byte, 1) == 1 && byte != 10 { bytes.append(byte) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads the child's stdout to its end.
    public func readAll() -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(stdoutFD, &chunk, chunk.count)
            if n > 0 { bytes += chunk[0..<n]; continue }
            if n < 0 && errno == EINTR { continue }
            break
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes everything to the child's stdin, then closes it.
    public func writeAllAndClose(_ data: [UInt8]) {
        var offset = 0
        data.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = write(stdinFD, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { if errno == EINTR { continue }; break }
                offset += n
            }
        }
        close(stdinFD)
        stdinFD = -1
    }

    /// Waits for the child; its exit status, or -1 if it did not exit normally.
    public func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        if stdoutFD >= 0 { close(stdoutFD); stdoutFD = -1 }
        let signaled = status & 0x7f
        return signaled == 0 ? (status >> 8) & 0xff : -1
    }

    public func kill() { _ = Glibc.kill(pid, SIGTERM) }
}

public enum SubprocessError: Error {
    case pipe(Int32)
    case spawn(Int32)
}
