import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A fresh socket path in /tmp, unique per call.
func socketPath(_ tag: String) -> String {
    struct Counter { nonisolated(unsafe) static var next = 0 }
    Counter.next += 1
    return "/tmp/swiftuv-\(getpid())-\(tag)-\(Counter.next).sock"
}

/// The cases of libuv's test-pipe-*.c.
@Suite("Pipes")
struct PipeTests {
    @Test("pipe_bind_error_addrinuse: the second bind fails at once", arguments: backends)
    func bindAddrInUse(backend: Backend) throws {
        try withLoop(backend) { loop in
            let path = socketPath("inuse-\(backend)")
            let first = try UVPipe(loop: loop)
            try first.bind(path)
            try first.listen { _ in }
            let second = try UVPipe(loop: loop)
            #expect(throws: UVError.addressInUse) { try second.bind(path) }
        }
    }

    @Test("pipe_bind_error_addrnotavail: a missing directory gives EACCES", arguments: backends)
    func bindMissingDirectory(backend: Backend) throws {
        try withLoop(backend) { loop in
            let pipe = try UVPipe(loop: loop)
            #expect(throws: UVError.permissionDenied) { try pipe.bind("/nonexistent-dir-\(getpid())/sock") }
        }
    }

    @Test("pipe_bind_error_inval: binding twice", arguments: backends)
    func bindTwice(backend: Backend) throws {
        try withLoop(backend) { loop in
            let pipe = try UVPipe(loop: loop)
            try pipe.bind(socketPath("twice-\(backend)"))
            #expect(throws: UVError.invalidArgument) { try pipe.bind(socketPath("twice2-\(backend)")) }
        }
    }

    @Test("pipe_listen_without_bind: EINVAL", arguments: backends)
    func listenWithoutBind(backend: Backend) throws {
        try withLoop(backend) { loop in
            let pipe = try UVPipe(loop: loop)
            #expect(throws: UVError.invalidArgument) { try pipe.listen { _ in } }
        }
    }

    @Test("pipe_connect_bad_name: ENOENT in the callback, never synchronous", arguments: backends)
    func connectBadName(backend: Backend) throws {
        try withLoop(backend) { loop in
            let pipe = try UVPipe(loop: loop)
            var status: UVError?
            var calls = 0
            try pipe.connect(to: "/tmp/does-not-exist-\(getpid()).sock") { error in
                calls += 1
                status = error
                try? pipe.close()
            }
            #expect(calls == 0)
            try loop.run()
            #expect(calls == 1)
            #expect(status == .noSuchFileOrDirectory)
        }
    }

    @Test("pipe_connect_to_file: ENOTSOCK or ECONNREFUSED", arguments: backends)
    func connectToFile(backend: Backend) throws {
        try withLoop(backend) { loop in
            let file = "/tmp/swiftuv-file-\(getpid())-\(backend)"
            let fd = open(file, O_CREAT | O_WRONLY, 0o600)
            close(fd)
            defer { unlink(file) }
            let pipe = try UVPipe(loop: loop)
            var status: UVError?
            try pipe.connect(to: file) { error in
                status = error
                try? pipe.close()
            }
            try loop.run()
            #expect(status == .notSocket || status == .connectionRefused)
        }
    }

    @Test("pipe_getsockname: EBADF before bind; the path after; ENOTCONN as peer of a server", arguments: backends)
    func getsockname(backend: Backend) throws {
        try withLoop(backend) { loop in
            let path = socketPath("name-\(backend)")
            let server = try UVPipe(loop: loop)
            #expect(throws: UVError.badFileDescriptor) { try server.localName() }
            #expect(throws: UVError.badFileDescriptor) { try server.peerName() }
            try server.bind(path)
            #expect(try server.localName() == path)
            #expect(throws: UVError.notConnected) { try server.peerName() }
            var peerOfClient: String?
            try server.listen { _ in
                let peer = try! UVPipe(loop: loop)
                try? server.accept(peer)
                try? peer.close()
                try? server.close()
            }
            let client = try UVPipe(loop: loop)
            try client.connect(to: path) { _ in
                peerOfClient = try? client.peerName()
                try? client.close()
            }
            try loop.run()
            #expect(peerOfClient == path)
            // Closing the server removed its socket file.
            #expect(access(path, F_OK) != 0)
        }
    }

