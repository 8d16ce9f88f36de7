import CUV

/// The writes a `writeBatch` body makes, held until it returns.
final class WriteBatch {
    private(set) var buffers: [OwnedBuffer] = []
    private(set) var callbacks: [((UVError?) -> Void)?] = []

    var isEmpty: Bool { callbacks.isEmpty }

    func hold(_ write: WriteBuffers, _ callback: ((UVError?) -> Void)?) {
        switch write {
        case .one(let buffer): buffers.append(buffer)
        case .many(let list): buffers += list
        }
        callbacks.append(callback)
    }

    /// Hands over what is held and empties the batch.
    func take() -> (buffers: [OwnedBuffer], callbacks: [((UVError?) -> Void)?]) {
        defer {
            buffers = []
            callbacks = []
        }
        return (buffers, callbacks)
    }
}

extension UVStream {
    /// Runs `body`, holding the writes it makes on this stream, then
    /// submits them as one request: one `uv_write` with all their buffers,
    /// which the kernel gets in as few `writev` calls as it takes (1,024
    /// buffers each) instead of a system call per write. This is what
    /// SwiftNIO's `flush` does for the writes before it.
    ///
    /// Each write's callback still runs once, in the order of the writes,
    /// with the request's status (one error fails them all, as it would the
    /// writes queued after a failed one). A write that passes a handle goes
    /// out at once, after the writes held before it; `shutdown` submits the
    /// held writes first; `tryWrite` answers
    /// `UVError.resourceTemporarilyUnavailable` while writes are held, as it
    /// does while writes are queued. A batch inside a batch joins the outer
    /// one.
    ///
    /// If the writes cannot be submitted (the stream was closed inside
    /// `body`), `writeBatch` throws that error and none of them is made or
    /// called back. An error thrown by `body` is rethrown after the writes
    /// it made are submitted.
    ///
    /// Built on `uv_write` (`uv_write2`) with many buffers.
    ///
    /// Untyped `throws`: `body`'s error comes out as it is (a closure with
    /// `try` inside infers `any Error`); the batch's own errors are
    /// `UVError`s.
    public final func writeBatch(_ body: () throws -> Void) throws {
        try ensureOpen("writeBatch", code: .badFileDescriptor)
        if writeBatch != nil {
            try body()
            return
        }
        writeBatch = WriteBatch()
        var bodyError: (any Error)?
        do { try body() } catch { bodyError = error }
        defer { writeBatch = nil }
        try submitHeldWrites()
        if let bodyError { throw bodyError }
    }

    /// Submits the writes `writeBatch` holds, if any, as one request.
    func submitHeldWrites() throws(UVError) {
        guard let batch = writeBatch, !batch.isEmpty else { return }
        let (buffers, callbacks) = batch.take()
        try submitWriteNow(WriteBuffers(buffers), nil, batchCallbacks: callbacks)
    }
}
