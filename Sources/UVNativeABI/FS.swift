#if canImport(Glibc)
import Glibc
#endif
import CUVLayout
import NativeLoop

/// The result of a file system operation run on a pool thread, handed to
/// the loop thread.
private final class FSOutcome: @unchecked Sendable {
    var result = NativeFSResult()
}

/// A copy of a C string for `req->path` of an asynchronous request (freed
/// by `uv_fs_req_cleanup`), as libuv copies it.
private func copied(_ path: UnsafePointer<CChar>?) -> UnsafePointer<CChar>? {
    guard let path else { return nil }
    return UnsafePointer(strdup(path))
}

private func string(_ path: UnsafePointer<CChar>) -> String { String(cString: path) }

/// Fills `uv_stat_t` from the native stat.
func storeStat(_ s: NativeStat, into out: inout uv_stat_t) {
    out.st_dev = s.dev; out.st_mode = s.mode; out.st_nlink = s.nlink; out.st_uid = s.uid; out.st_gid = s.gid
    out.st_rdev = s.rdev; out.st_ino = s.ino; out.st_size = s.size; out.st_blksize = s.blksize; out.st_blocks = s.blocks
    out.st_flags = s.flags; out.st_gen = s.gen
    out.st_atim = uv_timespec_t(tv_sec: Int(s.atime.0), tv_nsec: Int(s.atime.1))
    out.st_mtim = uv_timespec_t(tv_sec: Int(s.mtime.0), tv_nsec: Int(s.mtime.1))
    out.st_ctim = uv_timespec_t(tv_sec: Int(s.ctime.0), tv_nsec: Int(s.ctime.1))
    out.st_birthtim = uv_timespec_t(tv_sec: Int(s.birthtime.0), tv_nsec: Int(s.birthtime.1))
}

/// A scandir result kept in `req->ptr`: the entries, in order, for
/// `uv_fs_scandir_next` (whose position is kept in the private `nbufs`).
private struct ScandirEntries {
    var names: [UnsafeMutablePointer<CChar>?]
    var types: [Int32]
}

/// What the finished operation leaves in the request, by its type, as
/// libuv's `uv__fs_work` does.
private func finish(_ req: UnsafeMutablePointer<uv_fs_t>, _ r: NativeFSResult) {
    req.pointee.result = r.result
    let type = req.pointee.fs_type
    switch type {
    case UV_FS_STAT, UV_FS_LSTAT, UV_FS_FSTAT:
        if r.result == 0, let s = r.stat {
            storeStat(s, into: &req.pointee.statbuf)
            req.pointee.ptr = UnsafeMutableRawPointer(req) + MemoryLayout<uv_fs_t>.offset(of: \.statbuf)!
        }
    case UV_FS_READLINK, UV_FS_REALPATH:
        if r.result == 0, let s = r.string { req.pointee.ptr = UnsafeMutableRawPointer(strdup(s)) }
    case UV_FS_MKDTEMP, UV_FS_MKSTEMP:
        // A failed mkstemp leaves an empty path, as libuv's.
        if let s = type == UV_FS_MKSTEMP && r.result < 0 ? "" : r.string {
            if let old = req.pointee.path { free(UnsafeMutableRawPointer(mutating: old)) }
            req.pointee.path = UnsafePointer(strdup(s))
        }
    case UV_FS_SCANDIR:
        if r.result > 0, let entries = r.entries {
            let box = UnsafeMutablePointer<ScandirEntries>.allocate(capacity: 1)
            box.initialize(to: ScandirEntries(names: entries.map { strdup($0.name) }, types: entries.map { $0.type }))
            req.pointee.ptr = UnsafeMutableRawPointer(box)
            req.pointee.nbufs = 0
        }
    case UV_FS_OPENDIR:
        if let d = r.dir {
            let dir = UnsafeMutablePointer<uv_dir_t>.allocate(capacity: 1)
            memset(dir, 0, MemoryLayout<uv_dir_t>.size)
            dir.pointee.dir = d
            req.pointee.ptr = UnsafeMutableRawPointer(dir)
        }
    case UV_FS_READDIR:
        if r.result >= 0, let entries = r.entries, let dir = req.pointee.ptr?.assumingMemoryBound(to: uv_dir_t.self) {
            for (i, entry) in entries.enumerated() where i < dir.pointee.nentries {
                dir.pointee.dirents[i].name = UnsafePointer(strdup(entry.name))
                dir.pointee.dirents[i].type = uv_dirent_type_t(UInt32(entry.type))
            }
        }
    case UV_FS_STATFS:
        if r.result == 0, let s = r.statfs {
            let out = UnsafeMutablePointer<uv_statfs_t>.allocate(capacity: 1)
            memset(out, 0, MemoryLayout<uv_statfs_t>.size)
            out.pointee.f_type = s.type; out.pointee.f_bsize = s.blockSize; out.pointee.f_blocks = s.blocks
            out.pointee.f_bfree = s.freeBlocks; out.pointee.f_bavail = s.availableBlocks
            out.pointee.f_files = s.files; out.pointee.f_ffree = s.freeFiles
            req.pointee.ptr = UnsafeMutableRawPointer(out)
        }
    default:
        break
    }
}

