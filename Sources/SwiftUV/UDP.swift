import CUV
import NativeLoop

#if canImport(Glibc)
import Glibc
#endif

/// A received datagram, lent for the duration of the receive callback.
public struct Datagram {
    /// The bytes; empty for the call that ends each burst of receives.
    public let bytes: UnsafeRawBufferPointer
    /// Who sent it; nil on the call that ends a burst.
    public let sender: SocketAddress?
    /// The datagram was larger than the buffer and was cut (`UV_UDP_PARTIAL`).
    public let isPartial: Bool
}

/// A UDP socket. Sending or receiving on an unbound socket binds it to the
/// any-address first. Every burst of receives ends with a callback with no
/// bytes and no sender, as in libuv.
///
/// The corresponding libuv type is `uv_udp_t`.
public final class UDP: Handle, NativeUDPReceiver {
    @exclusivity(unchecked)
    private var receiveCallback: ((Result<Datagram, UVError>) -> Void)?

    /// Makes a UDP handle; with a family, its socket too.
    ///
    /// The corresponding libuv function is `uv_udp_init_ex`.
    public init(loop: Loop, family: TCP.Family = .unspecified) throws(UVError) {
        try loop.ensureOpen("UDP.init")
        let core: Core
        switch loop.core {
        case .uv(let l):
            core = try Handle.makeUV(uv_udp_t.self, on: l) { uv_udp_init_ex($0, $1, UInt32(family.value)) }
        case .native(let l):
            do { core = .native(try NativeUDP(loop: l, family: family.value)) } catch { throw UVError(error) }
        }
        super.init(loop: loop, type: .udp, core: core)
    }

