import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The cases of libuv's test-fs-event.c.
@Suite("FS events")
struct FSEventTests {
    @Test("fs_event_watch_file: a change to one of two files is reported for that file", arguments: backends)
    func watchFile(backend: Backend) throws {
        try withLoop(backend) { loop in
            let dir = try scratchDirectory(loop)
            defer { removeScratch(loop, dir) }
            try loop.fs.writeFile("\(dir)/file1", [0])
            try loop.fs.writeFile("\(dir)/file2", [0])
            let event = try FSEvent(loop: loop)
            var seen: [(String?, FSEvent.Events)] = []
            try event.start(path: "\(dir)/file2") { e, name, events in
                seen.append((name, events))
                try? e.close()
            }
            let timer = try UVTimer(loop: loop)
            try timer.start(timeout: 20, repeat: 0) { t in
                try? loop.fs.writeFile("\(dir)/file1", [1])
                try? loop.fs.writeFile("\(dir)/file2", [2])
                try? t.close()
            }
            try loop.run()
            #expect(seen.count == 1)
            #expect(seen.first?.0 == "file2")
            #expect(seen.first?.1.contains(.change) == true)
        }
    }

    @Test("fs_event_no_callback_after_close", arguments: backends)
    func noCallbackAfterClose(backend: Backend) throws {
        try withLoop(backend) { loop in
            let dir = try scratchDirectory(loop)
            defer { removeScratch(loop, dir) }
            try loop.fs.writeFile("\(dir)/file", [0])
            let event = try FSEvent(loop: loop)
            var calls = 0
            try event.start(path: "\(dir)/file") { _, _, _ in calls += 1 }
            try loop.fs.writeFile("\(dir)/file", [1])
            try event.close()
            try loop.run()
            #expect(calls == 0)
        }
    }

    @Test("fs_event_getpath: EINVAL before start, the path after, EINVAL after stop", arguments: backends)
    func getpath(backend: Backend) throws {
        try withLoop(backend) { loop in
            let dir = try scratchDirectory(loop)
            defer { removeScratch(loop, dir) }
            let event = try FSEvent(loop: loop)
            #expect(throws: UVError.invalidArgument) { try event.path() }
            try event.start(path: dir) { _, _, _ in }
            #expect(try event.path() == dir)
            #expect(throws: UVError.invalidArgument) { try event.start(path: dir) { _, _, _ in } }
            try event.stop()
            #expect(throws: UVError.invalidArgument) { try event.path() }
        }
    }

    @Test("fs_event_watch_invalid_path: the error, and the handle stays inactive", arguments: backends)
    func invalidPath(backend: Backend) throws {
        try withLoop(backend) { loop in
            let event = try FSEvent(loop: loop)
            #expect(throws: UVError.noSuchFileOrDirectory) { try event.start(path: "/nonexistent-\(getpid())") { _, _, _ in } }
            #expect(!event.isActive)
        }
    }

    @Test("watching a folder while files are created, changed and removed", arguments: backends)
    func watchFolder(backend: Backend) throws {
        try withLoop(backend) { loop in
            let dir = try scratchDirectory(loop)
            defer { removeScratch(loop, dir) }
            let event = try FSEvent(loop: loop)
            var seen: [String: FSEvent.Events] = [:]
            try event.start(path: dir) { _, name, events in
                if let name { seen[name, default: []].formUnion(events) }
            }
            let steps = try UVTimer(loop: loop)
            var step = 0
            try steps.start(timeout: 10, repeat: 10) { t in
                step += 1
                switch step {
                case 1: try? loop.fs.writeFile("\(dir)/created", [1])
                case 2: try? loop.fs.writeFile("\(dir)/created", [1, 2])
                case 3: try? loop.fs.rename("\(dir)/created", to: "\(dir)/renamed")
                case 4: try? loop.fs.unlink("\(dir)/renamed")
                default:
                    try? event.close()
                    try? t.close()
                }
            }
            try loop.run()
            #expect(seen["created"]?.contains(.rename) == true, "created")
            #expect(seen["created"]?.contains(.change) == true, "written")
            #expect(seen["renamed"]?.contains(.rename) == true, "renamed and removed")
        }
    }
}
