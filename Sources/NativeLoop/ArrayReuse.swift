extension Array {
    /// Empties the array and keeps its storage, for the loop's queues that
    /// refill every iteration. The usual one or two elements are removed one
    /// by one: `removeAll(keepingCapacity:)` goes through the general
    /// `replaceSubrange`, about 250 instructions even for one element.
    @inline(__always)
    mutating func clearKeepingCapacity() {
        if count <= 4 {
            while !isEmpty { removeLast() }
        } else {
            removeAll(keepingCapacity: true)
        }
    }
}
