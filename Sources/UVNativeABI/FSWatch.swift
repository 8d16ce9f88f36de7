#if canImport(Glibc)
import Glibc
#endif
import CUVLayout
import NativeLoop

/// Copies a path into a caller's buffer as libuv's getpath functions do:
/// `UV_ENOBUFS` with the room needed in `*size` when it does not fit.
private func copyPath(_ path: String, _ buffer: UnsafeMutablePointer<CChar>, _ size: UnsafeMutablePointer<Int>) -> Int32 {
    let bytes = Array(path.utf8)
    if bytes.count >= size.pointee {
        size.pointee = bytes.count + 1
        return uvError(ENOBUFS)
    }
    bytes.withUnsafeBytes { UnsafeMutableRawPointer(buffer).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    buffer[bytes.count] = 0
    size.pointee = bytes.count
    return 0
}

// MARK: File system events

/// The Swift side of a `uv_fs_event_t`; its `path` field holds a copy of
/// the watched path while started.
final class ABIFSEvent: ABIHandle {
    let event: NativeFSEvent

    init(cHandle: UnsafeMutablePointer<uv_fs_event_t>, native: NativeFSEvent) {
        event = native
        super.init(cHandle: UnsafeMutableRawPointer(cHandle).assumingMemoryBound(to: uv_handle_t.self), native: native)
    }

    /// Frees the path copy and clears the field (stop and close).
    func releasePath() {
        let h = UnsafeMutableRawPointer(cHandle).assumingMemoryBound(to: uv_fs_event_t.self)
        free(h.pointee.path)
        h.pointee.path = nil
    }

    override func didStartClosing() { releasePath() }
}

/// `uv_fs_event_init`.
@_cdecl("uv_fs_event_init")
public func abiFSEventInit(_ loop: UnsafeMutablePointer<uv_loop_t>, _ handle: UnsafeMutablePointer<uv_fs_event_t>) -> Int32 {
    let object = ABIFSEvent(cHandle: handle, native: NativeFSEvent(loop: abiLoop(loop).native))
    object.attach(loop: loop, type: UV_FS_EVENT)
    handle.pointee.path = nil
    handle.pointee.cb = nil
    return 0
}

/// `uv_fs_event_start`: inotify on `path`; `UV_EINVAL` when started. The
/// callback gets (handle, file name or NULL, `UV_RENAME`/`UV_CHANGE`, status).
@_cdecl("uv_fs_event_start")
public func abiFSEventStart(_ handle: UnsafeMutablePointer<uv_fs_event_t>, _ callback: uv_fs_event_cb?,
                            _ path: UnsafePointer<CChar>?, _ flags: UInt32) -> Int32 {
    guard let object = handleObject(handle, ABIFSEvent.self), let path else { return uvError(EINVAL) }
    if object.event.isActive { return uvError(EINVAL) }
    let r = status { () throws(NativeError) in
        try object.event.start(path: String(cString: path)) { name, events, status in
            let call = { (name: UnsafePointer<CChar>?) in handle.pointee.cb?(handle, name, events, status) }
            if let name { name.withCString { call($0) } } else { call(nil) }
        }
    }
    if r == 0 {
        handle.pointee.cb = callback
        handle.pointee.path = strdup(path)
    }
    return r
}

/// `uv_fs_event_stop`.
@_cdecl("uv_fs_event_stop")
public func abiFSEventStop(_ handle: UnsafeMutablePointer<uv_fs_event_t>) -> Int32 {
    guard let object = handleObject(handle, ABIFSEvent.self) else { return 0 }
    object.event.stop()
    object.releasePath()
    return 0
}

/// `uv_fs_event_getpath`: `UV_EINVAL` (and `*size` 0) when not started.
@_cdecl("uv_fs_event_getpath")
public func abiFSEventGetPath(_ handle: UnsafeMutablePointer<uv_fs_event_t>, _ buffer: UnsafeMutablePointer<CChar>?,
                              _ size: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let buffer, let size else { return uvError(EINVAL) }
    guard let object = handleObject(handle, ABIFSEvent.self), object.event.isActive, let path = object.event.path else {
        size.pointee = 0
        return uvError(EINVAL)
    }
    return copyPath(path, buffer, size)
}

// MARK: File system polling

/// The Swift side of a `uv_fs_poll_t`.
final class ABIFSPoll: ABIHandle {
    let poll: NativeFSPoll

    init(cHandle: UnsafeMutablePointer<uv_fs_poll_t>, native: NativeFSPoll) {
        poll = native
        super.init(cHandle: UnsafeMutableRawPointer(cHandle).assumingMemoryBound(to: uv_handle_t.self), native: native)
    }
}

/// A native stat as `uv_stat_t`.
private func cStat(_ s: NativeStat) -> uv_stat_t {
    var out = uv_stat_t()
    storeStat(s, into: &out)
    return out
}

/// `uv_fs_poll_init`.
@_cdecl("uv_fs_poll_init")
public func abiFSPollInit(_ loop: UnsafeMutablePointer<uv_loop_t>, _ handle: UnsafeMutablePointer<uv_fs_poll_t>) -> Int32 {
    let object = ABIFSPoll(cHandle: handle, native: NativeFSPoll(loop: abiLoop(loop).native))
    object.attach(loop: loop, type: UV_FS_POLL)
    handle.pointee.poll_ctx = nil
    return 0
}

/// `uv_fs_poll_start`: stats `path` every `interval` ms; the first
/// successful stat gives no callback, a change gives (0, previous, current),
/// each distinct error is reported once. Starting an active handle does nothing.
@_cdecl("uv_fs_poll_start")
public func abiFSPollStart(_ handle: UnsafeMutablePointer<uv_fs_poll_t>, _ callback: uv_fs_poll_cb?,
                           _ path: UnsafePointer<CChar>?, _ interval: UInt32) -> Int32 {
    guard let object = handleObject(handle, ABIFSPoll.self), let path else { return uvError(EINVAL) }
    return status { () throws(NativeError) in
        try object.poll.start(path: String(cString: path), interval: UInt64(interval)) { status, previous, current in
            var p = cStat(previous), c = cStat(current)
            callback?(handle, status, &p, &c)
        }
    }
}

/// `uv_fs_poll_stop`.
@_cdecl("uv_fs_poll_stop")
public func abiFSPollStop(_ handle: UnsafeMutablePointer<uv_fs_poll_t>) -> Int32 {
    handleObject(handle, ABIFSPoll.self)?.poll.stop()
    return 0
}

/// `uv_fs_poll_getpath`: `UV_EINVAL` (and `*size` 0) when not started.
@_cdecl("uv_fs_poll_getpath")
public func abiFSPollGetPath(_ handle: UnsafeMutablePointer<uv_fs_poll_t>, _ buffer: UnsafeMutablePointer<CChar>?,
                             _ size: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let buffer, let size else { return uvError(EINVAL) }
    guard let object = handleObject(handle, ABIFSPoll.self), let path = object.poll.path else {
        size.pointee = 0
        return uvError(EINVAL)
    }
    return copyPath(path, buffer, size)
}
