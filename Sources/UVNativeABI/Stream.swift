import CUVLayout
import NativeLoop

/// The Swift side of a stream handle (`uv_tcp_t`, `uv_pipe_t`, `uv_tty_t`):
/// reads go into the buffers the user's `alloc_cb` gives, one per read, as
/// in libuv. The allocator and read closures are made once, at init.
class ABIStream: ABIHandle {
    let stream: NativeStream
    /// The buffer the last `alloc_cb` gave, handed back to `read_cb`.
    final var lastBuffer = uv_buf_t(base: nil, len: 0)
    /// The read callback handed to the native stream.
    final private(set) var onRead: (Int, UnsafeMutableRawBufferPointer) -> Void = { _, _ in }

    init(cHandle: UnsafeMutablePointer<uv_handle_t>, native: NativeStream) {
        stream = native
        super.init(cHandle: cHandle, native: native)
        let h = UnsafeMutableRawPointer(cHandle).assumingMemoryBound(to: uv_stream_t.self)
        native.readAllocator = { [unowned(unsafe) self] suggested in
            var buffer = uv_buf_t(base: nil, len: 0)
            h.pointee.alloc_cb?(UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_handle_t.self), suggested, &buffer)
            self.lastBuffer = buffer
            return UnsafeMutableRawBufferPointer(start: buffer.base, count: buffer.base == nil ? 0 : buffer.len)
        }
        onRead = { [unowned(unsafe) self] n, buffer in
            // The end of a stream seen at a hang-up comes without a buffer.
            var given = buffer.baseAddress == nil && n == -4095 ? uv_buf_t(base: nil, len: 0) : self.lastBuffer
            h.pointee.read_cb?(h, n, &given)
        }
    }

    /// Copies the native write queue size to the public field.
    final func syncWriteQueueSize() {
        UnsafeMutableRawPointer(cHandle).assumingMemoryBound(to: uv_stream_t.self).pointee.write_queue_size = stream.writeQueueSize
    }
}

@inline(__always)
func streamObject(_ handle: UnsafePointer<uv_stream_t>) -> ABIStream? { handleObject(handle, ABIStream.self) }

/// The public stream fields at init (`uv__stream_init`).
func initStreamFields(_ handle: UnsafeMutablePointer<uv_stream_t>) {
    handle.pointee.write_queue_size = 0
    handle.pointee.alloc_cb = nil
    handle.pointee.read_cb = nil
    handle.pointee.connect_req = nil
    handle.pointee.shutdown_req = nil
    handle.pointee.connection_cb = nil
    handle.pointee.delayed_error = 0
    handle.pointee.accepted_fd = -1
    handle.pointee.queued_fds = nil
}

/// The buffers of a write, as the native request takes them (the array of
/// `uv_buf_t` is copied, as libuv copies it; the bytes stay the user's).
func bufferList(_ buffers: UnsafePointer<uv_buf_t>?, _ count: UInt32) -> [UnsafeRawBufferPointer] {
    guard let buffers else { return [] }
    var list: [UnsafeRawBufferPointer] = []
    list.reserveCapacity(Int(count))
    for i in 0..<Int(count) {
        list.append(UnsafeRawBufferPointer(start: buffers[i].base, count: buffers[i].base == nil ? 0 : buffers[i].len))
    }
    return list
}

/// A connect request's native side: fills the public fields of `request`
/// and clears the stream's `connect_req` before the callback.
func connectRequest(_ request: UnsafeMutablePointer<uv_connect_t>, _ stream: UnsafeMutablePointer<uv_stream_t>,
                    _ callback: uv_connect_cb?) -> NativeStreamRequest {
    request.pointee.type = UV_CONNECT
    request.pointee.cb = callback
    request.pointee.handle = stream
    return NativeStreamRequest { status in
        stream.pointee.connect_req = nil
        request.pointee.cb?(request, status)
    }
}

