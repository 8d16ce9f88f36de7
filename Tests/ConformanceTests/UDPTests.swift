import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The cases of libuv's test-udp-*.c.
@Suite("UDP")
struct UDPTests {
    @Test("udp_send_and_recv: PING/PONG between two handles", arguments: backends)
    func sendAndReceive(backend: Backend) throws {
        try withLoop(backend) { loop in
            let server = try UDP(loop: loop)
            try server.bind("127.0.0.1:0")
            let serverAddress = try server.localAddress()
            let client = try UDP(loop: loop)
            var trace: [String] = []
            var emptyCalls = 0
            try server.receiveStart { result in
                guard case .success(let d) = result else { return }
                if d.bytes.isEmpty {
                    #expect(d.sender == nil)
                    emptyCalls += 1
                    return
                }
                trace.append("server got \(String(decoding: d.bytes, as: UTF8.self))")
                try? server.send("PONG", to: d.sender!) { error in
                    trace.append("server sent \(error?.name ?? "ok")")
                    try? server.close()
                }
            }
            try client.receiveStart { result in
                guard case .success(let d) = result, !d.bytes.isEmpty else { return }
                trace.append("client got \(String(decoding: d.bytes, as: UTF8.self))")
                #expect(d.sender == serverAddress)
                try? client.close()
            }
            var sentInCall = true
            try client.send("PING", to: serverAddress) { error in
                #expect(!sentInCall)
                trace.append("client sent \(error?.name ?? "ok")")
            }
            sentInCall = false
            #expect(client.sendQueueCount <= 1)
            try loop.run()
            #expect(trace == ["client sent ok", "server got PING", "server sent ok", "client got PONG"])
            #expect(client.sendQueueSize == 0 && client.sendQueueCount == 0)
        }
    }

    @Test("udp_bind: a second bind to the port gives EADDRINUSE at once", arguments: backends)
    func bindInUse(backend: Backend) throws {
        try withLoop(backend) { loop in
            let a = try UDP(loop: loop)
            try a.bind("127.0.0.1:0")
            let b = try UDP(loop: loop)
            #expect(throws: UVError.addressInUse) { try b.bind(a.localAddress()) }
        }
    }

    @Test("udp_bind_reuseaddr: with reuse-address both binds succeed", arguments: backends)
    func bindReuse(backend: Backend) throws {
        try withLoop(backend) { loop in
            let a = try UDP(loop: loop)
            try a.bind("127.0.0.1:0", reuseAddress: true)
            let b = try UDP(loop: loop)
            try b.bind(a.localAddress(), reuseAddress: true)
            #expect(try a.localAddress() == b.localAddress())
        }
    }

