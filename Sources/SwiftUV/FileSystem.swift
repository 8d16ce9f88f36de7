import CUV
import NativeLoop

#if canImport(Glibc)
import Glibc
#endif

/// File metadata (`uv_stat_t`).
public struct FileStat: Sendable, Equatable {
    /// The device holding the file (`st_dev`).
    public var device: UInt64
    /// The file's type and permission bits (`st_mode`).
    public var mode: UInt64
    /// How many hard links name the file (`st_nlink`).
    public var linkCount: UInt64
    /// The owner's user id (`st_uid`).
    public var uid: UInt64
    /// The owner's group id (`st_gid`).
    public var gid: UInt64
    /// The device a device file stands for (`st_rdev`).
    public var specialDevice: UInt64
    /// The file's inode number (`st_ino`).
    public var inode: UInt64
    /// The size in bytes (`st_size`).
    public var size: UInt64
    /// The preferred size of an I/O block (`st_blksize`).
    public var blockSize: UInt64
    /// How many 512-byte blocks the file takes (`st_blocks`).
    public var blocks: UInt64
    /// The last access: seconds and nanoseconds since the epoch.
    public var accessed: (seconds: Int64, nanoseconds: Int64)
    /// The last change of the contents, since the epoch.
    public var modified: (seconds: Int64, nanoseconds: Int64)
    /// The last change of the metadata, since the epoch.
    public var changed: (seconds: Int64, nanoseconds: Int64)
    /// The creation, since the epoch, where the file system records it.
    public var born: (seconds: Int64, nanoseconds: Int64)

    /// Whether the file is a directory.
    public var isDirectory: Bool { mode & 0o170000 == 0o040000 }
    /// Whether the file is a regular file.
    public var isRegularFile: Bool { mode & 0o170000 == 0o100000 }
    /// Whether the file is a symbolic link (from `lstat`).
    public var isSymbolicLink: Bool { mode & 0o170000 == 0o120000 }
    /// The permission bits.
    public var permissions: Int32 { Int32(mode & 0o7777) }

    /// Whether every field is the same.
    public static func == (a: FileStat, b: FileStat) -> Bool {
        a.device == b.device && a.mode == b.mode && a.linkCount == b.linkCount && a.uid == b.uid && a.gid == b.gid
            && a.specialDevice == b.specialDevice && a.inode == b.inode && a.size == b.size
            && a.blockSize == b.blockSize && a.blocks == b.blocks && a.accessed == b.accessed
            && a.modified == b.modified && a.changed == b.changed && a.born == b.born
    }

    init(_ s: uv_stat_t) {
        device = s.st_dev; mode = s.st_mode; linkCount = s.st_nlink; uid = s.st_uid; gid = s.st_gid
        specialDevice = s.st_rdev; inode = s.st_ino; size = s.st_size; blockSize = s.st_blksize; blocks = s.st_blocks
        accessed = (Int64(s.st_atim.tv_sec), Int64(s.st_atim.tv_nsec))
        modified = (Int64(s.st_mtim.tv_sec), Int64(s.st_mtim.tv_nsec))
        changed = (Int64(s.st_ctim.tv_sec), Int64(s.st_ctim.tv_nsec))
        born = (Int64(s.st_birthtim.tv_sec), Int64(s.st_birthtim.tv_nsec))
    }

    init(_ s: NativeStat) {
        device = s.dev; mode = s.mode; linkCount = s.nlink; uid = s.uid; gid = s.gid
        specialDevice = s.rdev; inode = s.ino; size = s.size; blockSize = s.blksize; blocks = s.blocks
        accessed = s.atime; modified = s.mtime; changed = s.ctime; born = s.birthtime
    }
}

/// File system statistics (`uv_statfs_t`).
public struct FileSystemStats: Sendable, Equatable {
    /// The file system's type, a magic number (`f_type`).
    public let type: UInt64
    /// The block size in bytes (`f_bsize`).
    public let blockSize: UInt64
    /// The size in blocks (`f_blocks`).
    public let blocks: UInt64
    /// Free blocks (`f_bfree`).
    public let freeBlocks: UInt64
    /// Free blocks an unprivileged user may use (`f_bavail`).
    public let availableBlocks: UInt64
    /// Inodes in all (`f_files`).
    public let files: UInt64
    /// Free inodes (`f_ffree`).
    public let freeFiles: UInt64
}

