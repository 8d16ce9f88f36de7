#if canImport(Glibc)
import Glibc
#endif
import CNativeSystem

/// A file system operation, as libuv's `uv_fs_*` calls; both backends run
/// the same description.
package enum NativeFSOperation: @unchecked Sendable {
    case open(path: String, flags: Int32, mode: Int32)
    case close(fd: Int32)
    /// Reads up to `count` bytes; offset -1 reads at the file position.
    case read(fd: Int32, buffer: UnsafeMutableRawBufferPointer, offset: Int64)
    case write(fd: Int32, buffers: [UnsafeRawBufferPointer], offset: Int64)
    case unlink(path: String)
    case mkdir(path: String, mode: Int32)
    case mkdtemp(template: String)
    case rmdir(path: String)
    case scandir(path: String)
    case stat(path: String)
    case fstat(fd: Int32)
    case lstat(path: String)
    case rename(path: String, newPath: String)
    case fsync(fd: Int32)
    case fdatasync(fd: Int32)
    case ftruncate(fd: Int32, length: Int64)
    case access(path: String, mode: Int32)
    case chmod(path: String, mode: Int32)
    case fchmod(fd: Int32, mode: Int32)
    case readlink(path: String)
    case realpath(path: String)
    case symlink(path: String, newPath: String)
    case link(path: String, newPath: String)
    case copyfile(path: String, newPath: String, exclusive: Bool)
    case mkstemp(template: String)
    case opendir(path: String)
    /// Reads up to `max` entries of a directory opened by `opendir`.
    case readdir(dir: OpaquePointer, max: Int)
    case closedir(dir: OpaquePointer)
    case statfs(path: String)
    case sendfile(out: Int32, in: Int32, offset: Int64, length: Int)
    case utime(path: String, atime: Double, mtime: Double)
    case futime(fd: Int32, atime: Double, mtime: Double)
    case lutime(path: String, atime: Double, mtime: Double)
    case chown(path: String, uid: UInt32, gid: UInt32)
    case fchown(fd: Int32, uid: UInt32, gid: UInt32)
    case lchown(path: String, uid: UInt32, gid: UInt32)
}

/// `uv_statfs_t`.
package struct NativeStatFS: Sendable, Equatable {
    package var type: UInt64 = 0, blockSize: UInt64 = 0, blocks: UInt64 = 0, freeBlocks: UInt64 = 0
    package var availableBlocks: UInt64 = 0, files: UInt64 = 0, freeFiles: UInt64 = 0
    package init() {}
}

/// `uv_stat_t`, field for field.
package struct NativeStat: Sendable, Equatable {
    package var dev: UInt64 = 0, mode: UInt64 = 0, nlink: UInt64 = 0, uid: UInt64 = 0, gid: UInt64 = 0
    package var rdev: UInt64 = 0, ino: UInt64 = 0, size: UInt64 = 0, blksize: UInt64 = 0, blocks: UInt64 = 0
    package var flags: UInt64 = 0, gen: UInt64 = 0
    package var atime: (Int64, Int64) = (0, 0), mtime: (Int64, Int64) = (0, 0)
    package var ctime: (Int64, Int64) = (0, 0), birthtime: (Int64, Int64) = (0, 0)

    package init() {}

    package static func == (a: NativeStat, b: NativeStat) -> Bool {
        a.dev == b.dev && a.mode == b.mode && a.nlink == b.nlink && a.uid == b.uid && a.gid == b.gid
            && a.rdev == b.rdev && a.ino == b.ino && a.size == b.size && a.blksize == b.blksize
            && a.blocks == b.blocks && a.atime == b.atime && a.mtime == b.mtime && a.ctime == b.ctime
            && a.birthtime == b.birthtime
    }
}

