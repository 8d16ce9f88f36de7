import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The cases of libuv's test-fs-poll.c.
@Suite("FS poll")
struct FSPollTests {
    @Test("fs_poll: missing, created, changed, removed", arguments: backends)
    func lifecycle(backend: Backend) throws {
        try withLoop(backend) { loop in
            let dir = try scratchDirectory(loop)
            defer { removeScratch(loop, dir) }
            let file = "\(dir)/polled"
            let poll = try FSPoll(loop: loop)
            var trace: [String] = []
            try poll.start(path: file, interval: 20) { p, error, previous, current in
                switch trace.count {
                case 0:
                    trace.append("error \(error?.name ?? "none") prev \(previous.size) curr \(current.size)")
                    try? loop.fs.writeFile(file, [1])
                case 1:
                    trace.append("appeared \(error == nil) prev \(previous.inode == 0) curr \(current.size)")
                    try? loop.fs.writeFile(file, [1, 2, 3])
                case 2:
                    trace.append("changed \(error == nil) prev \(previous.size) curr \(current.size)")
                    try? loop.fs.unlink(file)
                default:
                    trace.append("gone \(error?.name ?? "none") prev \(previous.size) curr \(current.size)")
                    try? p.close()
                }
            }
            #expect(try poll.path() == file)
            try loop.run()
            #expect(trace == ["error ENOENT prev 0 curr 0", "appeared true prev true curr 1",
                              "changed true prev 1 curr 3", "gone ENOENT prev 3 curr 0"])
        }
    }

    @Test("fs_poll_getpath and ref: EINVAL when stopped; an unref'd poll lets run return", arguments: backends)
    func getpathAndRef(backend: Backend) throws {
        try withLoop(backend) { loop in
            let poll = try FSPoll(loop: loop)
            #expect(throws: UVError.invalidArgument) { try poll.path() }
            var calls = 0
            try poll.start(path: "/", interval: 10) { _, _, _, _ in calls += 1 }
            try poll.unref()
            #expect(try loop.run() == false)
            try poll.stop()
            #expect(throws: UVError.invalidArgument) { try poll.path() }
            var closes = 0
            try poll.close { _ in closes += 1 }
            try loop.run()
            #expect(closes == 1)
            #expect(calls == 0)
        }
    }

    @Test("fs_poll close while its stat is in flight: one close callback, no poll callback after", arguments: backends)
    func closeDuringStat(backend: Backend) throws {
        try withLoop(backend) { loop in
            let poll = try FSPoll(loop: loop)
            var calls = 0
            var closes = 0
            try poll.start(path: "/nonexistent-\(getpid())", interval: 1000) { _, _, _, _ in calls += 1 }
            try poll.close { _ in closes += 1 }
            try loop.run()
            #expect(closes == 1)
            #expect(calls == 0)
        }
    }

    /// libuv's `uv_fs_poll_stop` closes the poll's internal timer: until its
    /// close callback the loop is alive with a backend timeout of 0, and a
    /// closed fs_poll's own close callback comes an iteration after the
    /// timer's. (A C probe against libuv 1.44.2 gave these figures.)
    @Test("fs_poll stop closes its internal timer: alive, timeout 0, the handle's close an iteration later", arguments: backends)
    func stopClosesItsTimer(backend: Backend) throws {
        try withLoop(backend) { loop in
            let poll = try FSPoll(loop: loop)
            try poll.start(path: "/", interval: 1000) { _, _, _, _ in }
            #expect(try loop.run(.once), "the first stat came back; the timer waits")
            try poll.stop()
            #expect(loop.isAlive && loop.backendTimeout == 0, "the timer is closing")
            #expect(poll.isWindingDown)
            #expect(try loop.run(.noWait) == false)
            #expect(!poll.isWindingDown)
            try poll.start(path: "/", interval: 1000) { _, _, _, _ in }
            #expect(try loop.run(.once))
            let timer = try UVTimer(loop: loop)
            var pass = 0
            var closed: [String] = []
            try poll.close { _ in closed.append("fspoll \(pass)") }
            try timer.close { _ in closed.append("timer \(pass)") }
            #expect(loop.isAlive && loop.backendTimeout == 0)
            var results: [Bool] = []
            for p in 1...3 {
                pass = p
                results.append(try loop.run(.noWait))
            }
            #expect(closed == ["timer 1", "fspoll 2"])
            #expect(results == [true, false, false])
        }
    }
}
