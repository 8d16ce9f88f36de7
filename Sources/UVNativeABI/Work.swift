import CUVLayout
import CUVNativeSupport
import NativeLoop

/// A C request's pointer, handed to the pool thread that runs its work.
/// (The request belongs to the user, who must not touch it meanwhile.)
struct RequestPointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
}

/// Submits a thread-pool request: `work` on a pool thread, then `done`
/// with the status (0, or `UV_ECANCELED` after `uv_cancel`) on the loop
/// thread. The native request is pinned in the request's private
/// `reserved[0]` (where `uv_cancel` finds it) until `done` is called; the
/// slot is cleared first, so `done` may reuse the request.
func submitWork<T>(_ loop: UnsafeMutablePointer<uv_loop_t>, _ request: UnsafeMutablePointer<T>, type: uv_req_type,
                   slowIO: Bool = false, work: @escaping @Sendable (UnsafeMutablePointer<T>) -> Void,
                   done: @escaping (UnsafeMutablePointer<T>, Int32) -> Void) -> Int32 {
    let req = UnsafeMutableRawPointer(request).assumingMemoryBound(to: uv_req_t.self)
    req.pointee.type = type
    let shared = RequestPointer(pointer: request)
    let native = NativeWork(loop: abiLoop(loop).native, slowIO: slowIO, work: { work(shared.pointer) }, done: { status in
        let r = UnsafeMutableRawPointer(request).assumingMemoryBound(to: uv_req_t.self)
        let pin = r.pointee.reserved.0
        r.pointee.reserved.0 = nil
        done(request, status)
        if let pin { Unmanaged<NativeWork>.fromOpaque(pin).release() }
    })
    do {
        try native.submit()
    } catch {
        return error.code
    }
    req.pointee.reserved.0 = UnsafeMutableRawPointer(Unmanaged.passRetained(native).toOpaque())
    return 0
}

/// `uv_queue_work`: `work_cb` on the thread pool, then `after_work_cb` (if
/// any) on the loop thread with 0, or `UV_ECANCELED` once cancelled.
/// `UV_EINVAL` without a work callback.
@_cdecl("uv_queue_work")
public func abiQueueWork(_ loop: UnsafeMutablePointer<uv_loop_t>, _ request: UnsafeMutablePointer<uv_work_t>,
                         _ workCallback: uv_work_cb?, _ afterWorkCallback: uv_after_work_cb?) -> Int32 {
    guard workCallback != nil else { return uvError(EINVAL) }
    request.pointee.loop = loop
    request.pointee.work_cb = workCallback
    request.pointee.after_work_cb = afterWorkCallback
    return submitWork(loop, request, type: UV_WORK, work: { req in
        req.pointee.work_cb?(req)
    }, done: { req, status in
        req.pointee.after_work_cb?(req, status)
    })
}

/// `uv_cancel`: a thread-pool request (work, fs, getaddrinfo, getnameinfo,
/// random) still queued is cancelled, its callback gets `UV_ECANCELED`;
/// one already running or done gives `UV_EBUSY`; other requests `UV_EINVAL`.
@_cdecl("uv_cancel")
public func abiCancel(_ request: UnsafeMutablePointer<uv_req_t>) -> Int32 {
    switch request.pointee.type {
    case UV_WORK, UV_FS, UV_GETADDRINFO, UV_GETNAMEINFO, UV_RANDOM:
        break
    default:
        return uvError(EINVAL)
    }
    guard let pin = request.pointee.reserved.0 else { return uvError(EBUSY) }
    do {
        try Unmanaged<NativeWork>.fromOpaque(pin).takeUnretainedValue().cancel()
    } catch {
        return error.code
    }
    return 0
}

/// `uv_random`: `buflen` random bytes from the kernel; synchronous without a
/// callback, else on the thread pool. `UV_E2BIG` above 2^31 - 1 bytes,
/// `UV_EINVAL` for flags.
@_cdecl("uv_random")
public func abiRandom(_ loop: UnsafeMutablePointer<uv_loop_t>?, _ request: UnsafeMutablePointer<uv_random_t>?,
                      _ buffer: UnsafeMutableRawPointer?, _ length: Int, _ flags: UInt32, _ callback: uv_random_cb?) -> Int32 {
    if UInt(bitPattern: length) > 0x7FFF_FFFF { return uvError(E2BIG) }
    if flags != 0 { return uvError(EINVAL) }
    guard let callback else { return uvnative__random_fill(buffer, length) }
    guard let loop, let request else { return uvError(EINVAL) }
    request.pointee.loop = loop
    request.pointee.status = 0
    request.pointee.buf = buffer
    request.pointee.buflen = length
    request.pointee.cb = callback
    return submitWork(loop, request, type: UV_RANDOM, work: { req in
        req.pointee.status = uvnative__random_fill(req.pointee.buf, req.pointee.buflen)
    }, done: { req, status in
        req.pointee.cb?(req, status != 0 ? status : req.pointee.status, req.pointee.buf, req.pointee.buflen)
    })
}