/// A directory opened for reading in batches (`uv_dir_t`). Close it when
/// done.
public final class Directory {
    let fs: FileSystem
    /// `uv_dir_t*` (with its entry buffer) or the native `DIR*`.
    @exclusivity(unchecked)
    private var pointer: OpaquePointer?
    @exclusivity(unchecked)
    private var entryBuffer: UnsafeMutablePointer<uv_dirent_t>?
    @exclusivity(unchecked)
    private var capacity = 0
    /// An asynchronous read is in flight: a second read or a close would
    /// touch the directory (and libuv's entry buffer) under the pool thread.
    @exclusivity(unchecked)
    private var reading = false

    init(fs: FileSystem, pointer: OpaquePointer) {
        self.fs = fs
        self.pointer = pointer
    }

    deinit { free(entryBuffer) }

    /// The most entries one `read` may ask for: libuv's caller allocates
    /// room for all of them up front (16 bytes each), so a count no memory
    /// can hold is refused on both backends, the same way.
    public static let maximumEntriesPerRead = 1 << 20

    private func prepare(_ max: Int) throws(UVError) -> NativeFSOperation {
        guard let pointer else { throw UVError.invalidArgument.with(context: "Directory.read: the directory is closed") }
        if reading { throw UVError.busy.with(context: "Directory.read: a read of this directory is in flight") }
        guard (1...Self.maximumEntriesPerRead).contains(max) else {
            throw InputCheck.refuse("Directory.read", "max \(max) is outside 1...\(Self.maximumEntriesPerRead)")
        }
        if case .uv = fs.loop.core {
            if capacity < max {
                free(entryBuffer)
                guard let memory = malloc(max * MemoryLayout<uv_dirent_t>.stride) else {
                    entryBuffer = nil
                    capacity = 0
                    throw UVError.noMemory.with(context: "Directory.read: \(max) entries")
                }
                entryBuffer = memory.bindMemory(to: uv_dirent_t.self, capacity: max)
                capacity = max
            }
            let d = UnsafeMutablePointer<uv_dir_t>(pointer)
            d.pointee.dirents = entryBuffer
            d.pointee.nentries = max
        }
        return .readdir(dir: pointer, max: max)
    }

    /// Up to `max` entries (without `.` and `..`); empty at the end.
    ///
    /// The corresponding libuv function is `uv_fs_readdir`.
    public func read(max: Int = 64) throws(UVError) -> [DirectoryEntry] {
        try fs.sync(try prepare(max)) { $0.entries ?? [] }
    }

    /// `read(max:)` on the thread pool: `completion` gets the entries on
    /// the loop thread. One read at a time: `close` waits for it.
    @discardableResult
    public func read(max: Int = 64, _ completion: @escaping FileSystem.Completion<[DirectoryEntry]>) throws(UVError) -> FSRequest {
        let request = try fs.async(try prepare(max), { $0.entries ?? [] }) { [self] result in
            reading = false
            completion(result)
        }
        reading = true
        return request
    }

    private func closing() throws(UVError) -> OpaquePointer {
        guard let p = pointer else { throw UVError.invalidArgument.with(context: "Directory.close: the directory is closed") }
        if reading { throw UVError.busy.with(context: "Directory.close: a read of this directory is in flight") }
        return p
    }

    /// The corresponding libuv function is `uv_fs_closedir`.
    public func close() throws(UVError) {
        let p = try closing()
        try fs.loop.ensureOpen("Directory.close")
        pointer = nil
        try fs.sync(.closedir(dir: p)) { _ in }
    }

    /// `close()` on the thread pool: `completion` runs on the loop thread.
    @discardableResult
    public func close(_ completion: @escaping FileSystem.Completion<Void>) throws(UVError) -> FSRequest {
        let p = try closing()
        try fs.loop.ensureOpen("Directory.close")
        pointer = nil
        return try fs.async(.closedir(dir: p), { _ in }, completion)
    }
}

