import CUV
import NativeLoop

#if canImport(Glibc)
import Glibc
#endif

/// The checks that keep bad input away from both engines, so that the same
/// input gives the same `UVError` on each instead of a trap or a silently
/// different call.
///
/// Two kinds of input get here. What C would quietly change: a string cut at
/// its first NUL byte, a Unix socket name cut to fit `sun_path`, a mode with
/// bits beyond the permissions, an offset below -1 read as "the current
/// position". And what would stop the process: a negative count, a size no
/// allocation can hold, a time no `timespec` can hold, a descriptor that epoll
/// refuses (libuv aborts inside `uv_run` when it finds out). libuv 1.44.2
/// accepts some of these itself; SwiftUV refuses them on both backends, as
/// the README's "Bad input" section lists.
enum InputCheck {
    /// `UVError.invalidArgument` saying what was refused.
    static func refuse(_ operation: String, _ why: String) -> UVError {
        UVError.invalidArgument.with(context: "\(operation): \(why)")
    }

    /// A string that goes to C whole: no NUL byte inside, which C would stop at.
    @inline(__always)
    static func cString(_ text: String, _ operation: @autoclosure () -> String, _ what: @autoclosure () -> String = "path") throws(UVError) {
        // memchr over the contiguous bytes (a byte-by-byte `contains` costs
        // about 100 instructions even for ".").
        let hasNUL = text.utf8.withContiguousStorageIfAvailable { $0.isEmpty ? false : memchr($0.baseAddress!, 0, $0.count) != nil } ?? text.utf8.contains(0)
        if hasNUL {
            throw refuse(operation(), "the \(what()) \(quoted(text)) contains a NUL byte")
        }
    }

    /// A Unix socket name that fits `sun_path` whole, with its terminating
    /// NUL (libuv 1.44.2 cuts a longer one, so a connect can reach another
    /// socket and a close unlink another file): not empty, no NUL inside
    /// (Linux's abstract names, which start with one, came in libuv 1.46),
    /// at most 107 bytes.
    static func socketName(_ name: String, _ operation: String) throws(UVError) {
        try cString(name, operation, "socket name")
        if name.isEmpty { throw refuse(operation, "the socket name is empty") }
        let limit = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1
        if name.utf8.count > limit {
            throw UVError.nameTooLong.with(context: "\(operation): the socket name has \(name.utf8.count) bytes; a Unix socket name holds at most \(limit)")
        }
    }

    /// A permission mode: 0...0o7777 (libuv passes any `int` on to the
    /// kernel, which drops the other bits).
    static func mode(_ mode: Int32, _ operation: String) throws(UVError) {
        guard (0...0o7777).contains(mode) else {
            throw refuse(operation, "mode \(mode < 0 ? "\(mode)" : "0o" + String(mode, radix: 8)) is outside 0...0o7777")
        }
    }

    /// A time in seconds that a `timespec` can hold (libuv gives EINVAL
    /// for NaN, infinities and times beyond 64-bit seconds; the native
    /// engine's conversion would trap).
    static func time(_ seconds: Double, _ operation: String) throws(UVError) {
        guard seconds.isFinite, seconds >= -0x1p63, seconds < 0x1p63 else {
            throw refuse(operation, "the time \(seconds) is not a finite number of seconds a timespec can hold")
        }
    }

    /// A count or size that must not be negative.
    static func count(_ count: Int, _ operation: String, _ what: String = "count") throws(UVError) {
        if count < 0 { throw refuse(operation, "the \(what) \(count) is negative") }
    }

    /// A file offset: -1 (the current position) or a position (libuv reads
    /// any negative offset as -1).
    static func offset(_ offset: Int64, _ operation: String) throws(UVError) {
        if offset < -1 { throw refuse(operation, "the offset \(offset) is below -1 (-1 means the current position)") }
    }

    /// `byteCount` bytes (at least 1) from `malloc`: `UVError.noMemory`
    /// when there is not that much, instead of the trap of Swift's allocator.
    static func allocate(_ byteCount: Int, _ operation: String) throws(UVError) -> UnsafeMutableRawBufferPointer {
        guard let memory = malloc(max(byteCount, 1)) else {
            throw UVError.noMemory.with(context: "\(operation): cannot allocate \(byteCount) bytes")
        }
        return UnsafeMutableRawBufferPointer(start: memory, count: byteCount)
    }

    /// A descriptor the loop can poll: epoll refuses regular files,
    /// directories and some devices (`/dev/null`) with EPERM, which libuv
    /// would only find out inside `uv_run`, and abort. This is the check
    /// `uv_poll_init` makes, on a private epoll set.
    static func pollable(_ fd: Int32, _ operation: String) throws(UVError) {
        let info = try status(fd, operation)
        do {
            try checkPollable(fd)
        } catch {
            throw UVError(error).with(context: "\(operation): descriptor \(fd) is \(kind(info.st_mode)), which epoll cannot watch")
        }
    }

