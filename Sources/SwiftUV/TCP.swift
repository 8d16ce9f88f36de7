import CUV
import NativeLoop

#if canImport(Glibc)
import Glibc
#endif

/// A TCP stream: a client that connects, or a server that listens and
/// accepts.
///
/// As in libuv, binding to a port in use succeeds; the error
/// (`UVError.addressInUse`) comes from `listen`, or reaches the connect
/// callback. A refused connection does not close the handle for you.
///
/// Writing to a socket the peer has closed gives `UVError.brokenPipe` (or
/// `.connectionReset`) to the write callback and never kills the process:
/// SwiftUV ignores `SIGPIPE` process-wide the first time a TCP handle is
/// made, as libuv's own programs and Node.js do.
///
/// The corresponding libuv type is `uv_tcp_t`.
public final class TCP: UVStream {
    /// The address family of the socket made at init.
    public enum Family: Sendable {
        /// Make the socket at bind or connect, from the address.
        case unspecified
        /// An IPv4 socket (`AF_INET`), made at init.
        case ipv4
        /// An IPv6 socket (`AF_INET6`), made at init.
        case ipv6

        var value: Int32 {
            switch self {
            case .unspecified: return AF_UNSPEC
            case .ipv4: return AF_INET
            case .ipv6: return AF_INET6
            }
        }
    }

    /// Makes a TCP handle; with a family, its socket too.
    ///
    /// The corresponding libuv function is `uv_tcp_init_ex`.
    public init(loop: Loop, family: Family = .unspecified) throws(UVError) {
        try loop.ensureOpen("TCP.init")
        ignoreSIGPIPE
        let core: Core
        switch loop.core {
        case .uv(let l):
            core = try Handle.makeUV(uv_tcp_t.self, on: l) { uv_tcp_init_ex($0, $1, UInt32(family.value)) }
        case .native(let l):
            do { core = .native(try NativeTCP(loop: l, family: family.value)) } catch { throw UVError(error) }
        }
        super.init(loop: loop, type: .tcp, core: core)
    }

