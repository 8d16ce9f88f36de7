import SwiftUV
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

#if DEBUG
/// A loop-bound call from a thread other than the one running the loop
/// stops a debug build with a message that says what happened. The misuse
/// runs in a child process (the test binary itself, one test selected).
@Suite("Wrong-thread use (debug builds)")
struct WrongThreadTests {
    @Test("child: a timer started from another thread while the loop runs (child only)",
          .enabled(if: getenv("SWIFTUV_WRONG_THREAD_BACKEND") != nil))
    func child() throws {
        let backend = Backend(rawValue: String(cString: getenv("SWIFTUV_WRONG_THREAD_BACKEND")))!
        let loop = try Loop(backend: backend)
        let keepAlive = try UVTimer(loop: loop)
        try keepAlive.start(timeout: 5000) { t in try? t.close() }
        // The misuse: another thread touches the loop's handle.
        final class Target: @unchecked Sendable { let timer: UVTimer; init(_ t: UVTimer) { timer = t } }
        let target = Unmanaged.passRetained(Target(keepAlive)).toOpaque()
        var thread = pthread_t()
        pthread_create(&thread, nil, { arg in
            usleep(50_000)
            let target = Unmanaged<Target>.fromOpaque(arg!).takeRetainedValue()
            try? target.timer.again()
            return nil
        }, target)
        try loop.run()
    }

    // The child runs without Swift's backtracer: it would inherit the
    // output pipe and, under AddressSanitizer, hang holding it.
    @Test("calling a loop-bound API off the loop's thread stops the program with a clear message", arguments: backends)
    func wrongThread(backend: Backend) throws {
        let child = try Subprocess(["/proc/self/exe", "--testing-library", "swift-testing", "--filter", "WrongThreadTests/child"],
                                   environment: ["SWIFTUV_WRONG_THREAD_BACKEND": backend.rawValue, "SWIFT_BACKTRACE": "enable=no"],
                                   pipeStdout: true, mergeStderr: true)
        let output = child.readAll()
        let status = child.wait()
        #expect(status != 0, "the child stopped")
        #expect(output.contains("UVTimer.again was called on thread"), "\(output)")
        #expect(output.contains("runs its loop"))
    }
}
#endif
