import CUVLayout
import NativeLoop

/// The Swift side of a `uv_poll_t`.
final class ABIPoll: ABIHandle {
    let poll: NativePoll
    private(set) var dispatch: (Int32, Int32) -> Void = { _, _ in }

    init(cHandle: UnsafeMutablePointer<uv_poll_t>, native: NativePoll) {
        poll = native
        let raw = UnsafeMutableRawPointer(cHandle)
        super.init(cHandle: raw.assumingMemoryBound(to: uv_handle_t.self), native: native)
        dispatch = { status, events in
            let h = raw.assumingMemoryBound(to: uv_poll_t.self)
            h.pointee.poll_cb?(h, status, events)
        }
    }
}

/// `uv_poll_init`: `UV_EEXIST` if the loop already watches `fd`; a
/// descriptor epoll refuses (a regular file) gives its error (`UV_EPERM`).
/// The descriptor is made non-blocking.
@_cdecl("uv_poll_init")
public func abiPollInit(_ loop: UnsafeMutablePointer<uv_loop_t>, _ handle: UnsafeMutablePointer<uv_poll_t>, _ fd: Int32) -> Int32 {
    let native: NativePoll
    do {
        native = try NativePoll(loop: abiLoop(loop).native, fd: fd)
    } catch {
        return error.code
    }
    let object = ABIPoll(cHandle: handle, native: native)
    object.attach(loop: loop, type: UV_POLL)
    handle.pointee.poll_cb = nil
    return 0
}

/// `uv_poll_init_socket`: `uv_poll_init` (a socket is a descriptor on Unix).
@_cdecl("uv_poll_init_socket")
public func abiPollInitSocket(_ loop: UnsafeMutablePointer<uv_loop_t>, _ handle: UnsafeMutablePointer<uv_poll_t>, _ socket: uv_os_sock_t) -> Int32 {
    abiPollInit(loop, handle, socket)
}

/// `uv_poll_start`: `UV_READABLE`, `UV_WRITABLE`, `UV_DISCONNECT`,
/// `UV_PRIORITIZED`; 0 events stops. Restarting replaces the events and
/// the callback.
@_cdecl("uv_poll_start")
public func abiPollStart(_ handle: UnsafeMutablePointer<uv_poll_t>, _ events: Int32, _ callback: uv_poll_cb?) -> Int32 {
    guard let object = handleObject(handle, ABIPoll.self) else { return uvError(EINVAL) }
    let known = Int32(UV_READABLE.rawValue | UV_WRITABLE.rawValue | UV_DISCONNECT.rawValue | UV_PRIORITIZED.rawValue)
    if events & ~known != 0 { return uvError(EINVAL) }
    precondition(!object.poll.isClosing, "uv_poll_start on a closing handle")
    if events == 0 {
        object.poll.stop()
        return 0
    }
    handle.pointee.poll_cb = callback
    return status { () throws(NativeError) in try object.poll.start(events: events, callback: object.dispatch) }
}

/// `uv_poll_stop`.
@_cdecl("uv_poll_stop")
public func abiPollStop(_ handle: UnsafeMutablePointer<uv_poll_t>) -> Int32 {
    handleObject(handle, ABIPoll.self)?.poll.stop()
    return 0
}
