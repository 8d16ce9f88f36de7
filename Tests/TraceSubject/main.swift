// A program written against SwiftUV alone, outside uvdemo: the subject of
// `uvdemo compare --exec` in DemoTests. It uses the default loop, so
// SWIFTUV_BACKEND picks its backend, and SWIFTUV_TRACE traces it unchanged.
//
//   swiftuv-trace-subject            the same on both backends
//   swiftuv-trace-subject --differ   one more timer on the native backend
import SwiftUV

let loop = Loop.default
let differ = CommandLine.arguments.contains("--differ")

// A TCP echo of one line, then a work item, then two timer ticks.
let server = try TCP(loop: loop)
try server.bind("127.0.0.1:0")
try server.listen { _ in
    guard let peer = try? TCP(loop: loop) else { return }
    try? server.accept(peer)
    try? peer.readStart { result in
        if case .success(let bytes) = result, !bytes.isEmpty {
            try? peer.write(Array(bytes)) { _ in try? peer.close() }
        }
    }
    try? server.close()
}
let client = try TCP(loop: loop)
try client.connect(to: server.localAddress()) { error in
    print("connected: \(error.map { "\($0)" } ?? "ok")")
    try? client.write(Array("ping".utf8))
    try? client.readStart { result in
        switch result {
        case .success(let bytes):
            if !bytes.isEmpty { print("echoed: \(String(decoding: bytes, as: UTF8.self))") }
        case .failure:
            try? client.close()
            _ = try? loop.queueWork({ (1...100).reduce(0, +) }) { result in
                print("work: \((try? result.get()) ?? -1)")
                startTicks(on: loop)
            }
        }
    }
}

func startTicks(on loop: Loop) {
    guard let timer = try? UVTimer(loop: loop) else { return }
    var ticks = 0
    try? timer.start(timeout: 1, repeat: 1) { timer in
        ticks += 1
        print("tick \(ticks)")
        if ticks == 2 { try? timer.close() }
    }
    if differ && loop.backend == .native, let extra = try? UVTimer(loop: loop) {
        try? extra.start(timeout: 0) { extra in try? extra.close() }
    }
}

try loop.run()
print("done")