/// One `uv_fs_*` call: the request's fields as libuv sets them, then the
/// operation now (no callback: returns its result) or on the thread pool
/// (returns 0; the callback gets the request, `result` set, or
/// `UV_ECANCELED` after `uv_cancel`).
private func fsCall(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ type: uv_fs_type,
                    _ callback: uv_fs_cb?, path: UnsafePointer<CChar>? = nil, newPath: UnsafePointer<CChar>? = nil,
                    pointer: UnsafeMutableRawPointer? = nil, _ operation: @escaping @Sendable () -> NativeFSResult) -> Int32 {
    // (A synchronous call may pass no loop.)
    guard let req, loop != nil || callback == nil else { return uvError(EINVAL) }
    req.pointee.type = UV_FS
    req.pointee.fs_type = type
    req.pointee.loop = loop
    req.pointee.cb = callback
    req.pointee.result = 0
    req.pointee.ptr = pointer
    req.pointee.bufs = nil
    req.pointee.nbufs = 0
    let async = callback != nil
    // libuv copies the paths of an asynchronous request (and mkdtemp's and
    // mkstemp's template, which it fills in).
    req.pointee.path = async || type == UV_FS_MKDTEMP || type == UV_FS_MKSTEMP ? copied(path) : path
    req.pointee.new_path = async ? copied(newPath) : newPath
    if !async {
        finish(req, operation())
        return Int32(truncatingIfNeeded: req.pointee.result)
    }
    let outcome = FSOutcome()
    return submitWork(loop!, req, type: UV_FS, work: { _ in
        outcome.result = operation()
    }, done: { req, status in
        if status != 0 {
            req.pointee.result = Int(status)
        } else {
            finish(req, outcome.result)
        }
        req.pointee.cb?(req)
    })
}

private struct Buffers: @unchecked Sendable {
    let list: [UnsafeRawBufferPointer]
}

/// `uv_fs_open`: opened with `O_CLOEXEC` added.
@_cdecl("uv_fs_open")
public func abiFSOpen(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?,
                      _ flags: Int32, _ mode: Int32, _ cb: uv_fs_cb?) -> Int32 {
    pathCall(loop, req, UV_FS_OPEN, path, cb) { .open(path: $0, flags: flags, mode: mode) }
}

/// `uv_fs_close`.
@_cdecl("uv_fs_close")
public func abiFSClose(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ file: uv_file, _ cb: uv_fs_cb?) -> Int32 {
    fsCall(loop, req, UV_FS_CLOSE, cb) { NativeFS.perform(.close(fd: file)) }
}

/// `uv_fs_read`: into the buffers in order (`readv`, or `preadv` at
/// `offset` when it is not negative); `UV_EINVAL` without buffers.
@_cdecl("uv_fs_read")
public func abiFSRead(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ file: uv_file,
                      _ buffers: UnsafePointer<uv_buf_t>?, _ count: UInt32, _ offset: Int64, _ cb: uv_fs_cb?) -> Int32 {
    guard let buffers, count > 0 else { return uvError(EINVAL) }
    // One system call, of at most IOV_MAX buffers, as libuv's uv__fs_read.
    let list = Buffers(list: bufferList(buffers, min(count, 1024)))
    return fsCall(loop, req, UV_FS_READ, cb) {
        let iov = list.list.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count) }
        var n: Int
        repeat {
            n = offset < 0 ? readv(file, iov, Int32(iov.count)) : preadv(file, iov, Int32(iov.count), off_t(offset))
        } while n < 0 && errno == EINTR
        var r = NativeFSResult()
        r.result = n < 0 ? Int(-errno) : n
        return r
    }
}

