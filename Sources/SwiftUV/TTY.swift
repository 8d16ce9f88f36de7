import CUV
import NativeLoop

/// A stream over a terminal.
///
/// The corresponding libuv type is `uv_tty_t`.
public final class TTY: UVStream {
    /// How the terminal treats input (`uv_tty_mode_t`).
    public enum Mode: Int32, Sendable {
        /// Line-buffered, as the terminal was (`UV_TTY_MODE_NORMAL`).
        case normal = 0
        /// Raw input, output still processed (`UV_TTY_MODE_RAW`).
        case raw = 1
        /// Binary-safe I/O, for child processes (`UV_TTY_MODE_IO`).
        case io = 2
    }

    /// Opens a terminal stream on `fd` (0 for stdin, 1 for stdout...).
    /// `UVError.invalidArgument` if `fd` is a file or unknown.
    ///
    /// The corresponding libuv function is `uv_tty_init`.
    public init(loop: Loop, fd: Int32) throws(UVError) {
        try loop.ensureOpen("TTY.init")
        ignoreSIGPIPE
        let core: Core
        switch loop.core {
        case .uv(let l): core = try Handle.makeUV(uv_tty_t.self, on: l) { uv_tty_init($0, $1, fd, 0) }
        case .native(let l):
            do { core = .native(try NativeTTY(loop: l, fd: fd)) } catch { throw UVError(error) }
        }
        super.init(loop: loop, type: .tty, core: core)
    }

    /// Sets the terminal mode.
    ///
    /// The corresponding libuv function is `uv_tty_set_mode`.
    public func setMode(_ mode: Mode) throws(UVError) {
        try ensureOpen("TTY.setMode")
        switch core {
        case .uv(let h):
            try check(uv_tty_set_mode(UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_tty_t.self), uv_tty_mode_t(UInt32(mode.rawValue))))
        case .native(let h):
            do { try unsafeDowncast(h, to: NativeTTY.self).setMode(mode.rawValue) } catch { throw UVError(error) }
        }
    }

    /// The window size in columns and rows.
    ///
    /// The corresponding libuv function is `uv_tty_get_winsize`.
    public func windowSize() throws(UVError) -> (width: Int, height: Int) {
        try ensureOpen("TTY.windowSize")
        switch core {
        case .uv(let h):
            var w: Int32 = 0, r: Int32 = 0
            try check(uv_tty_get_winsize(UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_tty_t.self), &w, &r))
            return (Int(w), Int(r))
        case .native(let h):
            do {
                let (w, r) = try unsafeDowncast(h, to: NativeTTY.self).windowSize()
                return (Int(w), Int(r))
            } catch {
                throw UVError(error)
            }
        }
    }

    /// Restores the terminal settings that `backend` saved at its first
    /// switch out of normal mode; call it before exit. Each backend keeps
    /// its own saved settings, process-wide, and (as libuv) remembers the
    /// descriptor of that first terminal even after it is closed.
    ///
    /// The corresponding libuv function is `uv_tty_reset_mode`.
    public static func resetMode(backend: Backend = .libuv) throws(UVError) {
        switch backend {
        case .libuv: try check(uv_tty_reset_mode())
        case .native: try check(TTYState.reset())
        }
    }
}

/// What kind of handle a descriptor suits (`uv_guess_handle`).
public func guessHandle(_ fd: Int32) -> HandleType? {
    switch uv_guess_handle(fd) {
    case UV_TTY: return .tty
    case UV_NAMED_PIPE: return .pipe
    case UV_TCP: return .tcp
    case UV_UDP: return .udp
    case UV_FILE: return .file
    default: return nil
    }
}
