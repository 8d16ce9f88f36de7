// SwiftUV on either backend, the workloads of Benchmarks/WORKLOADS.md.
// Usage: swiftuv-bench WORKLOAD [--quick] [--backend libuv|native] [--instrument metrics|trace]
import SwiftUV

let arguments = Array(CommandLine.arguments.dropFirst())
let chosen: Backend = {
    guard let i = arguments.firstIndex(of: "--backend"), i + 1 < arguments.count,
          let b = Backend(rawValue: arguments[i + 1]) else { return .libuv }
    return b
}()
// The loop's own instruments on: metrics, or a full trace (to /dev/null).
let instrument: String? = {
    guard let i = arguments.firstIndex(of: "--instrument"), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}()
let options = Set(["libuv", "native", "metrics", "trace"])
Bench(workload: arguments.first { !$0.hasPrefix("--") && !options.contains($0) } ?? "",
      quick: arguments.contains("--quick"), backend: chosen, instrument: instrument).run()
