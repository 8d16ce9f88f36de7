import CUV
import NativeLoop

#if canImport(Glibc)
import Glibc
#endif

/// The calls themselves: each first synchronously, then with a completion
/// (which runs on the loop thread; the call returns an `FSRequest`).
extension FileSystem {
    /// What a call with a completion gets, on the loop thread: its value or
    /// its error.
    public typealias Completion<T> = (Result<T, UVError>) -> Void

    /// Opens a file; the descriptor. (`uv_fs_open`)
    public func open(_ path: String, flags: OpenFlags = .readOnly, mode: Int32 = 0o644) throws(UVError) -> Int32 {
        try sync(.open(path: path, flags: flags.rawValue, mode: mode)) { Int32($0.result) }
    }
    /// `open` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func open(_ path: String, flags: OpenFlags = .readOnly, mode: Int32 = 0o644, _ completion: @escaping Completion<Int32>) throws(UVError) -> FSRequest {
        try async(.open(path: path, flags: flags.rawValue, mode: mode), { Int32($0.result) }, completion)
    }

    /// Closes a descriptor. (`uv_fs_close`)
    public func close(_ fd: Int32) throws(UVError) { try sync(.close(fd: fd)) { _ in } }
    /// `close` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func close(_ fd: Int32, _ completion: @escaping Completion<Void>) throws(UVError) -> FSRequest {
        try async(.close(fd: fd), { _ in }, completion)
    }

    /// Reads up to `count` bytes at `offset` (-1: at the file position).
    /// (`uv_fs_read`)
    /// A negative `count` gives `UVError.invalidArgument`; one no memory
    /// can hold, `UVError.noMemory`.
    public func read(_ fd: Int32, count: Int, offset: Int64 = -1) throws(UVError) -> [UInt8] {
        let buffer = try readBuffer(count)
        defer { free(buffer.baseAddress) }
        return try sync(.read(fd: fd, buffer: buffer, offset: offset)) { Array(UnsafeRawBufferPointer(rebasing: buffer[0..<$0.result])) }
    }
    /// `read` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func read(_ fd: Int32, count: Int, offset: Int64 = -1, _ completion: @escaping Completion<[UInt8]>) throws(UVError) -> FSRequest {
        let buffer = try readBuffer(count)
        return try async(.read(fd: fd, buffer: buffer, offset: offset), { Array(UnsafeRawBufferPointer(rebasing: buffer[0..<$0.result])) },
                         cleanup: { free(buffer.baseAddress) }, completion)
    }

    /// The buffer of a read of `count` bytes (freed with `free`).
    private func readBuffer(_ count: Int) throws(UVError) -> UnsafeMutableRawBufferPointer {
        try loop.ensureOpen("fs.read")
        try InputCheck.count(count, "fs.read")
        return try InputCheck.allocate(count, "fs.read")
    }

    /// Writes `bytes` at `offset` (-1: at the file position); the count
    /// written. (`uv_fs_write`)
    @discardableResult
    public func write<Bytes: Collection>(_ fd: Int32, _ bytes: Bytes, offset: Int64 = -1) throws(UVError) -> Int where Bytes.Element == UInt8 {
        let owned = OwnedBuffer(bytes)
        defer { owned.release() }
        return try sync(.write(fd: fd, buffers: [owned.rawBuffer], offset: offset)) { $0.result }
    }
    /// `write` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func write<Bytes: Collection>(_ fd: Int32, _ bytes: Bytes, offset: Int64 = -1, _ completion: @escaping Completion<Int>) throws(UVError) -> FSRequest
    where Bytes.Element == UInt8 {
        let owned = OwnedBuffer(bytes)
        return try async(.write(fd: fd, buffers: [owned.rawBuffer], offset: offset), { $0.result }, cleanup: { owned.release() }, completion)
    }

    /// (`uv_fs_unlink`)
    public func unlink(_ path: String) throws(UVError) { try sync(.unlink(path: path)) { _ in } }
    /// `unlink` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func unlink(_ path: String, _ completion: @escaping Completion<Void>) throws(UVError) -> FSRequest {
        try async(.unlink(path: path), { _ in }, completion)
    }

    /// (`uv_fs_mkdir`)
    public func mkdir(_ path: String, mode: Int32 = 0o755) throws(UVError) { try sync(.mkdir(path: path, mode: mode)) { _ in } }
    /// `mkdir` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func mkdir(_ path: String, mode: Int32 = 0o755, _ completion: @escaping Completion<Void>) throws(UVError) -> FSRequest {
        try async(.mkdir(path: path, mode: mode), { _ in }, completion)
    }

    /// Makes a unique directory from a template whose last six characters
    /// are `XXXXXX`; its path.
    ///
    /// The corresponding libuv function is `uv_fs_mkdtemp`.
    public func makeTemporaryDirectory(template: String) throws(UVError) -> String {
        try sync(.mkdtemp(template: template)) { $0.string ?? "" }
    }
    /// `makeTemporaryDirectory(template:)` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func makeTemporaryDirectory(template: String, _ completion: @escaping Completion<String>) throws(UVError) -> FSRequest {
        try async(.mkdtemp(template: template), { $0.string ?? "" }, completion)
    }

    /// (`uv_fs_rmdir`)
    public func rmdir(_ path: String) throws(UVError) { try sync(.rmdir(path: path)) { _ in } }
    /// `rmdir` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func rmdir(_ path: String, _ completion: @escaping Completion<Void>) throws(UVError) -> FSRequest {
        try async(.rmdir(path: path), { _ in }, completion)
    }

    /// The entries of a directory, without `.` and `..`, sorted by name.
    /// (`uv_fs_scandir`)
    public func scandir(_ path: String) throws(UVError) -> [DirectoryEntry] { try sync(.scandir(path: path)) { $0.entries ?? [] } }
    /// `scandir` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func scandir(_ path: String, _ completion: @escaping Completion<[DirectoryEntry]>) throws(UVError) -> FSRequest {
        try async(.scandir(path: path), { $0.entries ?? [] }, completion)
    }

    /// The status of the file at `path`; with `followingSymlinks: false`, of
    /// a symbolic link itself rather than its target.
    ///
    /// The corresponding libuv functions are `uv_fs_stat` and `uv_fs_lstat`.
    public func stat(_ path: String, followingSymlinks: Bool = true) throws(UVError) -> FileStat {
        try syncStat(followingSymlinks ? .stat(path: path) : .lstat(path: path))
    }
    /// `stat(_:followingSymlinks:)` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func stat(_ path: String, followingSymlinks: Bool = true, _ completion: @escaping Completion<FileStat>) throws(UVError) -> FSRequest {
        try async(followingSymlinks ? .stat(path: path) : .lstat(path: path), { $0.stat! }, completion)
    }

    /// The status of the open file `descriptor`.
    ///
    /// The corresponding libuv function is `uv_fs_fstat`.
    public func stat(descriptor fd: Int32) throws(UVError) -> FileStat { try syncStat(.fstat(fd: fd)) }
    /// `stat(descriptor:)` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func stat(descriptor fd: Int32, _ completion: @escaping Completion<FileStat>) throws(UVError) -> FSRequest {
        try async(.fstat(fd: fd), { $0.stat! }, completion)
    }

    /// (`uv_fs_rename`)
    public func rename(_ path: String, to newPath: String) throws(UVError) { try sync(.rename(path: path, newPath: newPath)) { _ in } }
    /// `rename` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func rename(_ path: String, to newPath: String, _ completion: @escaping Completion<Void>) throws(UVError) -> FSRequest {
        try async(.rename(path: path, newPath: newPath), { _ in }, completion)
    }

    /// Flushes the open file `descriptor`'s data and metadata to the
    /// device; with `dataOnly`, its data and only the metadata needed to
    /// read it back.
    ///
    /// The corresponding libuv functions are `uv_fs_fsync` and `uv_fs_fdatasync`.
    public func synchronize(descriptor fd: Int32, dataOnly: Bool = false) throws(UVError) {
        try sync(dataOnly ? .fdatasync(fd: fd) : .fsync(fd: fd)) { _ in }
    }
    /// `synchronize(descriptor:dataOnly:)` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func synchronize(descriptor fd: Int32, dataOnly: Bool = false, _ completion: @escaping Completion<Void>) throws(UVError) -> FSRequest {
        try async(dataOnly ? .fdatasync(fd: fd) : .fsync(fd: fd), { _ in }, completion)
    }

    /// Cuts or extends the open file `descriptor` to `length` bytes.
    ///
    /// The corresponding libuv function is `uv_fs_ftruncate`.
    public func truncate(descriptor fd: Int32, length: Int64) throws(UVError) { try sync(.ftruncate(fd: fd, length: length)) { _ in } }
    /// `truncate(descriptor:length:)` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func truncate(descriptor fd: Int32, length: Int64, _ completion: @escaping Completion<Void>) throws(UVError) -> FSRequest {
        try async(.ftruncate(fd: fd, length: length), { _ in }, completion)
    }

    /// Checks access with `R_OK`, `W_OK`, `X_OK` or `F_OK`. (`uv_fs_access`)
    public func access(_ path: String, mode: Int32 = F_OK) throws(UVError) { try sync(.access(path: path, mode: mode)) { _ in } }
    /// `access` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func access(_ path: String, mode: Int32 = F_OK, _ completion: @escaping Completion<Void>) throws(UVError) -> FSRequest {
        try async(.access(path: path, mode: mode), { _ in }, completion)
    }

    /// (`uv_fs_chmod`)
    public func chmod(_ path: String, mode: Int32) throws(UVError) { try sync(.chmod(path: path, mode: mode)) { _ in } }
    /// `chmod` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func chmod(_ path: String, mode: Int32, _ completion: @escaping Completion<Void>) throws(UVError) -> FSRequest {
        try async(.chmod(path: path, mode: mode), { _ in }, completion)
    }

    /// Sets the permission bits of the open file `descriptor`.
    ///
    /// The corresponding libuv function is `uv_fs_fchmod`.
    public func chmod(descriptor fd: Int32, mode: Int32) throws(UVError) { try sync(.fchmod(fd: fd, mode: mode)) { _ in } }
    /// `chmod(descriptor:mode:)` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func chmod(descriptor fd: Int32, mode: Int32, _ completion: @escaping Completion<Void>) throws(UVError) -> FSRequest {
        try async(.fchmod(fd: fd, mode: mode), { _ in }, completion)
    }

    /// The target of a symbolic link. (`uv_fs_readlink`)
    public func readlink(_ path: String) throws(UVError) -> String { try sync(.readlink(path: path)) { $0.string ?? "" } }
    /// `readlink` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func readlink(_ path: String, _ completion: @escaping Completion<String>) throws(UVError) -> FSRequest {
        try async(.readlink(path: path), { $0.string ?? "" }, completion)
    }

    /// The canonical absolute path. (`uv_fs_realpath`)
    public func realpath(_ path: String) throws(UVError) -> String { try sync(.realpath(path: path)) { $0.string ?? "" } }
    /// `realpath` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func realpath(_ path: String, _ completion: @escaping Completion<String>) throws(UVError) -> FSRequest {
        try async(.realpath(path: path), { $0.string ?? "" }, completion)
    }

    /// Makes `path` a symbolic link to `target`. (`uv_fs_symlink`)
    public func symlink(_ target: String, at path: String) throws(UVError) { try sync(.symlink(path: target, newPath: path)) { _ in } }
    /// `symlink` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func symlink(_ target: String, at path: String, _ completion: @escaping Completion<Void>) throws(UVError) -> FSRequest {
        try async(.symlink(path: target, newPath: path), { _ in }, completion)
    }

    /// Makes `newPath` a hard link to `path`. (`uv_fs_link`)
    public func link(_ path: String, to newPath: String) throws(UVError) { try sync(.link(path: path, newPath: newPath)) { _ in } }
    /// `link` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func link(_ path: String, to newPath: String, _ completion: @escaping Completion<Void>) throws(UVError) -> FSRequest {
        try async(.link(path: path, newPath: newPath), { _ in }, completion)
    }

    /// Copies a file; `exclusive` fails with `.fileExists` if the
    /// destination exists.
    ///
    /// The corresponding libuv function is `uv_fs_copyfile`.
    public func copyFile(_ path: String, to newPath: String, exclusive: Bool = false) throws(UVError) {
        try sync(.copyfile(path: path, newPath: newPath, exclusive: exclusive)) { _ in }
    }
    /// `copyFile(_:to:exclusive:)` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func copyFile(_ path: String, to newPath: String, exclusive: Bool = false, _ completion: @escaping Completion<Void>) throws(UVError) -> FSRequest {
        try async(.copyfile(path: path, newPath: newPath, exclusive: exclusive), { _ in }, completion)
    }

    /// Makes and opens a unique file from a template whose last six
    /// characters are `XXXXXX`: its descriptor and path.
    ///
    /// The corresponding libuv function is `uv_fs_mkstemp`.
    public func makeTemporaryFile(template: String) throws(UVError) -> (fd: Int32, path: String) {
        try sync(.mkstemp(template: template)) { (Int32($0.result), $0.string ?? "") }
    }
    /// `makeTemporaryFile(template:)` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func makeTemporaryFile(template: String, _ completion: @escaping Completion<(fd: Int32, path: String)>) throws(UVError) -> FSRequest {
        try async(.mkstemp(template: template), { (Int32($0.result), $0.string ?? "") }, completion)
    }

    /// Opens a directory for `Directory.read`. (`uv_fs_opendir`)
    public func opendir(_ path: String) throws(UVError) -> Directory {
        try sync(.opendir(path: path)) { Directory(fs: self, pointer: $0.dir!) }
    }
    /// `opendir` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func opendir(_ path: String, _ completion: @escaping Completion<Directory>) throws(UVError) -> FSRequest {
        try async(.opendir(path: path), { Directory(fs: self, pointer: $0.dir!) }, completion)
    }

    /// (`uv_fs_statfs`)
    public func statfs(_ path: String) throws(UVError) -> FileSystemStats { try sync(.statfs(path: path)) { $0.statfs! } }
    /// `statfs` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func statfs(_ path: String, _ completion: @escaping Completion<FileSystemStats>) throws(UVError) -> FSRequest {
        try async(.statfs(path: path), { $0.statfs! }, completion)
    }

    /// Copies `length` bytes from `input` at `offset` to `output`; the count.
    /// (`uv_fs_sendfile`)
    public func sendfile(to output: Int32, from input: Int32, offset: Int64, length: Int) throws(UVError) -> Int {
        try sync(.sendfile(out: output, in: input, offset: offset, length: length)) { $0.result }
    }
    /// `sendfile` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func sendfile(to output: Int32, from input: Int32, offset: Int64, length: Int, _ completion: @escaping Completion<Int>) throws(UVError) -> FSRequest {
        try async(.sendfile(out: output, in: input, offset: offset, length: length), { $0.result }, completion)
    }

    /// Sets access and modification times, in seconds since the epoch; with
    /// `followingSymlinks: false`, of a symbolic link itself.
    ///
    /// The corresponding libuv functions are `uv_fs_utime` and `uv_fs_lutime`.
    public func utime(_ path: String, accessed: Double, modified: Double, followingSymlinks: Bool = true) throws(UVError) {
        try sync(followingSymlinks ? .utime(path: path, atime: accessed, mtime: modified)
                                   : .lutime(path: path, atime: accessed, mtime: modified)) { _ in }
    }
    /// `utime(_:accessed:modified:followingSymlinks:)` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func utime(_ path: String, accessed: Double, modified: Double, followingSymlinks: Bool = true,
                      _ completion: @escaping Completion<Void>) throws(UVError) -> FSRequest {
        try async(followingSymlinks ? .utime(path: path, atime: accessed, mtime: modified)
                                    : .lutime(path: path, atime: accessed, mtime: modified), { _ in }, completion)
    }

    /// Sets the access and modification times of the open file
    /// `descriptor`, in seconds since the epoch.
    ///
    /// The corresponding libuv function is `uv_fs_futime`.
    public func utime(descriptor fd: Int32, accessed: Double, modified: Double) throws(UVError) {
        try sync(.futime(fd: fd, atime: accessed, mtime: modified)) { _ in }
    }
    /// `utime(descriptor:accessed:modified:)` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func utime(descriptor fd: Int32, accessed: Double, modified: Double, _ completion: @escaping Completion<Void>) throws(UVError) -> FSRequest {
        try async(.futime(fd: fd, atime: accessed, mtime: modified), { _ in }, completion)
    }

    /// Sets the owner and group of the file at `path`; with
    /// `followingSymlinks: false`, of a symbolic link itself.
    ///
    /// The corresponding libuv functions are `uv_fs_chown` and `uv_fs_lchown`.
    public func chown(_ path: String, uid: UInt32, gid: UInt32, followingSymlinks: Bool = true) throws(UVError) {
        try sync(followingSymlinks ? .chown(path: path, uid: uid, gid: gid) : .lchown(path: path, uid: uid, gid: gid)) { _ in }
    }
    /// `chown(_:uid:gid:followingSymlinks:)` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func chown(_ path: String, uid: UInt32, gid: UInt32, followingSymlinks: Bool = true,
                      _ completion: @escaping Completion<Void>) throws(UVError) -> FSRequest {
        try async(followingSymlinks ? .chown(path: path, uid: uid, gid: gid) : .lchown(path: path, uid: uid, gid: gid),
                  { _ in }, completion)
    }

    /// Sets the owner and group of the open file `descriptor`.
    ///
    /// The corresponding libuv function is `uv_fs_fchown`.
    public func chown(descriptor fd: Int32, uid: UInt32, gid: UInt32) throws(UVError) { try sync(.fchown(fd: fd, uid: uid, gid: gid)) { _ in } }
    /// `chown(descriptor:uid:gid:)` on the thread pool: `completion` gets the result on the loop
    /// thread; the returned request can be cancelled while it waits.
    @discardableResult
    public func chown(descriptor fd: Int32, uid: UInt32, gid: UInt32, _ completion: @escaping Completion<Void>) throws(UVError) -> FSRequest {
        try async(.fchown(fd: fd, uid: uid, gid: gid), { _ in }, completion)
    }

    // MARK: Conveniences

    /// Replaces a file's content (created with `mode` if missing).
    public func writeFile<Bytes: Collection>(_ path: String, _ bytes: Bytes, mode: Int32 = 0o644) throws(UVError) where Bytes.Element == UInt8 {
        let fd = try open(path, flags: [.writeOnly, .create, .truncate], mode: mode)
        defer { try? close(fd) }
        let data = Array(bytes)
        var offset = 0
        while offset < data.count {
            offset += try write(fd, data[offset...])
        }
    }
}