    /// A socket of `type` (`SOCK_STREAM`, `SOCK_DGRAM`): `UVError.notSocket`
    /// for anything else that is not a socket, `.invalidArgument` for a
    /// socket of another type.
    static func socket(_ fd: Int32, type: Int32, _ operation: String) throws(UVError) {
        let info = try status(fd, operation)
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw UVError.notSocket.with(context: "\(operation): descriptor \(fd) is \(kind(info.st_mode)), not a socket")
        }
        var actual: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_TYPE, &actual, &length) != 0 {
            throw UVError(code: -errno).with(context: "\(operation): descriptor \(fd)")
        }
        guard actual == type else {
            let name = type == Int32(SOCK_STREAM.rawValue) ? "stream" : "datagram"
            throw refuse(operation, "descriptor \(fd) is a socket of another type, not a \(name) socket")
        }
    }

    /// `fstat` of a descriptor (`UVError.badFileDescriptor` for one not open).
    private static func status(_ fd: Int32, _ operation: String) throws(UVError) -> stat {
        var info = stat()
        if fstat(fd, &info) != 0 { throw UVError(code: -errno).with(context: "\(operation): descriptor \(fd)") }
        return info
    }

    /// "a regular file", "a directory", ... for messages.
    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: return "a regular file"
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFIFO: return "a pipe"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        default: return "a descriptor of unknown kind"
        }
    }

    /// `text` in quotes, with a NUL shown as `\0`.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for c in text { if c == "\0" { result += "\\0" } else { result.append(c) } }
        return result + "\""
    }
}

extension NativeFSOperation {
    /// The libuv name of the call, for messages (`fs.open`).
    var name: String {
        switch self {
        case .open: return "fs.open"
        case .close: return "fs.close"
        case .read: return "fs.read"
        case .write: return "fs.write"
        case .unlink: return "fs.unlink"
        case .mkdir: return "fs.mkdir"
        case .mkdtemp: return "fs.mkdtemp"
        case .rmdir: return "fs.rmdir"
        case .scandir: return "fs.scandir"
        case .stat: return "fs.stat"
        case .fstat: return "fs.fstat"
        case .lstat: return "fs.lstat"
        case .rename: return "fs.rename"
        case .fsync: return "fs.fsync"
        case .fdatasync: return "fs.fdatasync"
        case .ftruncate: return "fs.ftruncate"
        case .access: return "fs.access"
        case .chmod: return "fs.chmod"
        case .fchmod: return "fs.fchmod"
        case .readlink: return "fs.readlink"
        case .realpath: return "fs.realpath"
        case .symlink: return "fs.symlink"
        case .link: return "fs.link"
        case .copyfile: return "fs.copyfile"
        case .mkstemp: return "fs.mkstemp"
        case .opendir: return "fs.opendir"
        case .readdir: return "Directory.read"
        case .closedir: return "Directory.close"
        case .statfs: return "fs.statfs"
        case .sendfile: return "fs.sendfile"
        case .utime: return "fs.utime"
        case .futime: return "fs.futime"
        case .lutime: return "fs.lutime"
        case .chown: return "fs.chown"
        case .fchown: return "fs.fchown"
        case .lchown: return "fs.lchown"
        }
    }

    /// The call and what it was given, for an error's context:
    /// `fs.open("/tmp/missing")`, `fs.rename("a", "b")`, `fs.read(fd 5)`.
    /// Read off the case's labelled values (paths, templates and
    /// descriptors), so that every operation names its subject.
    var described: String {
        guard let payload = Mirror(reflecting: self).children.first?.value else { return name + "()" }
        var parts: [String] = []
        for (label, value) in Mirror(reflecting: payload).children {
            switch (label, value) {
            case ("path", let text as String), ("newPath", let text as String), ("template", let text as String):
                parts.append(InputCheck.quoted(text))
            case ("fd", let fd as Int32), ("out", let fd as Int32), ("in", let fd as Int32):
                parts.append("fd \(fd)")
            default: continue
            }
        }
        return name + "(" + parts.joined(separator: ", ") + ")"
    }

    /// The error of a failed call, with the call and its subject as context.
    func error(_ code: Int32) -> UVError { UVError(code: code).with(context: described) }

    /// Refuses what either engine would trap on or silently change: a NUL
    /// inside a path, a mode beyond 0o7777, an offset below -1, a negative
    /// length, a time no `timespec` holds.
    func validate() throws(UVError) {
        let op = name
        switch self {
        case .open(let path, _, let mode), .mkdir(let path, let mode), .chmod(let path, let mode):
            try InputCheck.cString(path, op)
            try InputCheck.mode(mode, op)
        case .fchmod(_, let mode):
            try InputCheck.mode(mode, op)
        case .access(let path, let mode):
            try InputCheck.cString(path, op)
            guard (0...7).contains(mode) else { throw InputCheck.refuse(op, "mode \(mode) is not F_OK or a set of R_OK, W_OK and X_OK") }
        case .unlink(let path), .rmdir(let path), .scandir(let path), .stat(let path), .lstat(let path),
             .readlink(let path), .realpath(let path), .opendir(let path), .statfs(let path),
             .chown(let path, _, _), .lchown(let path, _, _):
            try InputCheck.cString(path, op)
        case .mkdtemp(let template), .mkstemp(let template):
            try InputCheck.cString(template, op, "template")
        case .rename(let path, let newPath), .symlink(let path, let newPath), .link(let path, let newPath),
             .copyfile(let path, let newPath, _):
            try InputCheck.cString(path, op)
            try InputCheck.cString(newPath, op, "new path")
        case .read(_, _, let offset), .write(_, _, let offset):
            try InputCheck.offset(offset, op)
        case .ftruncate(_, let length):
            if length < 0 { throw InputCheck.refuse(op, "the length \(length) is negative") }
        case .sendfile(_, _, let offset, let length):
            if offset < 0 { throw InputCheck.refuse(op, "the offset \(offset) is negative") }
            try InputCheck.count(length, op, "length")
        case .utime(let path, let atime, let mtime), .lutime(let path, let atime, let mtime):
            try InputCheck.cString(path, op)
            try InputCheck.time(atime, op)
            try InputCheck.time(mtime, op)
        case .futime(_, let atime, let mtime):
            try InputCheck.time(atime, op)
            try InputCheck.time(mtime, op)
        case .close, .fstat, .fsync, .fdatasync, .readdir, .closedir, .fchown:
            break
        }
    }
}