/// A directory entry with its type (`uv_dirent_t`).
public struct DirectoryEntry: Sendable, Hashable {
    /// `uv_dirent_type_t`.
    public enum Kind: Int32, Sendable {
        /// The file system did not say (`UV_DIRENT_UNKNOWN`).
        case unknown = 0
        /// A regular file.
        case file
        /// A directory.
        case directory
        /// A symbolic link.
        case link
        /// A named pipe.
        case fifo
        /// A Unix socket.
        case socket
        /// A character device.
        case characterDevice
        /// A block device.
        case blockDevice
    }
    /// The entry's name within its directory.
    public let name: String
    /// What the entry is.
    public let kind: Kind
}

/// Flags for `open` (`UV_FS_O_*`, which are the system's `O_*` on Linux).
public struct OpenFlags: OptionSet, Sendable {
    /// The `O_*` bits given to `open(2)`.
    public let rawValue: Int32
    /// Flags from `O_*` bits.
    public init(rawValue: Int32) { self.rawValue = rawValue }
    /// Reading only (`O_RDONLY`, no bit): the default.
    public static let readOnly = OpenFlags([])
    /// Writing only (`O_WRONLY`).
    public static let writeOnly = OpenFlags(rawValue: O_WRONLY)
    /// Reading and writing (`O_RDWR`).
    public static let readWrite = OpenFlags(rawValue: O_RDWR)
    /// Make the file if it does not exist, with the call's mode (`O_CREAT`).
    public static let create = OpenFlags(rawValue: O_CREAT)
    /// With `create`, fail with `UVError.fileExists` if it exists (`O_EXCL`).
    public static let exclusive = OpenFlags(rawValue: O_EXCL)
    /// Empty the file on open (`O_TRUNC`).
    public static let truncate = OpenFlags(rawValue: O_TRUNC)
    /// Every write goes to the end of the file (`O_APPEND`).
    public static let append = OpenFlags(rawValue: O_APPEND)
    /// Fail unless the path is a directory (`O_DIRECTORY`).
    public static let directory = OpenFlags(rawValue: O_DIRECTORY)
    /// Fail on a symbolic link instead of following it (`O_NOFOLLOW`).
    public static let noFollow = OpenFlags(rawValue: O_NOFOLLOW)
    /// Each write returns once the data and metadata are on disk (`O_SYNC`).
    public static let sync = OpenFlags(rawValue: O_SYNC)
}

/// A file system request in flight on the thread pool; cancel it while it is
/// queued and its completion gets `UVError.cancelled`.
public final class FSRequest {
    fileprivate enum Core {
        case uv(UnsafeMutablePointer<uv_fs_t>)
        case native(NativeWork)
    }
    @exclusivity(unchecked)
    fileprivate var core: Core?
    /// The loop this runs on.
    public let loop: Loop
    /// Its creation order on its loop, as traces name it.
    let objectID: Int

    fileprivate init(loop: Loop) {
        self.loop = loop
        self.objectID = loop.takeObjectID()
    }

    /// Cancels the request if no pool thread has taken it; else
    /// `UVError.busy`.
    ///
    /// The corresponding libuv function is `uv_cancel`.
    public func cancel() throws(UVError) {
        switch core {
        case .uv(let r): try check(uv_cancel(UnsafeMutableRawPointer(r).assumingMemoryBound(to: uv_req_t.self)))
        case .native(let w): do { try w.cancel() } catch { throw UVError(error) }
        case nil: throw UVError.busy.with(context: "FSRequest.cancel: the request has finished")
        }
    }
}

/// The file system of a loop: every call exists synchronously (it runs on
/// the calling thread and returns the result) and asynchronously (it runs on
/// the thread pool and calls back on the loop thread), as libuv's `uv_fs_*`
/// with and without a callback. Get one with `loop.fs`.
public struct FileSystem {
    /// The loop this runs on.
    public let loop: Loop