/// `uv_fs_write`: the buffers in order (`writev`, or `pwritev` at `offset`
/// when it is not negative); `UV_EINVAL` without buffers.
@_cdecl("uv_fs_write")
public func abiFSWrite(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ file: uv_file,
                       _ buffers: UnsafePointer<uv_buf_t>?, _ count: UInt32, _ offset: Int64, _ cb: uv_fs_cb?) -> Int32 {
    guard let buffers, count > 0 else { return uvError(EINVAL) }
    let list = Buffers(list: bufferList(buffers, count))
    return fsCall(loop, req, UV_FS_WRITE, cb) { writeAll(file, list.list, offset: offset) }
}

/// libuv's `uv__fs_write_all`: writes of at most IOV_MAX buffers until all
/// is written or a write fails or writes nothing; the bytes written, or the
/// first error when nothing was.
private func writeAll(_ file: uv_file, _ buffers: [UnsafeRawBufferPointer], offset: Int64) -> NativeFSResult {
    var remaining = buffers[...]
    var position = offset
    var total = 0
    var result = NativeFSResult()
    while !remaining.isEmpty {
        let chunk = Array(remaining.prefix(1024))
        let r = NativeFS.perform(.write(fd: file, buffers: chunk, offset: position))
        if r.result <= 0 {
            if total == 0 { total = r.result }
            break
        }
        if position >= 0 { position += Int64(r.result) }
        total += r.result
        // Skip what was written: whole buffers, then part of the next one.
        var written = r.result
        while let first = remaining.first, written >= first.count {
            written -= first.count
            remaining = remaining.dropFirst()
        }
        if written > 0, let first = remaining.first {
            remaining[remaining.startIndex] = UnsafeRawBufferPointer(rebasing: first[written...])
        }
    }
    result.result = total
    return result
}

/// A path operation.
private func pathCall(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ type: uv_fs_type,
                      _ path: UnsafePointer<CChar>?, _ cb: uv_fs_cb?, _ op: @escaping @Sendable (String) -> NativeFSOperation) -> Int32 {
    guard let path else { return uvError(EINVAL) }
    let p = string(path)
    return fsCall(loop, req, type, cb, path: path) { NativeFS.perform(op(p)) }
}

/// A two-path operation.
private func twoPathCall(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ type: uv_fs_type,
                         _ path: UnsafePointer<CChar>?, _ newPath: UnsafePointer<CChar>?, _ cb: uv_fs_cb?,
                         _ op: @escaping @Sendable (String, String) -> NativeFSOperation) -> Int32 {
    guard let path, let newPath else { return uvError(EINVAL) }
    let p = string(path), q = string(newPath)
    return fsCall(loop, req, type, cb, path: path, newPath: newPath) { NativeFS.perform(op(p, q)) }
}

/// `uv_fs_unlink`.
@_cdecl("uv_fs_unlink")
public func abiFSUnlink(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ cb: uv_fs_cb?) -> Int32 {
    pathCall(loop, req, UV_FS_UNLINK, path, cb) { .unlink(path: $0) }
}

/// `uv_fs_mkdir`.
@_cdecl("uv_fs_mkdir")
public func abiFSMkdir(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ mode: Int32, _ cb: uv_fs_cb?) -> Int32 {
    pathCall(loop, req, UV_FS_MKDIR, path, cb) { .mkdir(path: $0, mode: mode) }
}

/// `uv_fs_mkdtemp`: `req->path` is the template filled in.
@_cdecl("uv_fs_mkdtemp")
public func abiFSMkdtemp(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ template: UnsafePointer<CChar>?, _ cb: uv_fs_cb?) -> Int32 {
    pathCall(loop, req, UV_FS_MKDTEMP, template, cb) { .mkdtemp(template: $0) }
}