    @inline(__always)
    private var uvTCP: UnsafeMutablePointer<uv_tcp_t>? {
        if case .uv(let h) = core { return UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_tcp_t.self) }
        return nil
    }

    @inline(__always)
    private var nativeTCP: NativeTCP { unsafeDowncast(nativeStream, to: NativeTCP.self) }

    /// Adopts an existing socket, made non-blocking. `UVError.fileExists` if
    /// the loop already watches it; `UVError.notSocket` for a descriptor
    /// that is not a socket, `.invalidArgument` for a socket that is not a
    /// stream socket (libuv 1.44.2 takes both, then aborts in `uv_run`).
    ///
    /// The corresponding libuv function is `uv_tcp_open`.
    public func open(socket: Int32) throws(UVError) {
        try ensureOpen("TCP.open")
        // libuv takes any descriptor and aborts in uv_run when epoll refuses it.
        try InputCheck.socket(socket, type: Int32(SOCK_STREAM.rawValue), "TCP.open")
        if let t = uvTCP { try check(uv_tcp_open(t, socket)) } else {
            do { try nativeTCP.open(socket: socket) } catch { throw UVError(error) }
        }
    }

    /// Binds to `address` (with `SO_REUSEADDR`). `ipv6Only` refuses IPv4
    /// peers on an IPv6 socket. `reusePort` sets `SO_REUSEPORT` first, so
    /// that several listeners (one per loop, each on its own thread) share
    /// the port and the kernel spreads connections among them: the way to
    /// use every core (libuv 1.44.2 has no flag for it; the socket is made
    /// here when the handle has none yet).
    ///
    /// The corresponding libuv function is `uv_tcp_bind`.
    public func bind(_ address: SocketAddress, ipv6Only: Bool = false, reusePort: Bool = false) throws(UVError) {
        try ensureOpen("TCP.bind")
        if case .unix = address.storage {
            throw UVError.invalidArgument.with(context: "TCP.bind: a Unix path is not a TCP address")
        }
        if reusePort { try setReusePort(for: address) }
        let status: Int32 = address.withSockAddr { sa, len in
            if let t = uvTCP { return uv_tcp_bind(t, sa, ipv6Only ? UInt32(UV_TCP_IPV6ONLY.rawValue) : 0) }
            do throws(NativeError) { try nativeTCP.bind(sa, length: len, ipv6Only: ipv6Only); return 0 } catch { return error.code }
        }
        try check(status, "TCP.bind(\(address))")
        // libuv reports some bind errors (EADDRINUSE) only at listen.
        boundAddress = address
    }

    /// The address given to `bind`, for `listen`'s error.
    private var boundAddress: SocketAddress?

    override var listenContext: String { "TCP.listen(\(boundAddress.map { "\($0)" } ?? "an unbound socket"))" }

    /// Binds to `"host:port"`.
    public func bind(_ address: String, ipv6Only: Bool = false, reusePort: Bool = false) throws(UVError) {
        try bind(SocketAddress(address), ipv6Only: ipv6Only, reusePort: reusePort)
    }

    /// Sets `SO_REUSEPORT` on the handle's socket, made now (of `address`'s
    /// family) and adopted when the handle has none yet.
    private func setReusePort(for address: SocketAddress) throws(UVError) {
        let context = "TCP.bind(\(address)): SO_REUSEPORT"
        var fd: Int32
        do {
            fd = try fileDescriptor()
        } catch {
            guard error == .badFileDescriptor else { throw error }
            let family: Int32
            if case .ipv6 = address.storage { family = AF_INET6 } else { family = AF_INET }
            let made = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            if made < 0 { throw UVError(code: -errno).with(context: context) }
            // The option first: a socket the handle adopts is one that has it.
            do {
                try Self.reusePort(made, context)
                try open(socket: made)
            } catch {
                Glibc.close(made)
                throw error
            }
            return
        }
        try Self.reusePort(fd, context)
    }

    private static func reusePort(_ fd: Int32, _ context: String) throws(UVError) {
        var on: Int32 = 1
        if setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            throw UVError(code: -errno).with(context: context)
        }
    }

    /// Connects to `address`; `callback` gets nil once connected, or the
    /// error (`UVError.connectionRefused`, `.cancelled` if closed first). It
    /// never runs inside this call. `UVError.alreadyInProgress` while another
    /// connect is pending.
    ///
    /// The corresponding libuv function is `uv_tcp_connect`.
    public func connect(to address: SocketAddress, _ callback: ((UVError?) -> Void)?) throws(UVError) {
        try ensureOpen("TCP.connect")
        if case .unix = address.storage {
            throw UVError.invalidArgument.with(context: "TCP.connect: a Unix path is not a TCP address")
        }
        let request = StatusRequest(handle: self, connect: true, callback: callback, context: "TCP.connect(\(address))")
        let status: Int32 = address.withSockAddr { sa, len in
            if let t = uvTCP {
                return request.startUV(uv_connect_t.self) { req in
                    uv_tcp_connect(req, t, sa) { req, status in StatusRequest.finishUV(req, status) }
                }
            }
            do throws(NativeError) {
                try nativeTCP.connect(sa, length: len, request: NativeStreamRequest { status in request.complete(status) })
                return 0
            } catch {
                return error.code
            }
        }
        try check(status, "TCP.connect(\(address))")
        loop.liveRequestCount += 1
    }

    /// Connects to `"host:port"`.
    public func connect(to address: String, _ callback: ((UVError?) -> Void)?) throws(UVError) {
        try connect(to: SocketAddress(address), callback)
    }

    override func nativeListen(backlog: Int32) throws(UVError) {
        do { try nativeTCP.listen(backlog: backlog, nativeConnection) } catch { throw UVError(error) }
    }

    /// Disables Nagle's algorithm (`uv_tcp_nodelay`).
    public func setNoDelay(_ enable: Bool) throws(UVError) {
        try ensureOpen("TCP.setNoDelay")
        if let t = uvTCP { try check(uv_tcp_nodelay(t, enable ? 1 : 0)) } else {
            do { try nativeTCP.setNoDelay(enable) } catch { throw UVError(error) }
        }
    }

    /// Turns TCP keep-alive on, with the first probe after `delay` seconds
    /// (1...32767, the kernel's range; else `UVError.invalidArgument`), or
    /// off (`uv_tcp_keepalive`). As in libuv 1.44.2, on a handle that has no
    /// socket yet the delay applies as 60 s once the socket is made.
    public func setKeepAlive(_ enable: Bool, delay: UInt32 = 60) throws(UVError) {
        try ensureOpen("TCP.setKeepAlive")
        if enable && !(1...32767).contains(delay) {
            throw InputCheck.refuse("TCP.setKeepAlive", "the delay \(delay) s is outside 1...32767")
        }
        if let t = uvTCP { try check(uv_tcp_keepalive(t, enable ? 1 : 0, delay)) } else {
            do { try nativeTCP.setKeepAlive(enable, delay: delay) } catch { throw UVError(error) }
        }
    }

    /// Whether a listener accepts several connections per wake-up (the
    /// default) or one (`uv_tcp_simultaneous_accepts`).
    public func setSimultaneousAccepts(_ enable: Bool) throws(UVError) {
        try ensureOpen("TCP.setSimultaneousAccepts")
        if let t = uvTCP { try check(uv_tcp_simultaneous_accepts(t, enable ? 1 : 0)) } else {
            nativeTCP.setSimultaneousAccepts(enable)
        }
    }

    /// The local address (`uv_tcp_getsockname`).
    public func localAddress() throws(UVError) -> SocketAddress { try name(peer: false) }

    /// The peer's address (`uv_tcp_getpeername`).
    public func peerAddress() throws(UVError) -> SocketAddress { try name(peer: true) }

    private func name(peer: Bool) throws(UVError) -> SocketAddress {
        try ensureOpen(peer ? "TCP.peerAddress" : "TCP.localAddress")
        return try SocketAddress.reading { sa, len in
            if let t = uvTCP { return peer ? uv_tcp_getpeername(t, sa, &len) : uv_tcp_getsockname(t, sa, &len) }
            var slen = socklen_t(len)
            do throws(NativeError) {
                try nativeTCP.name(peer: peer, into: sa, length: &slen)
                len = Int32(slen)
                return 0
            } catch {
                return error.code
            }
        }
    }

    /// Closes with a TCP reset (linger 0) instead of a graceful close.
    /// `UVError.invalidArgument` during a shutdown.
    ///
    /// The corresponding libuv function is `uv_tcp_close_reset`.
    public func closeReset(_ callback: ((Handle) -> Void)? = nil) throws(UVError) {
        try ensureOpen("TCP.closeReset")
        try close(callback) { core throws(UVError) in
            switch core {
            case .uv(let h):
                let status = uv_tcp_close_reset(UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_tcp_t.self), Handle.uvCloseCallback)
                if status != 0 {
                    throw UVError(code: status).with(context: "TCP.closeReset: a shutdown is pending")
                }
            case .native(let h):
                do throws(NativeError) {
                    try unsafeDowncast(h, to: NativeTCP.self).closeReset(self.nativeCloseCallback)
                } catch {
                    throw UVError(error).with(context: "TCP.closeReset: a shutdown is pending")
                }
            }
        }
    }
}
