import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Misuse gets a clear `UVError` and never reaches libuv, where a second
/// close or a call on a closing handle aborts the process.
@Suite("Misuse")
struct MisuseTests {
    @Test("a second close throws EINVAL and says why", arguments: backends)
    func secondClose(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let timer = try UVTimer(loop: loop)
        var closes = 0
        try timer.close { _ in closes += 1 }
        do {
            try timer.close()
            Issue.record("a second close succeeded")
        } catch {
            #expect(error == .invalidArgument)
            #expect(error.context?.contains("closing") == true)
            #expect(error.description.hasPrefix("EINVAL: invalid argument"))
        }
        try loop.run()
        #expect(closes == 1)
        // Closed, not just closing: still refused.
        #expect(throws: UVError.invalidArgument) { try timer.close() }
        try loop.close()
    }

    @Test("every call on a closing or closed handle throws", arguments: backends)
    func callsOnClosedHandles(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let timer = try UVTimer(loop: loop)
        let idle = try Idle(loop: loop)
        let prepare = try Prepare(loop: loop)
        let check = try Check(loop: loop)
        let async = try Async(loop: loop) { _ in }
        let signal = try Signal(loop: loop)
        try timer.start(timeout: 10, repeat: 0) { _ in }
        for h: Handle in [timer, idle, prepare, check, async, signal] { try h.close() }
        for pass in ["closing", "closed"] {
            #expect(throws: UVError.invalidArgument, "\(pass)") { try timer.start(timeout: 1, repeat: 0) { _ in } }
            #expect(throws: UVError.invalidArgument, "\(pass)") { try timer.stop() }
            #expect(throws: UVError.invalidArgument, "\(pass)") { try timer.again() }
            #expect(throws: UVError.invalidArgument, "\(pass)") { try timer.setRepeat(5) }
            #expect(throws: UVError.invalidArgument, "\(pass)") { try idle.start { _ in } }
            #expect(throws: UVError.invalidArgument, "\(pass)") { try idle.stop() }
            #expect(throws: UVError.invalidArgument, "\(pass)") { try prepare.start { _ in } }
            #expect(throws: UVError.invalidArgument, "\(pass)") { try check.start { _ in } }
            #expect(throws: UVError.invalidArgument, "\(pass)") { try async.send() }
            #expect(throws: UVError.invalidArgument, "\(pass)") { try async.sender.send() }
            #expect(throws: UVError.invalidArgument, "\(pass)") { try signal.start(signum: SIGUSR2) { _, _ in } }
            #expect(throws: UVError.invalidArgument, "\(pass)") { try signal.stop() }
            for h: Handle in [timer, idle, prepare, check, async, signal] {
                #expect(throws: UVError.invalidArgument, "\(pass) \(h.type)") { try h.ref() }
                #expect(throws: UVError.invalidArgument, "\(pass) \(h.type)") { try h.unref() }
                #expect(!h.isActive)
                #expect(h.isClosing)
            }
            try loop.run()
        }
        #expect(timer.dueIn == 0)
        #expect(signal.signum == 0)
        #expect(!timer.hasRef)
        try loop.close()
    }

    @Test("again on a never-started timer throws EINVAL", arguments: backends)
    func againNeverStarted(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let timer = try UVTimer(loop: loop)
        #expect(throws: UVError.invalidArgument) { try timer.again() }
        try timer.close()
        try loop.shutdown()
    }

    @Test("starting without a callback throws EINVAL", arguments: backends)
    func startWithoutCallback(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        #expect(throws: UVError.invalidArgument) { try UVTimer(loop: loop).start(timeout: 1, repeat: 0, nil) }
        #expect(throws: UVError.invalidArgument) { try Idle(loop: loop).start(nil) }
        #expect(throws: UVError.invalidArgument) { try Prepare(loop: loop).start(nil) }
        #expect(throws: UVError.invalidArgument) { try Check(loop: loop).start(nil) }
        #expect(throws: UVError.invalidArgument) { try Signal(loop: loop).start(signum: SIGUSR2, nil) }
        #expect(loop.handles.allSatisfy { !$0.isActive })
        try loop.shutdown()
    }

    @Test("closing a busy loop throws EBUSY; a closed loop refuses everything", arguments: backends)
    func busyAndClosedLoop(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let idle = try Idle(loop: loop)
        #expect(throws: UVError.busy) { try loop.close() }
        try idle.close()
        // Closing but not closed yet: still busy.
        #expect(throws: UVError.busy) { try loop.close() }
        try loop.run()
        try loop.close()
        #expect(throws: UVError.invalidArgument) { try loop.close() }
        #expect(throws: UVError.invalidArgument) { try loop.run() }
        #expect(throws: UVError.invalidArgument) { try UVTimer(loop: loop) }
        #expect(throws: UVError.invalidArgument) { try Async(loop: loop, nil) }
        #expect(throws: UVError.invalidArgument) { try loop.queueWork({ 1 }, completion: nil) }
        #expect(!loop.isAlive)
        #expect(loop.handles.isEmpty)
    }

