import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension Backend: CustomTestStringConvertible {
    public var testDescription: String { rawValue }
}

let backends = Backend.allCases

/// Holds a reference without keeping its object alive.
final class Weak<T: AnyObject> {
    weak var object: T?
    init(_ object: T) { self.object = object }
}

/// A TCP server on 127.0.0.1 (a port the kernel picks) that accepts each
/// connection and hands it to `onPeer` with the server.
func acceptingServer(_ loop: Loop, _ onPeer: @escaping (_ peer: TCP, _ server: TCP) -> Void) throws -> TCP {
    let server = try TCP(loop: loop)
    try server.bind("127.0.0.1:0")
    try server.listen { _ in
        guard let peer = try? TCP(loop: loop) else { return }
        if (try? server.accept(peer)) != nil { onPeer(peer, server) } else { try? peer.close() }
    }
    return server
}

/// Resident set size in bytes, from /proc/self/statm.
func residentBytes() -> Int {
    guard let f = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(f) }
    var size = 0, resident = 0
    withUnsafeMutablePointer(to: &size) { s in
        withUnsafeMutablePointer(to: &resident) { r in
            _ = withVaList([s, r]) { vfscanf(f, "%ld %ld", $0) }
        }
    }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Whether this process runs under AddressSanitizer, whose quarantine holds
/// freed memory back on purpose (resident memory then says nothing).
let underAddressSanitizer: Bool = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") != nil
