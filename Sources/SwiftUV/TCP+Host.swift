import CUV

#if canImport(Glibc)
import Glibc
#endif

/// Connecting to a host by name, or to the first of several addresses that
/// answers. libuv has no such call: this is `uv_getaddrinfo`, then
/// `uv_tcp_connect` on a new handle per address, on either backend.
extension TCP {
    /// Connects to `port` (0...65535, else `UVError.invalidArgument`) on
    /// `host` (a name such as `"localhost"`, or a numeric IPv4 or IPv6
    /// address): resolves it on the thread pool
    /// (`uv_getaddrinfo`), then tries the addresses in the resolver's order,
    /// as `connect(loop:to:_:)` does. `completion` runs on the loop thread
    /// with the connected handle, or with the resolver's error
    /// (`UVError.dnsUnknownNode` for a name that does not exist) or the last
    /// address's error, whose context names the host and every address
    /// tried.
    public static func connect(loop: Loop, host: String, port: Int,
                               _ completion: @escaping (Result<TCP, UVError>) -> Void) throws(UVError) {
        let connector = HostConnector(loop: loop, label: "TCP.connect(\(InputCheck.quoted(host)), port \(port))", completion: completion)
        try connector.resolve(host: host, port: port)
    }

    /// Connects to the first of `addresses` that accepts, trying them in
    /// order, each with a TCP handle of its own (a handle whose connect
    /// failed is closed). `completion` runs on the loop thread with the
    /// connected handle, or with the last address's error, its context
    /// naming every address tried. An empty list is `UVError.invalidArgument`.
    /// When every address fails at once (libuv reports some errors, such as
    /// `ENETUNREACH`, from the connect call itself), `completion` runs
    /// before this call returns.
    public static func connect(loop: Loop, to addresses: [SocketAddress],
                               _ completion: @escaping (Result<TCP, UVError>) -> Void) throws(UVError) {
        try loop.ensureOpen("TCP.connect(to:)")
        if addresses.isEmpty { throw InputCheck.refuse("TCP.connect(to:)", "no address to try") }
        let connector = HostConnector(loop: loop, label: "TCP.connect", completion: completion)
        connector.addresses = addresses
        connector.tryNext(after: nil)
    }

    /// Connects to `port` on `host`, as `connect(loop:host:port:_:)`, and
    /// returns the connected handle. Cancelling the task stops the lookup or
    /// closes the handle that is connecting, and throws `CancellationError`.
    nonisolated(nonsending)
    public static func connect(loop: Loop, host: String, port: Int) async throws -> TCP {
        try await loop.suspend("TCP.connect(host:port:)") { (s: Suspension<TCP>) in
            let connector = HostConnector(loop: loop, label: "TCP.connect(\(InputCheck.quoted(host)), port \(port))") { s.complete($0) }
            try connector.resolve(host: host, port: port)
            s.onCancel = { connector.cancel() }
        }
    }
}

/// One connect by name: the lookup, then one handle per address in turn.
/// It is kept alive by the callbacks of the request under way.
final class HostConnector {
    let loop: Loop
    let label: String
    private var completion: ((Result<TCP, UVError>) -> Void)?
    private var lookup: DNSRequest?
    var addresses: [SocketAddress] = []
    private var next = 0
    private var connecting: TCP?
    private var cancelled = false

    init(loop: Loop, label: String, completion: @escaping (Result<TCP, UVError>) -> Void) {
        self.loop = loop
        self.label = label
        self.completion = completion
    }

    func resolve(host: String, port: Int) throws(UVError) {
        // A port beyond 16 bits would name another service, or a service name.
        guard (0...65535).contains(port) else { throw InputCheck.refuse(label, "the port \(port) is not 0...65535") }
        let hints = AddressHints(socketType: Int32(SOCK_STREAM.rawValue), protocol: Int32(IPPROTO_TCP))
        lookup = try loop.resolve(host: host, service: String(port), hints: hints) { [self] result in
            lookup = nil
            switch result {
            case .failure(let error):
                finish(.failure(error.with(context: label)))
            case .success(let found):
                var seen = Set<SocketAddress>()
                addresses = found.map(\.address).filter { seen.insert($0).inserted }
                tryNext(after: nil)
            }
        }
    }

    /// Connects to the next address, or ends with `error` (the previous
    /// address's) when none is left.
    func tryNext(after error: UVError?) {
        if cancelled { return finish(.failure(.cancelled)) }
        guard next < addresses.count else {
            let tried = addresses.map { "\($0)" }.joined(separator: ", ")
            return finish(.failure((error ?? .dnsNoAddress).with(context: "\(label): tried \(tried)")))
        }
        let address = addresses[next]
        next += 1
        let tcp: TCP
        do { tcp = try TCP(loop: loop) } catch { return tryNext(after: error) }
        connecting = tcp
        do {
            try tcp.connect(to: address) { [self] error in
                connecting = nil
                if error == nil && !cancelled { return finish(.success(tcp)) }
                try? tcp.close()
                tryNext(after: error ?? .cancelled)
            }
        } catch {
            connecting = nil
            try? tcp.close()
            tryNext(after: error)
        }
    }

    /// Stops the lookup, or closes the handle that is connecting; the
    /// completion then gets `UVError.cancelled` (or the lookup's
    /// `UVError.dnsCancelled`).
    func cancel() {
        cancelled = true
        try? lookup?.cancel()
        if let connecting, !connecting.isClosing { try? connecting.close() }
    }

    private func finish(_ result: Result<TCP, UVError>) {
        let callback = completion
        completion = nil
        callback?(result)
    }
}
