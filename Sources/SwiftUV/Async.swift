import CUV
import NativeLoop
import Synchronization

/// The loop's door for other threads: `send` from any thread makes the
/// callback run on the loop thread, in the poll phase. Sends coalesce: any
/// number of them before the callback runs give one call. The handle is
/// active from init and keeps the loop alive until it is closed (or unref'd).
///
/// `Async` itself belongs to the loop thread; hand other threads its
/// `sender`, which is `Sendable`.
///
/// The corresponding libuv type is `uv_async_t`.
public final class Async: Handle {
    @exclusivity(unchecked)
    private var callback: ((Async) -> Void)?
    /// The `Sendable` way to wake this handle from another thread.
    public let sender: AsyncSender

    /// Makes an async handle. `callback` may be nil: sends then only wake the
    /// loop.
    ///
    /// The corresponding libuv function is `uv_async_init`.
    public init(loop: Loop, _ callback: ((Async) -> Void)?) throws(UVError) {
        try loop.ensureOpen("Async.init")
        let core: Core
        let door: AsyncDoor.Target
        switch loop.core {
        case .uv(let l):
            core = try Handle.makeUV(uv_async_t.self, on: l) { l, h in
                uv_async_init(l, h) { h in
                    Handle.withOwner(of: h?.pointee.data, as: Async.self) { handle in handle.fire() }
                }
            }
            guard case .uv(let h) = core else { preconditionFailure() }
            door = .uv(UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_async_t.self))
        case .native(let l):
            let native = NativeAsync(loop: l, callback: nil)
            core = .native(native)
            door = .native(native)
        }
        self.callback = callback
        self.sender = AsyncSender(door: AsyncDoor(door))
        super.init(loop: loop, type: .async, core: core)
        if case .native(let h) = core {
            unsafeDowncast(h, to: NativeAsync.self).setCallback { [unowned(unsafe) self] in self.fire() }
        }
    }

    /// Runs the callback.
    @inline(__always)
    private func fire() {
        if _slowPath(isObserved) { deliver(.fired) { callback?(self) } } else { callback?(self) }
    }

    /// Wakes the handle; safe from any thread. Throws once the handle is
    /// closing.
    ///
    /// The corresponding libuv function is `uv_async_send`.
    public func send() throws(UVError) { try sender.send() }

    override func willClose() { sender.door.shut() }
    /// The door frees the `uv_async_t`, once no sender can read it.
    override var freesUVMemoryOnClose: Bool { false }
    override func releaseCallbacks() { callback = nil }
}

/// Sends to an `Async` handle from any thread.
public struct AsyncSender: Sendable {
    let door: AsyncDoor

    /// Wakes the handle's loop so that its callback runs. Throws
    /// `UVError.invalidArgument` once the handle is closing: a send can never
    /// touch a handle that is gone. The price is a lock shared with `close`,
    /// so unlike `uv_async_send` this is not async-signal-safe: do not call
    /// it from a signal handler.
    ///
    /// The corresponding libuv function is `uv_async_send`.
    public func send() throws(UVError) { try door.send() }
}

/// Serialises sends with the handle's close, so that no send reaches libuv
/// after `uv_close`.
///
/// A send finds a wake-up already pending without the lock, as
/// `uv_async_send` does (its first test): in a stream of sends from a busy
/// thread most are that. The door owns the `uv_async_t` memory (freed when
/// the handle and every sender are gone), so that this test never reads
/// freed memory, even after the close.
final class AsyncDoor: Sendable {
    enum Target {
        case uv(UnsafeMutablePointer<uv_async_t>)
        case native(NativeAsync)
    }

    /// Read on any thread, but only under the lock while `open` is true.
    private nonisolated(unsafe) let target: Target
    /// Written under the lock; read without it by the fast path.
    private let open = Atomic<Bool>(true)
    private let lock = Lock()

    init(_ target: Target) {
        self.target = target
    }

    deinit {
        if case .uv(let h) = target { h.deallocate() }
    }

    func send() throws(UVError) {
        if open.load(ordering: .acquiring) {
            switch target {
            case .uv(let h): if swiftuv_async_is_pending(h) != 0 { return }
            case .native(let h): if h.flag.isPending { return }
            }
        }
        let sent = lock.withLock { () -> Bool in
            guard open.load(ordering: .relaxed) else { return false }
            switch target {
            case .uv(let h): _ = uv_async_send(h)
            case .native(let h): h.send()
            }
            return true
        }
        if !sent { throw UVError.invalidArgument.with(context: "Async.send: the async handle is closing or closed") }
    }

    func shut() {
        lock.withLock { open.store(false, ordering: .releasing) }
    }
}
