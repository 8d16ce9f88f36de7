import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The ref family for the handles of issue 4 (test-ref.c: fs_event_ref,
/// process_ref), and bad flags.
@Suite("Ref and flags")
struct MoreRefTests {
    @Test("fs_event_ref: an unref'd watch lets run return; one close callback", arguments: backends)
    func fsEventRef(backend: Backend) throws {
        try withLoop(backend) { loop in
            let event = try FSEvent(loop: loop)
            try event.start(path: "/tmp") { _, _, _ in }
            try event.unref()
            #expect(try loop.run() == false)
            var closes = 0
            try event.close { _ in closes += 1 }
            try loop.run()
            #expect(closes == 1)
        }
    }

    @Test("invalid open flags give libuv's EINVAL; O_DIRECTORY on a file ENOTDIR", arguments: backends)
    func invalidFlags(backend: Backend) throws {
        try withLoop(backend) { loop in
            let dir = try scratchDirectory(loop)
            defer { removeScratch(loop, dir) }
            try loop.fs.writeFile("\(dir)/f", [1])
            // O_TMPFILE without write access is refused by the kernel.
            let tmpfile = OpenFlags(rawValue: 0o20200000)
            #expect(throws: UVError.invalidArgument) { try loop.fs.open(dir, flags: tmpfile) }
            #expect(throws: UVError.notDirectory) { try loop.fs.open("\(dir)/f", flags: .directory) }
            #expect(throws: UVError.tooManySymbolicLinks) {
                try loop.fs.symlink("\(dir)/f", at: "\(dir)/l")
                _ = try loop.fs.open("\(dir)/l", flags: .noFollow)
            }
        }
    }
}

extension SignalTests {
    @Test("process_ref: an unref'd child lets run return; killed and closed after", arguments: backends)
    func processRef(backend: Backend) throws {
        try withLoop(backend) { loop in
            var exits = 0
            let child = try UVProcess.spawn(loop: loop, ProcessOptions(file: "sleep", arguments: ["sleep", "100"])) { p, _, _ in
                exits += 1
                try? p.close()
            }
            try child.unref()
            #expect(try loop.run() == false)
            #expect(exits == 0)
            try child.ref()
            try child.kill(SIGKILL)
            try loop.run()
            #expect(exits == 1)
        }
    }
}
