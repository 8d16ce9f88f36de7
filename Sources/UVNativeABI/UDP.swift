#if canImport(Glibc)
import Glibc
#endif
import CUVLayout
import CUVNativeSupport
import NativeLoop

/// The Swift side of a `uv_udp_t`: datagrams go into the buffers the
/// user's `alloc_cb` gives, one per receive, as in libuv.
final class ABIUDP: ABIHandle {
    let udp: NativeUDP
    /// The buffer the last `alloc_cb` gave, handed back to `recv_cb`.
    var lastBuffer = uv_buf_t(base: nil, len: 0)
    private(set) var onReceive: (Int, UnsafeMutableRawBufferPointer, UnsafePointer<sockaddr>?, Bool) -> Void = { _, _, _, _ in }

    init(cHandle: UnsafeMutablePointer<uv_udp_t>, native: NativeUDP) {
        udp = native
        let raw = UnsafeMutableRawPointer(cHandle)
        super.init(cHandle: raw.assumingMemoryBound(to: uv_handle_t.self), native: native)
        let h = raw.assumingMemoryBound(to: uv_udp_t.self)
        native.receiveAllocator = { [unowned(unsafe) self] suggested in
            var buffer = uv_buf_t(base: nil, len: 0)
            h.pointee.alloc_cb?(raw.assumingMemoryBound(to: uv_handle_t.self), suggested, &buffer)
            self.lastBuffer = buffer
            return UnsafeMutableRawBufferPointer(start: buffer.base, count: buffer.base == nil ? 0 : buffer.len)
        }
        onReceive = { [unowned(unsafe) self] n, _, address, partial in
            var given = self.lastBuffer
            h.pointee.recv_cb?(h, n, &given, address, partial ? UInt32(UV_UDP_PARTIAL.rawValue) : 0)
        }
    }

    /// Copies the native send queue figures to the public fields.
    func syncSendQueue() {
        let h = UnsafeMutableRawPointer(cHandle).assumingMemoryBound(to: uv_udp_t.self)
        h.pointee.send_queue_size = udp.sendQueueSize
        h.pointee.send_queue_count = udp.sendQueueCount
    }
}

@inline(__always)
private func udpObject(_ handle: UnsafePointer<uv_udp_t>) -> ABIUDP? { handleObject(handle, ABIUDP.self, type: UV_UDP) }

/// Runs a native call that may fail, as a libuv status.
@inline(__always)
func status(_ body: () throws(NativeError) -> Void) -> Int32 {
    do {
        try body()
    } catch {
        return error.code
    }
    return 0
}

/// `uv_udp_init_ex`: the low byte of `flags` is the family (`AF_UNSPEC`
/// makes the socket later); `UV_UDP_RECVMMSG` is accepted (and not used).
@_cdecl("uv_udp_init_ex")
public func abiUDPInitEx(_ loop: UnsafeMutablePointer<uv_loop_t>, _ handle: UnsafeMutablePointer<uv_udp_t>, _ flags: UInt32) -> Int32 {
    let family = Int32(flags & 0xFF)
    if family != AF_UNSPEC && family != AF_INET && family != AF_INET6 { return uvError(EINVAL) }
    if flags & ~UInt32(0xFF | UV_UDP_RECVMMSG.rawValue) != 0 { return uvError(EINVAL) }
    let native: NativeUDP
    do {
        native = try NativeUDP(loop: abiLoop(loop).native, family: family)
    } catch {
        return error.code
    }
    let object = ABIUDP(cHandle: handle, native: native)
    object.attach(loop: loop, type: UV_UDP)
    handle.pointee.alloc_cb = nil
    handle.pointee.recv_cb = nil
    handle.pointee.send_queue_size = 0
    handle.pointee.send_queue_count = 0
    return 0
}

/// `uv_udp_init`.
@_cdecl("uv_udp_init")
public func abiUDPInit(_ loop: UnsafeMutablePointer<uv_loop_t>, _ handle: UnsafeMutablePointer<uv_udp_t>) -> Int32 {
    abiUDPInitEx(loop, handle, UInt32(AF_UNSPEC))
}

/// `uv_udp_open`: adopts a socket; `UV_EEXIST` if the loop watches it.
@_cdecl("uv_udp_open")
public func abiUDPOpen(_ handle: UnsafeMutablePointer<uv_udp_t>, _ socket: uv_os_sock_t) -> Int32 {
    guard let object = udpObject(handle) else { return uvError(EINVAL) }
    return status { () throws(NativeError) in try object.udp.open(socket: socket) }
}

