import CUVLayout
import NativeLoop

/// The Swift side of a `uv_async_t`. `uv_async_send` reaches it from any
/// thread through the handle's pinned pointer.
final class ABIAsync: ABIHandle {
    let async: NativeAsync

    init(cHandle: UnsafeMutablePointer<uv_async_t>, loop: NativeEventLoop) {
        let raw = UnsafeMutableRawPointer(cHandle)
        async = NativeAsync(loop: loop) {
            let h = raw.assumingMemoryBound(to: uv_async_t.self)
            h.pointee.async_cb?(h)
        }
        super.init(cHandle: raw.assumingMemoryBound(to: uv_handle_t.self), native: async)
    }
}

/// `uv_async_init`: the handle is active (it keeps the loop alive) from now.
@_cdecl("uv_async_init")
public func abiAsyncInit(_ loop: UnsafeMutablePointer<uv_loop_t>, _ handle: UnsafeMutablePointer<uv_async_t>, _ callback: uv_async_cb?) -> Int32 {
    handle.pointee.async_cb = callback
    handle.pointee.pending = 0
    let object = ABIAsync(cHandle: handle, loop: abiLoop(loop).native)
    object.attach(loop: loop, type: UV_ASYNC)
    return 0
}

/// `uv_async_send`: safe from any thread; sends before the callback runs
/// coalesce into one call.
@_cdecl("uv_async_send")
public func abiAsyncSend(_ handle: UnsafeMutablePointer<uv_async_t>) -> Int32 {
    guard let p = handle.pointee.u.reserved.0 else { return 0 }
    Unmanaged<ABIAsync>.fromOpaque(p).takeUnretainedValue().async.send()
    return 0
}
