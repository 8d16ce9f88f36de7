#if canImport(Glibc)
import Glibc
#endif
import CNativeSystem

/// A Unix-domain stream socket or a pipe descriptor (`uv_pipe_t`),
/// following libuv's `pipe.c`.
package final class NativePipe: NativeStream {
    /// Whether handles can be passed over this pipe.
    package let ipc: Bool
    /// The path bound, unlinked at close.
    @exclusivity(unchecked)
    private var boundPath: String?

    package init(loop: NativeEventLoop, ipc: Bool) {
        self.ipc = ipc
        super.init(loop: loop, kind: .pipe)
    }

    override var isIPC: Bool { ipc }

    private static func address(_ path: String) -> sockaddr_un {
        var sa = sockaddr_un()
        sa.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &sa.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
        }
        return sa
    }

    /// `uv_pipe_bind`: `EINVAL` if already bound; a missing directory gives
    /// `EACCES`, as in libuv.
    package func bind(path: String) throws(NativeError) {
        if fd >= 0 || isClosing { throw .invalidArgument }
        let sock = try syscall { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0) }
        var sa = Self.address(path)
        let r = withUnsafePointer(to: &sa) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(sock, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if r != 0 {
            let err = errno
            closeDescriptor(sock)
            throw NativeError(errno: err == ENOENT ? EACCES : err)
        }
        flags.insert(.bound)
        boundPath = path
        watcher.fd = sock
    }

    /// `uv_pipe_listen`: `EINVAL` when unbound or an IPC pipe.
    package func listen(backlog: Int32, _ callback: @escaping (Int32) -> Void) throws(NativeError) {
        if fd == -1 || ipc { throw .invalidArgument }
        let b: Int32 = backlog < 0 ? SOMAXCONN : backlog
        _ = try syscall { Glibc.listen(fd, b) }
        beginListening(callback)
    }

    /// `uv_pipe_connect`: errors, even synchronous ones, reach the callback
    /// from the pending phase.
    package func connect(path: String, request: NativeStreamRequest) {
        var err: Int32 = 0
        let newSocket = fd == -1
        if newSocket {
            do {
                watcher.fd = try syscall { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0) }
            } catch {
                err = error.code
            }
        }
        if err == 0 {
            var sa = Self.address(path)
            var r: Int32
            repeat {
                r = withUnsafePointer(to: &sa) { p in
                    p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
                }
            } while r == -1 && errno == EINTR
            if r == -1 && errno != EINPROGRESS {
                err = errno == EBADF ? -ENOTSOCK : -errno
            } else if newSocket {
                do { try open(fd: fd, flags: [.readable, .writable]) } catch { err = error.code }
            }
        }
        delayedError = err
        // A failed connect is not watched for writability, only fed.
        beginConnect(request, watchWritable: err == 0)
    }

    /// `uv_pipe_open`: adopts a descriptor; readable and writable as its
    /// access mode says.
    package func open(descriptor: Int32) throws(NativeError) {
        if loop.isWatched(descriptor) { throw NativeError(errno: EEXIST) }
        let mode = try syscall { fcntl(descriptor, F_GETFL) }
        if mode & O_NONBLOCK == 0 { _ = try syscall { fcntl(descriptor, F_SETFL, mode | O_NONBLOCK) } }
        var extra: StreamFlags = []
        let access = mode & O_ACCMODE
        if access != O_WRONLY { extra.insert(.readable) }
        if access != O_RDONLY { extra.insert(.writable) }
        try open(fd: descriptor, flags: extra)
    }

    /// Opens this end of a socket pair made for a child's stdio, readable
    /// and writable as the child uses the other end (libuv's
    /// `uv__process_open_stream`). The caller made the pair close-on-exec
    /// (`SOCK_CLOEXEC`), so that only `O_NONBLOCK` is set here, with one
    /// `ioctl(FIONBIO)` as libuv's `uv__nonblock` (not four `fcntl` calls).
    package func open(childEnd fd: Int32, parentReads: Bool, parentWrites: Bool) throws(NativeError) {
        var on: Int32 = 1
        _ = try syscall { ioctl(fd, UInt(FIONBIO), &on) }
        var extra: StreamFlags = []
        if parentReads { extra.insert(.readable) }
        if parentWrites { extra.insert(.writable) }
        try open(fd: fd, flags: extra)
    }

    /// `uv_pipe_getsockname` / `uv_pipe_getpeername`: the path (`EBADF`
    /// without a socket).
    package func name(peer: Bool) throws(NativeError) -> String {
        if fd < 0 { throw NativeError(errno: EBADF) }
        var sa = sockaddr_un()
        var len = socklen_t(MemoryLayout<sockaddr_un>.size)
        let fd = self.fd
        _ = try withUnsafeMutablePointer(to: &sa) { (p) throws(NativeError) -> Int32 in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sp) throws(NativeError) -> Int32 in
                try syscall { peer ? getpeername(fd, sp, &len) : getsockname(fd, sp, &len) }
            }
        }
        let bytes = withUnsafeBytes(of: sa.sun_path) { raw -> [UInt8] in
            // A name in Linux's abstract namespace starts with a NUL and is
            // as long as the kernel says, NULs included (uv__pipe_getsockpeername).
            if raw.first == 0 {
                let length = Int(len) - MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
                return Array(raw.prefix(max(0, length)))
            }
            return Array(raw.prefix(while: { $0 != 0 }))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `uv_pipe_chmod`: adds read and/or write permission for everyone.
    package func chmod(readable: Bool, writable: Bool) throws(NativeError) {
        if fd == -1 { throw NativeError(errno: EBADF) }
        if !readable && !writable { throw .invalidArgument }
        let path = try name(peer: false)
        var st = stat()
        _ = try syscall { stat(path, &st) }
        var desired: mode_t = 0
        if readable { desired |= S_IRUSR | S_IRGRP | S_IROTH }
        if writable { desired |= S_IWUSR | S_IWGRP | S_IWOTH }
        if st.st_mode & desired == desired { return }
        _ = try syscall { Glibc.chmod(path, st.st_mode | desired) }
    }

    override func willClose() {
        if let path = boundPath {
            // Unlink before closing the socket, as libuv: the other order
            // races with a new socket of the same name.
            unlink(path)
            boundPath = nil
        }
        super.willClose()
    }
}
