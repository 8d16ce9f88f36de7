/// The kinds of native handle, named as libuv's `uv_handle_type`.
package enum NativeHandleKind: Sendable {
    case timer, idle, prepare, check, async, signal, tcp, pipe, udp, poll, tty, process, fsEvent, fsPoll
}

/// The base of every native handle: its flags, its place in the loop's handle
/// list, and the close protocol (stop at once, close callback in the closing
/// phase, last closed first).
package class NativeHandle {
    package let loop: NativeEventLoop
    package let kind: NativeHandleKind
    /// The owner's pointer, as `uv_handle_t.data`.
    @exclusivity(unchecked)
    package var data: UnsafeMutableRawPointer?

    @exclusivity(unchecked)
    private var active = false
    @exclusivity(unchecked)
    private var referenced = true
    @exclusivity(unchecked)
    private var closing = false
    @exclusivity(unchecked)
    private var closed = false
    @exclusivity(unchecked)
    private var closeCallback: (() -> Void)?

    @exclusivity(unchecked)
    var nextHandle: NativeHandle?
    unowned(unsafe) var prevHandle: NativeHandle?
    @exclusivity(unchecked)
    var nextClosing: NativeHandle?

    /// Internal handles (an fs poll's timer) are not on the loop's list:
    /// walk does not see them and, unref'd, they keep nothing alive but
    /// while they close (a closing handle keeps the loop alive, as in libuv).
    let isInternal: Bool

    init(loop: NativeEventLoop, kind: NativeHandleKind) {
        self.loop = loop
        self.kind = kind
        self.isInternal = false
        loop.link(self)
    }

    init(internalTo loop: NativeEventLoop, kind: NativeHandleKind) {
        self.loop = loop
        self.kind = kind
        self.isInternal = true
        self.referenced = false
    }

    /// `uv_is_active`.
    package var isActive: Bool { active }
    /// `uv_is_closing`: closing or closed.
    package var isClosing: Bool { closing }
    /// `uv_has_ref`.
    package var hasRef: Bool { referenced }

    /// `uv_ref`.
    package func ref() {
        if referenced { return }
        referenced = true
        if closing { return }
        if active { loop.activeHandles += 1 }
    }

    /// `uv_unref`.
    package func unref() {
        if !referenced { return }
        referenced = false
        if closing { return }
        if active { loop.activeHandles -= 1 }
    }

    /// Marks the handle active (`uv__handle_start`).
    final func markActive() {
        if active { return }
        active = true
        if referenced { loop.activeHandles += 1 }
    }

    /// Marks the handle inactive (`uv__handle_stop`).
    final func markInactive() {
        if !active { return }
        active = false
        if referenced { loop.activeHandles -= 1 }
    }

    /// `uv_close`. The caller guarantees the handle is not already closing.
    package func close(_ callback: (() -> Void)?) {
        precondition(!closing, "close called twice on a native handle")
        // Stop first, while the handle still counts as open.
        willClose()
        closing = true
        closeCallback = callback
        if !defersClose() { makeClosePending() }
    }

    /// Whether the handle will put itself on the closing list later (an fs
    /// poll waiting for its stat), as libuv's `uv__fs_poll_close` does.
    func defersClose() -> Bool { false }

    final func makeClosePending() {
        nextClosing = loop.closingHandles
        loop.closingHandles = self
    }

    /// The descriptor the handle polls (`uv_fileno`), or -1.
    package var descriptor: Int32 { -1 }

    /// Kind-specific stop on close.
    func willClose() {}

    /// Whether the close may complete now; a signal handle with undelivered
    /// signals says no and goes back on the closing list.
    func readyToFinishClose() -> Bool { true }

    final func finishClose() {
        guard readyToFinishClose() else {
            makeClosePending()
            return
        }
        closed = true
        // Requests still on the handle complete first (streams), while it
        // is still on the loop's list, as in libuv's uv__finish_close.
        didClose()
        referenced = false
        if !isInternal { loop.unlink(self) }
        let callback = closeCallback
        closeCallback = nil
        callback?()
    }

    /// Kind-specific clean-up after the close completed.
    func didClose() {}
}