    @inline(__always)
    private var uvUDP: UnsafeMutablePointer<uv_udp_t>? {
        if case .uv(let h) = core { return UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_udp_t.self) }
        return nil
    }

    @inline(__always)
    private var nativeUDP: NativeUDP {
        guard case .native(let h) = core else { preconditionFailure() }
        return unsafeDowncast(h, to: NativeUDP.self)
    }

    /// Runs `uv` or `native`, turning the native error into a `UVError`.
    private func call(_ uv: (UnsafeMutablePointer<uv_udp_t>) -> Int32,
                      _ native: (NativeUDP) throws(NativeError) -> Void) throws(UVError) {
        if let u = uvUDP {
            try check(uv(u))
        } else {
            do { try native(nativeUDP) } catch { throw UVError(error) }
        }
    }

    /// Binds to `address`. `reuseAddress` lets several sockets bind the same
    /// port; `ipv6Only` refuses IPv4 on an IPv6 socket. A port in use gives
    /// `UVError.addressInUse` at once.
    ///
    /// The corresponding libuv function is `uv_udp_bind`.
    public func bind(_ address: SocketAddress, reuseAddress: Bool = false, ipv6Only: Bool = false) throws(UVError) {
        try ensureOpen("UDP.bind")
        if case .unix = address.storage { throw UVError.invalidArgument.with(context: "UDP.bind: a Unix path") }
        var flags: UInt32 = 0
        if reuseAddress { flags |= UInt32(UV_UDP_REUSEADDR.rawValue) }
        if ipv6Only { flags |= UInt32(UV_UDP_IPV6ONLY.rawValue) }
        try address.withSockAddr { (sa, len) throws(UVError) in
            try call({ uv_udp_bind($0, sa, flags) }) { (n) throws(NativeError) in
                try n.bind(sa, length: len, reuseAddress: reuseAddress, ipv6Only: ipv6Only)
            }
        }
    }

    /// Binds to `"host:port"`.
    public func bind(_ address: String, reuseAddress: Bool = false, ipv6Only: Bool = false) throws(UVError) {
        try bind(SocketAddress(address), reuseAddress: reuseAddress, ipv6Only: ipv6Only)
    }

    /// Fixes the peer: sends then go there without an address.
    /// `UVError.socketIsConnected` when already connected.
    ///
    /// The corresponding libuv function is `uv_udp_connect`.
    public func connect(to address: SocketAddress) throws(UVError) {
        try ensureOpen("UDP.connect")
        if case .unix = address.storage { throw UVError.invalidArgument.with(context: "UDP.connect: a Unix path") }
        try address.withSockAddr { (sa, len) throws(UVError) in
            try call({ uv_udp_connect($0, sa) }) { (n) throws(NativeError) in try n.connect(sa, length: len) }
        }
    }

    /// Forgets the peer (`uv_udp_connect` with no address);
    /// `UVError.notConnected` if there is none.
    public func disconnect() throws(UVError) {
        try ensureOpen("UDP.disconnect")
        try call({ uv_udp_connect($0, nil) }) { (n) throws(NativeError) in try n.disconnect() }
    }

    /// Adopts an existing datagram socket (`uv_udp_open`):
    /// `UVError.notSocket` for a descriptor that is not a socket,
    /// `.invalidArgument` for a socket that is not a datagram socket.
    public func open(socket: Int32) throws(UVError) {
        try ensureOpen("UDP.open")
        try InputCheck.socket(socket, type: Int32(SOCK_DGRAM.rawValue), "UDP.open")
        try call({ uv_udp_open($0, socket) }) { (n) throws(NativeError) in try n.open(socket: socket) }
    }

    // MARK: Sending

    /// Sends one datagram made of `bytes` to `address` (or to the connected
    /// peer when nil). The callback gets nil once sent, or the error
    /// (`UVError.cancelled` if the handle closed first); it never runs
    /// inside this call. `UVError.socketIsConnected` with an address on a
    /// connected socket; `.destinationAddressRequired` without one on an
    /// unconnected socket.
    ///
    /// The corresponding libuv function is `uv_udp_send`.
    public func send<Bytes: Collection>(_ bytes: Bytes, to address: SocketAddress? = nil,
                                        _ callback: ((UVError?) -> Void)? = nil) throws(UVError) where Bytes.Element == UInt8 {
        try ensureOpen("UDP.send", code: .badFileDescriptor)
        try refuseUnixAddressWhileUnbound(address, "UDP.send")
        let request = SendRequest(udp: self, buffer: OwnedBuffer(bytes), callback: callback)
        try request.submit(on: self, to: address)
    }

    /// Sends the UTF-8 bytes of `string`.
    public func send(_ string: String, to address: SocketAddress? = nil, _ callback: ((UVError?) -> Void)? = nil) throws(UVError) {
        try send(string.utf8, to: address, callback)
    }

    /// Sends at once without queueing: the bytes sent, or
    /// `UVError.resourceTemporarilyUnavailable` while sends are queued.
    /// A datagram over 64 KiB gives `UVError.messageTooLong`.
    ///
    /// The corresponding libuv function is `uv_udp_try_send`.
    public func trySend<Bytes: Collection>(_ bytes: Bytes, to address: SocketAddress? = nil) throws(UVError) -> Int
    where Bytes.Element == UInt8 {
        try ensureOpen("UDP.trySend", code: .badFileDescriptor)
        try refuseUnixAddressWhileUnbound(address, "UDP.trySend")
        let owned = OwnedBuffer(bytes)
        defer { owned.release() }
        let sent: Int32 = SocketAddress.withOptionalSockAddr(address) { sa, len in
            if let u = uvUDP {
                var buf = uvBuffer(owned.base, owned.count)
                return uv_udp_try_send(u, &buf, 1, sa)
            }
            do throws(NativeError) {
                return Int32(try nativeUDP.trySend([owned.rawBuffer], to: sa, length: len))
            } catch {
                return error.code
            }
        }
        try check(sent)
        return Int(sent)
    }

    /// Bytes waiting to be sent (`uv_udp_get_send_queue_size`).
    public var sendQueueSize: Int {
        guard state != .closed else { return 0 }
        if let u = uvUDP { return uv_udp_get_send_queue_size(u) }
        return nativeUDP.sendQueueSize
    }

    /// Datagrams waiting to be sent (`uv_udp_get_send_queue_count`).
    public var sendQueueCount: Int {
        guard state != .closed else { return 0 }
        if let u = uvUDP { return uv_udp_get_send_queue_count(u) }
        return nativeUDP.sendQueueCount
    }

    /// libuv asserts when its implicit bind meets a Unix address.
    private func refuseUnixAddressWhileUnbound(_ address: SocketAddress?, _ operation: String) throws(UVError) {
        guard let address, case .unix = address.storage else { return }
        if (try? fileDescriptor()) == nil {
            throw UVError.invalidArgument.with(context: "\(operation): a Unix address on a socket not made yet")
        }
    }

    // MARK: Receiving

    /// Starts receiving; binds to `0.0.0.0:0` first if unbound.
    /// `UVError.alreadyInProgress` when already receiving.
    ///
    /// The corresponding libuv function is `uv_udp_recv_start`.
    public func receiveStart(_ callback: ((Result<Datagram, UVError>) -> Void)?) throws(UVError) {
        try ensureOpen("UDP.receiveStart")
        guard let callback else { throw UVError.invalidArgument.with(context: "UDP.receiveStart: no callback") }
        if let u = uvUDP {
            let status = uv_udp_recv_start(u, { h, _, buf in
                Handle.withOwner(of: h?.pointee.data, as: UDP.self) { udp in
                    let buffer = udp.loop.readBuffer
                    buf?.pointee = uvBuffer(buffer.baseAddress, buffer.count)
                }
            }, { h, nread, buf, addr, flags in
                Handle.withOwner(of: h?.pointee.data, as: UDP.self) { udp in
                    udp.reportDatagram(Int(nread), UnsafeRawPointer(buf?.pointee.base), addr, partial: flags & UInt32(UV_UDP_PARTIAL.rawValue) != 0)
                }
            })
            try check(status)
        } else {
            do {
                // The engine hands datagrams to this socket directly; it stops
                // receiving (or closes) before it can go.
                try nativeUDP.receiveStart(receiver: self)
            } catch {
                throw UVError(error)
            }
        }
        receiveCallback = callback
    }

    /// The native engine's datagram, handed over without a closure.
    package func udpReceived(_ n: Int, _ buffer: UnsafeMutableRawBufferPointer, _ address: UnsafePointer<sockaddr>?, _ partial: Bool) {
        reportDatagram(n, UnsafeRawPointer(buffer.baseAddress), address, partial: partial)
    }

    private func reportDatagram(_ n: Int, _ base: UnsafeRawPointer?, _ addr: UnsafePointer<sockaddr>?, partial: Bool) {
        if n < 0 {
            deliver(.receiveError(Int32(n))) { receiveCallback?(.failure(UVError(code: Int32(n)))) }
            return
        }
        let sender = addr.flatMap { SocketAddress($0, length: socklen_t(MemoryLayout<sockaddr_storage>.size)) }
        deliver(.received(n)) {
            receiveCallback?(.success(Datagram(bytes: UnsafeRawBufferPointer(start: n > 0 ? base : nil, count: n),
                                               sender: sender, isPartial: partial)))
        }
    }

    /// Stops receiving (`uv_udp_recv_stop`).
    public func receiveStop() throws(UVError) {
        try ensureOpen("UDP.receiveStop")
        try call({ uv_udp_recv_stop($0) }) { n in n.receiveStop() }
        receiveCallback = nil
    }

    // MARK: Options

    /// `uv_udp_set_broadcast`.
    public func setBroadcast(_ on: Bool) throws(UVError) {
        try ensureOpen("UDP.setBroadcast")
        try call({ uv_udp_set_broadcast($0, on ? 1 : 0) }) { (n) throws(NativeError) in try n.setBroadcast(on) }
    }

    /// The unicast time to live, 1...255 (`uv_udp_set_ttl`).
    public func setTTL(_ ttl: Int32) throws(UVError) {
        try ensureOpen("UDP.setTTL")
        try call({ uv_udp_set_ttl($0, ttl) }) { (n) throws(NativeError) in try n.setTTL(ttl) }
    }

    /// The multicast time to live, 0...255 (`uv_udp_set_multicast_ttl`).
    public func setMulticastTTL(_ ttl: Int32) throws(UVError) {
        try ensureOpen("UDP.setMulticastTTL")
        try call({ uv_udp_set_multicast_ttl($0, ttl) }) { (n) throws(NativeError) in try n.setMulticastTTL(ttl) }
    }

    /// Whether multicast sent here loops back (`uv_udp_set_multicast_loop`).
    public func setMulticastLoop(_ on: Bool) throws(UVError) {
        try ensureOpen("UDP.setMulticastLoop")
        try call({ uv_udp_set_multicast_loop($0, on ? 1 : 0) }) { (n) throws(NativeError) in try n.setMulticastLoop(on) }
    }

    /// The interface multicast leaves from, by its address; nil for the
    /// default (`uv_udp_set_multicast_interface`).
    public func setMulticastInterface(_ interface: String?) throws(UVError) {
        try ensureOpen("UDP.setMulticastInterface")
        // Parsed once, for both engines: libuv would drop an unknown or
        // numeric zone silently; it gets the address with its zone's name.
        let parsed = try interface.map { (text) throws(UVError) in try SocketAddress(ip: text, port: 0) }
        if let u = uvUDP {
            try check(uv_udp_set_multicast_interface(u, parsed?.host))
            return
        }
        do throws(NativeError) {
            switch parsed?.storage {
            case nil: try nativeUDP.setMulticastInterface(ipv4: 0)
            case .ipv4(let a, _)?: try nativeUDP.setMulticastInterface(ipv4: a)
            case .ipv6(_, _, _, let scope)?: try nativeUDP.setMulticastInterface(ipv6Scope: scope)
            case .unix?: throw .invalidArgument
            }
        } catch {
            throw UVError(error)
        }
    }

    /// Joins or leaves a multicast group on an interface (by address; nil
    /// for the default).
    ///
    /// The corresponding libuv function is `uv_udp_set_membership`.
    public func setMembership(group: String, interface: String? = nil, join: Bool) throws(UVError) {
        try ensureOpen("UDP.setMembership")
        let groupAddress = try SocketAddress(ip: group, port: 0)
        // The interface in the group's family, as libuv reads it (EINVAL
        // for anything else), with its zone's name for libuv.
        let parsed = try interface.map { (text) throws(UVError) in try SocketAddress(ip: text, port: 0) }
        if let parsed, parsed.isIPv6 != groupAddress.isIPv6 {
            throw InputCheck.refuse("UDP.setMembership", "the interface \(InputCheck.quoted(parsed.host)) is not in the group's address family")
        }
        if let u = uvUDP {
            try check(uv_udp_set_membership(u, group, parsed?.host, join ? UV_JOIN_GROUP : UV_LEAVE_GROUP))
            return
        }
        do throws(NativeError) {
            switch groupAddress.storage {
            case .ipv4(let g, _):
                var i: UInt32 = 0
                if case .ipv4(let a, _)? = parsed?.storage { i = a }
                try nativeUDP.setMembership(ipv4: g, interface: i, join: join)
            case .ipv6(let bytes, _, _, _):
                var g = in6_addr()
                withUnsafeMutableBytes(of: &g) { $0.copyBytes(from: bytes) }
                var scope: UInt32 = 0
                if case .ipv6(_, _, _, let s)? = parsed?.storage { scope = s }
                try nativeUDP.setMembership(ipv6: g, interface: scope, join: join)
            case .unix:
                throw NativeError.invalidArgument
            }
        } catch {
            throw UVError(error)
        }
    }

    /// Joins or leaves a source-specific multicast group
    /// (`uv_udp_set_source_membership`).
    public func setSourceMembership(group: String, interface: String? = nil, source: String, join: Bool) throws(UVError) {
        try ensureOpen("UDP.setSourceMembership")
        for text in [group, source] + (interface.map { [$0] } ?? []) {
            try InputCheck.cString(text, "UDP.setSourceMembership", "address")
        }
        if let u = uvUDP {
            try check(uv_udp_set_source_membership(u, group, interface, source, join ? UV_JOIN_GROUP : UV_LEAVE_GROUP))
            return
        }
        let groupAddress = try SocketAddress(ip: group, port: 0)
        let sourceAddress = try SocketAddress(ip: source, port: 0)
        if groupAddress.isIPv6 != sourceAddress.isIPv6 {
            throw InputCheck.refuse("UDP.setSourceMembership", "the group and the source are of different address families")
        }
        guard case .ipv4(let g, _) = groupAddress.storage, case .ipv4(let s, _) = sourceAddress.storage else {
            throw UVError.notSupported.with(context: "setSourceMembership: IPv4 only on the native backend")
        }
        var i: UInt32 = 0
        if let interface, case .ipv4(let a, _) = try SocketAddress(ip: interface, port: 0).storage { i = a }
        do { try nativeUDP.setSourceMembership(group: g, interface: i, source: s, join: join) } catch { throw UVError(error) }
    }

    /// Whether receives use `recvmmsg` (`uv_udp_using_recvmmsg`): never
    /// here, as handles are made without `UV_UDP_RECVMMSG`.
    public var usesRecvmmsg: Bool {
        guard state == .open else { return false }
        if let u = uvUDP { return uv_udp_using_recvmmsg(u) != 0 }
        return false
    }

    /// The local address (`uv_udp_getsockname`).
    public func localAddress() throws(UVError) -> SocketAddress { try name(peer: false) }

    /// The connected peer's address (`uv_udp_getpeername`).
    public func peerAddress() throws(UVError) -> SocketAddress { try name(peer: true) }

    private func name(peer: Bool) throws(UVError) -> SocketAddress {
        try ensureOpen(peer ? "UDP.peerAddress" : "UDP.localAddress")
        return try SocketAddress.reading { sa, len in
            if let u = uvUDP { return peer ? uv_udp_getpeername(u, sa, &len) : uv_udp_getsockname(u, sa, &len) }
            var slen = socklen_t(len)
            do throws(NativeError) {
                try nativeUDP.name(peer: peer, into: sa, length: &slen)
                len = Int32(slen)
                return 0
            } catch {
                return error.code
            }
        }
    }

    override func releaseCallbacks() { receiveCallback = nil }

    /// Submits a datagram; the request owns its bytes until the callback.
    private final class SendRequest {
        let loop: Loop
        /// The socket, which the callback is traced as.
        unowned(unsafe) let udp: UDP
        let buffer: OwnedBuffer
        var callback: ((UVError?) -> Void)?

        init(udp: UDP, buffer: OwnedBuffer, callback: ((UVError?) -> Void)?) {
            self.loop = udp.loop
            self.udp = udp
            self.buffer = buffer
            self.callback = callback
        }

        func submit(on udp: UDP, to address: SocketAddress?) throws(UVError) {
            let status: Int32 = SocketAddress.withOptionalSockAddr(address) { sa, len in
                if let u = udp.uvUDP {
                    let req = UnsafeMutablePointer<uv_udp_send_t>.allocate(capacity: 1)
                    req.pointee.data = Unmanaged.passRetained(self).toOpaque()
                    var buf = uvBuffer(buffer.base, buffer.count)
                    let status = uv_udp_send(req, u, &buf, 1, sa) { req, status in
                        let r = Unmanaged<SendRequest>.fromOpaque(req!.pointee.data).takeRetainedValue()
                        req!.deallocate()
                        r.complete(status)
                    }
                    if status != 0 {
                        Unmanaged.passUnretained(self).release()
                        req.deallocate()
                    }
                    return status
                }
                let native = NativeSendRequest(buffers: [buffer.rawBuffer], address: sa, length: len) { status in
                    self.complete(status)
                }
                do throws(NativeError) {
                    try udp.nativeUDP.send(native, to: sa)
                    return 0
                } catch {
                    return error.code
                }
            }
            if status != 0 {
                buffer.release()
                throw UVError(code: status)
            }
            loop.liveRequestCount += 1
        }

        func complete(_ status: Int32) {
            buffer.release()
            loop.liveRequestCount -= 1
            let cb = callback
            callback = nil
            udp.deliver(.sent(status)) { cb?(status == 0 ? nil : UVError(code: status)) }
        }
    }
}

extension SocketAddress {
    /// Calls `body` with the C form of `address`, or nil and 0.
    static func withOptionalSockAddr<R>(_ address: SocketAddress?, _ body: (UnsafePointer<sockaddr>?, socklen_t) -> R) -> R {
        guard let address else { return body(nil, 0) }
        return address.withSockAddr { body($0, $1) }
    }

    /// `withSockAddr` for a throwing body.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(UVError) -> R) throws(UVError) -> R {
        let result: Result<R, UVError> = withSockAddr { sa, len in
            do throws(UVError) { return .success(try body(sa, len)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