/// `uv_udp_bind`: `UV_UDP_IPV6ONLY` (IPv6 only), `UV_UDP_REUSEADDR`; an
/// address in use is `UV_EADDRINUSE` at once.
@_cdecl("uv_udp_bind")
public func abiUDPBind(_ handle: UnsafeMutablePointer<uv_udp_t>, _ address: UnsafePointer<sockaddr>, _ flags: UInt32) -> Int32 {
    guard let object = udpObject(handle), let length = addressLength(address) else { return uvError(EINVAL) }
    let known = UV_UDP_IPV6ONLY.rawValue | UV_UDP_REUSEADDR.rawValue | UV_UDP_LINUX_RECVERR.rawValue
    if flags & ~known != 0 { return uvError(EINVAL) }
    return status { () throws(NativeError) in
        try object.udp.bind(address, length: length, reuseAddress: flags & UV_UDP_REUSEADDR.rawValue != 0,
                            ipv6Only: flags & UV_UDP_IPV6ONLY.rawValue != 0)
    }
}

/// `uv_udp_connect`: a NULL address disconnects (`UV_ENOTCONN` when not
/// connected); connecting again is `UV_EISCONN`.
@_cdecl("uv_udp_connect")
public func abiUDPConnect(_ handle: UnsafeMutablePointer<uv_udp_t>, _ address: UnsafePointer<sockaddr>?) -> Int32 {
    guard let object = udpObject(handle) else { return uvError(EINVAL) }
    guard let address else { return status { () throws(NativeError) in try object.udp.disconnect() } }
    guard let length = addressLength(address) else { return uvError(EINVAL) }
    return status { () throws(NativeError) in try object.udp.connect(address, length: length) }
}

private func udpName(_ handle: UnsafePointer<uv_udp_t>, peer: Bool, _ name: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let object = udpObject(handle), let name, let length else { return uvError(EINVAL) }
    var size = socklen_t(length.pointee)
    let r = status { () throws(NativeError) in try object.udp.name(peer: peer, into: name, length: &size) }
    if r == 0 { length.pointee = Int32(size) }
    return r
}

/// `uv_udp_getsockname`.
@_cdecl("uv_udp_getsockname")
public func abiUDPGetSockName(_ handle: UnsafePointer<uv_udp_t>, _ name: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<Int32>?) -> Int32 {
    udpName(handle, peer: false, name, length)
}

/// `uv_udp_getpeername`.
@_cdecl("uv_udp_getpeername")
public func abiUDPGetPeerName(_ handle: UnsafePointer<uv_udp_t>, _ name: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<Int32>?) -> Int32 {
    udpName(handle, peer: true, name, length)
}

private func sockaddrLength(_ address: UnsafePointer<sockaddr>?) -> socklen_t {
    guard let address else { return 0 }
    switch Int32(address.pointee.sa_family) {
    case AF_INET: return socklen_t(MemoryLayout<sockaddr_in>.size)
    case AF_INET6: return socklen_t(MemoryLayout<sockaddr_in6>.size)
    case AF_UNIX: return socklen_t(MemoryLayout<sockaddr_un>.size)
    default: return 0
    }
}

/// `uv_udp_send`: to `address`, or to the connected peer without one
/// (`UV_EDESTADDRREQ` when not connected, `UV_EISCONN` with an address on
/// a connected handle). The callback comes from the loop.
@_cdecl("uv_udp_send")
public func abiUDPSend(_ request: UnsafeMutablePointer<uv_udp_send_t>, _ handle: UnsafeMutablePointer<uv_udp_t>,
                       _ buffers: UnsafePointer<uv_buf_t>?, _ count: UInt32, _ address: UnsafePointer<sockaddr>?,
                       _ callback: uv_udp_send_cb?) -> Int32 {
    guard let object = udpObject(handle) else { return uvError(EINVAL) }
    request.pointee.type = UV_UDP_SEND
    request.pointee.handle = handle
    request.pointee.cb = callback
    let native = NativeSendRequest(buffers: bufferList(buffers, count), address: address, length: sockaddrLength(address)) {
        [unowned(unsafe) object] status in
        object.syncSendQueue()
        request.pointee.cb?(request, status)
    }
    let r = status { () throws(NativeError) in try object.udp.send(native, to: address) }
    object.syncSendQueue()
    return r
}

