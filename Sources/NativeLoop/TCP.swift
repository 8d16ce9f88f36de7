#if canImport(Glibc)
import Glibc
#endif
import CNativeSystem

/// A TCP stream (`uv_tcp_t`), following libuv's `tcp.c`: the socket is made
/// lazily, when the address family is known; a bind to a port in use
/// succeeds and the error surfaces at `listen` or `connect`.
package final class NativeTCP: NativeStream {
    /// `uv_tcp_init_ex`: `AF_UNSPEC` makes the socket later.
    package init(loop: NativeEventLoop, family: Int32 = AF_UNSPEC) throws(NativeError) {
        super.init(loop: loop, kind: .tcp)
        if family != AF_UNSPEC {
            do {
                try makeSocket(family: family, flags: [])
            } catch {
                loop.unlink(self)
                throw error
            }
        }
    }

    private func newSocket(family: Int32, flags extra: StreamFlags) throws(NativeError) {
        let fd = try syscall { socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0) }
        do {
            try open(fd: fd, flags: extra)
        } catch {
            closeDescriptor(fd)
            throw error
        }
        if extra.contains(.bound) {
            var storage = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let ok = withUnsafeMutablePointer(to: &storage) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    getsockname(fd, sa, &len) == 0 && Glibc.bind(fd, sa, len) == 0
                }
            }
            if !ok {
                let err = errno
                closeDescriptor(fd)
                watcher.fd = -1
                throw NativeError(errno: err)
            }
        }
    }

    /// `maybe_new_socket`.
    private func makeSocket(family: Int32, flags extra: StreamFlags) throws(NativeError) {
        if family == AF_UNSPEC {
            flags.formUnion(extra)
            return
        }
        if fd != -1 {
            if extra.contains(.bound) {
                if flags.contains(.bound) {
                    flags.formUnion(extra)
                    return
                }
                var storage = sockaddr_storage()
                var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let fd = self.fd
                let err: Int32 = withUnsafeMutablePointer(to: &storage) { p in
                    p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                        if getsockname(fd, sa, &len) != 0 { return errno }
                        let port: UInt16
                        if sa.pointee.sa_family == sa_family_t(AF_INET6) {
                            port = UnsafeRawPointer(sa).assumingMemoryBound(to: sockaddr_in6.self).pointee.sin6_port
                        } else if sa.pointee.sa_family == sa_family_t(AF_INET) {
                            port = UnsafeRawPointer(sa).assumingMemoryBound(to: sockaddr_in.self).pointee.sin_port
                        } else {
                            port = 0
                        }
                        if port != 0 { return 0 }
                        return Glibc.bind(fd, sa, len) == 0 ? 0 : errno
                    }
                }
                if err != 0 { throw NativeError(errno: err) }
            }
            flags.formUnion(extra)
            return
        }
        try newSocket(family: family, flags: extra)
    }

    /// `uv_tcp_bind`. `EADDRINUSE` is kept for `listen` or `connect`.
    package func bind(_ address: UnsafePointer<sockaddr>, length: socklen_t, ipv6Only: Bool) throws(NativeError) {
        let family = Int32(address.pointee.sa_family)
        if ipv6Only && family != AF_INET6 { throw .invalidArgument }
        try makeSocket(family: family, flags: [])
        var on: Int32 = 1
        _ = try syscall { setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, 4) }
        if family == AF_INET6 {
            var v6only: Int32 = ipv6Only ? 1 : 0
            if setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &v6only, 4) == -1 {
                if errno == EOPNOTSUPP { throw .invalidArgument }
                throw NativeError(errno: errno)
            }
        }
        let r = Glibc.bind(fd, address, length)
        if r == -1 && errno != EADDRINUSE {
            if errno == EAFNOSUPPORT { throw .invalidArgument }
            throw NativeError(errno: errno)
        }
        delayedError = r == -1 ? -errno : 0
        flags.insert(.bound)
        if family == AF_INET6 { flags.insert(.ipv6) }
    }

    /// `uv_tcp_connect`: `EALREADY` while a connect is pending; a refused
    /// connection seen synchronously is reported from the pending phase.
    package func connect(_ address: UnsafePointer<sockaddr>, length: socklen_t, request: NativeStreamRequest) throws(NativeError) {
        if connectRequest != nil { throw .alreadyInProgressCode }
        if delayedError == 0 {
            try makeSocket(family: Int32(address.pointee.sa_family), flags: [.readable, .writable])
            var r: Int32
            repeat {
                errno = 0
                r = Glibc.connect(fd, address, length)
            } while r == -1 && errno == EINTR
            if r == -1 && errno != 0 {
                if errno == EINPROGRESS {
                    // Not an error.
                } else if errno == ECONNREFUSED {
                    delayedError = -ECONNREFUSED
                } else {
                    throw NativeError(errno: errno)
                }
            }
        }
        beginConnect(request)
    }

    /// `uv_tcp_listen`: binds to an ephemeral IPv4 port if unbound.
    package func listen(backlog: Int32, _ callback: @escaping (Int32) -> Void) throws(NativeError) {
        if delayedError != 0 { throw NativeError(code: delayedError) }
        if let v = getenv("UV_TCP_SINGLE_ACCEPT"), atoi(v) != 0 { flags.insert(.singleAccept) }
        try makeSocket(family: AF_INET, flags: [.bound])
        _ = try syscall { Glibc.listen(fd, backlog) }
        flags.insert(.bound)
        beginListening(callback)
    }

    /// `uv_tcp_open`: adopts a socket, made non-blocking.
    package func open(socket: Int32) throws(NativeError) {
        if loop.isWatched(socket) { throw NativeError(errno: EEXIST) }
        let current = try syscall { fcntl(socket, F_GETFL) }
        _ = try syscall { fcntl(socket, F_SETFL, current | O_NONBLOCK) }
        try open(fd: socket, flags: [.readable, .writable])
    }

    /// `uv_tcp_getsockname` / `uv_tcp_getpeername`.
    package func name(peer: Bool, into address: UnsafeMutablePointer<sockaddr>, length: inout socklen_t) throws(NativeError) {
        if delayedError != 0 { throw NativeError(code: delayedError) }
        if fd < 0 { throw NativeError(errno: EBADF) }
        let fd = self.fd
        _ = try syscall { peer ? getpeername(fd, address, &length) : getsockname(fd, address, &length) }
    }

    /// `uv_tcp_nodelay`.
    package func setNoDelay(_ on: Bool) throws(NativeError) {
        if fd != -1 { try NativeLoop.setNoDelay(fd, on) }
        if on { flags.insert(.noDelay) } else { flags.remove(.noDelay) }
    }

    /// `uv_tcp_keepalive`.
    package func setKeepAlive(_ on: Bool, delay: UInt32) throws(NativeError) {
        if fd != -1 { try NativeLoop.setKeepAlive(fd, on, delay) }
        if on { flags.insert(.keepAlive) } else { flags.remove(.keepAlive) }
    }

    /// `uv_tcp_simultaneous_accepts`.
    package func setSimultaneousAccepts(_ enable: Bool) {
        if enable { flags.remove(.singleAccept) } else { flags.insert(.singleAccept) }
    }

    /// `uv_tcp_close_reset`: `EINVAL` during a shutdown; else linger 0 and close.
    package func closeReset(_ callback: (() -> Void)?) throws(NativeError) {
        if flags.contains(.shutting) { throw .invalidArgument }
        var l = linger(l_onoff: 1, l_linger: 0)
        if setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size)) != 0 && errno != EINVAL {
            throw NativeError(errno: errno)
        }
        close(callback)
    }
}