/// `uv_fs_mkstemp`: the result is the descriptor; `req->path` the name.
@_cdecl("uv_fs_mkstemp")
public func abiFSMkstemp(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ template: UnsafePointer<CChar>?, _ cb: uv_fs_cb?) -> Int32 {
    pathCall(loop, req, UV_FS_MKSTEMP, template, cb) { .mkstemp(template: $0) }
}

/// `uv_fs_rmdir`.
@_cdecl("uv_fs_rmdir")
public func abiFSRmdir(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ cb: uv_fs_cb?) -> Int32 {
    pathCall(loop, req, UV_FS_RMDIR, path, cb) { .rmdir(path: $0) }
}

/// `uv_fs_scandir`: the entries (sorted, without `.` and `..`) for
/// `uv_fs_scandir_next`; the result is their count.
@_cdecl("uv_fs_scandir")
public func abiFSScandir(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ flags: Int32, _ cb: uv_fs_cb?) -> Int32 {
    pathCall(loop, req, UV_FS_SCANDIR, path, cb) { .scandir(path: $0) }
}

/// `uv_fs_scandir_next`: the next entry, `UV_EOF` after the last.
@_cdecl("uv_fs_scandir_next")
public func abiFSScandirNext(_ req: UnsafeMutablePointer<uv_fs_t>, _ entry: UnsafeMutablePointer<uv_dirent_t>) -> Int32 {
    if req.pointee.result < 0 { return Int32(truncatingIfNeeded: req.pointee.result) }
    guard let box = req.pointee.ptr?.assumingMemoryBound(to: ScandirEntries.self) else { return uvError(4095) }
    let i = Int(req.pointee.nbufs)
    if i >= box.pointee.names.count { return uvError(4095) }
    req.pointee.nbufs += 1
    entry.pointee.name = UnsafePointer(box.pointee.names[i])
    entry.pointee.type = uv_dirent_type_t(UInt32(box.pointee.types[i]))
    return 0
}

/// `uv_fs_stat`: `req->statbuf` (and `req->ptr` pointing to it).
@_cdecl("uv_fs_stat")
public func abiFSStat(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ cb: uv_fs_cb?) -> Int32 {
    pathCall(loop, req, UV_FS_STAT, path, cb) { .stat(path: $0) }
}

/// `uv_fs_lstat`.
@_cdecl("uv_fs_lstat")
public func abiFSLstat(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ cb: uv_fs_cb?) -> Int32 {
    pathCall(loop, req, UV_FS_LSTAT, path, cb) { .lstat(path: $0) }
}

/// `uv_fs_fstat`.
@_cdecl("uv_fs_fstat")
public func abiFSFstat(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ file: uv_file, _ cb: uv_fs_cb?) -> Int32 {
    fsCall(loop, req, UV_FS_FSTAT, cb) { NativeFS.perform(.fstat(fd: file)) }
}

/// `uv_fs_rename`.
@_cdecl("uv_fs_rename")
public func abiFSRename(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ newPath: UnsafePointer<CChar>?, _ cb: uv_fs_cb?) -> Int32 {
    twoPathCall(loop, req, UV_FS_RENAME, path, newPath, cb) { .rename(path: $0, newPath: $1) }
}

/// `uv_fs_fsync`.
@_cdecl("uv_fs_fsync")
public func abiFSFsync(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ file: uv_file, _ cb: uv_fs_cb?) -> Int32 {
    fsCall(loop, req, UV_FS_FSYNC, cb) { NativeFS.perform(.fsync(fd: file)) }
}

/// `uv_fs_fdatasync`.
@_cdecl("uv_fs_fdatasync")
public func abiFSFdatasync(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ file: uv_file, _ cb: uv_fs_cb?) -> Int32 {
    fsCall(loop, req, UV_FS_FDATASYNC, cb) { NativeFS.perform(.fdatasync(fd: file)) }
}

