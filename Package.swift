// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "SwiftUV",
    products: [
        .library(name: "SwiftUV", targets: ["SwiftUV"]),
        .executable(name: "uvdemo", targets: ["uvdemo"]),
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
        // The public API over both backends.
        .target(name: "SwiftUV", dependencies: ["CUV", "NativeLoop"]),
        .executableTarget(name: "uvdemo", dependencies: ["SwiftUV"]),
        .testTarget(name: "SwiftUVTests", dependencies: ["SwiftUV"]),
        // C calls the tests need and the Glibc module lacks (openpty).
        .target(
            name: "CTestSupport",
            path: "Tests/CTestSupport",
            linkerSettings: [.linkedLibrary("util")]
        ),
        .testTarget(name: "ConformanceTests", dependencies: ["SwiftUV", "CTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