/// `uv_read_start`: `UV_EINVAL` without callbacks or on a closing handle,
/// `UV_EALREADY` when reading, `UV_ENOTCONN` when not readable.
@_cdecl("uv_read_start")
public func abiReadStart(_ handle: UnsafeMutablePointer<uv_stream_t>?, _ allocCallback: uv_alloc_cb?, _ readCallback: uv_read_cb?) -> Int32 {
    guard let handle, allocCallback != nil, readCallback != nil,
          let object = streamObject(handle), !object.stream.isClosing else { return uvError(EINVAL) }
    do {
        try object.stream.readStart(object.onRead)
    } catch {
        return error.code
    }
    handle.pointee.alloc_cb = allocCallback
    handle.pointee.read_cb = readCallback
    return 0
}

/// `uv_read_stop`.
@_cdecl("uv_read_stop")
public func abiReadStop(_ handle: UnsafeMutablePointer<uv_stream_t>) -> Int32 {
    streamObject(handle)?.stream.readStop()
    return 0
}

/// `uv_write2`: `UV_EINVAL` without buffers or when passing a handle over
/// a stream that is not an IPC pipe, `UV_EBADF` without a descriptor,
/// `UV_EPIPE` when not writable. The callback always comes later, from the
/// loop.
@_cdecl("uv_write2")
public func abiWrite2(_ request: UnsafeMutablePointer<uv_write_t>, _ handle: UnsafeMutablePointer<uv_stream_t>,
                      _ buffers: UnsafePointer<uv_buf_t>?, _ count: UInt32, _ sendHandle: UnsafeMutablePointer<uv_stream_t>?,
                      _ callback: uv_write_cb?) -> Int32 {
    if count == 0 { return uvError(EINVAL) }
    guard let object = streamObject(handle) else { return uvError(EBADF) }
    var sending: NativeHandle?
    if let sendHandle {
        guard let sent = streamObject(sendHandle) else { return uvError(EBADF) }
        sending = sent.stream
    }
    request.pointee.type = UV_WRITE
    request.pointee.cb = callback
    request.pointee.handle = handle
    request.pointee.send_handle = sendHandle
    request.pointee.error = 0
    let native = NativeWriteRequest(buffers: bufferList(buffers, count), sending: sending) { [unowned(unsafe) object] status in
        object.syncWriteQueueSize()
        request.pointee.cb?(request, status)
    }
    do {
        try object.stream.write(native)
    } catch {
        return error.code
    }
    object.syncWriteQueueSize()
    return 0
}

/// `uv_write`: `uv_write2` without a handle to send.
@_cdecl("uv_write")
public func abiWrite(_ request: UnsafeMutablePointer<uv_write_t>, _ handle: UnsafeMutablePointer<uv_stream_t>,
                     _ buffers: UnsafePointer<uv_buf_t>?, _ count: UInt32, _ callback: uv_write_cb?) -> Int32 {
    abiWrite2(request, handle, buffers, count, nil, callback)
}

/// `uv_try_write`: the bytes written at once, `UV_EAGAIN` while connecting
/// or while writes are queued.
@_cdecl("uv_try_write")
public func abiTryWrite(_ handle: UnsafeMutablePointer<uv_stream_t>, _ buffers: UnsafePointer<uv_buf_t>?, _ count: UInt32) -> Int32 {
    guard let object = streamObject(handle) else { return uvError(EBADF) }
    if count == 0 && object.stream.writeQueueSize == 0 { return uvError(EINVAL) }
    do {
        return Int32(try object.stream.tryWrite(bufferList(buffers, count)))
    } catch {
        return error.code
    }
}

/// `uv_try_write2`: `uv_try_write` passing no handle (passing one is
/// `UV_EAGAIN` in 1.44.2 unless written at once; not supported here).
@_cdecl("uv_try_write2")
public func abiTryWrite2(_ handle: UnsafeMutablePointer<uv_stream_t>, _ buffers: UnsafePointer<uv_buf_t>?, _ count: UInt32,
                         _ sendHandle: UnsafeMutablePointer<uv_stream_t>?) -> Int32 {
    if sendHandle != nil { return uvError(EAGAIN) }
    return abiTryWrite(handle, buffers, count)
}

