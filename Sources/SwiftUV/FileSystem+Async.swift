// The async forms of every file system call: each runs on the thread pool
// as its callback form does, and the calling task (on the loop) awaits it.
// Cancelling the task while the request is queued cancels the request and
// throws `CancellationError`; a request a pool thread has taken completes,
// and its result is returned.
//
// In async code `try await loop.fs.stat(path)` is the pool form; the
// synchronous form (which blocks the loop's thread) is what a synchronous
// function calling `loop.fs.stat(path)` gets.

#if canImport(Glibc)
import Glibc
#endif

extension FileSystem {
    /// Awaits the callback form of a call.
    nonisolated(nonsending)
    func awaiting<T>(_ name: String, _ start: (@escaping Completion<T>) throws -> FSRequest) async throws -> T {
        try await loop.awaitPoolRequest("fs.\(name)", start)
    }

    /// `open` on the thread pool, awaited.
    nonisolated(nonsending)
    public func open(_ path: String, flags: OpenFlags = .readOnly, mode: Int32 = 0o644) async throws -> Int32 {
        try await awaiting("open") { done in try open(path, flags: flags, mode: mode, done) }
    }

    /// `close` on the thread pool, awaited.
    nonisolated(nonsending)
    public func close(_ fd: Int32) async throws {
        try await awaiting("close") { done in try close(fd, done) }
    }

    /// `read` on the thread pool, awaited.
    nonisolated(nonsending)
    public func read(_ fd: Int32, count: Int, offset: Int64 = -1) async throws -> [UInt8] {
        try await awaiting("read") { done in try read(fd, count: count, offset: offset, done) }
    }

    /// `write` on the thread pool, awaited.
    nonisolated(nonsending)
    public func write<Bytes: Collection>(_ fd: Int32, _ bytes: Bytes, offset: Int64 = -1) async throws -> Int where Bytes.Element == UInt8 {
        try await awaiting("write") { done in try write(fd, bytes, offset: offset, done) }
    }

    /// `unlink` on the thread pool, awaited.
    nonisolated(nonsending)
    public func unlink(_ path: String) async throws {
        try await awaiting("unlink") { done in try unlink(path, done) }
    }

    /// `mkdir` on the thread pool, awaited.
    nonisolated(nonsending)
    public func mkdir(_ path: String, mode: Int32 = 0o755) async throws {
        try await awaiting("mkdir") { done in try mkdir(path, mode: mode, done) }
    }

    /// `makeTemporaryDirectory(template:)` on the thread pool, awaited.
    nonisolated(nonsending)
    public func makeTemporaryDirectory(template: String) async throws -> String {
        try await awaiting("makeTemporaryDirectory") { done in try makeTemporaryDirectory(template: template, done) }
    }

    /// `rmdir` on the thread pool, awaited.
    nonisolated(nonsending)
    public func rmdir(_ path: String) async throws {
        try await awaiting("rmdir") { done in try rmdir(path, done) }
    }

    /// `scandir` on the thread pool, awaited.
    nonisolated(nonsending)
    public func scandir(_ path: String) async throws -> [DirectoryEntry] {
        try await awaiting("scandir") { done in try scandir(path, done) }
    }

    /// `stat(_:followingSymlinks:)` on the thread pool, awaited.
    nonisolated(nonsending)
    public func stat(_ path: String, followingSymlinks: Bool = true) async throws -> FileStat {
        try await awaiting("stat") { done in try stat(path, followingSymlinks: followingSymlinks, done) }
    }

    /// `stat(descriptor:)` on the thread pool, awaited.
    nonisolated(nonsending)
    public func stat(descriptor fd: Int32) async throws -> FileStat {
        try await awaiting("stat") { done in try stat(descriptor: fd, done) }
    }

    /// `rename` on the thread pool, awaited.
    nonisolated(nonsending)
    public func rename(_ path: String, to newPath: String) async throws {
        try await awaiting("rename") { done in try rename(path, to: newPath, done) }
    }

    /// `synchronize(descriptor:dataOnly:)` on the thread pool, awaited.
    nonisolated(nonsending)
    public func synchronize(descriptor fd: Int32, dataOnly: Bool = false) async throws {
        try await awaiting("synchronize") { done in try synchronize(descriptor: fd, dataOnly: dataOnly, done) }
    }

    /// `truncate(descriptor:length:)` on the thread pool, awaited.
    nonisolated(nonsending)
    public func truncate(descriptor fd: Int32, length: Int64) async throws {
        try await awaiting("truncate") { done in try truncate(descriptor: fd, length: length, done) }
    }

    /// `access` on the thread pool, awaited.
    nonisolated(nonsending)
    public func access(_ path: String, mode: Int32 = F_OK) async throws {
        try await awaiting("access") { done in try access(path, mode: mode, done) }
    }

    /// `chmod` on the thread pool, awaited.
    nonisolated(nonsending)
    public func chmod(_ path: String, mode: Int32) async throws {
        try await awaiting("chmod") { done in try chmod(path, mode: mode, done) }
    }

