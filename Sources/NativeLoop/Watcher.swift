/// What a watcher calls in its phase, without a closure in between: the
/// owner of the watcher (SwiftUV's `LoopWatcher`), which outlives it.
package protocol NativeWatcherTarget: AnyObject {
    func watcherFired()
}

/// An idle, prepare or check handle (`uv_idle_t`, `uv_prepare_t`,
/// `uv_check_t`): a callback run once per loop iteration in its phase.
package final class NativeWatcher: NativeHandle {
    @exclusivity(unchecked)
    private var callback: (() -> Void)?
    /// Called instead of `callback` when set. Not retained: the target owns
    /// this watcher and closes it before it goes.
    @exclusivity(unchecked)
    private unowned(unsafe) var target: (any NativeWatcherTarget)?
    @exclusivity(unchecked)
    fileprivate var startSequence: UInt64 = 0

    package override init(loop: NativeEventLoop, kind: NativeHandleKind) {
        precondition(kind == .idle || kind == .prepare || kind == .check)
        super.init(loop: loop, kind: kind)
    }

    private var list: WatcherList {
        switch kind {
        case .idle: return loop.idleHandles
        case .prepare: return loop.prepareHandles
        default: return loop.checkHandles
        }
    }

    /// Starts the watcher at the head of its phase's list, so watchers run in
    /// reverse start order. Starting an active watcher does nothing.
    package func start(callback: @escaping () -> Void) {
        if isActive { return }
        self.callback = callback
        loop.watcherStartCounter &+= 1
        startSequence = loop.watcherStartCounter
        list.pushHead(self)
        markActive()
    }

    /// `start(callback:)` with a target called directly (no closure call
    /// or retain per iteration).
    package func start(target: any NativeWatcherTarget) {
        if isActive { return }
        self.target = target
        loop.watcherStartCounter &+= 1
        startSequence = loop.watcherStartCounter
        list.pushHead(self)
        markActive()
    }

    package func stop() {
        if !isActive { return }
        list.remove(self)
        markInactive()
    }

    override func willClose() { stop() }
    override func didClose() {
        callback = nil
        target = nil
    }

    @inline(__always)
    fileprivate func invoke() {
        if let target { target.watcherFired() } else { callback?() }
    }
}

/// The started watchers of one phase. The head is the last element, so a
/// start appends.
final class WatcherList {
    @exclusivity(unchecked)
    fileprivate var items: [NativeWatcher] = []

    var isEmpty: Bool { items.isEmpty }

    fileprivate func pushHead(_ w: NativeWatcher) { items.append(w) }

    fileprivate func remove(_ w: NativeWatcher) {
        if let i = items.lastIndex(where: { $0 === w }) { items.remove(at: i) }
    }
}

extension NativeEventLoop {
    /// One phase over a snapshot: a watcher started during the phase first
    /// runs next iteration; one stopped during the phase is skipped.
    func runWatchers(_ list: WatcherList) {
        let count = list.items.count
        if count == 0 { return }
        let phaseStart = watcherStartCounter
        if count == 1 {
            // One watcher: nothing else can run in the phase, no snapshot.
            let w = list.items[0]
            if w.isActive && w.startSequence <= phaseStart { w.invoke() }
            return
        }
        let snapshot = list.items
        for w in snapshot.reversed() where w.isActive && w.startSequence <= phaseStart {
            w.invoke()
        }
    }
}
