import Foundation
import SwiftUV

#if canImport(Glibc)
import Glibc
#endif

/// A program that shows something an event loop does, written once against
/// SwiftUV and runnable on either backend.
public struct DemoProgram: Sendable {
    public let name: String
    /// One line for `uvdemo list`.
    public let summary: String
    /// What to look for in its trace.
    public let details: String
    /// Registers the program's work on the loop; the runner then runs the
    /// loop until nothing is left alive.
    let body: @Sendable (Loop, Trace, DemoContext) throws -> Void

    /// Every bundled program, in the order `uvdemo list` shows them.
    public static let all: [DemoProgram] = [.book, .phases, .echo, .walk, .pipeline, .signals]

    public static func named(_ name: String) -> DemoProgram? { all.first { $0.name == name } }
}

/// What a program leaves for the runner to do once its loop has ended: join
/// helper threads, remove scratch files.
public final class DemoContext {
    private var cleanups: [() -> Void] = []

    /// Runs `cleanup` after the loop ends (last registered, first run).
    func atEnd(_ cleanup: @escaping () -> Void) { cleanups.append(cleanup) }

    /// A new empty directory, removed with everything in it at the end.
    func scratchDirectory() throws -> String {
        var template = Array("\(NSTemporaryDirectory())/uvdemo-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw DemoError("cannot make a scratch directory: errno \(errno)") }
        let path = String(cString: made)
        atEnd { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func finish() {
        while let cleanup = cleanups.popLast() { cleanup() }
    }
}

public struct DemoError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension DemoProgram {
    /// Runs the program on `backend` until its loop has nothing left alive,
    /// and returns what it printed. `live` sees each event as it happens.
    public func run(on backend: Backend, live: (@Sendable (TraceEvent) -> Void)? = nil) throws -> [TraceEvent] {
        try runMeasured(on: backend, live: live).events
    }

    /// `run`, with the loop's metrics (taken when the program's work is
    /// done, before the loop closes).
    public func runMeasured(on backend: Backend, live: (@Sendable (TraceEvent) -> Void)? = nil) throws
        -> (events: [TraceEvent], metrics: LoopMetrics?) {
        let trace = Trace(backend: backend, live: live)
        let loop = try Loop(backend: backend)
        try loop.startMetrics()
        let context = DemoContext()
        defer { context.finish() }
        do {
            try body(loop, trace, context)
            try loop.run()
        } catch {
            try? loop.shutdown()
            throw error
        }
        let metrics = loop.metrics
        if loop.isAlive {
            trace.log("the loop was stopped with \(loop.liveHandleCount) handles alive")
            try loop.shutdown()
        } else {
            trace.log("the loop has ended: nothing left alive")
            try loop.close()
        }
        return (trace.events, metrics)
    }
}

/// Writes `text` to a new file at `path`.
func writeFile(_ path: String, _ text: String) throws {
    guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
        throw DemoError("cannot write \(path)")
    }
}

/// Starts a timer that runs `body` once after `milliseconds`, then closes.
func setTimeout(_ loop: Loop, _ milliseconds: UInt64, _ body: @escaping () -> Void) throws {
    let timer = try UVTimer(loop: loop)
    try timer.start(timeout: milliseconds) { t in
        body()
        try? t.close()
    }
}

/// A TCP server on 127.0.0.1 (on a port the kernel picks) that accepts one
/// connection, closes itself, and hands the connection to `accepted`.
/// Returns the address to connect to.
func acceptOne(_ loop: Loop, _ accepted: @escaping (Result<TCP, UVError>) -> Void) throws(UVError) -> SocketAddress {
    let listener = try TCP(loop: loop)
    try listener.bind(try SocketAddress(ip: "127.0.0.1", port: 0))
    try listener.listen { [unowned listener] error in
        if let error { return accepted(.failure(error)) }
        let connection: TCP
        do throws(UVError) {
            connection = try TCP(loop: loop)
        } catch {
            return accepted(.failure(error))
        }
        do throws(UVError) {
            try listener.accept(connection)
        } catch {
            try? connection.close()
            return accepted(.failure(error))
        }
        try? listener.close()
        accepted(.success(connection))
    }
    return try listener.localAddress()
}

/// A helper thread of a demo program (a server on a loop of its own, a
/// signal sender), joined at the end of the program.
final class HelperThread: @unchecked Sendable {
    private var thread = pthread_t()

    init(_ body: @escaping @Sendable () -> Void) throws {
        final class Box { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let status = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        if status != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            throw DemoError("cannot start a thread: \(status)")
        }
    }

    func join() { pthread_join(thread, nil) }
}
