import CUVLayout
import NativeLoop

/// A `uv_timer_t`'s Swift side: it is the native timer's target, so that
/// starting a timer allocates nothing.
final class ABITimer: ABIHandle, NativeTimerTarget {
    let timer: NativeTimer

    init(cHandle: UnsafeMutablePointer<uv_timer_t>, loop: NativeEventLoop) {
        timer = NativeTimer(loop: loop)
        super.init(cHandle: UnsafeMutableRawPointer(cHandle).assumingMemoryBound(to: uv_handle_t.self), native: timer)
    }

    func nativeTimerFired() {
        let h = UnsafeMutableRawPointer(cHandle).assumingMemoryBound(to: uv_timer_t.self)
        h.pointee.timer_cb?(h)
    }
}

@inline(__always)
private func timerObject(_ handle: UnsafePointer<uv_timer_t>) -> ABITimer? { handleObject(handle, ABITimer.self) }

/// `uv_timer_init`.
@_cdecl("uv_timer_init")
public func abiTimerInit(_ loop: UnsafeMutablePointer<uv_loop_t>, _ handle: UnsafeMutablePointer<uv_timer_t>) -> Int32 {
    let object = ABITimer(cHandle: handle, loop: abiLoop(loop).native)
    object.attach(loop: loop, type: UV_TIMER)
    handle.pointee.timer_cb = nil
    handle.pointee.timeout = 0
    handle.pointee.repeat = 0
    return 0
}

/// `uv_timer_start`: due at the cached loop time plus `timeout`; restarts an
/// active timer. `UV_EINVAL` on a closing handle or without a callback.
@_cdecl("uv_timer_start")
public func abiTimerStart(_ handle: UnsafeMutablePointer<uv_timer_t>, _ callback: uv_timer_cb?, _ timeout: UInt64, _ repeatInterval: UInt64) -> Int32 {
    guard let object = timerObject(handle), !object.timer.isClosing, let callback else { return uvError(EINVAL) }
    handle.pointee.timer_cb = callback
    handle.pointee.repeat = repeatInterval
    object.timer.start(timeout: timeout, repeat: repeatInterval, target: object)
    return 0
}

/// `uv_timer_stop`.
@_cdecl("uv_timer_stop")
public func abiTimerStop(_ handle: UnsafeMutablePointer<uv_timer_t>) -> Int32 {
    timerObject(handle)?.timer.stop()
    return 0
}

/// `uv_timer_again`: `UV_EINVAL` if never started; restarts with the repeat
/// as timeout when it is not 0, else does nothing.
@_cdecl("uv_timer_again")
public func abiTimerAgain(_ handle: UnsafeMutablePointer<uv_timer_t>) -> Int32 {
    guard handle.pointee.timer_cb != nil else { return uvError(EINVAL) }
    guard let object = timerObject(handle) else { return handle.pointee.repeat != 0 ? uvError(EINVAL) : 0 }
    do {
        try object.timer.again()
    } catch {
        return error.code
    }
    return 0
}

/// `uv_timer_set_repeat`: applies from the next (re)start.
@_cdecl("uv_timer_set_repeat")
public func abiTimerSetRepeat(_ handle: UnsafeMutablePointer<uv_timer_t>, _ repeatInterval: UInt64) {
    handle.pointee.repeat = repeatInterval
    timerObject(handle)?.timer.repeatInterval = repeatInterval
}

/// `uv_timer_get_repeat`.
@_cdecl("uv_timer_get_repeat")
public func abiTimerGetRepeat(_ handle: UnsafePointer<uv_timer_t>) -> UInt64 {
    timerObject(handle)?.timer.repeatInterval ?? handle.pointee.repeat
}

/// `uv_timer_get_due_in`: milliseconds until the timer is due by the
/// cached loop time, 0 when it is due or stopped long ago.
@_cdecl("uv_timer_get_due_in")
public func abiTimerGetDueIn(_ handle: UnsafePointer<uv_timer_t>) -> UInt64 {
    timerObject(handle)?.timer.dueIn ?? 0
}
