#if canImport(Glibc)
import Glibc
#endif
import CNativeSystem

/// A watch on a file or folder (`uv_fs_event_t`), over the loop's one
/// inotify descriptor. Handles watching the same inode share its watch and
/// are called in start order.
package final class NativeFSEvent: NativeHandle {
    @exclusivity(unchecked)
    private var callback: ((String?, Int32, Int32) -> Void)?
    @exclusivity(unchecked)
    fileprivate var wd: Int32 = -1
    /// The path the shared watch was made with (libuv's `w->path`).
    @exclusivity(unchecked)
    package private(set) var path: String?

    package init(loop: NativeEventLoop) {
        super.init(loop: loop, kind: .fsEvent)
    }

    /// `uv_fs_event_start`: `EINVAL` if already started; the path's error
    /// (`ENOENT`...) if it cannot be watched.
    package func start(path: String, callback: @escaping (String?, Int32, Int32) -> Void) throws(NativeError) {
        if isActive { throw .invalidArgument }
        let fd = try loop.inotifyDescriptor()
        let mask: UInt32 = 0x4 | 0x100 | 0x2 | 0x200 | 0x400 | 0x800 | 0x40 | 0x80
        // IN_ATTRIB | IN_CREATE | IN_MODIFY | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_MOVED_FROM | IN_MOVED_TO
        let wd = cnative_inotify_add_watch(fd, path, mask)
        if wd == -1 { throw NativeError(errno: errno) }
        let list = loop.inotifyWatches[wd] ?? InotifyWatch(path: path)
        loop.inotifyWatches[wd] = list
        markActive()
        list.handles.append(self)
        self.path = list.path
        self.callback = callback
        self.wd = wd
    }

    /// `uv_fs_event_stop`.
    package func stop() {
        guard isActive else { return }
        let wd = self.wd
        self.wd = -1
        path = nil
        markInactive()
        guard let list = loop.inotifyWatches[wd] else { return }
        if let i = list.handles.firstIndex(where: { $0 === self }) { list.handles.remove(at: i) }
        if list.handles.isEmpty && !list.iterating {
            loop.inotifyWatches[wd] = nil
            _ = cnative_inotify_rm_watch(loop.inotifyFD, wd)
        }
    }

    fileprivate func deliver(_ name: String?, _ events: Int32) { callback?(name, events, 0) }

    override func willClose() { stop() }
    override func didClose() { callback = nil }
}

/// The handles sharing one inotify watch.
final class InotifyWatch {
    let path: String
    @exclusivity(unchecked)
    var handles: [NativeFSEvent] = []
    @exclusivity(unchecked)
    var iterating = false
    init(path: String) { self.path = path }
}

extension NativeEventLoop {
    /// The loop's inotify descriptor, made and polled on first use.
    func inotifyDescriptor() throws(NativeError) -> Int32 {
        if inotifyFD != -1 { return inotifyFD }
        let fd = cnative_inotify_init()
        if fd == -1 { throw NativeError(errno: errno) }
        inotifyFD = fd
        let w = IOWatcher(fd: fd) { [unowned self] _ in self.inotifyReadable() }
        inotifyWatcher = w
        ioStart(w, pollIn)
        return fd
    }

    /// libuv's `uv__inotify_read`: a change of attributes or content is
    /// `UV_CHANGE` (2), anything else `UV_RENAME` (1); the name is the entry
    /// in a watched folder, or the watched path's last component.
    private func inotifyReadable() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(inotifyFD, $0.baseAddress, $0.count) }
            if n == -1 {
                if errno == EINTR { continue }
                return
            }
            if n <= 0 { return }
            var offset = 0
            while offset + 16 <= n {
                let (wd, mask, length) = buffer.withUnsafeBytes { raw -> (Int32, UInt32, Int) in
                    (raw.loadUnaligned(fromByteOffset: offset, as: Int32.self),
                     raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self),
                     Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self)))
                }
                let nameBytes = buffer[(offset + 16)..<(offset + 16 + length)].prefix(while: { $0 != 0 })
                offset += 16 + length
                var events: Int32 = 0
                if mask & (0x4 | 0x2) != 0 { events |= 2 }
                if mask & ~UInt32(0x4 | 0x2) != 0 { events |= 1 }
                guard let list = inotifyWatches[wd] else { continue }
                let name = length > 0 ? String(decoding: nameBytes, as: UTF8.self)
                                      : String(list.path.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
                list.iterating = true
                for handle in list.handles where handle.isActive && handle.wd == wd {
                    handle.deliver(name, events)
                }
                list.iterating = false
                if list.handles.isEmpty {
                    inotifyWatches[wd] = nil
                    _ = cnative_inotify_rm_watch(inotifyFD, wd)
                }
            }
        }
    }
}
