import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `readFile`: one pool job per file, on both backends.
@Suite("readFile")
struct ReadFileTests {
    /// A scratch file of `count` bytes (a repeating pattern); its path.
    static func file(_ count: Int) throws -> String {
        var template = Array("/tmp/swiftuv-readfile-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        #expect(fd >= 0)
        let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            #expect(n > 0)
            offset += n
        }
        close(fd)
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func expected(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) } }

    @Test("every size, synchronously, with a completion and awaited", arguments: backends)
    func sizes(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        for count in [0, 1, 4096, 65536, 65537, 1 << 20] {
            let path = try Self.file(count)
            defer { unlink(path) }
            #expect(try loop.fs.readFile(path) == Self.expected(count))
            var viaCallback: [UInt8]?
            try loop.fs.readFile(path) { viaCallback = try? $0.get() }
            try loop.run()
            #expect(viaCallback == Self.expected(count))
        }
        let path = try Self.file(3000)
        defer { unlink(path) }
        let awaited = try loop.run { try await loop.fs.readFile(path) }
        #expect(awaited == Self.expected(3000))
        try loop.close()
    }

    @Test("a file without a size (/proc) is read to its end", arguments: backends)
    func procFile(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let status = String(decoding: try loop.fs.readFile("/proc/self/status"), as: UTF8.self)
        #expect(status.hasPrefix("Name:"))
        #expect(status.contains("VmRSS"))
        try loop.close()
    }

    @Test("errors name the path; a NUL is refused; a closed loop is refused", arguments: backends)
    func errors(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        do {
            _ = try loop.fs.readFile("/tmp/swiftuv-no-such-file")
            Issue.record("no error")
        } catch {
            #expect(error == .noSuchFileOrDirectory)
            #expect(error.description.contains("fs.readFile(\"/tmp/swiftuv-no-such-file\")"))
        }
        #expect(throws: UVError.isDirectory) { try loop.fs.readFile("/tmp") }
        #expect(throws: UVError.invalidArgument) { try loop.fs.readFile("/tmp/a\0b") }
        var failed: UVError?
        try loop.fs.readFile("/tmp/swiftuv-no-such-file") { result in
            if case .failure(let error) = result { failed = error }
        }
        try loop.run()
        #expect(failed == .noSuchFileOrDirectory)
        try loop.close()
        #expect(throws: UVError.invalidArgument) { try loop.fs.readFile("/etc/hostname") }
    }
}
