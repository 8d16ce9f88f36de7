import CUV
import NativeLoop

/// Watches a file or a folder for changes: a change of content or
/// attributes is `.change`, a creation, deletion or rename `.rename`. For a
/// folder the callback gets the name of the entry that changed.
///
/// The corresponding libuv type is `uv_fs_event_t`.
public final class FSEvent: Handle {
    /// `uv_fs_event`.
    public struct Events: OptionSet, Sendable, Hashable {
        /// The libuv bits.
        public let rawValue: Int32
        /// The set with the libuv bits `rawValue`.
        public init(rawValue: Int32) { self.rawValue = rawValue }
        /// `UV_RENAME`.
        public static let rename = Events(rawValue: 1)
        /// `UV_CHANGE`.
        public static let change = Events(rawValue: 2)
    }

    @exclusivity(unchecked)
    private var callback: ((FSEvent, String?, Events) -> Void)?
    private lazy var nativeFire: (String?, Int32, Int32) -> Void = { [unowned(unsafe) self] name, events, _ in
        self.deliver(.change(0)) { self.callback?(self, name, Events(rawValue: events)) }
    }

    /// The corresponding libuv function is `uv_fs_event_init`.
    public init(loop: Loop) throws(UVError) {
        try loop.ensureOpen("FSEvent.init")
        let core: Core
        switch loop.core {
        case .uv(let l): core = try Handle.makeUV(uv_fs_event_t.self, on: l) { uv_fs_event_init($0, $1) }
        case .native(let l): core = .native(NativeFSEvent(loop: l))
        }
        super.init(loop: loop, type: .fsEvent, core: core)
    }

    /// Starts watching `path`. `UVError.invalidArgument` if already started
    /// or without a callback; the path's error (`.noSuchFileOrDirectory`...)
    /// if it cannot be watched, leaving the handle inactive.
    ///
    /// The corresponding libuv function is `uv_fs_event_start`.
    public func start(path: String, _ callback: ((FSEvent, String?, Events) -> Void)?) throws(UVError) {
        try ensureOpen("FSEvent.start")
        guard let callback else { throw UVError.invalidArgument.with(context: "FSEvent.start: no callback") }
        try InputCheck.cString(path, "FSEvent.start")
        switch core {
        case .uv(let h):
            try check(uv_fs_event_start(UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_fs_event_t.self), { h, name, events, status in
                let e = Handle.owner(of: h?.pointee.data, as: FSEvent.self)
                e.deliver(.change(status)) { e.callback?(e, name.map { String(cString: $0) }, Events(rawValue: events)) }
            }, path, 0))
        case .native(let h):
            do { try unsafeDowncast(h, to: NativeFSEvent.self).start(path: path, callback: nativeFire) } catch { throw UVError(error) }
        }
        self.callback = callback
    }

    /// Stops watching (`uv_fs_event_stop`).
    public func stop() throws(UVError) {
        try ensureOpen("FSEvent.stop")
        switch core {
        case .uv(let h): try check(uv_fs_event_stop(UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_fs_event_t.self)))
        case .native(let h): unsafeDowncast(h, to: NativeFSEvent.self).stop()
        }
    }

    /// The path being watched; `UVError.invalidArgument` when not started.
    ///
    /// The corresponding libuv function is `uv_fs_event_getpath`.
    public func path() throws(UVError) -> String {
        try ensureOpen("FSEvent.path")
        switch core {
        case .uv(let h):
            let event = UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_fs_event_t.self)
            return try libuvString { uv_fs_event_getpath(event, $0, $1) }
        case .native(let h):
            let n = unsafeDowncast(h, to: NativeFSEvent.self)
            guard n.isActive, let p = n.path else { throw UVError.invalidArgument.with(context: "FSEvent.path: not started") }
            return p
        }
    }

    override func releaseCallbacks() { callback = nil }
}
