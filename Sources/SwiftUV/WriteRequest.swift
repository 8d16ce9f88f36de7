import CUV
import NativeLoop

/// The buffers of one write. A write of one buffer (the usual case) keeps
/// it inline: no array is allocated for it.
enum WriteBuffers {
    case one(OwnedBuffer)
    case many([OwnedBuffer])

    /// `buffers` (at least one): inline when there is just one.
    init(_ buffers: [OwnedBuffer]) {
        self = buffers.count == 1 ? .one(buffers[0]) : .many(buffers)
    }

    var count: Int {
        switch self {
        case .one: return 1
        case .many(let buffers): return buffers.count
        }
    }

    subscript(i: Int) -> OwnedBuffer {
        switch self {
        case .one(let buffer): return buffer
        case .many(let buffers): return buffers[i]
        }
    }

    /// Frees the copies; kept arrays go with the request.
    func release() {
        switch self {
        case .one(let buffer): buffer.release()
        case .many(let buffers): for b in buffers { b.release() }
        }
    }
}

/// What a write keeps from submission to its callback, on either backend:
/// its buffers, the callback, and a handle being sent (whose libuv memory
/// must outlive a close until the bytes are out).
struct WriteState {
    unowned(unsafe) let stream: UVStream
    let buffers: WriteBuffers
    var callback: ((UVError?) -> Void)?
    var sentHandle: Handle?
    /// The callbacks of a `writeBatch`'s writes, each run once, in order
    /// (then `callback` is nil).
    var batchCallbacks: [((UVError?) -> Void)?] = []

    /// Ends the request: takes the callback and the sent handle out (so
    /// that the callback runs once), lets the buffers go, and runs it.
    mutating func finish(_ status: Int32) {
        let callback = self.callback.take()
        if let handle = sentHandle {
            sentHandle = nil
            handle.sendFinished()
        }
        buffers.release()
        if batchCallbacks.isEmpty {
            stream.writeFinished(status, callback)
        } else {
            let callbacks = batchCallbacks
            batchCallbacks = []
            stream.writeFinished(status, callbacks)
        }
    }
}

/// A write on the libuv backend: one allocation holds the state and the
/// `uv_write_t` (its tail), which `data` pins until libuv's callback.
final class UVWriteRequest: ManagedBuffer<WriteState, uv_write_t> {
    static func make(_ state: WriteState) -> UVWriteRequest {
        unsafeDowncast(create(minimumCapacity: 1) { _ in state }, to: UVWriteRequest.self)
    }

    /// The `uv_write_t`: the object's tail, which never moves.
    var request: UnsafeMutablePointer<uv_write_t> { withUnsafeMutablePointerToElements { $0 } }

    /// libuv's write callback: takes back the pin and finishes the state in
    /// place (through its pointer: `header` would be an exclusivity-checked
    /// class property access).
    static let completed: uv_write_cb = { req, status in
        let object = Unmanaged<UVWriteRequest>.fromOpaque(req!.pointee.data).takeRetainedValue()
        object.withUnsafeMutablePointerToHeader { $0.pointee.finish(status) }
    }
}

extension UVStream {
    /// `uv_write2`: submits `buffers` (at least one), with `handle` to send
    /// over an IPC pipe. On failure the buffers are let go and nothing is
    /// called back.
    func submitWrite(_ buffers: WriteBuffers, sending handle: Handle? = nil, _ callback: ((UVError?) -> Void)?) throws(UVError) {
        if let batch = writeBatch {
            if handle == nil {
                do {
                    try ensureOpen("write", code: .badFileDescriptor)
                } catch {
                    buffers.release()
                    throw error
                }
                batch.hold(buffers, callback)
                return
            }
            // A handle goes out with its own request, after what is held.
            try submitHeldWrites()
        }
        try submitWriteNow(buffers, sending: handle, callback)
    }

