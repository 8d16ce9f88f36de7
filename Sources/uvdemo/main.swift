import SwiftUV

#if canImport(Glibc)
import Glibc
#endif

/// A first small program: the phases of one loop, traced on the backend
/// named on the command line (`libuv`, `native`, or `both`, the default).
struct Event {
    let milliseconds: UInt64
    let message: String
    var line: String { pad(String(milliseconds), 4, left: true) + " ms  " + message }
}

func phases(on backend: Backend) throws(UVError) -> [Event] {
    let loop = try Loop(backend: backend)
    var trace: [Event] = []
    let start = loop.now
    func log(_ s: String) { trace.append(Event(milliseconds: loop.now - start, message: s)) }

    let idle = try Idle(loop: loop)
    let prepare = try Prepare(loop: loop)
    let check = try Check(loop: loop)
    let timer = try Timer(loop: loop)
    var iterations = 0

    try idle.start { _ in log("idle") }
    try prepare.start { _ in log("prepare") }
    try check.start { _ in
        log("check")
        iterations += 1
        if iterations == 2 {
            // No idle handle: from now on the poll phase may block. The work
            // completion wakes it, later the timer's timeout ends it.
            try? idle.stop()
            _ = try? loop.queueWork({ () -> Int in (1...1000).reduce(0, +) }) { result in
                log("work done: \(result)")
            }
        }
    }
    try timer.start(timeout: 20, repeat: 20) { t in
        log("timer (repeat \(t.repeatInterval) ms)")
        for h in loop.handles { try? h.close { h in log("close \(h.type)") } }
    }
    try loop.run()
    try loop.close()
    log("loop closed")
    return trace
}

let which = CommandLine.arguments.dropFirst().first ?? "both"
let backends: [Backend]
switch which {
case "both": backends = Backend.allCases
case let name:
    guard let b = Backend(rawValue: name) else {
        writeStderr("usage: uvdemo [libuv|native|both]\n")
        exit(2)
    }
    backends = [b]
}

print("SwiftUV on libuv \(libuvVersion): the phases of one loop\n")
do {
    var traces: [[Event]] = []
    for b in backends { traces.append(try phases(on: b)) }
    if traces.count == 1 {
        print("[\(backends[0])]")
        traces[0].forEach { print("  " + $0.line) }
    } else {
        let width = max(36, (traces[0].map(\.line.count).max() ?? 0) + 2)
        print("libuv".padded(width) + "native")
        for i in 0..<max(traces[0].count, traces[1].count) {
            let l = i < traces[0].count ? traces[0][i].line : ""
            let r = i < traces[1].count ? traces[1][i].line : ""
            print(l.padded(width) + r)
        }
        let same = traces[0].map(\.message) == traces[1].map(\.message)
        print(same ? "\nverdict: same order of events on both backends"
                   : "\nverdict: the event order differs")
    }
} catch {
    print("error: \(error)")
    exit(1)
}

func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - s.count))
    return left ? fill + s : s + fill
}

extension String {
    func padded(_ width: Int) -> String { pad(self, width) }
}

func writeStderr(_ s: String) {
    var bytes = Array(s.utf8)
    _ = write(2, &bytes, bytes.count)
}