    @Test("udp_try_send: 64 KiB gives EMSGSIZE, 4 bytes gives 4", arguments: backends)
    func trySend(backend: Backend) throws {
        try withLoop(backend) { loop in
            let server = try UDP(loop: loop)
            try server.bind("127.0.0.1:0")
            let client = try UDP(loop: loop)
            #expect(throws: UVError.messageTooLong) {
                try client.trySend([UInt8](repeating: 0, count: 64 * 1024), to: server.localAddress())
            }
            #expect(try client.trySend([1, 2, 3, 4], to: server.localAddress()) == 4)
            var got: [UInt8] = []
            try server.receiveStart { result in
                if case .success(let d) = result, !d.bytes.isEmpty {
                    got = Array(d.bytes)
                    try? server.close()
                }
            }
            try loop.run()
            #expect(got == [1, 2, 3, 4])
        }
    }

    @Test("udp_no_autobind: options on a socket not yet made give EBADF", arguments: backends)
    func noAutobind(backend: Backend) throws {
        try withLoop(backend) { loop in
            let udp = try UDP(loop: loop)
            #expect(throws: UVError.badFileDescriptor) { try udp.setMulticastTTL(32) }
            #expect(throws: UVError.badFileDescriptor) { try udp.setBroadcast(true) }
            #expect(throws: UVError.badFileDescriptor) { try udp.setMulticastLoop(true) }
            #expect(throws: UVError.badFileDescriptor) { try udp.setMulticastInterface("0.0.0.0") }
            #expect(throws: UVError.badFileDescriptor) { try udp.localAddress() }
        }
    }

    @Test("udp_options: TTL bounds; options after bind", arguments: backends)
    func options(backend: Backend) throws {
        try withLoop(backend) { loop in
            let udp = try UDP(loop: loop)
            try udp.bind("0.0.0.0:0")
            try udp.setBroadcast(true)
            try udp.setBroadcast(false)
            for ttl: Int32 in [1, 64, 255] { try udp.setTTL(ttl) }
            #expect(throws: UVError.invalidArgument) { try udp.setTTL(0) }
            #expect(throws: UVError.invalidArgument) { try udp.setTTL(256) }
            try udp.setMulticastTTL(0)
            try udp.setMulticastTTL(255)
            #expect(throws: UVError.invalidArgument) { try udp.setMulticastTTL(256) }
            try udp.setMulticastLoop(true)
            try udp.setMulticastLoop(false)
            #expect(throws: UVError.invalidArgument) { try udp.setMulticastInterface("not an address") }
        }
    }

    @Test("udp_connect: EISCONN, EDESTADDRREQ, ENOTCONN, and sends to the peer", arguments: backends)
    func connect(backend: Backend) throws {
        try withLoop(backend) { loop in
            let server = try UDP(loop: loop)
            try server.bind("127.0.0.1:0")
            let client = try UDP(loop: loop)
            #expect(throws: UVError.notConnected) { try client.disconnect() }
            #expect(throws: UVError.destinationAddressRequired) { try client.send("x") }
            try client.connect(to: server.localAddress())
            #expect(throws: UVError.socketIsConnected) { try client.connect(to: server.localAddress()) }
            #expect(throws: UVError.socketIsConnected) { try client.send("x", to: server.localAddress()) }
            #expect(try client.peerAddress() == server.localAddress())
            var received = 0
            try server.receiveStart { result in
                if case .success(let d) = result, !d.bytes.isEmpty { received += 1 }
                if received == 2 { try? server.close() }
            }
            #expect(try client.trySend(Array("one".utf8)) == 3)
            try client.send("two")
            // A send is queued until its callback: try_send refuses meanwhile.
            #expect(throws: UVError.resourceTemporarilyUnavailable) { try client.trySend(Array("three".utf8)) }
            try loop.run()
            #expect(received == 2)
            try client.disconnect()
            #expect(throws: UVError.notConnected) { try client.peerAddress() }
        }
    }

    @Test("udp_ref3: an unref'd handle's send still completes", arguments: backends)
    func ref3(backend: Backend) throws {
        try withLoop(backend) { loop in
            let udp = try UDP(loop: loop)
            var sends = 0
            try udp.send("PING", to: SocketAddress("127.0.0.1:9")) { _ in sends += 1 }
            try udp.unref()
            try loop.run()
            #expect(sends == 1)
        }
    }

    @Test("udp_ref: an unref'd receiving handle lets run return; one close callback", arguments: backends)
    func ref(backend: Backend) throws {
        try withLoop(backend) { loop in
            let udp = try UDP(loop: loop)
            try udp.bind("127.0.0.1:0")
            try udp.receiveStart { _ in }
            try udp.unref()
            #expect(try loop.run() == false)
            var closes = 0
            try udp.close { _ in closes += 1 }
            try loop.run()
            #expect(closes == 1)
        }
    }

    @Test("close cancels queued sends before the close callback", arguments: backends)
    func closeCancelsSends(backend: Backend) throws {
        try withLoop(backend) { loop in
            let udp = try UDP(loop: loop)
            var trace: [String] = []
            try udp.send("a", to: SocketAddress("127.0.0.1:9")) { trace.append("send \($0?.name ?? "ok")") }
            try udp.close { _ in trace.append("close") }
            try loop.run()
            // The first send went out at once; its callback still waits, and
            // the close does not turn it into a failure.
            #expect(trace == ["send ok", "close"])
        }
    }

    @Test("a datagram larger than the buffer is cut and flagged partial", arguments: backends)
    func oversized(backend: Backend) throws {
        try withLoop(backend) { loop in
            let server = try UDP(loop: loop)
            try server.bind("127.0.0.1:0")
            let client = try UDP(loop: loop)
            var sizes: [Int] = []
            try server.receiveStart { result in
                if case .success(let d) = result, !d.bytes.isEmpty {
                    sizes.append(d.bytes.count)
                    #expect(!d.isPartial)
                    try? server.close()
                }
            }
            try client.send([UInt8](repeating: 9, count: 60_000), to: server.localAddress())
            try loop.run()
            #expect(sizes == [60_000])
        }
    }
}