    /// `chmod(descriptor:mode:)` on the thread pool, awaited.
    nonisolated(nonsending)
    public func chmod(descriptor fd: Int32, mode: Int32) async throws {
        try await awaiting("chmod") { done in try chmod(descriptor: fd, mode: mode, done) }
    }

    /// `readlink` on the thread pool, awaited.
    nonisolated(nonsending)
    public func readlink(_ path: String) async throws -> String {
        try await awaiting("readlink") { done in try readlink(path, done) }
    }

    /// `realpath` on the thread pool, awaited.
    nonisolated(nonsending)
    public func realpath(_ path: String) async throws -> String {
        try await awaiting("realpath") { done in try realpath(path, done) }
    }

    /// `symlink` on the thread pool, awaited.
    nonisolated(nonsending)
    public func symlink(_ target: String, at path: String) async throws {
        try await awaiting("symlink") { done in try symlink(target, at: path, done) }
    }

    /// `link` on the thread pool, awaited.
    nonisolated(nonsending)
    public func link(_ path: String, to newPath: String) async throws {
        try await awaiting("link") { done in try link(path, to: newPath, done) }
    }

    /// `copyFile` on the thread pool, awaited.
    nonisolated(nonsending)
    public func copyFile(_ path: String, to newPath: String, exclusive: Bool = false) async throws {
        try await awaiting("copyFile") { done in try copyFile(path, to: newPath, exclusive: exclusive, done) }
    }

    /// `makeTemporaryFile(template:)` on the thread pool, awaited.
    nonisolated(nonsending)
    public func makeTemporaryFile(template: String) async throws -> (fd: Int32, path: String) {
        try await awaiting("makeTemporaryFile") { done in try makeTemporaryFile(template: template, done) }
    }

    /// `opendir` on the thread pool, awaited.
    nonisolated(nonsending)
    public func opendir(_ path: String) async throws -> Directory {
        try await awaiting("opendir") { done in try opendir(path, done) }
    }

    /// `statfs` on the thread pool, awaited.
    nonisolated(nonsending)
    public func statfs(_ path: String) async throws -> FileSystemStats {
        try await awaiting("statfs") { done in try statfs(path, done) }
    }

    /// `sendfile` on the thread pool, awaited.
    nonisolated(nonsending)
    public func sendfile(to output: Int32, from input: Int32, offset: Int64, length: Int) async throws -> Int {
        try await awaiting("sendfile") { done in try sendfile(to: output, from: input, offset: offset, length: length, done) }
    }

    /// `utime(_:accessed:modified:followingSymlinks:)` on the thread pool, awaited.
    nonisolated(nonsending)
    public func utime(_ path: String, accessed: Double, modified: Double, followingSymlinks: Bool = true) async throws {
        try await awaiting("utime") { done in try utime(path, accessed: accessed, modified: modified, followingSymlinks: followingSymlinks, done) }
    }

    /// `utime(descriptor:accessed:modified:)` on the thread pool, awaited.
    nonisolated(nonsending)
    public func utime(descriptor fd: Int32, accessed: Double, modified: Double) async throws {
        try await awaiting("utime") { done in try utime(descriptor: fd, accessed: accessed, modified: modified, done) }
    }

    /// `chown(_:uid:gid:followingSymlinks:)` on the thread pool, awaited.
    nonisolated(nonsending)
    public func chown(_ path: String, uid: UInt32, gid: UInt32, followingSymlinks: Bool = true) async throws {
        try await awaiting("chown") { done in try chown(path, uid: uid, gid: gid, followingSymlinks: followingSymlinks, done) }
    }

    /// `chown(descriptor:uid:gid:)` on the thread pool, awaited.
    nonisolated(nonsending)
    public func chown(descriptor fd: Int32, uid: UInt32, gid: UInt32) async throws {
        try await awaiting("chown") { done in try chown(descriptor: fd, uid: uid, gid: gid, done) }
    }

    /// Replaces a file's content (created with `mode` if missing), on the
    /// thread pool.
    nonisolated(nonsending)
    public func writeFile<Bytes: Collection>(_ path: String, _ bytes: Bytes, mode: Int32 = 0o644) async throws where Bytes.Element == UInt8 {
        let fd = try await open(path, flags: [.writeOnly, .create, .truncate], mode: mode)
        do {
            let data = Array(bytes)
            var offset = 0
            while offset < data.count {
                offset += try await write(fd, data[offset...])
            }
        } catch {
            closeNow(fd)
            throw error
        }
        closeNow(fd)
    }

    /// Closes a descriptor at once, on the loop thread (a close of a file
    /// does not block; done here, a cancelled task cannot skip it, and it
    /// happens exactly once).
    private func closeNow(_ fd: Int32) {
        try? close(fd)
    }
}

extension Directory {
    /// Up to `max` entries, read on the thread pool; empty at the end.
    nonisolated(nonsending)
    public func read(max: Int = 64) async throws -> [DirectoryEntry] {
        try await fs.awaiting("readdir") { done in try read(max: max, done) }
    }

    /// Closes the directory on the thread pool.
    nonisolated(nonsending)
    public func close() async throws {
        try await fs.awaiting("closedir") { done in try close(done) }
    }
}