    @Test("run from inside a callback of the same loop throws EBUSY", arguments: backends)
    func nestedRun(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let timer = try UVTimer(loop: loop)
        var nested: UVError?
        try timer.start(timeout: 0, repeat: 0) { _ in
            do { try loop.run() } catch let error as UVError { nested = error } catch {}
        }
        try loop.run()
        #expect(nested == .busy)
        try loop.shutdown()
    }

    @Test("a negative duration throws EINVAL; a huge one saturates", arguments: backends)
    func durations(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let timer = try UVTimer(loop: loop)
        #expect(throws: UVError.invalidArgument) { try timer.start(after: .milliseconds(-1)) { _ in } }
        try timer.start(after: .seconds(Int64.max)) { _ in }
        #expect(timer.dueIn > 1 << 62)
        try timer.start(after: .milliseconds(1500), repeat: .microseconds(2500)) { _ in }
        #expect(timer.dueIn == 1500)
        #expect(timer.repeatInterval == 2)
        try loop.shutdown()
    }
}

@Suite("Errors and utilities")
struct ErrorTests {
    @Test("UVError carries libuv's name and message")
    func names() {
        #expect(UVError.invalidArgument.name == "EINVAL")
        #expect(UVError.invalidArgument.message == "invalid argument")
        #expect(UVError.addressInUse.description == "EADDRINUSE: address already in use")
        #expect(UVError.endOfFile.name == "EOF")
        #expect(UVError.cancelled.code == -125)
        #expect(UVError(code: -2) == .noSuchFileOrDirectory)
        #expect(UVError(code: -12345).name.contains("Unknown"))
    }

    @Test("a failed fs call names itself and what it was given, synchronously and asynchronously", arguments: backends)
    func fsErrorsNameTheirSubject(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let missing = "/tmp/swiftuv-missing-\(getpid())/file"
        do {
            _ = try loop.fs.open(missing)
            Issue.record("opened a missing file")
        } catch {
            #expect(error == .noSuchFileOrDirectory)
            #expect(error.context == "fs.open(\"\(missing)\")")
            #expect(error.description == "ENOENT: no such file or directory (fs.open(\"\(missing)\"))")
        }
        // A case with one value names it too.
        #expect(throws: UVError.noSuchFileOrDirectory) { try loop.fs.unlink(missing) }
        do { try loop.fs.unlink(missing) } catch { #expect(error.context == "fs.unlink(\"\(missing)\")") }
        do { try loop.fs.close(-1) } catch { #expect(error.context == "fs.close(fd -1)") }
        var renamed: UVError?
        try loop.fs.rename(missing, to: missing + ".b") { result in
            if case .failure(let error) = result { renamed = error }
        }
        var read: UVError?
        try loop.fs.read(-1, count: 1) { result in
            if case .failure(let error) = result { read = error }
        }
        try loop.run()
        #expect(renamed?.context == "fs.rename(\"\(missing)\", \"\(missing).b\")")
        #expect(read == .badFileDescriptor && read?.context == "fs.read(fd -1)")
        try loop.close()
    }

    @Test("a port in use and a refused connect name the address", arguments: backends)
    func networkErrorsNameTheirAddress(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let first = try TCP(loop: loop)
        try first.bind("127.0.0.1:0")
        try first.listen { _ in }
        let address = try first.localAddress()
        let second = try TCP(loop: loop)
        do {
            // libuv reports EADDRINUSE at listen, not at bind.
            try second.bind(address)
            try second.listen { _ in }
            Issue.record("a second listener on \(address)")
        } catch {
            #expect(error == .addressInUse)
            #expect(error.context == "TCP.listen(\(address))" || error.context == "TCP.bind(\(address))", "\(error)")
        }
        try first.close()
        try second.close()
        try loop.run()
        // Nothing listens on the port any more.
        let client = try TCP(loop: loop)
        var refused: UVError?
        try client.connect(to: address) { error in refused = error; try? client.close() }
        try loop.run()
        #expect(refused == .connectionRefused)
        #expect(refused?.context == "TCP.connect(\(address))")
        try loop.close()
    }

    @Test("errors match by code in catch patterns")
    func patterns() {
        do {
            throw UVError.busy.with(context: "test")
        } catch UVError.busy {
            // matched
        } catch {
            Issue.record("did not match: \(error)")
        }
    }

    @Test("hrtime is monotonic and the loop time follows it", arguments: backends)
    func clocks(backend: Backend) throws {
        let loop = try Loop(backend: backend)
        let a = System.highResolutionTime
        let b = System.highResolutionTime
        #expect(b >= a)
        loop.updateTime()
        let ms = System.highResolutionTime / 1_000_000
        #expect(loop.now <= ms && ms - loop.now < 1000)
        #expect(libuvVersion == "1.44.2")
        try loop.close()
    }

    @Test("the default loop runs and can be made again after close")
    func defaultLoop() throws {
        let loop = Loop.default
        #expect(Loop.default === loop)
        var fired = false
        let timer = try UVTimer(loop: loop)
        try timer.start(timeout: 1, repeat: 0) { t in fired = true; try? t.close() }
        try loop.run()
        #expect(fired)
        try loop.close()
        let again = Loop.default
        #expect(again !== loop)
        #expect(!again.isClosed)
        try again.close()
    }
}
