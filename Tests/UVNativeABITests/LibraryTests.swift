#if canImport(Glibc)
import Glibc
#endif
import TestSupport
import Testing

/// Whether this test process runs under AddressSanitizer or ThreadSanitizer
/// (`make test-asan`, `make tsan`): the library is then instrumented, and a C
/// program built with the system's cc cannot link it (the sanitizer runtime
/// is the Swift toolchain's). The C programs run in the plain `make test`.
private let underSanitizer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") != nil
    || dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_init") != nil

/// The build directory: where this test executable and libUVNative.so are.
private func buildDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let exe = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    return String(exe[..<(exe.lastIndex(of: "/") ?? exe.endIndex)])
}

/// The targets the UVNative product links, as Package.swift lists them
/// (with their dependencies).
private let productTargets = ["CNativeSystem", "CUVNativeSupport", "NativeLoop", "UVNativeABI"]

/// libUVNative.so as the UVNative product links it, from the objects this
/// build just compiled: `swift build --build-tests` compiles every target but
/// links a dynamic library product only when asked by name (`swift build
/// --product UVNative`), so the product's own file may be stale or missing.
/// (The test bundle cannot link UVNativeABI itself: its uv_* definitions
/// would interpose on the libuv the SwiftUV tests use.) Nil, with the
/// reason, if it could not be linked.
private let library: (path: String?, problem: String) = {
    var objects: [String] = []
    for target in productTargets {
        let dir = buildDirectory() + "/" + target + ".build"
        guard let stream = opendir(dir) else { return (nil, "no objects in \(dir)") }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasSuffix(".o") { objects.append(dir + "/" + name) }
        }
    }
    // In the build directory (replaced by each run, nothing left in /tmp).
    let dir = buildDirectory() + "/UVNativeABITests.products"
    mkdir(dir, 0o755)
    let out = dir + "/libUVNative.so"
    do {
        let link = try run(["swiftc", "-emit-library", "-module-name", "UVNative", "-o", out] + objects
                           + ["-Xlinker", "-rpath=$ORIGIN"])
        return link.status == 0 ? (out, "") : (nil, link.output)
    } catch {
        return (nil, "\(error)")
    }
}()

/// The C sources next to this file.
private func cSource(_ name: String, file: String = #filePath) -> String {
    String(file[..<(file.lastIndex(of: "/") ?? file.endIndex)]) + "/C/" + name
}

/// Runs a command, returning its exit status and what it wrote (stderr merged).
private func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let child = try Subprocess(arguments, pipeStdout: true, mergeStderr: true)
    let output = child.readAll()
    return (child.wait(), output)
}

/// What `Tests/UVNativeABITests/C/smoke.c` prints on libuv 1.44.2.
private let smokeExpected = """
    idle first
    prepare first
    check first
    idle stopped
    timer repeat 1 active=1
    timer repeat 2 active=1
    timer repeat 3 active=1
    timer once data=once due_in=0
    timer late
    async data=async
    run 0
    repeats=3 idles=3
    walked 7
    close async async
    close check check
    close prepare prepare
    close idle idle
    close timer late
    close timer repeat
    close timer once
    closes=7
    done

    """

@Suite("libUVNative.so: libuv's C ABI over the native engine")
struct LibraryTests {
    @Test("the library exports libuv's functions and never links libuv")
    func exportsWithoutLibuv() throws {
        guard let library = library.path else {
            Issue.record("libUVNative.so: \(library.problem)")
            return
        }
        let dynamic = try run(["readelf", "-d", library])
        #expect(dynamic.status == 0)
        #expect(dynamic.output.contains("libswiftCore.so"))
        #expect(!dynamic.output.contains("libuv"), "\(dynamic.output)")
        let symbols = try run(["nm", "-D", "--defined-only", library])
        #expect(symbols.status == 0)
        for name in ["uv_run", "uv_loop_init", "uv_loop_close", "uv_default_loop", "uv_timer_start",
                     "uv_async_send", "uv_walk", "uv_close", "uv_loop_configure", "uv_handle_size"] {
            #expect(symbols.output.contains(" T \(name)\n"), "\(name) is not exported")
        }
        let dependencies = try run(["ldd", library])
        #expect(!dependencies.output.contains("libuv"), "\(dependencies.output)")
        // Every function the system's libuv exports (the drop-in goal).
        let systemLibuv = "/usr/lib/x86_64-linux-gnu/libuv.so.1"
        if access(systemLibuv, F_OK) == 0 {
            let reference = try run(["nm", "-D", "--defined-only", systemLibuv])
            let exported = Set(symbols.output.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) })
            let missing = reference.output.split(separator: "\n")
                .compactMap { $0.split(separator: " ").last.map(String.init) }
                .filter { $0.hasPrefix("uv_") && !exported.contains($0) }
            #expect(missing.isEmpty, "not exported: \(missing.joined(separator: " "))")
        }
    }

    /// Compiles one of the C programs against <uv.h> and links it either to
    /// libUVNative.so or (`libuv: true`) to the system's libuv; returns
    /// its exit status and output, or records why it could not.
    private func compileAndRun(_ source: String, libuv: Bool = false) throws -> (status: Int32, output: String)? {
        guard let library = library.path else {
            Issue.record("libUVNative.so: \(library.problem)")
            return nil
        }
        let libraryDirectory = String(library[..<library.lastIndex(of: "/")!])
        let exe = libraryDirectory + "/" + source + (libuv ? ".libuv" : ".native")
        let link = libuv ? ["-luv"] : ["-L" + libraryDirectory, "-lUVNative", "-Wl,-rpath," + libraryDirectory]
        let compile = try run(["cc", "-std=gnu11", "-Wall", "-Werror", "-o", exe, cSource(source)] + link + ["-lpthread"])
        #expect(compile.status == 0, "\(compile.output)")
        guard compile.status == 0 else { return nil }
        if !libuv {
            let linked = try run(["ldd", exe])
            #expect(linked.output.contains("libUVNative.so"))
            #expect(!linked.output.contains("libuv.so"), "\(linked.output)")
        }
        return try run([exe])
    }

    @Test("a C program written for libuv runs on it, as on libuv", .enabled(if: !underSanitizer))
    func cSmokeProgram() throws {
        guard let native = try compileAndRun("smoke.c") else { return }
        #expect(native.status == 0)
        #expect(native.output == smokeExpected)
    }

    @Test("errors, addresses, system information, threads, the thread pool, TCP, pipes, UDP, the file system, processes and signals, poll handles, DNS, file watching: the same as libuv's",
          .enabled(if: !underSanitizer),
          arguments: ["utilities.c", "work.c", "streams.c", "fs.c", "udp.c", "process.c", "poll_dns.c", "watch.c"])
    func sameAsLibuv(_ source: String) throws {
        guard let native = try compileAndRun(source),
              let reference = try compileAndRun(source, libuv: true) else { return }
        #expect(reference.status == 0, "\(reference.output)")
        #expect(native.status == 0, "\(native.output)")
        #expect(native.output == reference.output)
        #expect(native.output.hasSuffix("done\n"))
    }
}
