#if canImport(Glibc)
import Glibc
#endif
import CUVLayout
import NativeLoop

/// The Swift side of a `uv_tty_t`.
final class ABITTY: ABIStream {
    let tty: NativeTTY

    init(cHandle: UnsafeMutablePointer<uv_tty_t>, native: NativeTTY) {
        tty = native
        super.init(cHandle: UnsafeMutableRawPointer(cHandle).assumingMemoryBound(to: uv_handle_t.self), native: native)
    }
}

/// `uv_tty_init`: a terminal (reopened when it is a pty's slave, as libuv
/// does), a pipe or a socket; a file is `UV_EINVAL`.
@_cdecl("uv_tty_init")
public func abiTTYInit(_ loop: UnsafeMutablePointer<uv_loop_t>, _ handle: UnsafeMutablePointer<uv_tty_t>, _ fd: uv_file, _ unused: Int32) -> Int32 {
    let native: NativeTTY
    do {
        native = try NativeTTY(loop: abiLoop(loop).native, fd: fd)
    } catch {
        return error.code
    }
    let object = ABITTY(cHandle: handle, native: native)
    object.attach(loop: loop, type: UV_TTY)
    initStreamFields(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self))
    handle.pointee.mode = 0
    // libuv's UV_HANDLE_BLOCKING_WRITES: a terminal it could not reopen
    // (a pty's master) is written with blocking writes; programs (libuv's
    // tests) look at the flag.
    if isatty(fd) != 0 && native.fd == fd && fcntl(fd, F_GETFL) & O_ACCMODE != O_RDONLY {
        handle.pointee.flags |= HandleFlags.blockingWrites
    }
    return 0
}

/// `uv_tty_set_mode`: `UV_TTY_MODE_NORMAL`, `RAW` or `IO`.
@_cdecl("uv_tty_set_mode")
public func abiTTYSetMode(_ handle: UnsafeMutablePointer<uv_tty_t>, _ mode: uv_tty_mode_t) -> Int32 {
    guard let object = handleObject(handle, ABITTY.self) else { return uvError(EINVAL) }
    let r = status { () throws(NativeError) in try object.tty.setMode(Int32(bitPattern: mode.rawValue)) }
    if r == 0 { handle.pointee.mode = object.tty.mode }
    return r
}

/// `uv_tty_reset_mode`: puts back the mode the first raw terminal had
/// (safe from a signal handler); `UV_EBUSY` while another thread changes it.
@_cdecl("uv_tty_reset_mode")
public func abiTTYResetMode() -> Int32 { TTYState.reset() }

/// `uv_tty_get_winsize`.
@_cdecl("uv_tty_get_winsize")
public func abiTTYGetWinsize(_ handle: UnsafeMutablePointer<uv_tty_t>, _ width: UnsafeMutablePointer<Int32>, _ height: UnsafeMutablePointer<Int32>) -> Int32 {
    guard let object = handleObject(handle, ABITTY.self) else { return uvError(EINVAL) }
    do {
        (width.pointee, height.pointee) = try object.tty.windowSize()
    } catch {
        return error.code
    }
    return 0
}

/// `uv_tty_set_vterm_state`: Windows only; nothing on Unix.
@_cdecl("uv_tty_set_vterm_state")
public func abiTTYSetVtermState(_ state: uv_tty_vtermstate_t) {}

/// `uv_tty_get_vterm_state`: `UV_ENOTSUP` on Unix.
@_cdecl("uv_tty_get_vterm_state")
public func abiTTYGetVtermState(_ state: UnsafeMutablePointer<uv_tty_vtermstate_t>?) -> Int32 { uvError(ENOTSUP) }
