#if canImport(Glibc)
import Glibc
#endif
import CUVLayout
import NativeLoop

/// The Swift side of a `uv_pipe_t`.
final class ABIPipe: ABIStream {
    let pipe: NativePipe

    init(cHandle: UnsafeMutablePointer<uv_pipe_t>, native: NativePipe) {
        pipe = native
        super.init(cHandle: UnsafeMutableRawPointer(cHandle).assumingMemoryBound(to: uv_handle_t.self), native: native)
    }
}

@inline(__always)
private func pipeObject(_ handle: UnsafePointer<uv_pipe_t>) -> ABIPipe? { handleObject(handle, ABIPipe.self, type: UV_NAMED_PIPE) }

/// A handle kind as `uv_handle_type`.
func handleType(_ guess: NativeHandleGuess) -> uv_handle_type {
    switch guess {
    case .unknown: return UV_UNKNOWN_HANDLE
    case .file: return UV_FILE
    case .tty: return UV_TTY
    case .pipe: return UV_NAMED_PIPE
    case .tcp: return UV_TCP
    case .udp: return UV_UDP
    }
}

/// `uv_pipe_init`: `ipc` non-zero for a pipe that passes handles.
@_cdecl("uv_pipe_init")
public func abiPipeInit(_ loop: UnsafeMutablePointer<uv_loop_t>, _ handle: UnsafeMutablePointer<uv_pipe_t>, _ ipc: Int32) -> Int32 {
    let object = ABIPipe(cHandle: handle, native: NativePipe(loop: abiLoop(loop).native, ipc: ipc != 0))
    object.attach(loop: loop, type: UV_NAMED_PIPE)
    initStreamFields(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self))
    handle.pointee.ipc = ipc
    handle.pointee.pipe_fname = nil
    return 0
}

/// `uv_pipe_open`: adopts a descriptor, readable and writable as its
/// access mode says; `UV_EEXIST` if the loop already watches it.
@_cdecl("uv_pipe_open")
public func abiPipeOpen(_ handle: UnsafeMutablePointer<uv_pipe_t>, _ file: uv_file) -> Int32 {
    guard let object = pipeObject(handle) else { return uvError(EINVAL) }
    do {
        try object.pipe.open(descriptor: file)
    } catch {
        return error.code
    }
    return 0
}

/// `uv_pipe_bind`: `UV_EINVAL` when already bound or closing; a missing
/// directory is `UV_EACCES`. The socket file is unlinked at close.
@_cdecl("uv_pipe_bind")
public func abiPipeBind(_ handle: UnsafeMutablePointer<uv_pipe_t>, _ name: UnsafePointer<CChar>?) -> Int32 {
    guard let object = pipeObject(handle), let name else { return uvError(EINVAL) }
    do {
        try object.pipe.bind(path: String(decoding: UnsafeRawBufferPointer(start: name, count: strlen(name)), as: UTF8.self))
    } catch {
        return error.code
    }
    return 0
}

/// `uv_pipe_connect`: every outcome, errors included, reaches the callback
/// from the loop.
@_cdecl("uv_pipe_connect")
public func abiPipeConnect(_ request: UnsafeMutablePointer<uv_connect_t>, _ handle: UnsafeMutablePointer<uv_pipe_t>,
                           _ name: UnsafePointer<CChar>, _ callback: uv_connect_cb?) {
    guard let object = pipeObject(handle) else { return }
    let stream = UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self)
    let native = connectRequest(request, stream, callback)
    stream.pointee.connect_req = request
    object.pipe.connect(path: String(decoding: UnsafeRawBufferPointer(start: name, count: strlen(name)), as: UTF8.self),
                        request: native)
}

private func pipeName(_ handle: UnsafePointer<uv_pipe_t>, peer: Bool, _ buffer: UnsafeMutablePointer<CChar>?,
                      _ size: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let buffer, let size else { return uvError(EINVAL) }
    guard let object = pipeObject(handle) else {
        size.pointee = 0
        return uvError(EINVAL)
    }
    let name: String
    do {
        name = try object.pipe.name(peer: peer)
    } catch {
        size.pointee = 0
        return error.code
    }
    let bytes = Array(name.utf8)
    if bytes.count >= size.pointee {
        size.pointee = bytes.count + 1
        return uvError(ENOBUFS)
    }
    bytes.withUnsafeBytes { raw in
        UnsafeMutableRawPointer(buffer).copyMemory(from: raw.baseAddress!, byteCount: raw.count)
    }
    buffer[bytes.count] = 0
    size.pointee = bytes.count
    return 0
}

/// `uv_pipe_getsockname`: the path bound; `UV_ENOBUFS` (with the room
/// needed in `*size`) when the buffer is too small.
@_cdecl("uv_pipe_getsockname")
public func abiPipeGetSockName(_ handle: UnsafePointer<uv_pipe_t>, _ buffer: UnsafeMutablePointer<CChar>?, _ size: UnsafeMutablePointer<Int>?) -> Int32 {
    pipeName(handle, peer: false, buffer, size)
}

/// `uv_pipe_getpeername`: the path connected to.
@_cdecl("uv_pipe_getpeername")
public func abiPipeGetPeerName(_ handle: UnsafePointer<uv_pipe_t>, _ buffer: UnsafeMutablePointer<CChar>?, _ size: UnsafeMutablePointer<Int>?) -> Int32 {
    pipeName(handle, peer: true, buffer, size)
}

/// `uv_pipe_pending_instances`: Windows only; nothing on Unix.
@_cdecl("uv_pipe_pending_instances")
public func abiPipePendingInstances(_ handle: UnsafeMutablePointer<uv_pipe_t>, _ count: Int32) {}

/// `uv_pipe_pending_count`: handles received over an IPC pipe and not yet accepted.
@_cdecl("uv_pipe_pending_count")
public func abiPipePendingCount(_ handle: UnsafeMutablePointer<uv_pipe_t>) -> Int32 {
    Int32(pipeObject(handle)?.pipe.pendingCount ?? 0)
}

/// `uv_pipe_pending_type`: the kind of the next handle to accept.
@_cdecl("uv_pipe_pending_type")
public func abiPipePendingType(_ handle: UnsafeMutablePointer<uv_pipe_t>) -> uv_handle_type {
    guard let object = pipeObject(handle) else { return UV_UNKNOWN_HANDLE }
    return handleType(object.pipe.pendingType)
}

/// `uv_pipe_chmod`: `UV_READABLE` and/or `UV_WRITABLE` for everyone;
/// `UV_EBADF` without a socket, `UV_EINVAL` for other flags.
@_cdecl("uv_pipe_chmod")
public func abiPipeChmod(_ handle: UnsafeMutablePointer<uv_pipe_t>?, _ flags: Int32) -> Int32 {
    guard let handle, let object = pipeObject(handle), object.pipe.fd != -1 else { return uvError(EBADF) }
    let readable = Int32(UV_READABLE.rawValue), writable = Int32(UV_WRITABLE.rawValue)
    if flags & ~(readable | writable) != 0 { return uvError(EINVAL) }
    do {
        try object.pipe.chmod(readable: flags & readable != 0, writable: flags & writable != 0)
    } catch {
        return error.code
    }
    return 0
}
