import SwiftUV
import Testing

extension Backend: CustomTestStringConvertible {
    public var testDescription: String { rawValue }
}

/// Both backends: every case runs once on each, libuv first (the oracle).
let backends = Backend.allCases

/// Runs `body` on a new loop of `backend`, then checks libuv's own
/// post-condition of every test: close what is still open, run, and the
/// loop closes clean with no handle or request left.
func withLoop(_ backend: Backend, _ body: (Loop) throws -> Void) throws {
    let loop = try Loop(backend: backend)
    try body(loop)
    try assertClosesClean(loop)
}

/// libuv's MAKE_VALGRIND_HAPPY: walk, close every handle, run, close the loop.
func assertClosesClean(_ loop: Loop, sourceLocation: SourceLocation = #_sourceLocation) throws {
    loop.closeAll()
    try loop.run()
    #expect(throws: Never.self, sourceLocation: sourceLocation) { try loop.close() }
    #expect(loop.liveHandleCount == 0, sourceLocation: sourceLocation)
    #expect(loop.liveRequestCount == 0, sourceLocation: sourceLocation)
}

/// A mutable counter that closures can share.
final class Counter {
    var value = 0
    func bump() { value += 1 }
}
