#if canImport(Glibc)
import Glibc
#endif

/// Name resolution for the native backend: the system resolver, run on the
/// thread pool by the caller, with libuv's translation of `EAI_*` codes.
package enum NativeDNS {
    /// libuv's `UV_EAI_CANCELED`.
    package static let cancelled: Int32 = -3003

    /// `uv__getaddrinfo_translate_error`, for glibc's codes.
    package static func translate(_ code: Int32) -> Int32 {
        switch code {
        case 0: return 0
        case -9: return -3000    // EAI_ADDRFAMILY
        case -3: return -3001    // EAI_AGAIN
        case -1: return -3002    // EAI_BADFLAGS
        case -101: return -3003  // EAI_CANCELED
        case -4: return -3004    // EAI_FAIL
        case -6: return -3005    // EAI_FAMILY
        case -10: return -3006   // EAI_MEMORY
        case -5: return -3007    // EAI_NODATA
        case -2: return -3008    // EAI_NONAME
        case -12: return -3009   // EAI_OVERFLOW
        case -8: return -3010    // EAI_SERVICE
        case -7: return -3011    // EAI_SOCKTYPE
        case -11: return -errno  // EAI_SYSTEM
        default: return -3004
        }
    }

    /// `getaddrinfo(3)`: the translated status and the list, which the
    /// caller frees with `freeaddrinfo`.
    package static func resolve(host: String?, service: String?, hints: addrinfo?) -> (Int32, UnsafeMutablePointer<addrinfo>?) {
        var result: UnsafeMutablePointer<addrinfo>?
        var h = hints ?? addrinfo()
        let rc: Int32 = withUnsafePointer(to: &h) { hp in
            let hintsPointer = hints == nil ? nil : hp
            switch (host, service) {
            case let (host?, service?): return getaddrinfo(host, service, hintsPointer, &result)
            case let (host?, nil): return getaddrinfo(host, nil, hintsPointer, &result)
            case let (nil, service?): return getaddrinfo(nil, service, hintsPointer, &result)
            case (nil, nil): return -2
            }
        }
        return (translate(rc), result)
    }

    /// `getnameinfo(3)`: the translated status, host and service.
    package static func name(of address: UnsafePointer<sockaddr>, length: socklen_t, flags: Int32) -> (Int32, String, String) {
        var host = [CChar](repeating: 0, count: 1025)
        var service = [CChar](repeating: 0, count: 32)
        let rc = getnameinfo(address, length, &host, socklen_t(host.count), &service, socklen_t(service.count), flags)
        func text(_ c: [CChar]) -> String {
            String(decoding: c.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return (translate(rc), text(host), text(service))
    }
}
