#if canImport(Glibc)
import Glibc
#endif
import CNativeSystem
import Synchronization

/// The three-state wake flag of an async handle, as libuv's: 0 idle, 1 a
/// sender is writing the wake-up, 2 pending. Sends coalesce while pending.
package final class AsyncFlag: Sendable {
    private let state = Atomic<Int32>(0)

    /// Returns true when this call must wake the loop.
    @inline(__always)
    func beginSend() -> Bool {
        if state.load(ordering: .relaxed) != 0 { return false }
        return state.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged
    }

    /// Whether a wake-up is pending (or being written): a send now would
    /// do nothing.
    @inline(__always)
    package var isPending: Bool { state.load(ordering: .relaxed) != 0 }

    @inline(__always)
    func endSend() {
        state.store(2, ordering: .releasing)
    }

    /// Used as a try-lock (0 free, 1 held): true if this call took it.
    func tryAcquire() -> Bool {
        state.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged
    }

    func releaseAcquired() {
        state.store(0, ordering: .releasing)
    }

    /// On the loop thread: clears a pending flag, waiting out a sender that is
    /// between `beginSend` and `endSend`. Returns whether it was pending.
    func consume() -> Bool {
        while true {
            for _ in 0..<997 {
                let (exchanged, original) = state.compareExchange(expected: 2, desired: 0, ordering: .acquiringAndReleasing)
                if exchanged { return true }
                if original == 0 { return false }
            }
            sched_yield()
        }
    }
}

/// An async handle (`uv_async_t`): the loop's door for other threads. It is
/// active from init; its callback runs in the poll phase, once for any
/// number of sends since the last one.
package final class NativeAsync: NativeHandle, @unchecked Sendable {
    package let flag = AsyncFlag()
    @exclusivity(unchecked)
    private(set) var callback: (() -> Void)?

    package init(loop: NativeEventLoop, callback: (() -> Void)?) {
        self.callback = callback
        super.init(loop: loop, kind: .async)
        loop.asyncHandles.append(self)
        markActive()
    }

    /// `uv_async_send`: safe from any thread while the handle is open.
    package func send() {
        if flag.beginSend() {
            loop.wakeUp()
            flag.endSend()
        }
    }

    /// Sets the callback (the owner sets it once, right after init).
    package func setCallback(_ callback: @escaping () -> Void) {
        self.callback = callback
    }

    override func willClose() {
        _ = flag.consume()
        if let i = loop.asyncHandles.firstIndex(where: { $0 === self }) {
            loop.asyncHandles.remove(at: i)
        }
        markInactive()
    }

    override func didClose() { callback = nil }
}
