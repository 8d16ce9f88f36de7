import Foundation
import SwiftUV

/// One run asked of a worker: a program and the backend to run it on.
struct RunRequest: Codable {
    var program: FuzzProgram
    var backend: String
}

/// What came back from one run.
public enum RunOutcome: Equatable, Sendable {
    case trace([String])
    /// The worker died; the tail of what it wrote to stderr.
    case crashed(String)
    /// The worker gave no answer in time and was killed.
    case hung
}

/// The child side: reads one `RunRequest` per line on stdin, runs it, and
/// writes its trace as one JSON array per line on stdout, until stdin ends.
public enum FuzzWorker {
    public static func serve() -> Int32 {
        let decoder = JSONDecoder()
        let encoder = JSONEncoder()
        while let line = readLine() {
            guard let request = try? decoder.decode(RunRequest.self, from: Data(line.utf8)) else {
                FileHandle.standardError.write(Data("fuzz worker: a request it cannot read\n".utf8))
                return 2
            }
            let backend: SwiftUV.Backend = request.backend == "native" ? .native : .libuv
            let lines = FuzzInterpreter.run(request.program, on: backend)
            var answer = (try? encoder.encode(lines)) ?? Data("[]".utf8)
            answer.append(10)
            FileHandle.standardOutput.write(answer)
        }
        return 0
    }
}

/// The parent side of one worker: a child process that runs programs and is
/// replaced when it crashes or hangs.
final class WorkerProcess {
    private let command: [String]
    private let timeout: Double
    /// The worker's environment (`KEY=value` entries).
    private let environment: [String]
    private var pid: pid_t = 0
    private var input: Int32 = -1
    private var output: Int32 = -1
    private var errorFile: String
    private var buffer: [UInt8] = []

    /// A worker with `environment` (`KEY=value` entries; see
    /// `environment(setting:)`).
    init(command: [String], timeout: Double, environment: [String] = WorkerProcess.environment(setting: [:])) {
        self.command = command
        self.timeout = timeout
        self.environment = environment
        errorFile = NSTemporaryDirectory() + "swiftuv-fuzz-worker-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).err"
    }

    deinit { stop() }

    /// This process's environment with `variables` set on top. Read it once
    /// (environ is not safe to read while another thread calls setenv).
    static func environment(setting variables: [String: String]) -> [String] {
        var inherited: [String] = []
        var entry = environ
        while let variable = entry.pointee {
            let text = String(cString: variable)
            if !variables.keys.contains(where: { text.hasPrefix($0 + "=") }) { inherited.append(text) }
            entry += 1
        }
        return inherited + variables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }

    /// Runs `program` on `backend` in the worker, starting one if needed.
    func run(_ program: FuzzProgram, on backend: SwiftUV.Backend) -> RunOutcome {
        if pid == 0 && !start() { return .crashed("cannot start the worker: \(command.joined(separator: " "))") }
        guard var request = try? JSONEncoder().encode(RunRequest(program: program, backend: backend.rawValue)) else {
            return .crashed("cannot encode the program")
        }
        request.append(10)
        let sent = request.withUnsafeBytes { bytes in writeAll(input, bytes) }
        let answer = sent ? readLine(deadline: Date().addingTimeInterval(timeout)) : .ended
        guard case .line(let line) = answer else {
            // A worker that closed its output is dying: give it time to.
            let tail = stop(grace: answer == .ended ? 5 : 0)
            return answer == .timedOut ? .hung : .crashed(tail)
        }
        guard let lines = try? JSONDecoder().decode([String].self, from: Data(line)) else {
            return .crashed("an answer it cannot read: " + String(decoding: line.prefix(200), as: UTF8.self))
        }
        return .trace(lines)
    }

    private func start() -> Bool {
        var toChild: [Int32] = [-1, -1], fromChild: [Int32] = [-1, -1]
        guard pipe(&toChild) == 0 else { return false }
        guard pipe(&fromChild) == 0 else {
            close(toChild[0]); close(toChild[1])
            return false
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, errorFile, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        for fd in toChild + fromChild { posix_spawn_file_actions_addclose(&actions, fd) }
        var arguments = command.map { strdup($0) } + [nil]
        defer { for argument in arguments { free(argument) } }
        var variables = environment.map { strdup($0) } + [nil]
        defer { for variable in variables { free(variable) } }
        // The worker starts with no signal blocked and every disposition at
        // its default, whatever the spawning thread has (a dispatch thread
        // blocks signals, and blocked SIGCHLD or SIGUSR1 would change what
        // the programs see).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t(), all = sigset_t()
        sigemptyset(&empty)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var child: pid_t = 0
        let status = posix_spawn(&child, command[0], &actions, &attributes, &arguments, &variables)
        close(toChild[0]); close(fromChild[1])
        guard status == 0 else {
            close(toChild[1]); close(fromChild[0])
            return false
        }
        pid = child
        input = toChild[1]
        output = fromChild[0]
        buffer = []
        return true
    }

    /// Reaps the worker, killing it unless it ends within `grace` seconds;
    /// returns the end of its stderr and how it ended.
    @discardableResult
    func stop(grace: Double = 0) -> String {
        guard pid != 0 else { return "" }
        close(input)
        close(output)
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(grace)
        var exited = waitpid(pid, &status, WNOHANG) == pid
        while !exited && Date() < deadline {
            usleep(10_000)
            exited = waitpid(pid, &status, WNOHANG) == pid
        }
        if !exited {
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
        }
        pid = 0
        let text = String(decoding: readWholeFile(errorFile), as: UTF8.self)
        unlink(errorFile)
        var tail = text.split(separator: "\n", omittingEmptySubsequences: true).suffix(8).joined(separator: "\n")
        let signal = status & 0x7f
        if exited {
            tail += (tail.isEmpty ? "" : "\n") + (signal != 0 ? "the worker was killed by signal \(signal)" : "the worker exited with status \((status >> 8) & 0xff)")
        }
        return tail.isEmpty ? "the worker died with no message" : tail
    }

    private enum Answer: Equatable {
        case line([UInt8])
        case ended
        case timedOut
    }

    /// The worker's next line, or why there is none.
    private func readLine(deadline: Date) -> Answer {
        while true {
            if let newline = buffer.firstIndex(of: 10) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return .line(line)
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return .timedOut }
            var waiting = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            let ready = poll(&waiting, 1, Int32(min(left * 1000, 60_000)) + 1)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = read(output, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return .ended }
            buffer += chunk[..<n]
        }
    }
}

private func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return false }
        offset += n
    }
    return true
}

/// The bytes of the file at `path` (empty when it cannot be read), read with
/// plain system calls.
package func readWholeFile(_ path: String) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return [] }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 {
            bytes += chunk[0..<n]
        } else if n < 0 && errno == EINTR {
            continue
        } else {
            return bytes
        }
    }
}
