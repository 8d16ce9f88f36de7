#if canImport(Glibc)
import Glibc
#endif
import CUVLayout
import NativeLoop

private final class Resolution: @unchecked Sendable {
    var status: Int32 = 0
    var list: UnsafeMutablePointer<addrinfo>?
    var host = ""
    var service = ""
}

private struct Query: @unchecked Sendable {
    let host: String?
    let service: String?
    let hints: addrinfo?
}

/// `uv_getaddrinfo`: the system resolver, synchronous without a callback
/// (returning its status), else on the pool as slow I/O. Codes are libuv's
/// `UV_EAI_*`; a cancelled request gets `UV_EAI_CANCELED`. The list is the
/// caller's, freed with `uv_freeaddrinfo`.
@_cdecl("uv_getaddrinfo")
public func abiGetAddrInfo(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_getaddrinfo_t>?,
                           _ callback: uv_getaddrinfo_cb?, _ node: UnsafePointer<CChar>?, _ service: UnsafePointer<CChar>?,
                           _ hints: UnsafePointer<addrinfo>?) -> Int32 {
    guard let req, node != nil || service != nil else { return uvError(EINVAL) }
    req.pointee.type = UV_GETADDRINFO
    req.pointee.loop = loop
    req.pointee.cb = callback
    req.pointee.addrinfo = nil
    req.pointee.retcode = 0
    let query = Query(host: node.map { String(cString: $0) }, service: service.map { String(cString: $0) }, hints: hints?.pointee)
    let outcome = Resolution()
    let resolve: @Sendable () -> Void = {
        (outcome.status, outcome.list) = NativeDNS.resolve(host: query.host, service: query.service, hints: query.hints)
    }
    guard let loop, callback != nil else {
        resolve()
        req.pointee.retcode = outcome.status
        req.pointee.addrinfo = outcome.list
        return outcome.status
    }
    return submitWork(loop, req, type: UV_GETADDRINFO, slowIO: true, work: { _ in resolve() }, done: { req, status in
        if status != 0 {
            if let list = outcome.list { freeaddrinfo(list) }
            req.pointee.retcode = NativeDNS.cancelled
        } else {
            req.pointee.retcode = outcome.status
            req.pointee.addrinfo = outcome.list
        }
        req.pointee.cb?(req, req.pointee.retcode, req.pointee.addrinfo)
    })
}

/// `uv_freeaddrinfo`: NULL is allowed.
@_cdecl("uv_freeaddrinfo")
public func abiFreeAddrInfo(_ list: UnsafeMutablePointer<addrinfo>?) {
    if let list { freeaddrinfo(list) }
}

/// Copies `text` into a fixed C array field (NUL-terminated, truncated).
private func store<T>(_ text: String, into field: UnsafeMutablePointer<T>) {
    let room = MemoryLayout<T>.size
    let bytes = Array(text.utf8.prefix(room - 1))
    let raw = UnsafeMutableRawPointer(field)
    bytes.withUnsafeBytes { raw.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    raw.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self)
}

/// `uv_getnameinfo`: IPv4 or IPv6 addresses (others `UV_EINVAL`);
/// synchronous without a callback, else on the pool as slow I/O. The
/// callback gets the host and service, or NULLs when cancelled.
@_cdecl("uv_getnameinfo")
public func abiGetNameInfo(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_getnameinfo_t>?,
                           _ callback: uv_getnameinfo_cb?, _ address: UnsafePointer<sockaddr>?, _ flags: Int32) -> Int32 {
    guard let req, let address, let length = addressLength(address) else { return uvError(EINVAL) }
    withUnsafeMutableBytes(of: &req.pointee.storage) { raw in
        raw.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(length)))
    }
    req.pointee.type = UV_GETNAMEINFO
    req.pointee.loop = loop
    req.pointee.getnameinfo_cb = callback
    req.pointee.flags = flags
    req.pointee.retcode = 0
    var copy = sockaddr_storage()
    withUnsafeMutableBytes(of: &copy) { $0.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(length))) }
    let target = StorageBox(storage: copy, length: length)
    let outcome = Resolution()
    let resolve: @Sendable () -> Void = {
        var storage = target.storage
        (outcome.status, outcome.host, outcome.service) = withUnsafePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { NativeDNS.name(of: $0, length: target.length, flags: flags) }
        }
    }
    func fill(_ req: UnsafeMutablePointer<uv_getnameinfo_t>) {
        req.pointee.retcode = outcome.status
        store(outcome.host, into: &req.pointee.host)
        store(outcome.service, into: &req.pointee.service)
    }
    guard let loop, callback != nil else {
        resolve()
        fill(req)
        return outcome.status
    }
    return submitWork(loop, req, type: UV_GETNAMEINFO, slowIO: true, work: { _ in resolve() }, done: { req, status in
        if status != 0 {
            req.pointee.retcode = NativeDNS.cancelled
            req.pointee.getnameinfo_cb?(req, req.pointee.retcode, nil, nil)
            return
        }
        fill(req)
        let raw = UnsafeRawPointer(req)
        let host = (raw + MemoryLayout<uv_getnameinfo_t>.offset(of: \.host)!).assumingMemoryBound(to: CChar.self)
        let service = (raw + MemoryLayout<uv_getnameinfo_t>.offset(of: \.service)!).assumingMemoryBound(to: CChar.self)
        req.pointee.getnameinfo_cb?(req, req.pointee.retcode, host, service)
    })
}

private struct StorageBox: @unchecked Sendable {
    let storage: sockaddr_storage
    let length: socklen_t
}
