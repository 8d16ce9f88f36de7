import CUV
import NativeLoop

#if canImport(Glibc)
import Glibc
#endif

/// One result of a name lookup (`struct addrinfo`).
public struct AddressInfo: Sendable, Hashable {
    /// The address found, with the service's port.
    public let address: SocketAddress
    /// `SOCK_STREAM`, `SOCK_DGRAM`, ...
    public let socketType: Int32
    /// `IPPROTO_TCP`, `IPPROTO_UDP`, ...
    public let `protocol`: Int32
    /// Set on the first result when `AI_CANONNAME` was asked for.
    public let canonicalName: String?
}

/// What a lookup should return (the hints of `getaddrinfo`).
public struct AddressHints: Sendable {
    /// The address family wanted: `AF_INET`, `AF_INET6` or `AF_UNSPEC` (any).
    public var family: Int32
    /// The socket type wanted (`SOCK_STREAM`, `SOCK_DGRAM`), or 0 for any.
    public var socketType: Int32
    /// The protocol wanted (`IPPROTO_TCP`, `IPPROTO_UDP`), or 0 for any.
    public var `protocol`: Int32
    /// `AI_*` flags.
    public var flags: Int32

    /// Hints for `getaddrinfo`; the defaults ask for everything.
    public init(family: Int32 = AF_UNSPEC, socketType: Int32 = 0, protocol: Int32 = 0, flags: Int32 = 0) {
        self.family = family
        self.socketType = socketType
        self.protocol = `protocol`
        self.flags = flags
    }

    var cValue: addrinfo {
        var h = addrinfo()
        h.ai_family = family
        h.ai_socktype = socketType
        h.ai_protocol = `protocol`
        h.ai_flags = flags
        return h
    }
}

/// A lookup in flight on the thread pool; cancel it while it is queued and
/// its completion gets `UVError.dnsCancelled`.
public final class DNSRequest {
    enum Core {
        case getaddrinfo(UnsafeMutablePointer<uv_getaddrinfo_t>)
        case getnameinfo(UnsafeMutablePointer<uv_getnameinfo_t>)
        case native(NativeWork)
    }

    @exclusivity(unchecked)
    var core: Core?
    /// The loop this runs on.
    public let loop: Loop
    /// Its creation order on its loop, as traces name it.
    let objectID: Int

    init(loop: Loop) {
        self.loop = loop
        self.objectID = loop.takeObjectID()
    }

    /// Runs `body`, the completion of a lookup of `kind` that ended with
    /// `status`, recorded while the loop is traced or measured.
    func deliver(_ kind: CallbackKind, _ status: Int32, _ body: () -> Void) {
        loop.deliver(kind, objectID, .done(status), body)
    }

    /// Cancels the lookup if no pool thread has taken it yet; else throws
    /// `UVError.busy`.
    ///
    /// The corresponding libuv function is `uv_cancel`.
    public func cancel() throws(UVError) {
        switch core {
        case .getaddrinfo(let r): try check(uv_cancel(UnsafeMutableRawPointer(r).assumingMemoryBound(to: uv_req_t.self)))
        case .getnameinfo(let r): try check(uv_cancel(UnsafeMutableRawPointer(r).assumingMemoryBound(to: uv_req_t.self)))
        case .native(let w): do { try w.cancel() } catch { throw UVError(error) }
        case nil: throw UVError.busy.with(context: "DNSRequest.cancel: the lookup has finished")
        }
    }

    func finished() {
        core = nil
        loop.liveRequestCount -= 1
    }
}

/// Reads a `getaddrinfo` list.
func addressInfos(_ list: UnsafeMutablePointer<addrinfo>?) -> [AddressInfo] {
    var result: [AddressInfo] = []
    var p = list
    while let ai = p {
        if let sa = ai.pointee.ai_addr, let address = SocketAddress(sa, length: ai.pointee.ai_addrlen) {
            let name = ai.pointee.ai_canonname.map { String(cString: $0) }
            result.append(AddressInfo(address: address, socketType: ai.pointee.ai_socktype,
                                      protocol: ai.pointee.ai_protocol, canonicalName: name))
        }
        p = ai.pointee.ai_next
    }
    return result
}