    @Test("pipe_getsockname_abstract: a name in the abstract namespace comes back whole, its leading NUL included", arguments: backends)
    func getsocknameAbstract(backend: Backend) throws {
        try withLoop(backend) { loop in
            // Bound by hand: SwiftUV's bind refuses a NUL in a path.
            let name = Array("\0swiftuv-abstract-\(getpid())-\(backend)".utf8)
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            #expect(fd >= 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, byte) in name.enumerated() { raw[i] = byte }
            }
            let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + name.count)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
            }
            #expect(bound == 0)
            let pipe = try UVPipe(loop: loop)
            try pipe.open(fd)
            #expect(Array(try pipe.localName().utf8) == name)
            try pipe.close()
            try loop.run()
        }
    }

    @Test("pipe_ping_pong: 1000 round trips over a Unix socket", arguments: backends)
    func pingPong(backend: Backend) throws {
        try withLoop(backend) { loop in
            let path = socketPath("pp-\(backend)")
            let server = try UVPipe(loop: loop)
            try server.bind(path)
            try server.listen { _ in
                let peer = try! UVPipe(loop: loop)
                try? server.accept(peer)
                try? peer.readStart { result in
                    switch result {
                    case .success(let b): if !b.isEmpty { try? peer.write(Array(b)) }
                    case .failure: try? peer.close(); try? server.close()
                    }
                }
            }
            let client = try UVPipe(loop: loop)
            var pongs = 0
            var pending: [UInt8] = []
            try client.connect(to: path) { error in
                #expect(error == nil)
                try? client.readStart(bytes: { result in
                    guard case .success(let b) = result else { return }
                    pending += b
                    while pending.count >= 4 {
                        pending.removeFirst(4)
                        pongs += 1
                        if pongs == 1000 { try? client.close() } else { try? client.write("PING") }
                    }
                })
                try? client.write("PING")
            }
            try loop.run()
            #expect(pongs == 1000)
        }
    }

    @Test("socketpair ping-pong: pipes opened on both ends of a socket pair", arguments: backends)
    func socketPair(backend: Backend) throws {
        try withLoop(backend) { loop in
            var fds: [Int32] = [-1, -1]
            #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
            let a = try UVPipe(loop: loop)
            let b = try UVPipe(loop: loop)
            try a.open(fds[0])
            try b.open(fds[1])
            // Not polled yet: libuv does not see the descriptor as taken.
            let spare = try UVPipe(loop: loop)
            var rounds = 0
            try b.readStart(bytes: { result in
                if case .success(let bytes) = result { try? b.write(bytes) }
            })
            try a.readStart(bytes: { result in
                guard case .success = result else { return }
                rounds += 1
                if rounds == 1000 { try? a.close(); try? b.close() } else { try? a.write("ping") }
            })
            // Polled now: a second handle on it is refused.
            #expect(throws: UVError.fileExists) { try spare.open(fds[0]) }
            try spare.close()
            try a.write("ping")
            try loop.run()
            #expect(rounds == 1000)
        }
    }

    @Test("pipe over pipe(2): read end readable only, write end writable only", arguments: backends)
    func osPipe(backend: Backend) throws {
        try withLoop(backend) { loop in
            var fds: [Int32] = [-1, -1]
            #expect(pipe(&fds) == 0)
            let reader = try UVPipe(loop: loop)
            let writer = try UVPipe(loop: loop)
            try reader.open(fds[0])
            try writer.open(fds[1])
            #expect(reader.isReadable && !reader.isWritable)
            #expect(writer.isWritable && !writer.isReadable)
            var got: [UInt8] = []
            try reader.readStart(bytes: { result in
                switch result {
                case .success(let b): got += b
                case .failure(let e): #expect(e == .endOfFile); try? reader.close()
                }
            })
            try writer.write("through a pipe") { _ in try? writer.close() }
            try loop.run()
            #expect(got == Array("through a pipe".utf8))
        }
    }
}
