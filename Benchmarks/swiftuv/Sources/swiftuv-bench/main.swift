// SwiftUV on either backend, the workloads of Benchmarks/WORKLOADS.md.
// Usage: swiftuv-bench WORKLOAD [--quick] [--backend libuv|native]
import SwiftUV

let arguments = Array(CommandLine.arguments.dropFirst())
let chosen: Backend = {
    guard let i = arguments.firstIndex(of: "--backend"), i + 1 < arguments.count,
          let b = Backend(rawValue: arguments[i + 1]) else { return .libuv }
    return b
}()
Bench(workload: arguments.first { !$0.hasPrefix("--") && Backend(rawValue: $0) == nil } ?? "",
      quick: arguments.contains("--quick"), backend: chosen).run()