/// Carries a lookup's result from the pool thread to the loop thread.
private final class LookupBox: @unchecked Sendable {
    @exclusivity(unchecked)
    var status: Int32 = 0
    @exclusivity(unchecked)
    var list: UnsafeMutablePointer<addrinfo>?
    @exclusivity(unchecked)
    var host = ""
    @exclusivity(unchecked)
    var service = ""
}

extension Loop {
    /// Refuses what libuv refuses before it looks up (no host and no
    /// service; an ASCII host over 255 bytes, which libuv's IDNA buffer
    /// cannot hold) and a NUL byte, which C would stop at.
    static func checkLookup(host: String?, service: String?) throws(UVError) {
        let op = "Loop.resolve"
        if host == nil && service == nil { throw InputCheck.refuse(op, "no host and no service") }
        if let host {
            try InputCheck.cString(host, op, "host")
            if host.utf8.count > 255 && host.utf8.allSatisfy({ $0 < 0x80 }) {
                throw InputCheck.refuse(op, "the host name has \(host.utf8.count) bytes; at most 255")
            }
        }
        if let service { try InputCheck.cString(service, op, "service") }
    }

    /// Resolves `host` and/or `service` on the thread pool; `completion`
    /// runs on the loop thread. Errors are libuv's `UV_EAI_*` codes
    /// (`UVError.dnsUnknownNode` for a name that does not exist).
    ///
    /// The corresponding libuv function is `uv_getaddrinfo`.
    @discardableResult
    public func resolve(host: String?, service: String? = nil, hints: AddressHints? = nil,
                               _ completion: @escaping (Result<[AddressInfo], UVError>) -> Void) throws(UVError) -> DNSRequest {
        try ensureOpen("Loop.resolve")
        try Self.checkLookup(host: host, service: service)
        let request = DNSRequest(loop: self)
        switch core {
        case .uv(let l):
            let req = UnsafeMutablePointer<uv_getaddrinfo_t>.allocate(capacity: 1)
            let context = DNSContext(request: request, addresses: completion)
            req.pointee.data = Unmanaged.passRetained(context).toOpaque()
            var h = hints?.cValue ?? addrinfo()
            let status = withUnsafePointer(to: &h) { hp in
                uv_getaddrinfo(l, req, { req, status, res in
                    let context = Unmanaged<DNSContext>.fromOpaque(req!.pointee.data).takeRetainedValue()
                    let infos = addressInfos(res)
                    uv_freeaddrinfo(res)
                    req!.deallocate()
                    context.request.finished()
                    context.request.deliver(.getaddrinfo, status) {
                        context.addresses?(status == 0 ? .success(infos) : .failure(UVError(code: status)))
                    }
                }, host, service, hints == nil ? nil : hp)
            }
            if status != 0 {
                Unmanaged<DNSContext>.fromOpaque(req.pointee.data).release()
                req.deallocate()
                throw UVError(code: status)
            }
            request.core = .getaddrinfo(req)
        case .native(let l):
            let box = LookupBox()
            let work = NativeWork(loop: l, slowIO: true, work: {
                (box.status, box.list) = NativeDNS.resolve(host: host, service: service, hints: hints?.cValue)
            }, done: { status in
                request.finished()
                let infos = addressInfos(box.list)
                if let list = box.list { freeaddrinfo(list) }
                request.deliver(.getaddrinfo, status != 0 ? NativeDNS.cancelled : box.status) {
                    if status != 0 {
                        completion(.failure(UVError(code: NativeDNS.cancelled)))
                    } else {
                        completion(box.status == 0 ? .success(infos) : .failure(UVError(code: box.status)))
                    }
                }
            })
            do { try work.submit() } catch { throw UVError(error) }
            request.core = .native(work)
        }
        liveRequestCount += 1
        return request
    }

    /// Resolves on the calling thread (`uv_getaddrinfo` without a callback).
    public func resolve(host: String?, service: String? = nil, hints: AddressHints? = nil) throws(UVError) -> [AddressInfo] {
        try ensureOpen("Loop.resolve")
        try Self.checkLookup(host: host, service: service)
        var h = hints?.cValue ?? addrinfo()
        switch core {
        case .uv(let l):
            var req = uv_getaddrinfo_t()
            let status = withUnsafePointer(to: &h) { hp in
                uv_getaddrinfo(l, &req, nil, host, service, hints == nil ? nil : hp)
            }
            try check(status)
            defer { uv_freeaddrinfo(req.addrinfo) }
            return addressInfos(req.addrinfo)
        case .native:
            let (status, list) = NativeDNS.resolve(host: host, service: service, hints: hints?.cValue)
            defer { if let list { freeaddrinfo(list) } }
            try check(status)
            return addressInfos(list)
        }
    }