/// `uv_shutdown`: `UV_ENOTCONN` when not writable, shut or shutting, or
/// closing; the callback comes once the write queue drained.
@_cdecl("uv_shutdown")
public func abiShutdown(_ request: UnsafeMutablePointer<uv_shutdown_t>, _ handle: UnsafeMutablePointer<uv_stream_t>,
                        _ callback: uv_shutdown_cb?) -> Int32 {
    guard let object = streamObject(handle) else { return uvError(ENOTCONN) }
    request.pointee.type = UV_SHUTDOWN
    request.pointee.handle = handle
    request.pointee.cb = callback
    let native = NativeStreamRequest { status in
        handle.pointee.shutdown_req = nil
        request.pointee.cb?(request, status)
    }
    do {
        try object.stream.shutdown(native)
    } catch {
        return error.code
    }
    handle.pointee.shutdown_req = request
    return 0
}

/// `uv_listen`: TCP and pipe streams; others `UV_EINVAL`.
@_cdecl("uv_listen")
public func abiListen(_ handle: UnsafeMutablePointer<uv_stream_t>, _ backlog: Int32, _ callback: uv_connection_cb?) -> Int32 {
    guard let object = streamObject(handle), !object.stream.isClosing else { return uvError(EINVAL) }
    let connection: (Int32) -> Void = { status in handle.pointee.connection_cb?(handle, status) }
    do {
        switch object.stream {
        case let tcp as NativeTCP: try tcp.listen(backlog: backlog, connection)
        case let pipe as NativePipe: try pipe.listen(backlog: backlog, connection)
        default: return uvError(EINVAL)
        }
    } catch {
        return error.code
    }
    handle.pointee.connection_cb = callback
    return 0
}

/// `uv_accept`: the pending connection into `client` (TCP or pipe);
/// `UV_EAGAIN` when none is pending.
@_cdecl("uv_accept")
public func abiAccept(_ server: UnsafeMutablePointer<uv_stream_t>, _ client: UnsafeMutablePointer<uv_stream_t>) -> Int32 {
    guard let serverObject = streamObject(server) else { return uvError(EINVAL) }
    guard let clientObject = abiHandle(UnsafeRawPointer(client).assumingMemoryBound(to: uv_handle_t.self)) else {
        return uvError(EINVAL)
    }
    do {
        if let stream = clientObject.nativeHandle as? NativeStream {
            try serverObject.stream.accept(into: stream)
        } else if let udp = clientObject.nativeHandle as? NativeUDP {
            try serverObject.stream.accept(into: udp)
        } else {
            return uvError(EINVAL)
        }
    } catch {
        return error.code
    }
    return 0
}

/// `uv_is_readable`.
@_cdecl("uv_is_readable")
public func abiIsReadable(_ handle: UnsafePointer<uv_stream_t>) -> Int32 {
    streamObject(handle)?.stream.isReadable == true ? 1 : 0
}

/// `uv_is_writable`.
@_cdecl("uv_is_writable")
public func abiIsWritable(_ handle: UnsafePointer<uv_stream_t>) -> Int32 {
    streamObject(handle)?.stream.isWritable == true ? 1 : 0
}

/// `uv_stream_get_write_queue_size`: the public field, which the writes
/// keep up to date (and which programs may read directly).
@_cdecl("uv_stream_get_write_queue_size")
public func abiStreamGetWriteQueueSize(_ handle: UnsafePointer<uv_stream_t>) -> Int {
    handle.pointee.write_queue_size
}

/// `uv_stream_set_blocking`.
@_cdecl("uv_stream_set_blocking")
public func abiStreamSetBlocking(_ handle: UnsafeMutablePointer<uv_stream_t>, _ blocking: Int32) -> Int32 {
    guard let object = streamObject(handle) else { return uvError(EBADF) }
    do {
        try object.stream.setBlocking(blocking != 0)
    } catch {
        return error.code
    }
    return 0
}