    // MARK: Engine

    /// The result of an operation on either backend.
    struct Outcome {
        var result: Int = 0
        var stat: FileStat?
        var string: String?
        var entries: [DirectoryEntry]?
        var statfs: FileSystemStats?
        /// `uv_dir_t*` or `DIR*`, from `opendir`.
        var dir: OpaquePointer?
    }

    /// Runs `op` now on the calling thread.
    func sync<T>(_ op: NativeFSOperation, _ map: (Outcome) -> T) throws(UVError) -> T {
        try loop.ensureOpen(op.name)
        try op.validate()
        let outcome: Outcome
        switch loop.core {
        case .uv(let l):
            var req = uv_fs_t()
            _ = Self.startUV(op, l, &req, nil)
            outcome = Self.outcome(of: &req, op)
            uv_fs_req_cleanup(&req)
        case .native:
            outcome = Outcome(NativeFS.perform(op))
        }
        if outcome.result < 0 { throw op.error(Int32(outcome.result)) }
        return map(outcome)
    }

    /// `sync` for the stat family, read straight from the request: the
    /// general `Outcome` (a dozen optionals) costs a stat several copies of
    /// its 150 bytes.
    func syncStat(_ op: NativeFSOperation) throws(UVError) -> FileStat {
        try loop.ensureOpen(op.name)
        try op.validate()
        switch loop.core {
        case .uv(let l):
            var req = uv_fs_t()
            let status = Self.startUV(op, l, &req, nil)
            defer { uv_fs_req_cleanup(&req) }
            if status < 0 { throw op.error(status) }
            return FileStat(req.statbuf)
        case .native:
            let result = NativeFS.perform(op)
            guard result.result >= 0, let stat = result.stat else { throw op.error(Int32(result.result)) }
            return FileStat(stat)
        }
    }

    /// Runs `op` on the pool; `completion` gets the mapped result.
    func async<T>(_ op: NativeFSOperation, _ map: @escaping (Outcome) -> T, cleanup: (() -> Void)? = nil,
                  _ completion: @escaping (Result<T, UVError>) -> Void) throws(UVError) -> FSRequest {
        do throws(UVError) {
            try loop.ensureOpen(op.name)
            try op.validate()
        } catch {
            cleanup?()
            throw error
        }
        let request = FSRequest(loop: loop)
        let finish: (Outcome) -> Void = { outcome in
            request.core = nil
            request.loop.liveRequestCount -= 1
            // Map before the clean-up: a read maps from the buffer it frees.
            let result: Result<T, UVError> = outcome.result < 0 ? .failure(op.error(Int32(outcome.result))) : .success(map(outcome))
            cleanup?()
            request.loop.deliver(.fs, request.objectID, .done(Int32(clamping: min(outcome.result, 0)))) { completion(result) }
        }
        switch loop.core {
        case .uv(let l):
            let req = UnsafeMutablePointer<uv_fs_t>.allocate(capacity: 1)
            let context = FSContext(op: op, finish: finish)
            req.pointee.data = Unmanaged.passRetained(context).toOpaque()
            let status = Self.startUV(op, l, req) { req in
                let context = Unmanaged<FSContext>.fromOpaque(req!.pointee.data).takeRetainedValue()
                let outcome = FileSystem.outcome(of: req!, context.op)
                uv_fs_req_cleanup(req)
                req!.deallocate()
                context.finish(outcome)
            }
            if status < 0 {
                Unmanaged<FSContext>.fromOpaque(req.pointee.data).release()
                req.deallocate()
                cleanup?()
                throw op.error(status)
            }
            request.core = .uv(req)
        case .native(let l):
            let box = FSBox()
            let work = NativeWork(loop: l, work: { box.result = NativeFS.perform(op) }, done: { status in
                var outcome = Outcome(box.result)
                if status != 0 { outcome.result = Int(status) }
                finish(outcome)
            })
            do { try work.submit() } catch {
                cleanup?()
                throw UVError(error)
            }
            request.core = .native(work)
        }
        loop.liveRequestCount += 1
        return request
    }

