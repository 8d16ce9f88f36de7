/// What a timer can call instead of a closure: an object that is there
/// anyway (SwiftUV's `UVTimer`), so that a million timers do not carry a
/// million closure contexts.
package protocol NativeTimerTarget: AnyObject {
    func nativeTimerFired()
}

/// A timer handle (`uv_timer_t`).
package final class NativeTimer: NativeHandle {
    @exclusivity(unchecked)
    private var callback: (() -> Void)?
    /// Called when there is no `callback`; the target outlives the timer's
    /// activity (it closes the timer before it goes).
    private unowned(unsafe) var target: (any NativeTimerTarget)?
    @exclusivity(unchecked)
    fileprivate(set) var due: UInt64 = 0
    @exclusivity(unchecked)
    fileprivate(set) var startID: UInt64 = 0
    @exclusivity(unchecked)
    fileprivate var heapIndex = -1
    /// `uv_timer_get_repeat` / `uv_timer_set_repeat`.
    @exclusivity(unchecked)
    package var repeatInterval: UInt64 = 0

    package init(loop: NativeEventLoop) {
        super.init(loop: loop, kind: .timer)
    }

    /// An internal timer: unref'd, off the handle list.
    init(internalTo loop: NativeEventLoop) {
        super.init(internalTo: loop, kind: .timer)
    }

    /// `uv_timer_start`: due at the cached loop time plus `timeout` (saturating);
    /// restarting an active timer gives it a new start id.
    package func start(timeout: UInt64, repeat: UInt64, callback: @escaping () -> Void) {
        target = nil
        schedule(timeout: timeout, repeat: `repeat`)
        self.callback = callback
    }

    /// `uv_timer_start` with a target to call instead of a closure.
    package func start(timeout: UInt64, repeat: UInt64, target: any NativeTimerTarget) {
        callback = nil
        schedule(timeout: timeout, repeat: `repeat`)
        self.target = target
    }

    private func schedule(timeout: UInt64, repeat: UInt64) {
        if isActive { stop() }
        let (sum, overflow) = loop.time.addingReportingOverflow(timeout)
        due = overflow ? .max : sum
        repeatInterval = `repeat`
        startID = loop.timerCounter
        loop.timerCounter &+= 1
        loop.timers.insert(self)
        markActive()
    }

    /// `uv_timer_stop`.
    package func stop() {
        if !isActive { return }
        loop.timers.remove(self)
        markInactive()
    }

    /// `uv_timer_again`: `EINVAL` if never started; a no-op when the repeat is 0.
    package func again() throws(NativeError) {
        guard callback != nil || target != nil else { throw .invalidArgument }
        if repeatInterval != 0 {
            stop()
            schedule(timeout: repeatInterval, repeat: repeatInterval)
        }
    }

    /// `uv_timer_get_due_in`.
    package var dueIn: UInt64 {
        loop.time >= due ? 0 : due - loop.time
    }

    override func willClose() { stop() }
    override func didClose() {
        callback = nil
        target = nil
    }

    fileprivate func fire() {
        stop()
        try? again()
        if let callback { callback() } else { target?.nativeTimerFired() }
    }
}

extension NativeEventLoop {
    /// Runs every timer due by the cached time: each is stopped and, if it
    /// repeats, rescheduled before its callback runs.
    func runTimers() {
        while let timer = timers.min, timer.due <= time {
            timer.fire()
        }
    }

    /// Milliseconds until the earliest timer (`-1` if none, capped at `Int32.max`).
    func nextTimeout() -> Int32 {
        guard let timer = timers.min else { return -1 }
        if timer.due <= time { return 0 }
        return Int32(clamping: timer.due - time)
    }
}

/// A binary min-heap of timers ordered by (due, start id), each timer knowing
/// its index so that stop is O(log n).
final class TimerHeap {
    /// Unretained: a timer in the heap is active, hence open, hence owned by
    /// the loop's handle list; removing it from the heap comes first when it
    /// stops or closes. No reference counting while sifting.
    @exclusivity(unchecked)
    private var items: [Unmanaged<NativeTimer>] = []

    var min: NativeTimer? { items.first?.takeUnretainedValue() }

    /// How many timers the heap has room for without growing.
    var capacity: Int { items.capacity }

    /// Below this the heap keeps its room (a few KiB).
    private static let retainedCapacity = 1024

    @inline(__always)
    private static func less(_ a: Unmanaged<NativeTimer>, _ b: Unmanaged<NativeTimer>) -> Bool {
        a._withUnsafeGuaranteedRef { a in
            b._withUnsafeGuaranteedRef { b in a.due != b.due ? a.due < b.due : a.startID < b.startID }
        }
    }

    @inline(__always)
    private static func setIndex(_ t: Unmanaged<NativeTimer>, _ i: Int) {
        t._withUnsafeGuaranteedRef { $0.heapIndex = i }
    }

    func insert(_ t: NativeTimer) {
        t.heapIndex = items.count
        items.append(Unmanaged.passUnretained(t))
        items.withUnsafeMutableBufferPointer { Self.siftUp($0, $0.count - 1) }
    }

    func remove(_ t: NativeTimer) {
        let i = t.heapIndex
        guard i >= 0, i < items.count, items[i].toOpaque() == Unmanaged.passUnretained(t).toOpaque() else { return }
        let last = items.count - 1
        if i != last {
            items.swapAt(i, last)
            Self.setIndex(items[i], i)
        }
        items.removeLast()
        t.heapIndex = -1
        // Give memory back once the heap is far below its room (a million
        // timers closed would otherwise keep 8 MiB): shrink to twice the
        // count, so that growing again costs a doubling, as before.
        if items.count < items.capacity / 8 && items.capacity > Self.retainedCapacity {
            var smaller: [Unmanaged<NativeTimer>] = []
            smaller.reserveCapacity(Swift.max(items.count * 2, Self.retainedCapacity))
            smaller.append(contentsOf: items)
            items = smaller
        }
        if i < items.count {
            items.withUnsafeMutableBufferPointer { buffer in
                Self.siftDown(buffer, i)
                Self.siftUp(buffer, i)
            }
        }
    }

    private static func siftUp(_ items: UnsafeMutableBufferPointer<Unmanaged<NativeTimer>>, _ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            setIndex(items[i], i)
            setIndex(items[parent], parent)
            i = parent
        }
    }

    private static func siftDown(_ items: UnsafeMutableBufferPointer<Unmanaged<NativeTimer>>, _ start: Int) {
        var i = start
        let n = items.count
        while true {
            let l = 2 * i + 1
            if l >= n { break }
            var smallest = l
            let r = l + 1
            if r < n && less(items[r], items[l]) { smallest = r }
            guard less(items[smallest], items[i]) else { break }
            items.swapAt(i, smallest)
            setIndex(items[i], i)
            setIndex(items[smallest], smallest)
            i = smallest
        }
    }
}
