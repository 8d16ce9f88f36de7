import CUV

#if canImport(Glibc)
import Glibc
#endif

/// An IPv4, IPv6 or Unix-domain socket address.
///
/// Parse one from text: `"127.0.0.1:8080"`, `"[::1]:80"`, `"[fe80::1%eth0]:80"`
/// (an IPv6 zone is an interface name or index), or a path starting with `/`
/// or `.` for a Unix socket. A bad address, a NUL byte, a port that is not
/// 1 to 5 decimal digits in 0...65535 (no sign) or an unknown zone throws
/// `UVError.invalidArgument`: libuv's parsers would drop an unknown zone or
/// read up to the NUL. `description` parses back to the same address.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    enum Storage: Sendable, Hashable {
        case ipv4(address: UInt32, port: UInt16)  // both in network order
        case ipv6(address: [UInt8], port: UInt16, flowInfo: UInt32, scopeID: UInt32)
        case unix(path: String)
    }

    let storage: Storage

    /// An IPv4 or IPv6 address and a port.
    ///
    /// The corresponding libuv functions are `uv_ip4_addr` and `uv_ip6_addr`.
    public init(ip: String, port: Int) throws(UVError) {
        guard (0...65535).contains(port) else {
            throw UVError.invalidArgument.with(context: "SocketAddress: port \(port) is outside 0...65535")
        }
        try InputCheck.cString(ip, "SocketAddress", "address")
        var v4 = sockaddr_in()
        if uv_ip4_addr(ip, Int32(port), &v4) == 0 {
            storage = .ipv4(address: v4.sin_addr.s_addr, port: v4.sin_port)
            return
        }
        // The zone is read here: uv_ip6_addr drops an unknown interface
        // silently, and cuts a long address before the `%`.
        var address = ip
        var scopeID: UInt32 = 0
        if let percent = ip.firstIndex(of: "%") {
            address = String(ip[..<percent])
            let zone = String(ip[ip.index(after: percent)...])
            if !zone.isEmpty, zone.utf8.count <= 10, zone.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let index = UInt32(zone) {
                scopeID = index
            } else {
                scopeID = zone.isEmpty ? 0 : if_nametoindex(zone)
                if scopeID == 0 {
                    throw UVError.invalidArgument.with(context: "SocketAddress: \"\(zone)\" in \"\(ip)\" names no network interface")
                }
            }
        }
        var v6 = sockaddr_in6()
        if !address.contains("%"), uv_ip6_addr(address, Int32(port), &v6) == 0 {
            let bytes = withUnsafeBytes(of: v6.sin6_addr) { Array($0) }
            storage = .ipv6(address: bytes, port: v6.sin6_port, flowInfo: v6.sin6_flowinfo, scopeID: scopeID)
            return
        }
        throw UVError.invalidArgument.with(context: "SocketAddress: \"\(ip)\" is not an IPv4 or IPv6 address")
    }

    /// A Unix-domain socket path.
    /// An empty path or one with a NUL byte gives `UVError.invalidArgument`,
    /// one longer than 107 bytes `UVError.nameTooLong`.
    public init(unixPath path: String) throws(UVError) {
        try InputCheck.socketName(path, "SocketAddress")
        storage = .unix(path: path)
    }

    /// Parses `host:port`, `[ipv6]:port` or a Unix socket path.
    public init(_ text: String) throws(UVError) {
        if text.hasPrefix("/") || text.hasPrefix(".") {
            try self.init(unixPath: text)
            return
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"),
                  text[text.index(after: close)...].hasPrefix(":") else {
                throw UVError.invalidArgument.with(context: "\"\(text)\" is not [ipv6]:port")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                throw UVError.invalidArgument.with(context: "\"\(text)\" is not host:port (write IPv6 as [addr]:port)")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        // Decimal digits only: Int("+80") and Int("-0") would parse.
        guard (1...5).contains(portText.utf8.count), portText.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
              let port = Int(portText) else {
            throw UVError.invalidArgument.with(context: "SocketAddress: \"\(portText)\" is not a port number (0...65535)")
        }
        try self.init(ip: String(host), port: port)
    }

    /// The address that `fill` writes (a getsockname-like call that returns
    /// a libuv status and updates the length).
    static func reading(_ fill: (UnsafeMutablePointer<sockaddr>, inout Int32) -> Int32) throws(UVError) -> SocketAddress {
        var storage = sockaddr_storage()
        var len = Int32(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { fill($0, &len) }
        }
        try check(status)
        let address = withUnsafePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress($0, length: socklen_t(len)) }
        }
        guard let address else { throw UVError.addressFamilyNotSupported }
        return address
    }

    /// Reads a `sockaddr` filled in by the kernel or libuv.
    init?(_ sa: UnsafePointer<sockaddr>, length: socklen_t) {
        switch Int32(sa.pointee.sa_family) {
        case AF_INET:
            let v4 = UnsafeRawPointer(sa).loadUnaligned(as: sockaddr_in.self)
            storage = .ipv4(address: v4.sin_addr.s_addr, port: v4.sin_port)
        case AF_INET6:
            let v6 = UnsafeRawPointer(sa).loadUnaligned(as: sockaddr_in6.self)
            let bytes = withUnsafeBytes(of: v6.sin6_addr) { Array($0) }
            storage = .ipv6(address: bytes, port: v6.sin6_port, flowInfo: v6.sin6_flowinfo, scopeID: v6.sin6_scope_id)
        case AF_UNIX:
            let offset = MemoryLayout<sa_family_t>.size
            let count = Int(length) - offset
            let raw = UnsafeRawBufferPointer(start: UnsafeRawPointer(sa) + offset, count: max(0, count))
            let bytes = raw.prefix(while: { $0 != 0 })
            storage = .unix(path: String(decoding: bytes, as: UTF8.self))
        default:
            return nil
        }
    }

    /// The port, for IP addresses.
    public var port: Int? {
        switch storage {
        case .ipv4(_, let port), .ipv6(_, let port, _, _): return Int(UInt16(bigEndian: port))
        case .unix: return nil
        }
    }

    /// The address without the port (`uv_ip_name`), with its zone when an
    /// IPv6 address has one (`fe80::1%lo`), or the Unix path.
    public var host: String {
        switch storage {
        case .unix(let path): return path
        case .ipv6(_, _, _, let scopeID) where scopeID != 0:
            return plainHost + "%" + Self.zoneName(scopeID)
        default:
            return plainHost
        }
    }

    /// An interface's name, or its index when it has none (any more).
    private static func zoneName(_ index: UInt32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        guard if_indextoname(index, &buffer) != nil else { return String(index) }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The address as `uv_ip_name` writes it (no zone).
    private var plainHost: String {
        switch storage {
        case .unix(let path): return path
        default:
            let bytes = withSockAddr { sa, _ -> [UInt8] in
                var buffer = [CChar](repeating: 0, count: 64)
                _ = uv_ip_name(sa, &buffer, buffer.count)
                return buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// `1.2.3.4:80`, `[::1]:80` or the Unix path.
    public var description: String {
        switch storage {
        case .ipv4: return "\(host):\(port!)"
        case .ipv6: return "[\(host)]:\(port!)"
        case .unix(let path): return path
        }
    }

    /// Whether this is an IPv6 address.
    public var isIPv6: Bool {
        if case .ipv6 = storage { return true }
        return false
    }

    /// Calls `body` with the C form of the address.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        switch storage {
        case .ipv4(let address, let port):
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port
            sa.sin_addr.s_addr = address
            return withUnsafePointer(to: &sa) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .ipv6(let address, let port, let flowInfo, let scopeID):
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port
            sa.sin6_flowinfo = flowInfo
            sa.sin6_scope_id = scopeID
            withUnsafeMutableBytes(of: &sa.sin6_addr) { $0.copyBytes(from: address) }
            return withUnsafePointer(to: &sa) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        case .unix(let path):
            var sa = sockaddr_un()
            sa.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &sa.sun_path) { raw in
                raw.copyBytes(from: path.utf8)
            }
            return withUnsafePointer(to: &sa) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
    }
}
