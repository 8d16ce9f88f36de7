#if canImport(Glibc)
import Glibc
#endif
import CUVLayout
import NativeLoop

/// The Swift side of a `uv_loop_t`: the native loop, kept (retained) in the
/// loop's `internal_fields` from `uv_loop_init` to `uv_loop_close`. The C
/// memory is the user's; `data` is never touched.
final class ABILoop {
    let native: NativeEventLoop
    let cLoop: UnsafeMutablePointer<uv_loop_t>
    /// `UV_LOOP_BLOCK_SIGPROF` (recorded; the native poll does not mask it yet).
    var blocksSIGPROF = false

    init(native: NativeEventLoop, cLoop: UnsafeMutablePointer<uv_loop_t>) {
        self.native = native
        self.cLoop = cLoop
    }
}

/// The native loop of an initialised `uv_loop_t`.
@inline(__always)
func abiLoop(_ loop: UnsafePointer<uv_loop_t>) -> ABILoop {
    Unmanaged<ABILoop>.fromOpaque(loop.pointee.internal_fields!).takeUnretainedValue()
}

/// libuv's error codes on Linux: negated errno values.
@inline(__always)
func uvError(_ errnoValue: Int32) -> Int32 { -errnoValue }

/// `uv_default_loop`'s storage: allocated once and never freed, as libuv's static struct.
nonisolated(unsafe) let defaultLoopStorage: UnsafeMutablePointer<uv_loop_t> = {
    let p = UnsafeMutablePointer<uv_loop_t>.allocate(capacity: 1)
    memset(p, 0, MemoryLayout<uv_loop_t>.size)
    return p
}()

/// The default loop while it is initialised (libuv's `default_loop_ptr`).
nonisolated(unsafe) var defaultLoopPointer: UnsafeMutablePointer<uv_loop_t>?

/// `uv_loop_init`: zeroes the loop but its `data`, and makes its native loop.
@_cdecl("uv_loop_init")
public func abiLoopInit(_ loop: UnsafeMutablePointer<uv_loop_t>) -> Int32 {
    let saved = loop.pointee.data
    memset(loop, 0, MemoryLayout<uv_loop_t>.size)
    loop.pointee.data = saved
    let native: NativeEventLoop
    do {
        native = try NativeEventLoop()
    } catch {
        return error.code
    }
    // The count of active handles lives in the C struct, where programs
    // read it (and libuv's tests adjust it).
    let counter = (UnsafeMutableRawPointer(loop) + MemoryLayout<uv_loop_t>.offset(of: \.active_handles)!)
        .assumingMemoryBound(to: UInt32.self)
    native.placeActiveHandleCounter(counter)
    let box = ABILoop(native: native, cLoop: loop)
    loop.pointee.internal_fields = UnsafeMutableRawPointer(Unmanaged.passRetained(box).toOpaque())
    loop.pointee.backend_fd = native.epollFD
    return 0
}

/// `uv_loop_close`: `UV_EBUSY` while a request is active or a handle has not
/// finished closing; the default loop can be made again afterwards.
@_cdecl("uv_loop_close")
public func abiLoopClose(_ loop: UnsafeMutablePointer<uv_loop_t>) -> Int32 {
    guard let fields = loop.pointee.internal_fields else { return uvError(EINVAL) }
    let box = Unmanaged<ABILoop>.fromOpaque(fields)
    do {
        try box.takeUnretainedValue().native.close()
    } catch {
        return error.code
    }
    box.takeUnretainedValue().native.placeActiveHandleCounter(nil)
    loop.pointee.internal_fields = nil
    loop.pointee.backend_fd = -1
    box.release()
    if loop == defaultLoopPointer { defaultLoopPointer = nil }
    return 0
}

/// `uv_default_loop`: initialised on first use (and again after `uv_loop_close`).
@_cdecl("uv_default_loop")
public func abiDefaultLoop() -> UnsafeMutablePointer<uv_loop_t>? {
    if let loop = defaultLoopPointer { return loop }
    if abiLoopInit(defaultLoopStorage) != 0 { return nil }
    defaultLoopPointer = defaultLoopStorage
    return defaultLoopStorage
}

