// swift-tools-version:6.0
import PackageDescription

// SwiftUV's benchmark program, in a package of its own so that its release
// build stays out of `make test`.
let package = Package(
    name: "SwiftUVBench",
    dependencies: [.package(name: "SwiftUV", path: "../..")],
    targets: [
        .executableTarget(name: "swiftuv-bench", dependencies: [.product(name: "SwiftUV", package: "SwiftUV"), "AllocationCounter"]),
        // Counts every heap allocation of the process (the `allocations` workload).
        .target(name: "AllocationCounter"),
    ],
    swiftLanguageModes: [.v6]
)
