import CUVLayout
import NativeLoop

/// The Swift side of a `uv_signal_t`. Its public `signum` field follows the
/// native handle's (0 when stopped, also after a one-shot delivery).
final class ABISignal: ABIHandle {
    let signal: NativeSignal
    private(set) var dispatch: (Int32) -> Void = { _ in }

    init(cHandle: UnsafeMutablePointer<uv_signal_t>, loop: NativeEventLoop) {
        signal = NativeSignal(loop: loop)
        let raw = UnsafeMutableRawPointer(cHandle)
        super.init(cHandle: raw.assumingMemoryBound(to: uv_handle_t.self), native: signal)
        dispatch = { [unowned(unsafe) signal] signum in
            let h = raw.assumingMemoryBound(to: uv_signal_t.self)
            h.pointee.signal_cb?(h, signum)
            // A one-shot watcher stops after its callback.
            h.pointee.signum = signal.isOneShot ? 0 : signal.signum
        }
    }
}

@inline(__always)
private func signalObject(_ handle: UnsafePointer<uv_signal_t>) -> ABISignal? { handleObject(handle, ABISignal.self) }

/// `uv_signal_init`.
@_cdecl("uv_signal_init")
public func abiSignalInit(_ loop: UnsafeMutablePointer<uv_loop_t>, _ handle: UnsafeMutablePointer<uv_signal_t>) -> Int32 {
    let object = ABISignal(cHandle: handle, loop: abiLoop(loop).native)
    object.attach(loop: loop, type: UV_SIGNAL)
    handle.pointee.signal_cb = nil
    handle.pointee.signum = 0
    handle.pointee.caught_signals = 0
    handle.pointee.dispatched_signals = 0
    return 0
}

private func signalStart(_ handle: UnsafeMutablePointer<uv_signal_t>, _ callback: uv_signal_cb?, _ signum: Int32, oneShot: Bool) -> Int32 {
    guard let object = signalObject(handle) else { return uvError(EINVAL) }
    precondition(!object.signal.isClosing, "uv_signal_start on a closing handle")
    do {
        try object.signal.start(signum: signum, oneShot: oneShot, callback: object.dispatch)
    } catch {
        return error.code
    }
    handle.pointee.signal_cb = callback
    handle.pointee.signum = object.signal.signum
    return 0
}

/// `uv_signal_start`: watches `signum` (`UV_EINVAL` for 0 or an invalid
/// signal); on a watcher of the same signal it only changes the callback.
@_cdecl("uv_signal_start")
public func abiSignalStart(_ handle: UnsafeMutablePointer<uv_signal_t>, _ callback: uv_signal_cb?, _ signum: Int32) -> Int32 {
    signalStart(handle, callback, signum, oneShot: false)
}

/// `uv_signal_start_oneshot`: as `uv_signal_start`, stopped after the first delivery.
@_cdecl("uv_signal_start_oneshot")
public func abiSignalStartOneshot(_ handle: UnsafeMutablePointer<uv_signal_t>, _ callback: uv_signal_cb?, _ signum: Int32) -> Int32 {
    signalStart(handle, callback, signum, oneShot: true)
}

/// `uv_signal_stop`.
@_cdecl("uv_signal_stop")
public func abiSignalStop(_ handle: UnsafeMutablePointer<uv_signal_t>) -> Int32 {
    signalObject(handle)?.signal.stop()
    handle.pointee.signum = 0
    return 0
}