    /// Finds the host and service names of `address` on the thread pool.
    ///
    /// The corresponding libuv function is `uv_getnameinfo`.
    @discardableResult
    public func resolveName(of address: SocketAddress, flags: Int32 = 0,
                            _ completion: @escaping (Result<(host: String, service: String), UVError>) -> Void) throws(UVError) -> DNSRequest {
        try ensureOpen("Loop.resolveName")
        if case .unix = address.storage { throw UVError.invalidArgument.with(context: "Loop.resolveName: a Unix address") }
        let request = DNSRequest(loop: self)
        switch core {
        case .uv(let l):
            let req = UnsafeMutablePointer<uv_getnameinfo_t>.allocate(capacity: 1)
            let context = DNSContext(request: request, names: completion)
            req.pointee.data = Unmanaged.passRetained(context).toOpaque()
            let status = address.withSockAddr { sa, _ in
                uv_getnameinfo(l, req, { req, status, host, service in
                    let context = Unmanaged<DNSContext>.fromOpaque(req!.pointee.data).takeRetainedValue()
                    let names = (host.map { String(cString: $0) } ?? "", service.map { String(cString: $0) } ?? "")
                    req!.deallocate()
                    context.request.finished()
                    context.request.deliver(.getnameinfo, status) {
                        context.names?(status == 0 ? .success(names) : .failure(UVError(code: status)))
                    }
                }, sa, flags)
            }
            if status != 0 {
                Unmanaged<DNSContext>.fromOpaque(req.pointee.data).release()
                req.deallocate()
                throw UVError(code: status)
            }
            request.core = .getnameinfo(req)
        case .native(let l):
            let box = LookupBox()
            let work = NativeWork(loop: l, slowIO: true, work: {
                address.withSockAddr { sa, len in
                    (box.status, box.host, box.service) = NativeDNS.name(of: sa, length: len, flags: flags)
                }
            }, done: { status in
                request.finished()
                request.deliver(.getnameinfo, status != 0 ? NativeDNS.cancelled : box.status) {
                    if status != 0 {
                        completion(.failure(UVError(code: NativeDNS.cancelled)))
                    } else {
                        completion(box.status == 0 ? .success((box.host, box.service)) : .failure(UVError(code: box.status)))
                    }
                }
            })
            do { try work.submit() } catch { throw UVError(error) }
            request.core = .native(work)
        }
        liveRequestCount += 1
        return request
    }

    /// Finds the names on the calling thread (`uv_getnameinfo` without a callback).
    public func resolveName(of address: SocketAddress, flags: Int32 = 0) throws(UVError) -> (host: String, service: String) {
        try ensureOpen("Loop.resolveName")
        if case .unix = address.storage { throw UVError.invalidArgument.with(context: "Loop.resolveName: a Unix address") }
        switch core {
        case .uv(let l):
            var req = uv_getnameinfo_t()
            try check(address.withSockAddr { sa, _ in uv_getnameinfo(l, &req, nil, sa, flags) })
            let host = withUnsafeBytes(of: req.host) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            let service = withUnsafeBytes(of: req.service) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            return (host, service)
        case .native:
            let (status, host, service) = address.withSockAddr { sa, len in NativeDNS.name(of: sa, length: len, flags: flags) }
            try check(status)
            return (host, service)
        }
    }
}

/// The callback and request of a libuv lookup, pinned by `req->data`.
private final class DNSContext {
    let request: DNSRequest
    let addresses: ((Result<[AddressInfo], UVError>) -> Void)?
    let names: ((Result<(host: String, service: String), UVError>) -> Void)?

    init(request: DNSRequest, addresses: ((Result<[AddressInfo], UVError>) -> Void)? = nil,
         names: ((Result<(host: String, service: String), UVError>) -> Void)? = nil) {
        self.request = request
        self.addresses = addresses
        self.names = names
    }
}
