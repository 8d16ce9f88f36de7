import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// libuv's utilities (test-platform-output.c, test-env-vars.c,
/// test-get-memory.c, test-random.c, test-uname.c...).
@Suite("System utilities")
struct SystemTests {
    @Test("platform facts are sane")
    func platform() throws {
        #expect(try System.uptime() > 0)
        let (one, five, fifteen) = System.loadAverage
        #expect(one >= 0 && five >= 0 && fifteen >= 0)
        let cpus = try System.cpus()
        #expect(!cpus.isEmpty)
        #expect(System.availableParallelism >= 1)
        #expect(try System.interfaceAddresses().contains { $0.isInternal && $0.address?.host == "127.0.0.1" })
        #expect(try System.homeDirectory().hasPrefix("/"))
        #expect(try System.temporaryDirectory().hasPrefix("/"))
        #expect(try !System.hostName().isEmpty)
        #expect(System.pid == getpid() && System.parentPid == getppid())
        #expect(try System.residentMemory() > 0)
        #expect(System.totalMemory > 0 && System.freeMemory > 0 && System.freeMemory <= System.totalMemory)
        let usage = try System.resourceUsage()
        #expect(usage.userTime >= 0 && usage.maxResidentKilobytes > 0)
        #expect(try System.uname().system == "Linux")
        #expect(try System.executablePath().hasPrefix("/"))
        #expect(try System.currentDirectory().hasPrefix("/"))
        #expect(try System.currentUser().uid == UInt(getuid()))
        #expect(try System.timeOfDay().seconds > 1_700_000_000)
        #expect(System.libuvVersionNumber == 0x01_2C_02)
    }

    @Test("environment: set, get, unset; a missing variable is nil")
    func environment() throws {
        let name = "SWIFTUV_TEST_\(getpid())"
        #expect(try System.environment(name) == nil)
        try System.setEnvironment(name, "value")
        #expect(try System.environment(name) == "value")
        #expect(try System.environment()[name] == "value")
        try System.unsetEnvironment(name)
        #expect(try System.environment(name) == nil)
        #expect(throws: UVError.invalidArgument) { try System.setEnvironment("", "x") }
    }

    @Test("random bytes, synchronously and on a loop's pool", arguments: backends)
    func random(backend: Backend) throws {
        let a = try System.randomBytes(count: 32)
        let b = try System.randomBytes(count: 32)
        #expect(a.count == 32 && a != b)
        let loop = try Loop(backend: backend)
        var got: [UInt8] = []
        try loop.randomBytes(count: 64) { got = (try? $0.get()) ?? [] }
        try loop.run()
        #expect(got.count == 64)
        try loop.close()
    }
}

@Suite("Small calls")
struct SmallCallTests {
    @Test("pipe, socket pair, buffer sizes, backend descriptor, interface names", arguments: backends)
    func smallCalls(backend: Backend) throws {
        let (r, w) = try System.pipe(nonBlockingRead: true)
        #expect(write(w, "x", 1) == 1)
        var byte: UInt8 = 0
        #expect(read(r, &byte, 1) == 1 && byte == 120)
        close(r); close(w)
        let (a, b) = try System.socketPair()
        close(a); close(b)
        let loop = try Loop(backend: backend)
        #expect(loop.backendFileDescriptor >= 0)
        let tcp = try TCP(loop: loop, family: .ipv4)
        _ = try tcp.sendBufferSize(setting: 65536)
        #expect(try tcp.sendBufferSize() >= 65536)
        #expect(try tcp.receiveBufferSize() > 0)
        #expect(throws: UVError.notSupported) { try UVTimer(loop: loop).sendBufferSize() }
        let udp = try UDP(loop: loop)
        #expect(!udp.usesRecvmmsg)
        #expect(try System.interfaceName(index: 1) == "lo")
        let t0 = System.highResolutionTime
        System.sleep(milliseconds: 5)
        #expect(System.highResolutionTime - t0 >= 5_000_000)
        try loop.shutdown()
    }
}