/// `uv_fs_ftruncate`.
@_cdecl("uv_fs_ftruncate")
public func abiFSFtruncate(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ file: uv_file, _ offset: Int64, _ cb: uv_fs_cb?) -> Int32 {
    fsCall(loop, req, UV_FS_FTRUNCATE, cb) { NativeFS.perform(.ftruncate(fd: file, length: offset)) }
}

/// `uv_fs_sendfile`: the result is the bytes copied.
@_cdecl("uv_fs_sendfile")
public func abiFSSendfile(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ out: uv_file, _ input: uv_file,
                          _ offset: Int64, _ length: Int, _ cb: uv_fs_cb?) -> Int32 {
    fsCall(loop, req, UV_FS_SENDFILE, cb) { NativeFS.perform(.sendfile(out: out, in: input, offset: offset, length: length)) }
}

/// `uv_fs_access`.
@_cdecl("uv_fs_access")
public func abiFSAccess(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ mode: Int32, _ cb: uv_fs_cb?) -> Int32 {
    pathCall(loop, req, UV_FS_ACCESS, path, cb) { .access(path: $0, mode: mode) }
}

/// `uv_fs_chmod`.
@_cdecl("uv_fs_chmod")
public func abiFSChmod(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ mode: Int32, _ cb: uv_fs_cb?) -> Int32 {
    pathCall(loop, req, UV_FS_CHMOD, path, cb) { .chmod(path: $0, mode: mode) }
}

/// `uv_fs_fchmod`.
@_cdecl("uv_fs_fchmod")
public func abiFSFchmod(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ file: uv_file, _ mode: Int32, _ cb: uv_fs_cb?) -> Int32 {
    fsCall(loop, req, UV_FS_FCHMOD, cb) { NativeFS.perform(.fchmod(fd: file, mode: mode)) }
}

/// `uv_fs_utime`: times in seconds.
@_cdecl("uv_fs_utime")
public func abiFSUtime(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ atime: Double, _ mtime: Double, _ cb: uv_fs_cb?) -> Int32 {
    pathCall(loop, req, UV_FS_UTIME, path, cb) { .utime(path: $0, atime: atime, mtime: mtime) }
}

/// `uv_fs_futime`.
@_cdecl("uv_fs_futime")
public func abiFSFutime(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ file: uv_file, _ atime: Double, _ mtime: Double, _ cb: uv_fs_cb?) -> Int32 {
    fsCall(loop, req, UV_FS_FUTIME, cb) { NativeFS.perform(.futime(fd: file, atime: atime, mtime: mtime)) }
}

/// `uv_fs_lutime`: the link itself.
@_cdecl("uv_fs_lutime")
public func abiFSLutime(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ atime: Double, _ mtime: Double, _ cb: uv_fs_cb?) -> Int32 {
    pathCall(loop, req, UV_FS_LUTIME, path, cb) { .lutime(path: $0, atime: atime, mtime: mtime) }
}

/// `uv_fs_link`.
@_cdecl("uv_fs_link")
public func abiFSLink(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ newPath: UnsafePointer<CChar>?, _ cb: uv_fs_cb?) -> Int32 {
    twoPathCall(loop, req, UV_FS_LINK, path, newPath, cb) { .link(path: $0, newPath: $1) }
}

/// `uv_fs_symlink`: the flags (Windows' junctions) are ignored on Unix.
@_cdecl("uv_fs_symlink")
public func abiFSSymlink(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ newPath: UnsafePointer<CChar>?, _ flags: Int32, _ cb: uv_fs_cb?) -> Int32 {
    twoPathCall(loop, req, UV_FS_SYMLINK, path, newPath, cb) { .symlink(path: $0, newPath: $1) }
}

/// `uv_fs_readlink`: `req->ptr` is the target (a C string).
@_cdecl("uv_fs_readlink")
public func abiFSReadlink(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ cb: uv_fs_cb?) -> Int32 {
    pathCall(loop, req, UV_FS_READLINK, path, cb) { .readlink(path: $0) }
}

/// `uv_fs_realpath`: `req->ptr` is the canonical path.
@_cdecl("uv_fs_realpath")
public func abiFSRealpath(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ cb: uv_fs_cb?) -> Int32 {
    pathCall(loop, req, UV_FS_REALPATH, path, cb) { .realpath(path: $0) }
}

