import CUVLayout
import NativeLoop

/// The Swift side of a `uv_idle_t`, `uv_prepare_t` or `uv_check_t`. Its
/// dispatch closure is made once, at init, so that a start allocates nothing.
final class ABIWatcher: ABIHandle {
    let watcher: NativeWatcher
    private(set) var dispatch: () -> Void = {}

    init(cHandle: UnsafeMutablePointer<uv_handle_t>, loop: NativeEventLoop, kind: NativeHandleKind) {
        watcher = NativeWatcher(loop: loop, kind: kind)
        super.init(cHandle: cHandle, native: watcher)
        let raw = UnsafeMutableRawPointer(cHandle)
        switch kind {
        case .idle:
            dispatch = {
                let h = raw.assumingMemoryBound(to: uv_idle_t.self)
                h.pointee.idle_cb?(h)
            }
        case .prepare:
            dispatch = {
                let h = raw.assumingMemoryBound(to: uv_prepare_t.self)
                h.pointee.prepare_cb?(h)
            }
        default:
            dispatch = {
                let h = raw.assumingMemoryBound(to: uv_check_t.self)
                h.pointee.check_cb?(h)
            }
        }
    }
}

@inline(__always)
private func watcherObject<T>(_ handle: UnsafePointer<T>) -> ABIWatcher? { handleObject(handle, ABIWatcher.self) }

private func watcherInit<T>(_ loop: UnsafeMutablePointer<uv_loop_t>, _ handle: UnsafeMutablePointer<T>, _ kind: NativeHandleKind, _ type: uv_handle_type) -> Int32 {
    let c = UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)
    let object = ABIWatcher(cHandle: c, loop: abiLoop(loop).native, kind: kind)
    object.attach(loop: loop, type: type)
    return 0
}

/// libuv's loop-watcher start: a no-op on an active handle, `UV_EINVAL`
/// without a callback; then the callback is stored and the handle goes to
/// the head of its phase's list.
private func watcherStart<T>(_ handle: UnsafeMutablePointer<T>, hasCallback: Bool, store: () -> Void) -> Int32 {
    guard let object = watcherObject(handle) else { return 0 }
    if object.watcher.isActive { return 0 }
    guard hasCallback else { return uvError(EINVAL) }
    store()
    // (libuv would start a closing handle; its callback could then run
    // after the close. Here a closing handle stays stopped.)
    if object.watcher.isClosing { return 0 }
    object.watcher.start(callback: object.dispatch)
    return 0
}

private func watcherStop<T>(_ handle: UnsafeMutablePointer<T>) -> Int32 {
    watcherObject(handle)?.watcher.stop()
    return 0
}

/// `uv_idle_init`.
@_cdecl("uv_idle_init")
public func abiIdleInit(_ loop: UnsafeMutablePointer<uv_loop_t>, _ handle: UnsafeMutablePointer<uv_idle_t>) -> Int32 {
    handle.pointee.idle_cb = nil
    return watcherInit(loop, handle, .idle, UV_IDLE)
}

/// `uv_idle_start`: idle callbacks run in reverse start order, and while one
/// is started the poll does not block.
@_cdecl("uv_idle_start")
public func abiIdleStart(_ handle: UnsafeMutablePointer<uv_idle_t>, _ callback: uv_idle_cb?) -> Int32 {
    watcherStart(handle, hasCallback: callback != nil) { handle.pointee.idle_cb = callback }
}

/// `uv_idle_stop`.
@_cdecl("uv_idle_stop")
public func abiIdleStop(_ handle: UnsafeMutablePointer<uv_idle_t>) -> Int32 {
    watcherStop(handle)
}

/// `uv_prepare_init`.
@_cdecl("uv_prepare_init")
public func abiPrepareInit(_ loop: UnsafeMutablePointer<uv_loop_t>, _ handle: UnsafeMutablePointer<uv_prepare_t>) -> Int32 {
    handle.pointee.prepare_cb = nil
    return watcherInit(loop, handle, .prepare, UV_PREPARE)
}

/// `uv_prepare_start`: prepare callbacks run right before the poll.
@_cdecl("uv_prepare_start")
public func abiPrepareStart(_ handle: UnsafeMutablePointer<uv_prepare_t>, _ callback: uv_prepare_cb?) -> Int32 {
    watcherStart(handle, hasCallback: callback != nil) { handle.pointee.prepare_cb = callback }
}

/// `uv_prepare_stop`.
@_cdecl("uv_prepare_stop")
public func abiPrepareStop(_ handle: UnsafeMutablePointer<uv_prepare_t>) -> Int32 {
    watcherStop(handle)
}

/// `uv_check_init`.
@_cdecl("uv_check_init")
public func abiCheckInit(_ loop: UnsafeMutablePointer<uv_loop_t>, _ handle: UnsafeMutablePointer<uv_check_t>) -> Int32 {
    handle.pointee.check_cb = nil
    return watcherInit(loop, handle, .check, UV_CHECK)
}

/// `uv_check_start`: check callbacks run right after the poll.
@_cdecl("uv_check_start")
public func abiCheckStart(_ handle: UnsafeMutablePointer<uv_check_t>, _ callback: uv_check_cb?) -> Int32 {
    watcherStart(handle, hasCallback: callback != nil) { handle.pointee.check_cb = callback }
}

/// `uv_check_stop`.
@_cdecl("uv_check_stop")
public func abiCheckStop(_ handle: UnsafeMutablePointer<uv_check_t>) -> Int32 {
    watcherStop(handle)
}
