#if canImport(Glibc)
import Glibc
#endif
import CNativeSystem

/// A child process (`uv_process_t`): spawned with fork and exec, its exit
/// callback run with (exit status, terminating signal).
///
/// libuv learns of exits from its SIGCHLD watcher (`loop->child_watcher`,
/// started by `uv_spawn`): the handler writes a SIGCHLD record into the
/// loop's signal pipe among the records of other signals, and
/// `uv__signal_event` runs `uv__chld` (reap every exited child, in spawn
/// order) at that record. The native backend does the same, so an exit
/// callback runs after the callbacks of signals raised before the exit and
/// before those of signals raised after it. It also watches each child's
/// pidfd (Linux 5.3 and later), because the process-wide SIGCHLD handler is
/// not reliable: another library (or a libuv loop in the same process) may
/// replace or reset it at any time. A pidfd that is ready without a SIGCHLD
/// record in the pipe makes the loop reap after the poll's signal records.
package final class NativeProcess: NativeHandle {
    @exclusivity(unchecked)
    package private(set) var pid: Int32 = 0
    @exclusivity(unchecked)
    private var exitCallback: ((Int64, Int32) -> Void)?
    /// The child's pidfd, while the child is watched that way.
    @exclusivity(unchecked)
    private var exitWatcher: IOWatcher?
    /// Its place among the reaped children whose exit is being reported.
    @exclusivity(unchecked)
    fileprivate var reapNode: ReapQueue.Node?

    /// Whether this kernel has pidfd_open (asked once).
    private static let pidfdsWork: Bool = {
        let fd = cnative_pidfd_open(getpid())
        if fd < 0 { return false }
        Glibc.close(fd)
        return true
    }()

    package init(loop: NativeEventLoop) {
        super.init(loop: loop, kind: .process)
    }

    /// `uv_spawn`. `stdio[i]` is the descriptor the child gets as i, or -1.
    /// A failure (`ENOENT` for a missing program) is synchronous; the handle
    /// must still be closed.
    package func spawn(file: String, arguments: [String], environment: [String]?, cwd: String?,
                       stdio: [Int32], detached: Bool, uid: UInt32?, gid: UInt32?,
                       onExit: @escaping (Int64, Int32) -> Void) throws(NativeError) {
        let byPidfd = Self.pidfdsWork
        // As uv_spawn, which starts the child watcher before it forks.
        loop.watchChildren()
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup($0) } + [nil] }
        defer { envp?.forEach { free($0) } }
        var fds = stdio
        var child: Int32 = 0
        let status: Int32 = argv.withUnsafeBufferPointer { a in
            fds.withUnsafeMutableBufferPointer { f in
                func call(_ e: UnsafePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
                    cnative_spawn(file, a.baseAddress, e, cwd, f.baseAddress, Int32(f.count), detached ? 1 : 0,
                                  uid == nil ? 0 : 1, uid ?? 0, gid == nil ? 0 : 1, gid ?? 0, &child)
                }
                if let envp { return envp.withUnsafeBufferPointer { call($0.baseAddress) } }
                return call(nil)
            }
        }
        if status != 0 {
            loop.unwatchChildrenIfIdle()
            throw NativeError(code: status)
        }
        pid = child
        if byPidfd {
            // Readable once the child has exited, even if it already has.
            // libuv's child watcher is a signal handle, not an I/O watcher,
            // so this one goes into epoll at once: a spawn does not make
            // `backendTimeout` 0 as a queued change would.
            let fd = cnative_pidfd_open(child)
            if fd >= 0 {
                let watcher = IOWatcher(fd: fd) { [unowned(unsafe) loop] _ in loop.childrenExited = true }
                exitWatcher = watcher
                loop.ioStartNow(watcher, UInt32(EPOLLIN.rawValue))
            } else {
                // Out of descriptors: SIGCHLD alone, and in case it came
                // before the watcher, post a record as the handler would.
                var record: (Int32, Int32) = (SIGCHLD, 0)
                _ = write(loop.signalWriteFD, &record, 8)
            }
        }
        exitCallback = onExit
        loop.processes.append(self)
        markActive()
    }

    /// `uv_process_kill`.
    package func kill(_ signum: Int32) throws(NativeError) {
        try NativeProcess.kill(pid: pid, signum)
    }

    /// `uv_kill`.
    package static func kill(pid: Int32, _ signum: Int32) throws(NativeError) {
        if Glibc.kill(pid, signum) != 0 { throw NativeError(errno: errno) }
    }

    private func stopExitWatcher() {
        guard let watcher = exitWatcher else { return }
        exitWatcher = nil
        loop.ioClose(watcher)
        closeDescriptor(watcher.fd)
    }

    fileprivate func exited(_ status: Int32) {
        stopExitWatcher()
        markInactive()
        // WIFEXITED / WEXITSTATUS, WIFSIGNALED / WTERMSIG.
        let low = status & 0x7f
        let exitStatus: Int64 = low == 0 ? Int64((status >> 8) & 0xff) : 0
        let signal: Int32 = low != 0 && low != 0x7f ? low : 0
        exitCallback?(exitStatus, signal)
    }

    override func willClose() {
        if let i = loop.processes.firstIndex(where: { $0 === self }) { loop.processes.remove(at: i) }
        // As libuv's uv__process_close: off the queue of exits to report.
        reapNode?.unlink()
        reapNode = nil
        stopExitWatcher()
        markInactive()
        loop.unwatchChildrenIfIdle()
    }

    override func didClose() { exitCallback = nil }
}