/// `uv_fs_copyfile`: `UV_FS_COPYFILE_EXCL` fails with `UV_EEXIST` on an
/// existing destination; `UV_FS_COPYFILE_FICLONE_FORCE` is `UV_ENOTSUP`
/// (no copy-on-write clone here); other flags `UV_EINVAL`.
@_cdecl("uv_fs_copyfile")
public func abiFSCopyfile(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ newPath: UnsafePointer<CChar>?, _ flags: Int32, _ cb: uv_fs_cb?) -> Int32 {
    if flags & ~(UV_FS_COPYFILE_EXCL | UV_FS_COPYFILE_FICLONE | UV_FS_COPYFILE_FICLONE_FORCE) != 0 { return uvError(EINVAL) }
    if flags & UV_FS_COPYFILE_FICLONE_FORCE != 0 {
        guard path != nil, newPath != nil else { return uvError(EINVAL) }
        return fsCall(loop, req, UV_FS_COPYFILE, cb, path: path, newPath: newPath) {
            var r = NativeFSResult()
            r.result = Int(uvError(ENOTSUP))
            return r
        }
    }
    return twoPathCall(loop, req, UV_FS_COPYFILE, path, newPath, cb) { .copyfile(path: $0, newPath: $1, exclusive: flags & UV_FS_COPYFILE_EXCL != 0) }
}

/// `uv_fs_chown`.
@_cdecl("uv_fs_chown")
public func abiFSChown(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ uid: uv_uid_t, _ gid: uv_gid_t, _ cb: uv_fs_cb?) -> Int32 {
    pathCall(loop, req, UV_FS_CHOWN, path, cb) { .chown(path: $0, uid: uid, gid: gid) }
}

/// `uv_fs_fchown`.
@_cdecl("uv_fs_fchown")
public func abiFSFchown(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ file: uv_file, _ uid: uv_uid_t, _ gid: uv_gid_t, _ cb: uv_fs_cb?) -> Int32 {
    fsCall(loop, req, UV_FS_FCHOWN, cb) { NativeFS.perform(.fchown(fd: file, uid: uid, gid: gid)) }
}

/// `uv_fs_lchown`.
@_cdecl("uv_fs_lchown")
public func abiFSLchown(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ uid: uv_uid_t, _ gid: uv_gid_t, _ cb: uv_fs_cb?) -> Int32 {
    pathCall(loop, req, UV_FS_LCHOWN, path, cb) { .lchown(path: $0, uid: uid, gid: gid) }
}

/// `uv_fs_statfs`: `req->ptr` is a `uv_statfs_t`.
@_cdecl("uv_fs_statfs")
public func abiFSStatfs(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ cb: uv_fs_cb?) -> Int32 {
    pathCall(loop, req, UV_FS_STATFS, path, cb) { .statfs(path: $0) }
}

/// `uv_fs_opendir`: `req->ptr` is the `uv_dir_t` (the user sets its
/// `dirents` and `nentries` before `uv_fs_readdir`).
@_cdecl("uv_fs_opendir")
public func abiFSOpendir(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ path: UnsafePointer<CChar>?, _ cb: uv_fs_cb?) -> Int32 {
    pathCall(loop, req, UV_FS_OPENDIR, path, cb) { .opendir(path: $0) }
}

private struct DirPointer: @unchecked Sendable {
    let dir: UnsafeMutablePointer<uv_dir_t>
}

/// `uv_fs_readdir`: up to `dir->nentries` entries into `dir->dirents`;
/// the result is their count, 0 at the end. `UV_EINVAL` without entries.
@_cdecl("uv_fs_readdir")
public func abiFSReaddir(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ dir: UnsafeMutablePointer<uv_dir_t>?, _ cb: uv_fs_cb?) -> Int32 {
    guard let dir, dir.pointee.dirents != nil, let d = dir.pointee.dir else { return uvError(EINVAL) }
    let max = dir.pointee.nentries
    let handle = OpaquePointerBox(pointer: d)
    return fsCall(loop, req, UV_FS_READDIR, cb, pointer: UnsafeMutableRawPointer(dir)) {
        NativeFS.perform(.readdir(dir: handle.pointer, max: max))
    }
}

