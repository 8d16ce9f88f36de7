#if canImport(Glibc)
import Glibc
#endif
import CUVLayout
import NativeLoop

/// The Swift side of a `uv_tcp_t`.
final class ABITCP: ABIStream {
    let tcp: NativeTCP

    init(cHandle: UnsafeMutablePointer<uv_tcp_t>, native: NativeTCP) {
        tcp = native
        super.init(cHandle: UnsafeMutableRawPointer(cHandle).assumingMemoryBound(to: uv_handle_t.self), native: native)
    }
}

@inline(__always)
private func tcpObject(_ handle: UnsafePointer<uv_tcp_t>) -> ABITCP? { handleObject(handle, ABITCP.self, type: UV_TCP) }

/// The length of an IPv4 or IPv6 address, nil for another family.
func addressLength(_ address: UnsafePointer<sockaddr>) -> socklen_t? {
    switch Int32(address.pointee.sa_family) {
    case AF_INET: return socklen_t(MemoryLayout<sockaddr_in>.size)
    case AF_INET6: return socklen_t(MemoryLayout<sockaddr_in6>.size)
    default: return nil
    }
}

/// `uv_tcp_init_ex`: the low byte of `flags` is the socket's family
/// (`AF_UNSPEC` makes it later); other bits are `UV_EINVAL`.
@_cdecl("uv_tcp_init_ex")
public func abiTCPInitEx(_ loop: UnsafeMutablePointer<uv_loop_t>, _ handle: UnsafeMutablePointer<uv_tcp_t>, _ flags: UInt32) -> Int32 {
    let family = Int32(flags & 0xFF)
    if flags & ~0xFF != 0 { return uvError(EINVAL) }
    if family != AF_UNSPEC && family != AF_INET && family != AF_INET6 { return uvError(EINVAL) }
    let native: NativeTCP
    do {
        native = try NativeTCP(loop: abiLoop(loop).native, family: family)
    } catch {
        return error.code
    }
    let object = ABITCP(cHandle: handle, native: native)
    object.attach(loop: loop, type: UV_TCP)
    initStreamFields(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self))
    return 0
}

/// `uv_tcp_init`.
@_cdecl("uv_tcp_init")
public func abiTCPInit(_ loop: UnsafeMutablePointer<uv_loop_t>, _ handle: UnsafeMutablePointer<uv_tcp_t>) -> Int32 {
    abiTCPInitEx(loop, handle, UInt32(AF_UNSPEC))
}

/// `uv_tcp_open`: adopts a socket (made non-blocking); `UV_EEXIST` if the
/// loop already watches it.
@_cdecl("uv_tcp_open")
public func abiTCPOpen(_ handle: UnsafeMutablePointer<uv_tcp_t>, _ socket: uv_os_sock_t) -> Int32 {
    guard let object = tcpObject(handle) else { return uvError(EINVAL) }
    do {
        try object.tcp.open(socket: socket)
    } catch {
        return error.code
    }
    return 0
}

/// `uv_tcp_bind`: IPv4 or IPv6 only; `UV_TCP_IPV6ONLY` with IPv4 is
/// `UV_EINVAL`; a port in use is reported by `uv_listen` or the connect.
@_cdecl("uv_tcp_bind")
public func abiTCPBind(_ handle: UnsafeMutablePointer<uv_tcp_t>, _ address: UnsafePointer<sockaddr>, _ flags: UInt32) -> Int32 {
    guard let object = tcpObject(handle), !object.tcp.isClosing, let length = addressLength(address) else { return uvError(EINVAL) }
    do {
        try object.tcp.bind(address, length: length, ipv6Only: flags & UV_TCP_IPV6ONLY.rawValue != 0)
    } catch {
        return error.code
    }
    return 0
}

/// `uv_tcp_connect`: `UV_EALREADY` while one is pending; a refused
/// connection is reported to the callback, from the loop.
@_cdecl("uv_tcp_connect")
public func abiTCPConnect(_ request: UnsafeMutablePointer<uv_connect_t>, _ handle: UnsafeMutablePointer<uv_tcp_t>,
                          _ address: UnsafePointer<sockaddr>, _ callback: uv_connect_cb?) -> Int32 {
    guard let object = tcpObject(handle), let length = addressLength(address) else { return uvError(EINVAL) }
    let stream = UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self)
    let native = connectRequest(request, stream, callback)
    do {
        try object.tcp.connect(address, length: length, request: native)
    } catch {
        return error.code
    }
    stream.pointee.connect_req = request
    return 0
}

private func tcpName(_ handle: UnsafePointer<uv_tcp_t>, peer: Bool, _ name: UnsafeMutablePointer<sockaddr>?,
                     _ length: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let object = tcpObject(handle), let name, let length else { return uvError(EINVAL) }
    var size = socklen_t(length.pointee)
    do {
        try object.tcp.name(peer: peer, into: name, length: &size)
    } catch {
        return error.code
    }
    length.pointee = Int32(size)
    return 0
}

/// `uv_tcp_getsockname`.
@_cdecl("uv_tcp_getsockname")
public func abiTCPGetSockName(_ handle: UnsafePointer<uv_tcp_t>, _ name: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<Int32>?) -> Int32 {
    tcpName(handle, peer: false, name, length)
}

/// `uv_tcp_getpeername`.
@_cdecl("uv_tcp_getpeername")
public func abiTCPGetPeerName(_ handle: UnsafePointer<uv_tcp_t>, _ name: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<Int32>?) -> Int32 {
    tcpName(handle, peer: true, name, length)
}

/// `uv_tcp_nodelay`.
@_cdecl("uv_tcp_nodelay")
public func abiTCPNoDelay(_ handle: UnsafeMutablePointer<uv_tcp_t>, _ enable: Int32) -> Int32 {
    guard let object = tcpObject(handle) else { return uvError(EINVAL) }
    do {
        try object.tcp.setNoDelay(enable != 0)
    } catch {
        return error.code
    }
    return 0
}

/// `uv_tcp_keepalive`: `delay` in seconds.
@_cdecl("uv_tcp_keepalive")
public func abiTCPKeepAlive(_ handle: UnsafeMutablePointer<uv_tcp_t>, _ enable: Int32, _ delay: UInt32) -> Int32 {
    guard let object = tcpObject(handle) else { return uvError(EINVAL) }
    do {
        try object.tcp.setKeepAlive(enable != 0, delay: delay)
    } catch {
        return error.code
    }
    return 0
}

/// `uv_tcp_simultaneous_accepts`.
@_cdecl("uv_tcp_simultaneous_accepts")
public func abiTCPSimultaneousAccepts(_ handle: UnsafeMutablePointer<uv_tcp_t>, _ enable: Int32) -> Int32 {
    tcpObject(handle)?.tcp.setSimultaneousAccepts(enable != 0)
    return 0
}

/// `uv_tcp_close_reset`: closes with a reset (linger 0); `UV_EINVAL`
/// during a shutdown.
@_cdecl("uv_tcp_close_reset")
public func abiTCPCloseReset(_ handle: UnsafeMutablePointer<uv_tcp_t>, _ callback: uv_close_cb?) -> Int32 {
    guard let object = tcpObject(handle) else { return uvError(EINVAL) }
    let h = object.cHandle
    let savedCallback = h.pointee.close_cb
    h.pointee.close_cb = callback
    h.pointee.flags |= HandleFlags.closing
    do {
        try object.tcp.closeReset { object.finishClose() }
    } catch {
        h.pointee.close_cb = savedCallback
        h.pointee.flags &= ~HandleFlags.closing
        return error.code
    }
    return 0
}
