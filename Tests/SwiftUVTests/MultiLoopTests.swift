import Foundation
import Synchronization
import SwiftUV
import Testing

/// One loop per thread, each listening on the same port with
/// `SO_REUSEPORT`: the kernel spreads the connections among them, which is
/// how a SwiftUV server uses every core.
@Suite("Every core: one loop per thread, one port")
struct MultiLoopTests {
    /// What the server threads tell the test thread.
    final class Shared: Sendable {
        let state = Mutex<(port: Int?, stops: [AsyncSender], errors: [String])>((nil, [], []))
        let ready = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
    }

    /// A loop on a thread of its own, listening on `shared`'s port (the first
    /// one picks it); each connection gets one byte, `index`, and is closed.
    static func serve(_ index: Int, backend: Backend, _ shared: Shared) {
        defer { shared.finished.signal() }
        do {
            let loop = try Loop(backend: backend)
            let server = try TCP(loop: loop)
            let port = shared.state.withLock { $0.port } ?? 0
            try server.bind("127.0.0.1:\(port)", reusePort: true)
            try server.listen { _ in
                guard let client = try? TCP(loop: loop) else { return }
                guard (try? server.accept(client)) != nil else { try? client.close(); return }
                do { try client.write([UInt8(index)]) { _ in try? client.close() } } catch { try? client.close() }
            }
            let stop = try Async(loop: loop) { async in
                try? async.close()
                try? server.close()
            }
            let bound = try server.localAddress().port
            shared.state.withLock { $0.port = bound; $0.stops.append(stop.sender) }
            shared.ready.signal()
            try loop.run()
            try loop.close()
        } catch {
            shared.state.withLock { $0.errors.append("loop \(index): \(error)") }
            shared.ready.signal()
        }
    }

    /// Connects to 127.0.0.1:`port` with a blocking socket and reads one byte.
    static func ask(port: Int) -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) == 1 ? Int(byte) : nil
    }

    @Test("loops on their own threads share a port: every connection is served, and by more than one loop", arguments: backends)
    func sharedPort(backend: Backend) throws {
        let loops = 2
        let shared = Shared()
        for index in 0..<loops {
            Thread { Self.serve(index, backend: backend, shared) }.start()
            shared.ready.wait()  // one at a time: the first gives the port
        }
        let (port, errors) = shared.state.withLock { ($0.port, $0.errors) }
        #expect(errors.isEmpty, "\(errors)")
        var answers: [Int] = []
        if let port, errors.isEmpty {
            for _ in 0..<32 { if let answer = Self.ask(port: port) { answers.append(answer) } }
        }
        for stop in shared.state.withLock({ $0.stops }) { try stop.send() }
        for _ in 0..<loops { shared.finished.wait() }
        #expect(answers.count == 32)
        // The kernel hashes each connection's addresses to a listener: all 32
        // on one of two has a chance of 2^-31.
        #expect(Set(answers) == Set(0..<loops), "\(answers)")
    }
}
