import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The cases of libuv's test-getaddrinfo.c and test-getnameinfo.c.
@Suite("DNS")
struct DNSTests {
    @Test("getaddrinfo_fail: a name that cannot exist fails, with no result", arguments: backends)
    func fail(backend: Backend) throws {
        try withLoop(backend) { loop in
            var outcome: Result<[AddressInfo], UVError>?
            var calls = 0
            try loop.resolve(host: "example.invalid.") { result in
                calls += 1
                outcome = result
            }
            #expect(calls == 0, "asynchronous")
            try loop.run()
            #expect(calls == 1)
            guard case .failure(let error) = outcome else {
                Issue.record("resolved: \(String(describing: outcome))")
                return
            }
            #expect(error.code < 0 && error.name.hasPrefix("EAI_"))
        }
    }

    @Test("getaddrinfo_basic and basic_sync: localhost", arguments: backends)
    func basic(backend: Backend) throws {
        try withLoop(backend) { loop in
            var async: [AddressInfo] = []
            try loop.resolve(host: "localhost", service: "80", hints: AddressHints(socketType: Int32(SOCK_STREAM.rawValue))) { result in
                async = (try? result.get()) ?? []
            }
            try loop.run()
            #expect(!async.isEmpty)
            #expect(async.allSatisfy { $0.address.port == 80 && $0.socketType == Int32(SOCK_STREAM.rawValue) })
            #expect(async.contains { $0.address.host == "127.0.0.1" || $0.address.host == "::1" })

            let sync = try loop.resolve(host: "localhost", service: "80", hints: AddressHints(socketType: Int32(SOCK_STREAM.rawValue)))
            #expect(Set(sync) == Set(async))
            #expect(throws: UVError.invalidArgument) { try loop.resolve(host: nil, service: nil) }
        }
    }

    @Test("getaddrinfo_concurrent: 10 lookups, each calls back once", arguments: backends)
    func concurrent(backend: Backend) throws {
        try withLoop(backend) { loop in
            var calls = [Int](repeating: 0, count: 10)
            for i in 0..<10 {
                try loop.resolve(host: "localhost") { result in
                    #expect((try? result.get())?.isEmpty == false)
                    calls[i] += 1
                }
            }
            try loop.run()
            #expect(calls == [Int](repeating: 1, count: 10))
        }
    }

    @Test("getnameinfo_basic_ip4 and its sync form", arguments: backends)
    func nameInfo(backend: Backend) throws {
        try withLoop(backend) { loop in
            let address = try SocketAddress("127.0.0.1:80")
            var names: (host: String, service: String)?
            try loop.resolveName(of: address) { result in names = try? result.get() }
            try loop.run()
            #expect(names?.host.isEmpty == false)
            #expect(names?.service == "http")
            let sync = try loop.resolveName(of: address, flags: NI_NUMERICHOST | NI_NUMERICSERV)
            #expect(sync.host == "127.0.0.1" && sync.service == "80")
        }
    }
}
