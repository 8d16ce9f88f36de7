import CUV
import NativeLoop

/// Readiness of any descriptor you own: a socket made elsewhere, a device, a
/// pipe. Only one handle may poll a descriptor at a time. Closing the handle
/// does not close the descriptor.
///
/// The corresponding libuv type is `uv_poll_t`.
public final class Poll: Handle {
    /// The events a poll handle reports (`uv_poll_event`).
    public struct Events: OptionSet, Sendable, Hashable {
        /// The libuv bits.
        public let rawValue: Int32
        /// The set with the libuv bits `rawValue`.
        public init(rawValue: Int32) { self.rawValue = rawValue }
        /// `UV_READABLE`.
        public static let readable = Events(rawValue: 1)
        /// `UV_WRITABLE`.
        public static let writable = Events(rawValue: 2)
        /// The peer closed its side (`UV_DISCONNECT`).
        public static let disconnect = Events(rawValue: 4)
        /// Urgent data (`UV_PRIORITIZED`).
        public static let prioritized = Events(rawValue: 8)
    }

    @exclusivity(unchecked)
    private var callback: ((Result<Events, UVError>) -> Void)?
    private lazy var nativeFire: (Int32, Int32) -> Void = { [unowned(unsafe) self] status, events in
        self.report(status, events)
    }

    /// Watches `fd`. `UVError.fileExists` if the loop already polls it; a
    /// regular file or a directory gives epoll's `UVError.notPermitted`.
    ///
    /// The corresponding libuv function is `uv_poll_init`.
    public init(loop: Loop, fd: Int32) throws(UVError) {
        try loop.ensureOpen("Poll.init")
        let core: Core
        switch loop.core {
        case .uv(let l): core = try Handle.makeUV(uv_poll_t.self, on: l) { uv_poll_init($0, $1, fd) }
        case .native(let l):
            do { core = .native(try NativePoll(loop: l, fd: fd)) } catch { throw UVError(error) }
        }
        super.init(loop: loop, type: .poll, core: core)
    }

    private func report(_ status: Int32, _ events: Int32) {
        deliver(.ready(status)) { callback?(status == 0 ? .success(Events(rawValue: events)) : .failure(UVError(code: status))) }
    }

    /// Starts (or changes) what is watched; `[]` stops. The callback gets
    /// the events seen, or `UVError.badFileDescriptor` when the descriptor
    /// failed (polling then stops). `UVError.fileExists` if another handle
    /// polls the same descriptor.
    ///
    /// The corresponding libuv function is `uv_poll_start`.
    public func start(_ events: Events, _ callback: ((Result<Events, UVError>) -> Void)?) throws(UVError) {
        try ensureOpen("Poll.start")
        // libuv asserts on unknown bits.
        if events.rawValue & ~15 != 0 { throw UVError.invalidArgument.with(context: "Poll.start: unknown event bits") }
        // Readiness nobody consumes would make the loop spin (libuv would
        // call a null function).
        if callback == nil && !events.isEmpty { throw UVError.invalidArgument.with(context: "Poll.start: no callback") }
        switch core {
        case .uv(let h):
            try check(uv_poll_start(UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_poll_t.self), events.rawValue) { h, status, events in
                Handle.owner(of: h?.pointee.data, as: Poll.self).report(status, events)
            })
        case .native(let h):
            do {
                try unsafeDowncast(h, to: NativePoll.self).start(events: events.rawValue, callback: nativeFire)
            } catch {
                throw UVError(error)
            }
        }
        self.callback = callback
    }

    /// Stops watching (`uv_poll_stop`).
    public func stop() throws(UVError) {
        try ensureOpen("Poll.stop")
        switch core {
        case .uv(let h): try check(uv_poll_stop(UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_poll_t.self)))
        case .native(let h): unsafeDowncast(h, to: NativePoll.self).stop()
        }
    }

    override func releaseCallbacks() { callback = nil }
}
