#if canImport(Glibc)
import Glibc
#endif
import CUVLayout
import NativeLoop

/// The Swift side of a `uv_process_t`.
final class ABIProcess: ABIHandle {
    let process: NativeProcess

    init(cHandle: UnsafeMutablePointer<uv_process_t>, native: NativeProcess) {
        process = native
        super.init(cHandle: UnsafeMutableRawPointer(cHandle).assumingMemoryBound(to: uv_handle_t.self), native: native)
    }
}

/// A NULL-terminated C string array as Swift strings.
private func strings(_ list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String]? {
    guard let list else { return nil }
    var result: [String] = []
    var i = 0
    while let s = list[i] {
        result.append(String(cString: s))
        i += 1
    }
    return result
}

/// `uv_spawn`: initialises the handle (it must be closed even when the
/// spawn fails), makes the child's stdio (`UV_CREATE_PIPE` gives the pipe
/// handle one end of a socket pair; `UV_INHERIT_FD` and
/// `UV_INHERIT_STREAM` pass a descriptor; `UV_IGNORE` gives 0-2
/// `/dev/null`), and starts the program. A missing program fails here,
/// synchronously. The exit callback gets (exit status, terminating signal).
@_cdecl("uv_spawn")
public func abiSpawn(_ loop: UnsafeMutablePointer<uv_loop_t>, _ handle: UnsafeMutablePointer<uv_process_t>,
                     _ options: UnsafePointer<uv_process_options_t>) -> Int32 {
    let object = ABIProcess(cHandle: handle, native: NativeProcess(loop: abiLoop(loop).native))
    object.attach(loop: loop, type: UV_PROCESS)
    handle.pointee.exit_cb = nil
    handle.pointee.pid = 0
    handle.pointee.status = 0
    let o = options.pointee
    guard let file = o.file else { return uvError(EINVAL) }
    let known = UV_PROCESS_SETUID.rawValue | UV_PROCESS_SETGID.rawValue | UV_PROCESS_WINDOWS_VERBATIM_ARGUMENTS.rawValue
        | UV_PROCESS_DETACHED.rawValue | UV_PROCESS_WINDOWS_HIDE.rawValue | UV_PROCESS_WINDOWS_HIDE_CONSOLE.rawValue
        | UV_PROCESS_WINDOWS_HIDE_GUI.rawValue
    if o.flags & ~known != 0 { return uvError(EINVAL) }

    // The child's descriptors, and the socket pairs made for pipes (closed
    // on failure; the parent's end goes to the pipe handle on success).
    let count = max(Int(o.stdio_count), 3)
    var childFDs = [Int32](repeating: -1, count: count)
    var pairs: [(index: Int, parent: Int32, child: Int32)] = []
    func closePairs() {
        for p in pairs {
            close(p.parent)
            close(p.child)
        }
    }
    for i in 0..<Int(max(o.stdio_count, 0)) {
        let container = o.stdio[i]
        let flags = container.flags.rawValue
        if flags & UV_CREATE_PIPE.rawValue != 0 {
            guard let stream = container.data.stream, stream.pointee.type == UV_NAMED_PIPE else {
                closePairs()
                return uvError(EINVAL)
            }
            var fds: [Int32] = [-1, -1]
            if socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) != 0 {
                let err = errno
                closePairs()
                return uvError(err)
            }
            pairs.append((i, fds[0], fds[1]))
            childFDs[i] = fds[1]
        } else if flags & (UV_INHERIT_FD.rawValue | UV_INHERIT_STREAM.rawValue) != 0 {
            var fd: Int32 = -1
            if flags & UV_INHERIT_FD.rawValue != 0 {
                fd = container.data.fd
            } else if let stream = container.data.stream, let s = streamObject(stream) {
                fd = s.stream.fd
            }
            if fd == -1 {
                closePairs()
                return uvError(EINVAL)
            }
            childFDs[i] = fd
        }
    }
    let setUID = o.flags & UV_PROCESS_SETUID.rawValue != 0
    let setGID = o.flags & UV_PROCESS_SETGID.rawValue != 0
    let program = String(cString: file)
    do {
        try object.process.spawn(file: program, arguments: strings(o.args) ?? [program], environment: strings(o.env),
                                 cwd: o.cwd.map { String(cString: $0) }, stdio: childFDs,
                                 detached: o.flags & UV_PROCESS_DETACHED.rawValue != 0,
                                 uid: setUID ? o.uid : nil, gid: setGID ? o.gid : nil) { status, signal in
            handle.pointee.exit_cb?(handle, status, signal)
        }
    } catch {
        closePairs()
        return error.code
    }
    for p in pairs {
        close(p.child)
        let container = o.stdio[p.index]
        let flags = container.flags.rawValue
        guard let stream = container.data.stream,
              let pipe = streamObject(stream)?.stream as? NativePipe else {
            close(p.parent)
            continue
        }
        do {
            try pipe.open(childEnd: p.parent, parentReads: flags & UV_WRITABLE_PIPE.rawValue != 0,
                          parentWrites: flags & UV_READABLE_PIPE.rawValue != 0)
        } catch {
            close(p.parent)
        }
    }
    handle.pointee.pid = object.process.pid
    handle.pointee.exit_cb = o.exit_cb
    return 0
}

/// `uv_process_kill`: signals the child (`UV_ESRCH` once it is reaped).
@_cdecl("uv_process_kill")
public func abiProcessKill(_ handle: UnsafeMutablePointer<uv_process_t>, _ signum: Int32) -> Int32 {
    guard let object = handleObject(handle, ABIProcess.self) else { return uvError(ESRCH) }
    return status { () throws(NativeError) in try object.process.kill(signum) }
}

/// `uv_process_get_pid`.
@_cdecl("uv_process_get_pid")
public func abiProcessGetPid(_ handle: UnsafePointer<uv_process_t>) -> uv_pid_t { handle.pointee.pid }
