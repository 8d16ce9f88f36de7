#if canImport(Glibc)
import Glibc
#endif
import CNativeSystem

/// A terminal stream (`uv_tty_t`), following libuv's `tty.c`: a slave
/// terminal is reopened through its path so that making it non-blocking
/// does not change the descriptor other processes share.
package final class NativeTTY: NativeStream {
    /// 0 normal, 1 raw, 2 I/O (`uv_tty_mode_t`).
    @exclusivity(unchecked)
    package private(set) var mode: Int32 = 0
    @exclusivity(unchecked)
    private var originalTermios = termios()

    /// `uv_tty_init`: `EINVAL` for a file or an unknown descriptor.
    package init(loop: NativeEventLoop, fd fdIn: Int32) throws(NativeError) {
        let type = NativeHandleGuess.guess(fdIn)
        if type == .file || type == .unknown { throw .invalidArgument }
        var fd = fdIn
        var extra: StreamFlags = []
        let saved = try syscall { fcntl(fd, F_GETFL) }
        let access = saved & O_ACCMODE
        if type == .tty {
            var reopened: Int32 = -1
            let isSlave = cnative_is_pty_slave(fd) != 0
            var path = [CChar](repeating: 0, count: 256)
            if isSlave && ttyname_r(fd, &path, path.count) == 0 {
                reopened = Glibc.open(path, access | O_NOCTTY | O_CLOEXEC)
            }
            if reopened < 0 {
                if access != O_RDONLY { extra.insert(.blockingWrites) }
            } else {
                if dup2(reopened, fd) < 0 && errno != EINVAL {
                    let err = errno
                    closeDescriptor(reopened)
                    throw NativeError(errno: err)
                }
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                fd = reopened
            }
        }
        super.init(loop: loop, kind: .tty)
        if !extra.contains(.blockingWrites) {
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        }
        if access != O_WRONLY { extra.insert(.readable) }
        if access != O_RDONLY { extra.insert(.writable) }
        try? open(fd: fd, flags: extra)
    }

    /// `uv_tty_set_mode`.
    package func setMode(_ newMode: Int32) throws(NativeError) {
        if mode == newMode { return }
        let fd = self.fd
        if mode == 0 && newMode != 0 {
            _ = try syscall { tcgetattr(fd, &originalTermios) }
            TTYState.remember(fd: fd, originalTermios)
        }
        var t = originalTermios
        switch newMode {
        case 1:
            t.c_iflag &= ~tcflag_t(BRKINT | ICRNL | INPCK | ISTRIP | IXON)
            t.c_oflag |= tcflag_t(ONLCR)
            t.c_cflag |= tcflag_t(CS8)
            t.c_lflag &= ~tcflag_t(ECHO | ICANON | IEXTEN | ISIG)
            withUnsafeMutableBytes(of: &t.c_cc) { cc in
                cc[Int(VMIN)] = 1
                cc[Int(VTIME)] = 0
            }
        case 2:
            cfmakeraw(&t)
        default:
            break
        }
        try TTYState.apply(fd: fd, t, now: false)
        mode = newMode
    }

    /// `uv_tty_get_winsize`: (columns, rows).
    package func windowSize() throws(NativeError) -> (Int32, Int32) {
        var ws = winsize()
        let fd = self.fd
        _ = try syscall { ioctl(fd, UInt(TIOCGWINSZ), &ws) }
        return (Int32(ws.ws_col), Int32(ws.ws_row))
    }
}

/// The terminal settings saved by the first switch out of normal mode, which
/// `uv_tty_reset_mode` restores. Guarded by a spin flag, not a mutex, so that
/// a reset from a signal handler cannot deadlock: it gives `EBUSY` instead,
/// as libuv's trylock does.
package enum TTYState {
    nonisolated(unsafe) private static var savedFD: Int32 = -1
    /// On the heap: a C struct kept in a Swift global trips AddressSanitizer.
    nonisolated(unsafe) private static let saved: UnsafeMutablePointer<termios> = {
        let p = UnsafeMutablePointer<termios>.allocate(capacity: 1)
        p.initialize(to: termios())
        return p
    }()
    private static let busy = AsyncFlag()

    static func remember(fd: Int32, _ t: termios) {
        while !busy.tryAcquire() { sched_yield() }
        if savedFD == -1 {
            savedFD = fd
            saved.pointee = t
        }
        busy.releaseAcquired()
    }

    /// `tcsetattr` retried on `EINTR`.
    static func apply(fd: Int32, _ t: termios, now: Bool) throws(NativeError) {
        var t = t
        _ = try syscall { tcsetattr(fd, now ? TCSANOW : TCSADRAIN, &t) }
    }

    /// `uv_tty_reset_mode`: safe in a signal handler; keeps `errno`.
    package static func reset() -> Int32 {
        let savedErrno = errno
        defer { errno = savedErrno }
        if !busy.tryAcquire() { return NativeError.busy.code }
        defer { busy.releaseAcquired() }
        if savedFD == -1 { return 0 }
        var t = saved.pointee
        var r: Int32
        repeat { r = tcsetattr(savedFD, TCSANOW, &t) } while r == -1 && errno == EINTR
        return r == 0 ? 0 : -errno
    }
}

/// `uv_guess_handle`.
package enum NativeHandleGuess: Sendable {
    case unknown, file, tty, pipe, tcp, udp

    package static func guess(_ fd: Int32) -> NativeHandleGuess {
        if fd < 0 { return .unknown }
        if isatty(fd) != 0 { return .tty }
        var st = stat()
        var ss = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        func name() -> Int32 {
            withUnsafeMutablePointer(to: &ss) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
            }
        }
        if fstat(fd, &st) != 0 {
            if name() != 0 && errno == EINVAL { return .tcp }
            return .unknown
        }
        let kind = st.st_mode & S_IFMT
        if kind == S_IFREG || kind == S_IFCHR { return .file }
        if kind == S_IFIFO { return .pipe }
        if kind != S_IFSOCK { return .unknown }
        if name() != 0 { return errno == EINVAL ? .tcp : .unknown }
        var type: Int32 = 0
        var tlen = socklen_t(4)
        if getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 { return .unknown }
        let family = Int32(ss.ss_family)
        if type == Int32(SOCK_DGRAM.rawValue) && (family == AF_INET || family == AF_INET6) { return .udp }
        if type == Int32(SOCK_STREAM.rawValue) {
            if len == 0 { return .pipe }
            if family == AF_INET || family == AF_INET6 { return .tcp }
            if family == AF_UNIX { return .pipe }
        }
        return .unknown
    }
}
