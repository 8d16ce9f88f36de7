import CTestSupport
import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A pseudo-terminal: the master side, and the slave's descriptor.
func openPseudoTerminal(columns: UInt16, rows: UInt16) throws -> (master: Int32, slave: Int32) {
    var master: Int32 = -1
    var slave: Int32 = -1
    try #require(swiftuv_test_openpty(&master, &slave, columns, rows) == 0)
    return (master, slave)
}

/// The cases of libuv's test-tty.c, on a pseudo-terminal. Terminal modes
/// are saved process-wide, so these run one at a time.
@Suite("TTY", .serialized)
struct TTYTests {
    @Test("tty: window size, modes, and bytes both ways", arguments: backends)
    func tty(backend: Backend) throws {
        let (master, slave) = try openPseudoTerminal(columns: 100, rows: 40)
        defer { close(master); close(slave) }
        #expect(guessHandle(slave) == .tty)
        try withLoop(backend) { loop in
            let tty = try TTY(loop: loop, fd: slave)
            #expect(tty.isReadable && tty.isWritable)
            let size = try tty.windowSize()
            #expect(size.width == 100 && size.height == 40)
            try tty.setMode(.raw)
            try tty.setMode(.io)
            try tty.setMode(.normal)
            try tty.setMode(.raw)
            try TTY.resetMode(backend: backend)
            var wrote = false
            try tty.write("hello") { error in wrote = error == nil }
            var got: [UInt8] = []
            try tty.readStart(bytes: { result in
                if case .success(let b) = result { got += b }
                if got.count >= 4 { try? tty.close() }
            })
            _ = write(master, "abc\n", 4)
            try loop.run()
            #expect(wrote)
            #expect(String(decoding: got, as: UTF8.self).hasPrefix("abc"))
            var buffer = [UInt8](repeating: 0, count: 64)
            let n = read(master, &buffer, 64)
            #expect(n >= 5 && String(decoding: buffer.prefix(5), as: UTF8.self) == "hello")
        }
    }

    @Test("tty_file: a regular file is refused", arguments: backends)
    func file(backend: Backend) throws {
        try withLoop(backend) { loop in
            let fd = open("/proc/self/exe", O_RDONLY)
            defer { close(fd) }
            #expect(guessHandle(fd) == .file)
            #expect(throws: UVError.invalidArgument) { try TTY(loop: loop, fd: fd) }
        }
    }

    @Test("guess_handle: sockets and pipes", arguments: backends)
    func guess(backend: Backend) throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        #expect(guessHandle(fds[0]) == .pipe)
        close(fds[0]); close(fds[1])
        let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(guessHandle(tcp) == .tcp)
        close(tcp)
        let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        #expect(guessHandle(udp) == .udp)
        close(udp)
        #expect(guessHandle(-1) == nil)
    }
}