    /// Starts `op` with libuv (synchronously when `cb` is nil).
    private static func startUV(_ op: NativeFSOperation, _ l: UnsafeMutablePointer<uv_loop_t>,
                                _ req: UnsafeMutablePointer<uv_fs_t>, _ cb: uv_fs_cb?) -> Int32 {
        switch op {
        case .open(let path, let flags, let mode): return path.withCString { uv_fs_open(l, req, $0, flags, mode, cb) }
        case .close(let fd): return uv_fs_close(l, req, fd, cb)
        case .read(let fd, let buffer, let offset):
            var buf = uvBuffer(buffer.baseAddress, buffer.count)
            return uv_fs_read(l, req, fd, &buf, 1, offset, cb)
        case .write(let fd, let buffers, let offset):
            var bufs = buffers.map { uvBuffer($0.baseAddress, $0.count) }
            return uv_fs_write(l, req, fd, &bufs, UInt32(bufs.count), offset, cb)
        case .unlink(let path): return path.withCString { uv_fs_unlink(l, req, $0, cb) }
        case .mkdir(let path, let mode): return path.withCString { uv_fs_mkdir(l, req, $0, mode, cb) }
        case .mkdtemp(let template): return template.withCString { uv_fs_mkdtemp(l, req, $0, cb) }
        case .rmdir(let path): return path.withCString { uv_fs_rmdir(l, req, $0, cb) }
        case .scandir(let path): return path.withCString { uv_fs_scandir(l, req, $0, 0, cb) }
        case .stat(let path): return path.withCString { uv_fs_stat(l, req, $0, cb) }
        case .fstat(let fd): return uv_fs_fstat(l, req, fd, cb)
        case .lstat(let path): return path.withCString { uv_fs_lstat(l, req, $0, cb) }
        case .rename(let path, let newPath): return path.withCString { p in newPath.withCString { n in uv_fs_rename(l, req, p, n, cb) } }
        case .fsync(let fd): return uv_fs_fsync(l, req, fd, cb)
        case .fdatasync(let fd): return uv_fs_fdatasync(l, req, fd, cb)
        case .ftruncate(let fd, let length): return uv_fs_ftruncate(l, req, fd, length, cb)
        case .access(let path, let mode): return path.withCString { uv_fs_access(l, req, $0, mode, cb) }
        case .chmod(let path, let mode): return path.withCString { uv_fs_chmod(l, req, $0, mode, cb) }
        case .fchmod(let fd, let mode): return uv_fs_fchmod(l, req, fd, mode, cb)
        case .readlink(let path): return path.withCString { uv_fs_readlink(l, req, $0, cb) }
        case .realpath(let path): return path.withCString { uv_fs_realpath(l, req, $0, cb) }
        case .symlink(let path, let newPath): return path.withCString { p in newPath.withCString { n in uv_fs_symlink(l, req, p, n, 0, cb) } }
        case .link(let path, let newPath): return path.withCString { p in newPath.withCString { n in uv_fs_link(l, req, p, n, cb) } }
        case .copyfile(let path, let newPath, let exclusive):
            return path.withCString { p in newPath.withCString { n in uv_fs_copyfile(l, req, p, n, exclusive ? UV_FS_COPYFILE_EXCL : 0, cb) } }
        case .mkstemp(let template): return template.withCString { uv_fs_mkstemp(l, req, $0, cb) }
        case .opendir(let path): return path.withCString { uv_fs_opendir(l, req, $0, cb) }
        case .readdir(let dir, _): return uv_fs_readdir(l, req, UnsafeMutablePointer<uv_dir_t>(dir), cb)
        case .closedir(let dir): return uv_fs_closedir(l, req, UnsafeMutablePointer<uv_dir_t>(dir), cb)
        case .statfs(let path): return path.withCString { uv_fs_statfs(l, req, $0, cb) }
        case .sendfile(let out, let inFD, let offset, let length): return uv_fs_sendfile(l, req, out, inFD, offset, length, cb)
        case .utime(let path, let a, let m): return path.withCString { uv_fs_utime(l, req, $0, a, m, cb) }
        case .futime(let fd, let a, let m): return uv_fs_futime(l, req, fd, a, m, cb)
        case .lutime(let path, let a, let m): return path.withCString { uv_fs_lutime(l, req, $0, a, m, cb) }
        case .chown(let path, let uid, let gid): return path.withCString { uv_fs_chown(l, req, $0, uid, gid, cb) }
        case .fchown(let fd, let uid, let gid): return uv_fs_fchown(l, req, fd, uid, gid, cb)
        case .lchown(let path, let uid, let gid): return path.withCString { uv_fs_lchown(l, req, $0, uid, gid, cb) }
        }
    }