/// `uv_udp_try_send`: the bytes sent at once, `UV_EAGAIN` while sends are queued.
@_cdecl("uv_udp_try_send")
public func abiUDPTrySend(_ handle: UnsafeMutablePointer<uv_udp_t>, _ buffers: UnsafePointer<uv_buf_t>?, _ count: UInt32,
                          _ address: UnsafePointer<sockaddr>?) -> Int32 {
    guard let object = udpObject(handle) else { return uvError(EINVAL) }
    do {
        return Int32(try object.udp.trySend(bufferList(buffers, count), to: address, length: sockaddrLength(address)))
    } catch {
        return error.code
    }
}

/// `uv_udp_recv_start`: `UV_EINVAL` without callbacks, `UV_EALREADY` when
/// receiving; binds to the IPv4 any-address first if unbound.
@_cdecl("uv_udp_recv_start")
public func abiUDPRecvStart(_ handle: UnsafeMutablePointer<uv_udp_t>, _ allocCallback: uv_alloc_cb?, _ receiveCallback: uv_udp_recv_cb?) -> Int32 {
    guard let object = udpObject(handle), allocCallback != nil, receiveCallback != nil else { return uvError(EINVAL) }
    let r = status { () throws(NativeError) in try object.udp.receiveStart(object.onReceive) }
    if r == 0 {
        handle.pointee.alloc_cb = allocCallback
        handle.pointee.recv_cb = receiveCallback
    }
    return r
}

/// `uv_udp_recv_stop`.
@_cdecl("uv_udp_recv_stop")
public func abiUDPRecvStop(_ handle: UnsafeMutablePointer<uv_udp_t>) -> Int32 {
    guard let object = udpObject(handle) else { return uvError(EINVAL) }
    object.udp.receiveStop()
    return 0
}

/// `uv_udp_using_recvmmsg`: 0 (one datagram per receive here).
@_cdecl("uv_udp_using_recvmmsg")
public func abiUDPUsingRecvmmsg(_ handle: UnsafePointer<uv_udp_t>) -> Int32 { 0 }

/// `uv_udp_set_broadcast`.
@_cdecl("uv_udp_set_broadcast")
public func abiUDPSetBroadcast(_ handle: UnsafeMutablePointer<uv_udp_t>, _ on: Int32) -> Int32 {
    guard let object = udpObject(handle) else { return uvError(EINVAL) }
    return status { () throws(NativeError) in try object.udp.setBroadcast(on != 0) }
}

/// `uv_udp_set_ttl`: 1...255, else `UV_EINVAL`.
@_cdecl("uv_udp_set_ttl")
public func abiUDPSetTTL(_ handle: UnsafeMutablePointer<uv_udp_t>, _ ttl: Int32) -> Int32 {
    guard let object = udpObject(handle) else { return uvError(EINVAL) }
    return status { () throws(NativeError) in try object.udp.setTTL(ttl) }
}

/// `uv_udp_set_multicast_ttl`.
@_cdecl("uv_udp_set_multicast_ttl")
public func abiUDPSetMulticastTTL(_ handle: UnsafeMutablePointer<uv_udp_t>, _ ttl: Int32) -> Int32 {
    guard let object = udpObject(handle) else { return uvError(EINVAL) }
    return status { () throws(NativeError) in try object.udp.setMulticastTTL(ttl) }
}

/// `uv_udp_set_multicast_loop`.
@_cdecl("uv_udp_set_multicast_loop")
public func abiUDPSetMulticastLoop(_ handle: UnsafeMutablePointer<uv_udp_t>, _ on: Int32) -> Int32 {
    guard let object = udpObject(handle) else { return uvError(EINVAL) }
    return status { () throws(NativeError) in try object.udp.setMulticastLoop(on != 0) }
}

/// `uv_udp_get_send_queue_size`.
@_cdecl("uv_udp_get_send_queue_size")
public func abiUDPGetSendQueueSize(_ handle: UnsafePointer<uv_udp_t>) -> Int { handle.pointee.send_queue_size }

/// `uv_udp_get_send_queue_count`.
@_cdecl("uv_udp_get_send_queue_count")
public func abiUDPGetSendQueueCount(_ handle: UnsafePointer<uv_udp_t>) -> Int { handle.pointee.send_queue_count }

/// An IPv4 address in network order, or nil.
private func ipv4(_ text: UnsafePointer<CChar>) -> UInt32? {
    var a = in_addr()
    return inet_pton(AF_INET, text, &a) == 1 ? a.s_addr : nil
}

/// An IPv6 address (a "%zone" gives its interface as scope), or nil.
private func ipv6(_ text: UnsafePointer<CChar>) -> (address: in6_addr, scope: UInt32)? {
    let s = String(cString: text)
    let parts = s.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)
    var a = in6_addr()
    guard inet_pton(AF_INET6, String(parts[0]), &a) == 1 else { return nil }
    let scope = parts.count > 1 ? if_nametoindex(String(parts[1])) : 0
    return (a, scope)
}

