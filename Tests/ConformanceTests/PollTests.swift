import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The cases of libuv's test-poll*.c.
@Suite("Poll")
struct PollTests {
    @Test("poll_close: 64 handles, 64 close callbacks", arguments: backends)
    func close64(backend: Backend) throws {
        try withLoop(backend) { loop in
            var fds: [Int32] = []
            var closes = 0
            for _ in 0..<64 {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                fds.append(fd)
                let poll = try Poll(loop: loop, fd: fd)
                try poll.start([.readable, .writable]) { _ in }
                try poll.close { _ in closes += 1 }
            }
            try loop.run()
            #expect(closes == 64)
            for fd in fds { close(fd) }
        }
    }

    @Test("poll_multiple_handles: a second handle on a polled fd gives EEXIST", arguments: backends)
    func multipleHandles(backend: Backend) throws {
        try withLoop(backend) { loop in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            let first = try Poll(loop: loop, fd: fd)
            let second = try Poll(loop: loop, fd: fd)  // not polled yet: allowed
            try first.start(.readable) { _ in }
            #expect(throws: UVError.fileExists) { try second.start(.readable) { _ in } }
            #expect(throws: UVError.fileExists) { try Poll(loop: loop, fd: fd) }
            try first.stop()
            try second.start(.readable) { _ in }
            try first.close()
            try second.unref()
            try loop.run()
        }
    }

    @Test("poll_bad_fdtype: a directory or a regular file is refused", arguments: backends)
    func badFileType(backend: Backend) throws {
        try withLoop(backend) { loop in
            let dir = open("/tmp", O_RDONLY)
            defer { close(dir) }
            #expect(throws: UVError.notPermitted) { try Poll(loop: loop, fd: dir) }
            let file = open("/proc/self/exe", O_RDONLY)
            defer { close(file) }
            #expect(throws: UVError.notPermitted) { try Poll(loop: loop, fd: file) }
        }
    }

    @Test("poll: readable when a socket pair has data; disconnect when the peer closes", arguments: backends)
    func readiness(backend: Backend) throws {
        try withLoop(backend) { loop in
            var pair: [Int32] = [-1, -1]
            #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
            defer { close(pair[0]) }
            let poll = try Poll(loop: loop, fd: pair[0])
            var seen: [Poll.Events] = []
            try poll.start([.readable, .disconnect]) { result in
                guard case .success(let events) = result else { return }
                seen.append(events)
                if events.contains(.disconnect) {
                    try? poll.close()
                } else {
                    var buf = [UInt8](repeating: 0, count: 16)
                    _ = read(pair[0], &buf, 16)
                    close(pair[1])
                }
            }
            _ = write(pair[1], "x", 1)
            try loop.run()
            #expect(seen.first == .readable)
            #expect(seen.last?.contains(.disconnect) == true)
        }
    }
}