    /// Reads what a finished libuv request holds.
    private static func outcome(of req: UnsafeMutablePointer<uv_fs_t>, _ op: NativeFSOperation) -> Outcome {
        var o = Outcome()
        o.result = uv_fs_get_result(req)
        if case .mkstemp = op { o.string = uv_fs_get_path(req).map { String(cString: $0) } }
        guard o.result >= 0 else { return o }
        switch op {
        case .opendir: o.dir = uv_fs_get_ptr(req).map { OpaquePointer($0) }
        case .readdir(let dir, _):
            let d = UnsafeMutablePointer<uv_dir_t>(dir)
            o.entries = (0..<o.result).map { i in
                let e = d.pointee.dirents[i]
                return DirectoryEntry(name: String(cString: e.name), kind: DirectoryEntry.Kind(rawValue: Int32(e.type.rawValue)) ?? .unknown)
            }
        case .statfs:
            if let p = uv_fs_get_ptr(req)?.assumingMemoryBound(to: uv_statfs_t.self) {
                o.statfs = FileSystemStats(type: p.pointee.f_type, blockSize: p.pointee.f_bsize, blocks: p.pointee.f_blocks,
                                           freeBlocks: p.pointee.f_bfree, availableBlocks: p.pointee.f_bavail,
                                           files: p.pointee.f_files, freeFiles: p.pointee.f_ffree)
            }
        case .stat, .fstat, .lstat: o.stat = FileStat(req.pointee.statbuf)
        case .readlink, .realpath: o.string = uv_fs_get_ptr(req).map { String(cString: $0.assumingMemoryBound(to: CChar.self)) }
        case .mkdtemp: o.string = uv_fs_get_path(req).map { String(cString: $0) }
        case .scandir:
            var entries: [DirectoryEntry] = []
            var ent = uv_dirent_t()
            while uv_fs_scandir_next(req, &ent) == 0 {
                entries.append(DirectoryEntry(name: String(cString: ent.name),
                                              kind: DirectoryEntry.Kind(rawValue: Int32(ent.type.rawValue)) ?? .unknown))
            }
            o.entries = entries
        default: break
        }
        return o
    }
}

extension FileSystem.Outcome {
    init(_ r: NativeFSResult) {
        result = r.result
        stat = r.stat.map(FileStat.init)
        string = r.string
        entries = r.entries?.map { DirectoryEntry(name: $0.name, kind: DirectoryEntry.Kind(rawValue: $0.type) ?? .unknown) }
        statfs = r.statfs.map {
            FileSystemStats(type: $0.type, blockSize: $0.blockSize, blocks: $0.blocks, freeBlocks: $0.freeBlocks,
                            availableBlocks: $0.availableBlocks, files: $0.files, freeFiles: $0.freeFiles)
        }
        dir = r.dir
    }
}

/// The operation and completion of a libuv request, pinned by `req->data`.
private final class FSContext {
    let op: NativeFSOperation
    let finish: (FileSystem.Outcome) -> Void
    init(op: NativeFSOperation, finish: @escaping (FileSystem.Outcome) -> Void) {
        self.op = op
        self.finish = finish
    }
}

/// Carries a native result from the pool to the loop thread.
private final class FSBox: @unchecked Sendable {
    @exclusivity(unchecked)
    var result = NativeFSResult()
}

extension Loop {
    /// This loop's file system calls.
    public var fs: FileSystem { FileSystem(loop: self) }
}