extension NativeEventLoop {
    /// Starts the loop's internal SIGCHLD watcher (libuv's `child_watcher`,
    /// which `uv_spawn` starts with `uv_signal_start`), which is not a
    /// handle: walk does not see it and it keeps nothing alive. Its records
    /// carry token 0; `signalsReceived` reaps at each.
    func watchChildren() {
        if childWatcherActive { return }
        childWatcherActive = true
        _ = SignalRegistry.add(SignalRegistry.Slot(
            signum: SIGCHLD, oneShot: false,
            loopKey: UInt(bitPattern: ObjectIdentifier(self)), handleKey: 0,
            fd: signalWriteFD, token: 0, caught: childCaught), startedOneShot: false)
    }

    /// As `uv__process_close`: the child watcher stops when the loop's last
    /// unreaped child is closed.
    func unwatchChildrenIfIdle() {
        guard childWatcherActive, processes.isEmpty else { return }
        childWatcherActive = false
        SignalRegistry.remove(token: 0, fd: signalWriteFD, removedOneShot: false)
    }

    /// libuv's `uv__wait_children`: reaps every exited child of this loop
    /// onto a queue, then reports them in spawn order. A process closed by
    /// an earlier exit callback of the pass is taken off the queue and not
    /// reported, with libuv's list semantics to the letter: the walk has
    /// already read its next entry, so closing the very next one does not
    /// stop its report (the queue's links are libuv's `QUEUE` operations).
    func reapChildren() {
        let queue = ReapQueue()
        var reaped: [NativeProcess] = []
        for process in processes {
            var status: Int32 = 0
            var r: Int32
            repeat { r = waitpid(process.pid, &status, WNOHANG) } while r == -1 && errno == EINTR
            if r == process.pid {
                process.reapNode = queue.append(process, status)
                reaped.append(process)
            }
        }
        for process in reaped {
            if let i = processes.firstIndex(where: { $0 === process }) { processes.remove(at: i) }
        }
        var next = queue.head.next!
        while next !== queue.head {
            let node = next
            next = node.next
            node.unlink()
            node.prev = node
            node.next = node
            guard let process = node.process else { continue }
            process.reapNode = nil
            process.exited(node.status)
        }
    }
}

/// libuv's intrusive `QUEUE`, for the exits of one reap pass: removing an
/// entry relinks its neighbours and leaves its own links as they were.
final class ReapQueue {
    final class Node {
        let process: NativeProcess?
        let status: Int32
        var prev: Node!
        var next: Node!
        init(_ process: NativeProcess?, _ status: Int32) {
            self.process = process
            self.status = status
        }
        /// `QUEUE_REMOVE`.
        func unlink() {
            prev.next = next
            next.prev = prev
        }
    }

    let head = Node(nil, 0)
    /// Every node, to break their cycles of links at the end of the pass.
    private var nodes: [Node]

    init() {
        head.prev = head
        head.next = head
        nodes = [head]
    }

    deinit {
        for node in nodes {
            node.prev = nil
            node.next = nil
        }
    }

    /// `QUEUE_INSERT_TAIL`.
    func append(_ process: NativeProcess, _ status: Int32) -> Node {
        let node = Node(process, status)
        node.next = head
        node.prev = head.prev
        head.prev.next = node
        head.prev = node
        nodes.append(node)
        return node
    }
}
