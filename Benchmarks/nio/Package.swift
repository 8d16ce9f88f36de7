// swift-tools-version: 6.0
//
// The SwiftNIO contender of the SwiftUV benchmarks (see ../WORKLOADS.md).
// A package of its own so that the main package does not depend on NIO.
// Build: swift build -c release   (binary: .build/release/nio-bench)

import PackageDescription

let package = Package(
    name: "nio-bench",
    products: [
        .executable(name: "nio-bench", targets: ["nio-bench"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2")
    ],
    targets: [
        .executableTarget(
            name: "nio-bench",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // NIOFileSystem (read_file): NIO's async file system API. The product is still
                // named with an underscore; it holds the module NIOFileSystem too.
                .product(name: "_NIOFileSystem", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
