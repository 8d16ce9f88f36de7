// The SwiftNIO contender of the SwiftUV benchmarks.
//
//     nio-bench WORKLOAD [--quick]
//
// runs one workload of ../../../WORKLOADS.md and prints `RESULT <workload> <metric> <value>`
// for each figure (exit 0), or `UNSUPPORTED <workload>` (exit 3) for a workload NIO cannot
// express. Everything loop-side runs on one `MultiThreadedEventLoopGroup(numberOfThreads: 1)`
// event loop (async1 adds a second one-thread group for its other loop); queue_work, fs_stat
// and read_file use a `NIOThreadPool(numberOfThreads: 4)`, the size of libuv's default pool.
// Times are taken with NIO's monotonic clock (`NIODeadline.now()`) on the thread where the
// event happens, so process start-up and group shut-down are not counted. Diagnostics that
// are not results go to stderr.

import Glibc  // Linux only: /proc/self/statm, pthreads
import NIOCore
import NIOPosix

@main
struct NIOBench {
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        let quick = arguments.contains("--quick")
        arguments.removeAll { $0 == "--quick" }
        guard arguments.count == 1 else {
            usage()
        }
        let workload = arguments[0]
        let size = Size(quick: quick)
        do {
            switch workload {
            case "loop_count": try loopCount(size)
            case "million_timers": try millionTimers(size)
            case "async_pummel_1": try asyncPummel1(size)
            case "async1": try async1(size)
            case "queue_work": try queueWork(size)
            case "fs_stat": try fsStat(size)
            case "read_file": try readFile(size)
            case "getaddrinfo", "spawn":
                // getaddrinfo: NIO's resolver (GetaddrinfoResolver) is internal; the public API
                // only resolves as part of ClientBootstrap.connect(host:port:).
                // spawn: NIO has no process API.
                unsupported(workload)
            case "ping_pongs": try pingPongs(size)
            case "tcp_pump1": try pump(size, overUnixSocket: false)
            case "pipe_pump1": try pump(size, overUnixSocket: true)
            case "tcp_write_batch": try tcpWriteBatch(size)
            case "tcp4_pound_100": try tcp4Pound100(size)
            case "udp_pummel_1v1": try udpPummel1v1(size)
            case "ping_udp1": try pingUDP1(size)
            case "tail_latency": try tailLatency(size)
            default:
                printError("nio-bench: unknown workload \(workload)")
                usage()
            }
        } catch {
            printError("nio-bench: \(workload) failed: \(error)")
            fflush(nil)  // all streams: stdout is a C global Swift 6 will not touch
            exit(1)
        }
        fflush(nil)  // all streams: stdout is a C global Swift 6 will not touch
    }

    static func usage() -> Never {
        printError("usage: nio-bench WORKLOAD [--quick]")
        exit(2)
    }

    static func unsupported(_ workload: String) -> Never {
        print("UNSUPPORTED \(workload)")
        fflush(nil)  // all streams: stdout is a C global Swift 6 will not touch
        exit(3)
    }
}

/// The workload sizes: the full one, or with `--quick` the bracketed one of WORKLOADS.md.
struct Size: Sendable {
    let quick: Bool

    func pick(_ full: Int, quick quickValue: Int) -> Int { quick ? quickValue : full }

    /// D of the timed workloads: 5 s, or 1 s with --quick.
    var duration: TimeAmount { quick ? .seconds(1) : .seconds(5) }
}

/// One result line.
func report(_ workload: String, _ metric: String, _ value: Double) {
    print("RESULT \(workload) \(metric) \(value)")
}

func printError(_ message: String) {
    var line = message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// The monotonic clock, in nanoseconds (NIO's own: CLOCK_MONOTONIC on Linux).
@inline(__always)
func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

func seconds(from start: UInt64, to end: UInt64) -> Double { Double(end &- start) / 1e9 }

/// Resident memory from /proc/self/statm (second field, in pages).
func residentBytes() -> Int {
    let fd = open("/proc/self/statm", O_RDONLY)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 128)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard count > 0 else { return 0 }
    let fields = buffer[0..<count].split(separator: UInt8(ascii: " "))
    guard fields.count > 1, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else { return 0 }
    return pages * sysconf(Int32(_SC_PAGESIZE))
}

/// A plain POSIX thread running `body` (async_pummel_1's "other thread").
final class PlainThread {
    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    private var handle = pthread_t()

    init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let rc = pthread_create(
            &self.handle,
            nil,
            { argument in
                let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
                box.body()
                return nil
            },
            box
        )
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    func join() {
        pthread_join(self.handle, nil)
    }
}