/// `uv_run`: returns non-zero while the loop is alive (as `uv_loop_alive`).
@_cdecl("uv_run")
public func abiRun(_ loop: UnsafeMutablePointer<uv_loop_t>, _ mode: uv_run_mode) -> Int32 {
    let native = abiLoop(loop).native
    let nativeMode: NativeRunMode
    switch mode {
    case UV_RUN_ONCE: nativeMode = .once
    case UV_RUN_NOWAIT: nativeMode = .noWait
    default: nativeMode = .default
    }
    do {
        return try native.run(nativeMode) ? 1 : 0
    } catch {
        return error.code
    }
}

/// `uv_stop`: the current iteration finishes, then `uv_run` returns.
@_cdecl("uv_stop")
public func abiStop(_ loop: UnsafeMutablePointer<uv_loop_t>) {
    abiLoop(loop).native.stop()
}

/// `uv_loop_alive`.
@_cdecl("uv_loop_alive")
public func abiLoopAlive(_ loop: UnsafePointer<uv_loop_t>) -> Int32 {
    abiLoop(loop).native.isAlive ? 1 : 0
}

/// `uv_now`: the cached loop time in milliseconds.
@_cdecl("uv_now")
public func abiNow(_ loop: UnsafePointer<uv_loop_t>) -> UInt64 {
    abiLoop(loop).native.time
}

/// `uv_update_time`.
@_cdecl("uv_update_time")
public func abiUpdateTime(_ loop: UnsafeMutablePointer<uv_loop_t>) {
    abiLoop(loop).native.updateTime()
}

/// `uv_backend_fd`: the epoll descriptor.
@_cdecl("uv_backend_fd")
public func abiBackendFD(_ loop: UnsafePointer<uv_loop_t>) -> Int32 {
    abiLoop(loop).native.epollFD
}

/// `uv_backend_timeout`: how long the next poll may block, in milliseconds.
@_cdecl("uv_backend_timeout")
public func abiBackendTimeout(_ loop: UnsafePointer<uv_loop_t>) -> Int32 {
    abiLoop(loop).native.backendTimeout
}

/// `uv_metrics_idle_time`: nanoseconds spent blocked in the poll, counted
/// once `UV_METRICS_IDLE_TIME` was configured.
@_cdecl("uv_metrics_idle_time")
public func abiMetricsIdleTime(_ loop: UnsafeMutablePointer<uv_loop_t>) -> UInt64 {
    abiLoop(loop).native.idleTime
}

/// `uv_loop_configure(loop, UV_METRICS_IDLE_TIME)`, called by the C
/// `uv_loop_configure` (which Swift cannot define: it is variadic).
@_cdecl("uvnative__loop_configure_idle_time")
public func abiLoopConfigureIdleTime(_ loop: UnsafeMutablePointer<uv_loop_t>) -> Int32 {
    abiLoop(loop).native.measuresIdleTime = true
    return 0
}

/// `uv_loop_configure(loop, UV_LOOP_BLOCK_SIGNAL, SIGPROF)`, called by the C
/// `uv_loop_configure` once it checked the signal.
@_cdecl("uvnative__loop_configure_block_sigprof")
public func abiLoopConfigureBlockSIGPROF(_ loop: UnsafeMutablePointer<uv_loop_t>) -> Int32 {
    abiLoop(loop).blocksSIGPROF = true
    return 0
}

/// `uv_walk`: every handle not yet closed (closing ones included), in init
/// order; handles made during the walk are not visited.
@_cdecl("uv_walk")
public func abiWalk(_ loop: UnsafeMutablePointer<uv_loop_t>, _ callback: uv_walk_cb?, _ arg: UnsafeMutableRawPointer?) {
    guard let callback else { return }
    for handle in abiLoop(loop).native.handles {
        guard let c = handle.data else { continue }
        callback(c.assumingMemoryBound(to: uv_handle_t.self), arg)
    }
}

/// `uv_loop_fork`: not supported yet by the native engine (it would need a
/// new epoll set, eventfd and signal pipe in the child); `UV_ENOSYS`.
@_cdecl("uv_loop_fork")
public func abiLoopFork(_ loop: UnsafeMutablePointer<uv_loop_t>) -> Int32 {
    uvError(ENOSYS)
}