/// What an operation gives back: libuv's `req->result`, and its `statbuf`,
/// `ptr` or `path` as the operation fills them.
package struct NativeFSResult: @unchecked Sendable {
    package var result: Int = 0
    package var stat: NativeStat?
    package var string: String?
    /// Directory entries with libuv's `uv_dirent_type_t`.
    package var entries: [(name: String, type: Int32)]?
    package var statfs: NativeStatFS?
    /// The `DIR*` of an `opendir`.
    package var dir: OpaquePointer?

    package init() {}
}

/// The native file system: each operation is the system call libuv makes,
/// with the same flags (`O_CLOEXEC` on open, `statx` for stat, sorted
/// `scandir` without `.` and `..`), run on the thread pool when asynchronous.
package enum NativeFS {
    package static func perform(_ op: NativeFSOperation) -> NativeFSResult {
        var r = NativeFSResult()
        func status(_ value: Int) -> Int { value < 0 ? Int(-errno) : value }
        switch op {
        case .open(let path, let flags, let mode):
            r.result = status(Int(Glibc.open(path, flags | O_CLOEXEC, mode_t(mode))))
        case .close(let fd):
            r.result = Glibc.close(fd) == 0 ? 0 : Int(-errno)
        case .read(let fd, let buffer, let offset):
            var n: Int
            repeat {
                n = offset < 0 ? Glibc.read(fd, buffer.baseAddress, buffer.count) : pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
            } while n < 0 && errno == EINTR
            r.result = status(n)
        case .write(let fd, let buffers, let offset):
            let iov = buffers.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count) }
            var n: Int
            repeat {
                n = offset < 0 ? writev(fd, iov, Int32(iov.count)) : pwritev(fd, iov, Int32(iov.count), off_t(offset))
            } while n < 0 && errno == EINTR
            r.result = status(n)
        case .unlink(let path): r.result = status(Int(Glibc.unlink(path)))
        case .mkdir(let path, let mode): r.result = status(Int(Glibc.mkdir(path, mode_t(mode))))
        case .mkdtemp(let template):
            var bytes = Array(template.utf8CString)
            let p = bytes.withUnsafeMutableBufferPointer { Glibc.mkdtemp($0.baseAddress!) }
            if p == nil {
                r.result = Int(-errno)
            } else {
                r.string = String(decoding: bytes.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            if r.string == nil { r.string = template }
        case .rmdir(let path): r.result = status(Int(Glibc.rmdir(path)))
        case .scandir(let path):
            guard let dir = opendir(path) else {
                r.result = Int(-errno)
                break
            }
            var entries: [(String, Int32)] = []
            while let e = readdir(dir) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
                if name == "." || name == ".." { continue }
                entries.append((name, direntType(e.pointee.d_type)))
            }
            closedir(dir)
            entries.sort { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
            r.entries = entries.map { (name: $0.0, type: $0.1) }
            r.result = entries.count
        case .stat(let path): (r.result, r.stat) = stat(dirfd: AT_FDCWD, path: path, flags: 0)
        case .fstat(let fd): (r.result, r.stat) = stat(dirfd: fd, path: "", flags: 0x1000)
        case .lstat(let path): (r.result, r.stat) = stat(dirfd: AT_FDCWD, path: path, flags: AT_SYMLINK_NOFOLLOW)
        case .rename(let path, let newPath): r.result = status(Int(Glibc.rename(path, newPath)))
        case .fsync(let fd): r.result = status(Int(Glibc.fsync(fd)))
        case .fdatasync(let fd): r.result = status(Int(Glibc.fdatasync(fd)))
        case .ftruncate(let fd, let length): r.result = status(Int(Glibc.ftruncate(fd, off_t(length))))
        case .access(let path, let mode): r.result = status(Int(Glibc.access(path, mode)))
        case .chmod(let path, let mode): r.result = status(Int(Glibc.chmod(path, mode_t(mode))))
        case .fchmod(let fd, let mode): r.result = status(Int(Glibc.fchmod(fd, mode_t(mode))))
        case .readlink(let path):
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = Glibc.readlink(path, &buffer, buffer.count - 1)
            if n < 0 { r.result = Int(-errno) } else {
                r.string = String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        case .realpath(let path):
            if let p = Glibc.realpath(path, nil) {
                r.string = String(cString: p)
                free(p)
            } else {
                r.result = Int(-errno)
            }
        case .symlink(let path, let newPath): r.result = status(Int(Glibc.symlink(path, newPath)))
        case .link(let path, let newPath): r.result = status(Int(Glibc.link(path, newPath)))
        case .copyfile(let path, let newPath, let exclusive):
            r.result = copyFile(path, newPath, exclusive: exclusive)
        case .mkstemp(let template):
            guard template.hasSuffix("XXXXXX") else {
                r.result = Int(-EINVAL)
                r.string = template
                break
            }
            var bytes = Array(template.utf8CString)
            let fd = bytes.withUnsafeMutableBufferPointer { Glibc.mkstemp($0.baseAddress!) }
            if fd < 0 { r.result = Int(-errno) } else {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                r.result = Int(fd)
            }
            r.string = String(decoding: bytes.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        case .opendir(let path):
            if let d = Glibc.opendir(path) { r.dir = d } else { r.result = Int(-errno) }
        case .readdir(let dir, let max):
            var entries: [(name: String, type: Int32)] = []
            while entries.count < max {
                errno = 0
                guard let e = Glibc.readdir(dir) else {
                    if errno != 0 { r.result = Int(-errno) }
                    break
                }
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
                if name == "." || name == ".." { continue }
                entries.append((name, direntType(e.pointee.d_type)))
            }
            if r.result == 0 { r.result = entries.count }
            r.entries = entries
        case .closedir(let dir):
            Glibc.closedir(dir)
        case .statfs(let path):
            var f = [UInt64](repeating: 0, count: 7)
            if cnative_statfs(path, &f) != 0 { r.result = Int(-errno) } else {
                var out = NativeStatFS()
                (out.type, out.blockSize, out.blocks, out.freeBlocks) = (f[0], f[1], f[2], f[3])
                (out.availableBlocks, out.files, out.freeFiles) = (f[4], f[5], f[6])
                r.statfs = out
            }
        case .sendfile(let out, let inFD, let offset, let length):
            var off = off_t(offset)
            let n = cnative_sendfile(out, inFD, &off, length)
            r.result = n < 0 ? Int(-errno) : n
        case .utime(let path, let atime, let mtime):
            var times = [timespecOf(atime), timespecOf(mtime)]
            r.result = status(Int(utimensat(AT_FDCWD, path, &times, 0)))
        case .futime(let fd, let atime, let mtime):
            var times = [timespecOf(atime), timespecOf(mtime)]
            r.result = status(Int(futimens(fd, &times)))
        case .lutime(let path, let atime, let mtime):
            var times = [timespecOf(atime), timespecOf(mtime)]
            r.result = status(Int(utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)))
        case .chown(let path, let uid, let gid): r.result = status(Int(Glibc.chown(path, uid, gid)))
        case .fchown(let fd, let uid, let gid): r.result = status(Int(Glibc.fchown(fd, uid, gid)))
        case .lchown(let path, let uid, let gid): r.result = status(Int(Glibc.lchown(path, uid, gid)))
        }
        return r
    }

    /// libuv's `uv__fs_to_timespec`: whole seconds, and the fraction in
    /// nanoseconds (rounded towards the earlier instant for negative times).
    static func timespecOf(_ time: Double) -> timespec {
        var sec = Int(time)
        var nsec = Int((time - Double(sec)) * 1e9)
        if nsec < 0 {
            sec -= 1
            nsec += 1_000_000_000
        }
        return timespec(tv_sec: sec, tv_nsec: nsec)
    }

    /// libuv's `uv_dirent_type_t` for a `d_type`.
    static func direntType(_ t: UInt8) -> Int32 {
        switch Int(t) {
        case Int(DT_REG): return 1
        case Int(DT_DIR): return 2
        case Int(DT_LNK): return 3
        case Int(DT_FIFO): return 4
        case Int(DT_SOCK): return 5
        case Int(DT_CHR): return 6
        case Int(DT_BLK): return 7
        default: return 0
        }
    }

    private static func stat(dirfd: Int32, path: String, flags: Int32) -> (Int, NativeStat?) {
        var sx = statx()
        if cnative_statx(dirfd, path, flags, &sx) != 0 { return (Int(-errno), nil) }
        var s = NativeStat()
        s.dev = makedev(sx.stx_dev_major, sx.stx_dev_minor)
        s.mode = UInt64(sx.stx_mode)
        s.nlink = UInt64(sx.stx_nlink)
        s.uid = UInt64(sx.stx_uid)
        s.gid = UInt64(sx.stx_gid)
        s.rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor)
        s.ino = sx.stx_ino
        s.size = sx.stx_size
        s.blksize = UInt64(sx.stx_blksize)
        s.blocks = sx.stx_blocks
        s.atime = (sx.stx_atime.tv_sec, Int64(sx.stx_atime.tv_nsec))
        s.mtime = (sx.stx_mtime.tv_sec, Int64(sx.stx_mtime.tv_nsec))
        s.ctime = (sx.stx_ctime.tv_sec, Int64(sx.stx_ctime.tv_nsec))
        s.birthtime = (sx.stx_btime.tv_sec, Int64(sx.stx_btime.tv_nsec))
        return (0, s)
    }

    /// glibc's `makedev`.
    private static func makedev(_ major: UInt32, _ minor: UInt32) -> UInt64 {
        let ma = UInt64(major), mi = UInt64(minor)
        return ((ma & 0x0000_0fff) << 8) | ((ma & 0xffff_f000) << 32) | (mi & 0x0000_00ff) | ((mi & 0xffff_ff00) << 12)
    }

    /// `uv_fs_copyfile`, as libuv 1.44.2's `uv__fs_copyfile`: `EEXIST` with
    /// `exclusive` when the destination exists; without it, a destination
    /// that is the source itself is left alone (truncating it would empty
    /// the source). The mode is set before the copy (an `EPERM` is ignored,
    /// as on CIFS shares), then the source's size in bytes is copied, no
    /// more (a device such as `/dev/zero` gives an empty copy).
    private static func copyFile(_ from: String, _ to: String, exclusive: Bool) -> Int {
        let src = Glibc.open(from, O_RDONLY | O_CLOEXEC)
        if src < 0 { return Int(-errno) }
        defer { Glibc.close(src) }
        var st = Glibc.stat()
        if fstat(src, &st) != 0 { return Int(-errno) }
        let dst = Glibc.open(to, O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : 0), st.st_mode)
        if dst < 0 { return Int(-errno) }
        var failure = 0
        var sameFile = false
        if !exclusive {
            var dstat = Glibc.stat()
            if fstat(dst, &dstat) != 0 {
                failure = Int(-errno)
            } else if dstat.st_dev == st.st_dev && dstat.st_ino == st.st_ino {
                sameFile = true
            } else if ftruncate(dst, 0) != 0 && errno != EACCES {
                failure = Int(-errno)
            }
        }
        if failure == 0 && !sameFile && fchmod(dst, st.st_mode) != 0 && errno != EPERM { failure = Int(-errno) }
        var remaining = Int(st.st_size)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while failure == 0 && !sameFile && remaining > 0 {
            let n = Glibc.read(src, &buffer, Swift.min(buffer.count, remaining))
            if n < 0 { if errno == EINTR { continue }; failure = Int(-errno); break }
            if n == 0 { break }
            var off = 0
            while off < n {
                let w = buffer.withUnsafeBytes { Glibc.write(dst, $0.baseAddress! + off, n - off) }
                if w < 0 { if errno == EINTR { continue }; failure = Int(-errno); break }
                off += w
            }
            remaining -= n
        }
        if Glibc.close(dst) != 0 && failure == 0 { failure = Int(-errno) }
        if failure != 0 { Glibc.unlink(to) }
        return failure
    }
}