    /// `submitWrite` without batching; `batchCallbacks`, when given, are the
    /// callbacks of a batch's writes.
    func submitWriteNow(_ buffers: WriteBuffers, sending handle: Handle? = nil, _ callback: ((UVError?) -> Void)?,
                        batchCallbacks: [((UVError?) -> Void)?] = []) throws(UVError) {
        do throws(UVError) {
            // libuv answers EBADF for a closing stream (its socket is gone).
            try ensureOpen("write", code: .badFileDescriptor)
            if let handle {
                guard handle.state == .open else {
                    throw UVError.badFileDescriptor.with(context: "write: the handle to send is closing")
                }
                guard handle.loop.backend == loop.backend else {
                    throw UVError.invalidArgument.with(context: "write: the handle to send is on the other backend")
                }
            }
        } catch {
            buffers.release()
            throw error
        }
        let state = WriteState(stream: self, buffers: buffers, callback: callback, sentHandle: handle, batchCallbacks: batchCallbacks)
        switch core {
        case .uv:
            let object = UVWriteRequest.make(state)
            let req = object.request
            req.pointee.data = Unmanaged.passRetained(object).toOpaque()
            var sendStream: UnsafeMutablePointer<uv_stream_t>?
            if let handle, case .uv(let h) = handle.core {
                sendStream = UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_stream_t.self)
            }
            // libuv copies the uv_buf_t array into the request: the stack will do.
            let status: Int32
            switch buffers {
            case .one(let buffer):
                var buf = uvBuffer(buffer.base, buffer.count)
                status = uv_write2(req, uvStream, &buf, 1, sendStream, UVWriteRequest.completed)
            case .many(let list):
                status = withUnsafeTemporaryAllocation(of: uv_buf_t.self, capacity: list.count) { bufs in
                    for (i, b) in list.enumerated() { bufs[i] = uvBuffer(b.base, b.count) }
                    return uv_write2(req, uvStream, bufs.baseAddress, UInt32(bufs.count), sendStream, UVWriteRequest.completed)
                }
            }
            if status != 0 {
                Unmanaged.passUnretained(object).release()
                buffers.release()
                throw UVError(code: status)
            }
        case .native(let h):
            var nativeHandle: NativeHandle?
            if let handle, case .native(let n) = handle.core { nativeHandle = n }
            do {
                // The engine's request carries the state: one allocation.
                var rest: [UnsafeRawBufferPointer] = []
                if case .many(let list) = buffers { rest = list.dropFirst().map(\.rawBuffer) }
                let request = NativeWriteRequestWith(first: buffers[0].rawBuffer, rest: rest, sending: nativeHandle,
                                                     state: state) { $0.finish($1) }
                try unsafeDowncast(h, to: NativeStream.self).write(request)
            } catch {
                buffers.release()
                throw UVError(error)
            }
        }
        loop.liveRequestCount += 1
        // libuv reads the sent handle when the write goes out: its memory
        // must outlive a close until then (the request holds it too).
        handle?.pendingSends += 1
    }

    /// The end of a batch's request: the bookkeeping once, then each
    /// write's callback, in order.
    func writeFinished(_ status: Int32, _ callbacks: [((UVError?) -> Void)?]) {
        loop.liveRequestCount -= 1
        idleWatch?.touch()
        for callback in callbacks { deliverWrite(status, callback) }
    }

    /// The end of every write: the bookkeeping, then the user's callback
    /// (traced when the loop is observed).
    func writeFinished(_ status: Int32, _ callback: ((UVError?) -> Void)?) {
        loop.liveRequestCount -= 1
        idleWatch?.touch()
        deliverWrite(status, callback)
    }

    @inline(__always)
    private func deliverWrite(_ status: Int32, _ callback: ((UVError?) -> Void)?) {
        if _slowPath(isObserved) {
            deliver(.write(status)) { callback?(status == 0 ? nil : UVError(code: status)) }
        } else {
            callback?(status == 0 ? nil : UVError(code: status))
        }
    }
}
