#if canImport(Glibc)
import Glibc
#endif

/// `readFile`: a whole file in one trip to the thread pool.
///
/// libuv has no such call; done with its fs requests it costs three pool
/// round trips for a small file (open, a read, the read that finds the
/// end) and more to close it, with the bytes copied into a growing array.
/// Here one job opens the file, takes its size from `fstat`, reads into an
/// array of exactly that size, and closes it: one round trip and no copy.
/// A file without a size (`/proc`, a pipe) or one that grows meanwhile is
/// read on in 64 KiB steps. The same code runs on both backends.
extension FileSystem {
    /// The whole content of the file at `path`, read on the calling thread.
    public func readFile(_ path: String) throws(UVError) -> [UInt8] {
        try loop.ensureOpen("fs.readFile")
        try InputCheck.cString(path, "fs.readFile")
        return try FileContents.read(path).get()
    }

    /// The whole content of the file at `path`, read by one job on the
    /// thread pool; `completion` gets it on the loop thread. The returned
    /// work can be cancelled while it waits.
    @discardableResult
    public func readFile(_ path: String, _ completion: @escaping Completion<[UInt8]>) throws(UVError) -> Work {
        try loop.ensureOpen("fs.readFile")
        try InputCheck.cString(path, "fs.readFile")
        return try loop.queueWork({ FileContents.read(path) }) { result in
            completion(result.flatMap { $0 })
        }
    }

    /// `readFile` on the thread pool, awaited.
    nonisolated(nonsending)
    public func readFile(_ path: String) async throws -> [UInt8] {
        try loop.ensureOpen("fs.readFile")
        try InputCheck.cString(path, "fs.readFile")
        return try await loop.queueWork { try FileContents.read(path).get() }
    }
}

/// Reading a whole file with system calls, on whichever thread calls it.
enum FileContents {
    static let step = 64 * 1024

    static func read(_ path: String) -> Result<[UInt8], UVError> {
        func failure(_ code: Int32) -> Result<[UInt8], UVError> {
            .failure(UVError(code: -code).with(context: "fs.readFile(\(InputCheck.quoted(path)))"))
        }
        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        if fd < 0 { return failure(errno) }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 { return failure(errno) }
        let size = (info.st_mode & S_IFMT) == S_IFREG ? Int(info.st_size) : 0
        var error: Int32 = 0
        // Exactly the file's size, read straight into the array's storage.
        var content = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            while count < size {
                let n = Glibc.read(fd, buffer.baseAddress! + count, size - count)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { error = errno; break }
                if n == 0 { break }
                count += n
            }
        }
        if error != 0 { return failure(error) }
        // The rest, if the file has no size or grew: a one-byte probe
        // first, so that a file read whole costs no buffer.
        if content.count == size {
            var probe: UInt8 = 0
            var n: Int
            repeat { n = Glibc.read(fd, &probe, 1) } while n < 0 && errno == EINTR
            if n < 0 { return failure(errno) }
            if n == 0 { return .success(content) }
            content.append(probe)
            var chunk = [UInt8](repeating: 0, count: step)
            while true {
                let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 { return failure(errno) }
                if n == 0 { break }
                content += chunk[0..<n]
            }
        }
        return .success(content)
    }
}