/// `uv_udp_set_multicast_interface`: an IPv4 address or an IPv6 one (its
/// zone names the interface); NULL is the default interface.
@_cdecl("uv_udp_set_multicast_interface")
public func abiUDPSetMulticastInterface(_ handle: UnsafeMutablePointer<uv_udp_t>, _ interface: UnsafePointer<CChar>?) -> Int32 {
    guard let object = udpObject(handle) else { return uvError(EINVAL) }
    guard let interface else {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let isIPv6 = withUnsafeMutablePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(object.udp.fd, $0, &length) == 0 && $0.pointee.sa_family == sa_family_t(AF_INET6) }
        }
        return status { () throws(NativeError) in
            if isIPv6 { try object.udp.setMulticastInterface(ipv6Scope: 0) } else { try object.udp.setMulticastInterface(ipv4: 0) }
        }
    }
    if let a = ipv4(interface) { return status { () throws(NativeError) in try object.udp.setMulticastInterface(ipv4: a) } }
    if let a = ipv6(interface) { return status { () throws(NativeError) in try object.udp.setMulticastInterface(ipv6Scope: a.scope) } }
    return uvError(EINVAL)
}

private func join(_ membership: uv_membership) -> Bool? {
    switch membership {
    case UV_JOIN_GROUP: return true
    case UV_LEAVE_GROUP: return false
    default: return nil
    }
}

/// `uv_udp_set_membership`: joins or leaves an IPv4 or IPv6 group (binding
/// the socket first, with address reuse, if it is not bound).
@_cdecl("uv_udp_set_membership")
public func abiUDPSetMembership(_ handle: UnsafeMutablePointer<uv_udp_t>, _ group: UnsafePointer<CChar>,
                                _ interface: UnsafePointer<CChar>?, _ membership: uv_membership) -> Int32 {
    guard let object = udpObject(handle) else { return uvError(EINVAL) }
    if let g = ipv4(group) {
        var i: UInt32 = 0
        if let interface {
            guard let parsed = ipv4(interface) else { return uvError(EINVAL) }
            i = parsed
        }
        guard let j = join(membership) else { return uvError(EINVAL) }
        return status { () throws(NativeError) in try object.udp.setMembership(ipv4: g, interface: i, join: j) }
    }
    if let g = ipv6(group) {
        var scope: UInt32 = 0
        if let interface {
            guard let parsed = ipv6(interface) else { return uvError(EINVAL) }
            scope = parsed.scope
        }
        guard let j = join(membership) else { return uvError(EINVAL) }
        return status { () throws(NativeError) in try object.udp.setMembership(ipv6: g.address, interface: scope, join: j) }
    }
    return uvError(EINVAL)
}

/// `uv_udp_set_source_membership`: joins or leaves a source-specific IPv4
/// or IPv6 group (binding the socket first, with address reuse, if it is
/// not bound).
@_cdecl("uv_udp_set_source_membership")
public func abiUDPSetSourceMembership(_ handle: UnsafeMutablePointer<uv_udp_t>, _ group: UnsafePointer<CChar>,
                                      _ interface: UnsafePointer<CChar>?, _ source: UnsafePointer<CChar>,
                                      _ membership: uv_membership) -> Int32 {
    guard let object = udpObject(handle) else { return uvError(EINVAL) }
    guard let g = ipv4(group) else {
        guard ipv6(group) != nil, let j = join(membership) else { return uvError(EINVAL) }
        if object.udp.fd == -1 {
            var any = sockaddr_in6()
            any.sin6_family = sa_family_t(AF_INET6)
            let r = withUnsafePointer(to: &any) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { a in
                    status { () throws(NativeError) in
                        try object.udp.bind(a, length: socklen_t(MemoryLayout<sockaddr_in6>.size), reuseAddress: true, ipv6Only: false)
                    }
                }
            }
            if r != 0 { return r }
        }
        return uvnative__udp_source_membership6(object.udp.fd, group, interface, source, j ? 1 : 0)
    }
    guard let s = ipv4(source) else { return uvError(EINVAL) }
    var i: UInt32 = 0
    if let interface {
        guard let parsed = ipv4(interface) else { return uvError(EINVAL) }
        i = parsed
    }
    guard let j = join(membership) else { return uvError(EINVAL) }
    return status { () throws(NativeError) in try object.udp.setSourceMembership(group: g, interface: i, source: s, join: j) }
}
