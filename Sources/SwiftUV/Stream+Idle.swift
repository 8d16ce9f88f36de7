/// Idle timeouts for streams: what SwiftNIO's `IdleStateHandler` gives a
/// channel. libuv has none; this is a timer of the loop per watched stream,
/// on either backend.
extension UVStream {
    /// Calls `onIdle` when the stream has gone `timeout` with no read
    /// callback (data, EOF or error) and no write completed, and again after
    /// each further `timeout` of quiet; nil stops watching. A typical
    /// `onIdle` closes the stream. The watch ends when the stream closes.
    ///
    /// Activity costs one store (the loop time of the last read or write):
    /// the timer is not restarted on every read, it checks when it fires and
    /// waits out the rest. It does not keep the loop alive on its own (it is
    /// unreferenced, as with `unref()`). A timeout below 1 ms counts as 1 ms;
    /// a negative one is `UVError.invalidArgument`.
    public final func setIdleTimeout(_ timeout: Duration?, _ onIdle: ((UVStream) -> Void)?) throws(UVError) {
        try ensureOpen("UVStream.setIdleTimeout")
        guard let timeout, let onIdle else {
            idleWatch?.stop()
            idleWatch = nil
            return
        }
        let milliseconds = max(1, try SwiftUV.milliseconds(timeout))
        if let watch = idleWatch {
            watch.reset(milliseconds: milliseconds, onIdle: onIdle)
        } else {
            idleWatch = try IdleWatch(stream: self, milliseconds: milliseconds, onIdle: onIdle)
        }
    }
}

/// One stream's idle watch: the loop time of its last activity, and a timer
/// that fires when the quiet may have lasted long enough.
final class IdleWatch {
    unowned(unsafe) let stream: UVStream
    private let timer: UVTimer
    private var milliseconds: UInt64
    private var onIdle: (UVStream) -> Void
    /// `loop.now` at the last read or write, or when the watch (re)started.
    @exclusivity(unchecked)
    var lastActivity: UInt64

    init(stream: UVStream, milliseconds: UInt64, onIdle: @escaping (UVStream) -> Void) throws(UVError) {
        self.stream = stream
        self.milliseconds = milliseconds
        self.onIdle = onIdle
        timer = try UVTimer(loop: stream.loop)
        lastActivity = stream.loop.now
        try timer.unref()
        stream.closeHooks[ObjectIdentifier(self)] = { [unowned self] in self.stop() }
        arm(after: milliseconds)
    }

    /// Notes a read or a write.
    @inline(__always)
    func touch() { lastActivity = stream.loop.now }

    func reset(milliseconds: UInt64, onIdle: @escaping (UVStream) -> Void) {
        self.milliseconds = milliseconds
        self.onIdle = onIdle
        lastActivity = stream.loop.now
        arm(after: milliseconds)
    }

    func stop() {
        stream.closeHooks[ObjectIdentifier(self)] = nil
        if !timer.isClosing { try? timer.close() }
    }

    private func arm(after delay: UInt64) {
        try? timer.start(timeout: delay) { [unowned self] _ in self.fired() }
    }

    private func fired() {
        let quiet = stream.loop.now &- lastActivity
        if quiet < milliseconds { return arm(after: milliseconds - quiet) }
        // The next period counts from now, whatever onIdle does.
        lastActivity = stream.loop.now
        arm(after: milliseconds)
        onIdle(stream)
    }
}
