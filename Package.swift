// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "SwiftUV",
    products: [
        .library(name: "SwiftUV", targets: ["SwiftUV"]),
        .library(name: "LoopFuzz", targets: ["LoopFuzz"]),
        .executable(name: "uvdemo", targets: ["uvdemo"]),
        // libuv's C ABI over the native engine: a C program written for
        // libuv 1.44.2 links to libUVNative.so instead of libuv.so.
        .library(name: "UVNative", type: .dynamic, targets: ["UVNativeABI", "CUVNativeSupport"]),
    ],
    dependencies: [
        // uvdemo's command line only; the library itself has no dependencies.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The system libuv (Debian's libuv1-dev 1.44.2), seen through <uv.h>.
        .systemLibrary(
            name: "CUV",
            pkgConfig: "libuv",
            providers: [.apt(["libuv1-dev"])]
        ),
        // Linux system headers that the Glibc module lacks (epoll, eventfd).
        .target(name: "CNativeSystem"),
        // The from-scratch engine: Glibc and kernel headers only, never CUV.
        .target(name: "NativeLoop", dependencies: ["CNativeSystem"]),
        // <uv.h>'s types and layouts only: no pkg-config, no link line, so
        // nothing that imports it links libuv.
        .systemLibrary(name: "CUVLayout"),
        // The C half of the ABI: what Swift cannot define (a variadic
        // uv_loop_configure) and the C-shaped utilities (errors, addresses,
        // threads, system information), over pthreads and system calls.
        .target(name: "CUVNativeSupport"),
        // libuv's functions, exported under their C names, over NativeLoop.
        .target(name: "UVNativeABI", dependencies: ["NativeLoop", "CUVLayout", "CUVNativeSupport", "CNativeSystem"]),
        // The public API over both backends.
        .target(name: "SwiftUV", dependencies: ["CUV", "NativeLoop", "CNativeSystem"]),
        // The differential tester: random SwiftUV programs run on both backends.
        .target(name: "LoopFuzz", dependencies: ["SwiftUV"]),
        // uvdemo's programs, trace, comparison and renderings, and its command line.
        .target(name: "UVDemoKit", dependencies: [
            "SwiftUV", "LoopFuzz", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "uvdemo", dependencies: ["UVDemoKit"]),
        .testTarget(name: "SwiftUVTests", dependencies: ["SwiftUV", "NativeLoop", "TestSupport"]),
        // A child process for tests (posix_spawn; Foundation's Process leaks under LSan).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // C calls the tests need and the Glibc module lacks (openpty).
        .target(
            name: "CTestSupport",
            path: "Tests/CTestSupport",
            linkerSettings: [.linkedLibrary("util")]
        ),
        .testTarget(name: "ConformanceTests", dependencies: ["SwiftUV", "CTestSupport"]),
        .testTarget(name: "FuzzTests", dependencies: ["LoopFuzz", "SwiftUV"]),
        // libUVNative.so: no libuv in its dependencies, and a C program
        // written for libuv runs on it.
        .testTarget(name: "UVNativeABITests", dependencies: ["TestSupport"], exclude: ["C"]),
        .testTarget(name: "DemoTests", dependencies: ["UVDemoKit", "SwiftUV", "TestSupport"]),
        // A program outside uvdemo that DemoTests compare with `uvdemo compare --exec`.
        .executableTarget(name: "swiftuv-trace-subject", dependencies: ["SwiftUV"], path: "Tests/TraceSubject"),
    ],
    swiftLanguageModes: [.v6]
)

// `make docs` only: the DocC plugin, so that `swift package
// generate-documentation` works, without a dependency for everyone else.
if Context.environment["SWIFTUV_DOCS"] != nil {
    package.dependencies.append(.package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"))
}