/// `uv_fs_closedir`: closes the directory and frees the `uv_dir_t`.
@_cdecl("uv_fs_closedir")
public func abiFSClosedir(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ req: UnsafeMutablePointer<uv_fs_t>?, _ dir: UnsafeMutablePointer<uv_dir_t>?, _ cb: uv_fs_cb?) -> Int32 {
    guard let dir, let d = dir.pointee.dir else { return uvError(EINVAL) }
    let handle = OpaquePointerBox(pointer: d)
    let box = DirPointer(dir: dir)
    return fsCall(loop, req, UV_FS_CLOSEDIR, cb) {
        let r = NativeFS.perform(.closedir(dir: handle.pointer))
        box.dir.deallocate()
        return r
    }
}

private struct OpaquePointerBox: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// `uv_fs_req_cleanup`: frees what the request holds (copied paths, a
/// result string, scandir or readdir entries, a statfs result).
@_cdecl("uv_fs_req_cleanup")
public func abiFSReqCleanup(_ req: UnsafeMutablePointer<uv_fs_t>?) {
    guard let req else { return }
    let type = req.pointee.fs_type
    if req.pointee.cb != nil || type == UV_FS_MKDTEMP || type == UV_FS_MKSTEMP {
        if let p = req.pointee.path { free(UnsafeMutableRawPointer(mutating: p)) }
        if let p = req.pointee.new_path { free(UnsafeMutableRawPointer(mutating: p)) }
    }
    req.pointee.path = nil
    req.pointee.new_path = nil
    let ptr = req.pointee.ptr
    req.pointee.ptr = nil
    switch type {
    case UV_FS_READDIR:
        if let dir = ptr?.assumingMemoryBound(to: uv_dir_t.self), let dirents = dir.pointee.dirents, req.pointee.result > 0 {
            for i in 0..<req.pointee.result {
                if let name = dirents[i].name { free(UnsafeMutableRawPointer(mutating: name)) }
                dirents[i].name = nil
            }
        }
    case UV_FS_SCANDIR:
        if let box = ptr?.assumingMemoryBound(to: ScandirEntries.self) {
            for name in box.pointee.names { free(name) }
            box.deinitialize(count: 1)
            box.deallocate()
        }
    case UV_FS_OPENDIR, UV_FS_STAT, UV_FS_LSTAT, UV_FS_FSTAT, UV_FS_CLOSEDIR:
        break
    default:
        free(ptr)
    }
}

/// `uv_fs_get_type`.
@_cdecl("uv_fs_get_type")
public func abiFSGetType(_ req: UnsafePointer<uv_fs_t>) -> uv_fs_type { req.pointee.fs_type }

/// `uv_fs_get_result`.
@_cdecl("uv_fs_get_result")
public func abiFSGetResult(_ req: UnsafePointer<uv_fs_t>) -> Int { req.pointee.result }

/// `uv_fs_get_system_error`: the errno of a failed request (`-result`, as
/// libuv computes it on Unix).
@_cdecl("uv_fs_get_system_error")
public func abiFSGetSystemError(_ req: UnsafePointer<uv_fs_t>) -> Int32 {
    Int32(truncatingIfNeeded: -req.pointee.result)
}

/// `uv_fs_get_ptr`.
@_cdecl("uv_fs_get_ptr")
public func abiFSGetPtr(_ req: UnsafePointer<uv_fs_t>) -> UnsafeMutableRawPointer? { req.pointee.ptr }

/// `uv_fs_get_path`.
@_cdecl("uv_fs_get_path")
public func abiFSGetPath(_ req: UnsafePointer<uv_fs_t>) -> UnsafePointer<CChar>? { req.pointee.path }

/// `uv_fs_get_statbuf`.
@_cdecl("uv_fs_get_statbuf")
public func abiFSGetStatbuf(_ req: UnsafeMutablePointer<uv_fs_t>) -> UnsafeMutablePointer<uv_stat_t> {
    UnsafeMutableRawPointer(req).advanced(by: MemoryLayout<uv_fs_t>.offset(of: \.statbuf)!).assumingMemoryBound(to: uv_stat_t.self)
}
