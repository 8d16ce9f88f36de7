#if canImport(Glibc)
import Glibc
#endif
import CUVLayout
import NativeLoop

/// libuv's handle flag bits, mirrored in the private `uv_handle_t.flags` so
/// that `uv_is_closing` and `uv_has_ref` still answer after the close
/// callback, when the Swift object is gone.
enum HandleFlags {
    static let closing: UInt32 = 0x01
    static let closed: UInt32 = 0x02
    static let ref: UInt32 = 0x2000
    static let blockingWrites: UInt32 = 0x100000
}

/// The Swift side of one C handle: its native handle and the C struct it
/// serves. Retained in the handle's private `u.reserved[0]` from init until
/// its close callback has run; then the slot is cleared and the object
/// released, so the user may free or reuse the memory in the callback.
class ABIHandle {
    let cHandle: UnsafeMutablePointer<uv_handle_t>
    let nativeHandle: NativeHandle

    init(cHandle: UnsafeMutablePointer<uv_handle_t>, native: NativeHandle) {
        self.cHandle = cHandle
        self.nativeHandle = native
        native.data = UnsafeMutableRawPointer(cHandle)
    }

    /// libuv's `uv__handle_init`: the public fields, the flags, and the pin.
    /// `data` is the user's and stays as it is.
    final func attach(loop: UnsafeMutablePointer<uv_loop_t>, type: uv_handle_type) {
        cHandle.pointee.loop = loop
        cHandle.pointee.type = type
        cHandle.pointee.flags = HandleFlags.ref
        cHandle.pointee.next_closing = nil
        cHandle.pointee.handle_queue = (nil, nil)
        cHandle.pointee.u.reserved = (UnsafeMutableRawPointer(Unmanaged.passRetained(self).toOpaque()), nil, nil, nil)
    }

    /// Kind-specific clean-up of the C struct when the close starts (a file
    /// event handle's path); nothing by default.
    func didStartClosing() {}

    /// The native close completed: the handle is closed, its close
    /// callback runs, then the pin goes.
    final func finishClose() {
        let h = cHandle
        h.pointee.flags |= HandleFlags.closed
        h.pointee.u.reserved.0 = nil
        if let callback = h.pointee.close_cb { callback(h) }
        Unmanaged.passUnretained(self).release()
    }
}

/// The Swift object of an open (or closing) handle; nil once closed.
@inline(__always)
func abiHandle(_ handle: UnsafePointer<uv_handle_t>) -> ABIHandle? {
    guard let p = handle.pointee.u.reserved.0 else { return nil }
    return Unmanaged<ABIHandle>.fromOpaque(p).takeUnretainedValue()
}

/// The Swift object of an open handle of a known kind (any C handle
/// struct), nil once closed or, with `type`, when the handle is of another
/// type.
@inline(__always)
func handleObject<Object: ABIHandle, C>(_ handle: UnsafePointer<C>, _ kind: Object.Type, type: uv_handle_type? = nil) -> Object? {
    let h = UnsafeRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)
    if let type, h.pointee.type != type { return nil }
    guard let p = h.pointee.u.reserved.0 else { return nil }
    return Unmanaged<Object>.fromOpaque(p).takeUnretainedValue()
}

/// `uv_close`: stops the handle at once; its close callback runs in the
/// loop's closing phase (last closed first). Closing twice aborts, as in
/// libuv's debug-asserting build.
@_cdecl("uv_close")
public func abiClose(_ handle: UnsafeMutablePointer<uv_handle_t>, _ callback: uv_close_cb?) {
    guard let object = abiHandle(handle), !object.nativeHandle.isClosing else {
        fatalError("uv_close: handle \(handle) is already closing or closed")
    }
    handle.pointee.close_cb = callback
    handle.pointee.flags |= HandleFlags.closing
    object.nativeHandle.close { object.finishClose() }
    object.didStartClosing()
}

/// `uv_is_active`.
@_cdecl("uv_is_active")
public func abiIsActive(_ handle: UnsafePointer<uv_handle_t>) -> Int32 {
    guard let object = abiHandle(handle) else { return 0 }
    return object.nativeHandle.isActive ? 1 : 0
}

/// `uv_is_closing`: closing or closed.
@_cdecl("uv_is_closing")
public func abiIsClosing(_ handle: UnsafePointer<uv_handle_t>) -> Int32 {
    handle.pointee.flags & (HandleFlags.closing | HandleFlags.closed) != 0 ? 1 : 0
}

/// `uv_ref`.
@_cdecl("uv_ref")
public func abiRef(_ handle: UnsafeMutablePointer<uv_handle_t>) {
    handle.pointee.flags |= HandleFlags.ref
    abiHandle(handle)?.nativeHandle.ref()
}

/// `uv_unref`.
@_cdecl("uv_unref")
public func abiUnref(_ handle: UnsafeMutablePointer<uv_handle_t>) {
    handle.pointee.flags &= ~HandleFlags.ref
    abiHandle(handle)?.nativeHandle.unref()
}

/// `uv_has_ref`.
@_cdecl("uv_has_ref")
public func abiHasRef(_ handle: UnsafePointer<uv_handle_t>) -> Int32 {
    handle.pointee.flags & HandleFlags.ref != 0 ? 1 : 0
}

/// `uv_fileno`: the descriptor of a TCP, pipe, TTY, UDP or poll handle;
/// `UV_EBADF` when it has none or is closing, `UV_EINVAL` for other kinds.
@_cdecl("uv_fileno")
public func abiFileno(_ handle: UnsafePointer<uv_handle_t>, _ fd: UnsafeMutablePointer<uv_os_fd_t>) -> Int32 {
    switch handle.pointee.type {
    case UV_TCP, UV_NAMED_PIPE, UV_TTY, UV_UDP, UV_POLL:
        break
    default:
        return uvError(EINVAL)
    }
    guard let object = abiHandle(handle), !object.nativeHandle.isClosing else { return uvError(EBADF) }
    let descriptor = object.nativeHandle.descriptor
    if descriptor == -1 { return uvError(EBADF) }
    fd.pointee = descriptor
    return 0
}
