import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under /tmp for one case.
func scratchDirectory(_ loop: Loop) throws -> String {
    try loop.fs.mkdtemp("/tmp/swiftuv-fs-XXXXXX")
}

/// Removes a scratch directory and what is in it (one level).
func removeScratch(_ loop: Loop, _ dir: String) {
    for e in (try? loop.fs.scandir(dir)) ?? [] {
        if e.kind == .directory { try? loop.fs.rmdir("\(dir)/\(e.name)") } else { try? loop.fs.unlink("\(dir)/\(e.name)") }
    }
    try? loop.fs.rmdir(dir)
}

/// The cases of libuv's test-fs.c.
@Suite("File system")
struct FileSystemTests {
    @Test("fs_file_noent / nametoolong / loop: the errors, synchronous and asynchronous", arguments: backends)
    func errors(backend: Backend) throws {
        try withLoop(backend) { loop in
            let dir = try scratchDirectory(loop)
            defer { removeScratch(loop, dir) }
            #expect(throws: UVError.noSuchFileOrDirectory) { try loop.fs.open("\(dir)/does_not_exist") }
            #expect(throws: UVError.nameTooLong) { try loop.fs.open(String(repeating: "a", count: 4096)) }
            try loop.fs.symlink("\(dir)/loop", at: "\(dir)/loop")
            #expect(throws: UVError.tooManySymbolicLinks) { try loop.fs.stat("\(dir)/loop") }
            var results: [UVError] = []
            try loop.fs.open("\(dir)/does_not_exist") { if case .failure(let e) = $0 { results.append(e) } }
            try loop.fs.open(String(repeating: "a", count: 4096)) { if case .failure(let e) = $0 { results.append(e) } }
            try loop.fs.stat("\(dir)/loop") { if case .failure(let e) = $0 { results.append(e) } }
            #expect(results.isEmpty, "nothing runs inside the call")
            try loop.run()
            // Pool threads finish in any order.
            #expect(Set(results) == [.noSuchFileOrDirectory, .nameTooLong, .tooManySymbolicLinks])
            #expect(results.count == 3)
        }
    }

    @Test("fs_file_async: each step's callback once, in order", arguments: backends)
    func fileAsync(backend: Backend) throws {
        try withLoop(backend) { loop in
            let dir = try scratchDirectory(loop)
            defer { removeScratch(loop, dir) }
            let fs = loop.fs
            let first = "\(dir)/test_file", second = "\(dir)/test_file2"
            var steps: [String] = []
            var readBack = ""
            func fail(_ e: UVError) { Issue.record("\(steps.last ?? "start"): \(e)") }
            try fs.open(first, flags: [.writeOnly, .create], mode: 0o600) { r in
                guard case .success(let fd) = r else {
                    if case .failure(let e) = r { fail(e) }
                    return
                }
                steps.append("open")
                _ = try? fs.write(fd, Array("test-buffer\n".utf8)) { r in
                    guard case .success(let n) = r, n == 12 else { return fail(.ioError) }
                    steps.append("write")
                    _ = try? fs.fdatasync(fd) { _ in
                        steps.append("fdatasync")
                        _ = try? fs.fsync(fd) { _ in
                            steps.append("fsync")
                            _ = try? fs.close(fd) { _ in
                                steps.append("close")
                                _ = try? fs.rename(first, to: second) { _ in
                                    steps.append("rename")
                                    _ = try? fs.open(second, flags: .readWrite) { r in
                                        guard case .success(let fd) = r else { return fail(.ioError) }
                                        steps.append("open2")
                                        _ = try? fs.read(fd, count: 100, offset: 0) { _ in
                                            steps.append("read")
                                            _ = try? fs.ftruncate(fd, length: 7) { _ in
                                                steps.append("ftruncate")
                                                _ = try? fs.read(fd, count: 100, offset: 0) { r in
                                                    readBack = String(decoding: (try? r.get()) ?? [], as: UTF8.self)
                                                    steps.append("read2")
                                                    _ = try? fs.close(fd) { _ in
                                                        steps.append("close2")
                                                        _ = try? fs.unlink(second) { _ in steps.append("unlink") }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            try loop.run()
            #expect(steps == ["open", "write", "fdatasync", "fsync", "close", "rename", "open2", "read", "ftruncate", "read2", "close2", "unlink"])
            #expect(readBack == "test-bu")
        }
    }

    @Test("stat, lstat, fstat agree, and agree across backends", arguments: backends)
    func stats(backend: Backend) throws {
        try withLoop(backend) { loop in
            let dir = try scratchDirectory(loop)
            defer { removeScratch(loop, dir) }
            let file = "\(dir)/f"
            try loop.fs.writeFile(file, Array("12345".utf8), mode: 0o640)
            let s = try loop.fs.stat(file)
            #expect(s.size == 5 && s.isRegularFile && s.permissions == 0o640)
            let fd = try loop.fs.open(file)
            #expect(try loop.fs.fstat(fd) == s)
            try loop.fs.close(fd)
            try loop.fs.symlink(file, at: "\(dir)/l")
            #expect(try loop.fs.lstat("\(dir)/l").isSymbolicLink)
            #expect(try loop.fs.stat("\(dir)/l") == s)
            let other = try Loop(backend: backend == .libuv ? .native : .libuv)
            #expect(try other.fs.stat(file) == s, "the other backend sees the same metadata")
            try other.close()
            var async: FileStat?
            try loop.fs.stat(file) { async = try? $0.get() }
            try loop.run()
            #expect(async == s)
            #expect(try loop.fs.stat(dir).isDirectory)
        }
    }

    @Test("scandir: sorted, typed, without . and ..", arguments: backends)
    func scandir(backend: Backend) throws {
        try withLoop(backend) { loop in
            let dir = try scratchDirectory(loop)
            defer { removeScratch(loop, dir) }
            try loop.fs.writeFile("\(dir)/b", [1])
            try loop.fs.writeFile("\(dir)/a", [1])
            try loop.fs.mkdir("\(dir)/c")
            try loop.fs.symlink("a", at: "\(dir)/d")
            let entries = try loop.fs.scandir(dir)
            #expect(entries.map(\.name) == ["a", "b", "c", "d"])
            #expect(entries.map(\.kind) == [.file, .file, .directory, .link])
            var async: [DirectoryEntry] = []
            try loop.fs.scandir(dir) { async = (try? $0.get()) ?? [] }
            try loop.run()
            #expect(async == entries)
            #expect(throws: UVError.notDirectory) { try loop.fs.scandir("\(dir)/a") }
        }
    }

    @Test("links, realpath, access, chmod, copyfile, mkdtemp", arguments: backends)
    func pathOperations(backend: Backend) throws {
        try withLoop(backend) { loop in
            let fs = loop.fs
            let dir = try scratchDirectory(loop)
            defer { removeScratch(loop, dir) }
            #expect(dir.hasPrefix("/tmp/swiftuv-fs-") && !dir.hasSuffix("XXXXXX"))
            #expect(throws: UVError.invalidArgument) { try fs.mkdtemp("/tmp/no-template") }
            try fs.writeFile("\(dir)/src", Array("copy me".utf8), mode: 0o600)
            try fs.symlink("src", at: "\(dir)/sym")
            #expect(try fs.readlink("\(dir)/sym") == "src")
            #expect(try fs.realpath("\(dir)/sym") == fs.realpath(dir) + "/src")
            try fs.link("\(dir)/src", to: "\(dir)/hard")
            #expect(try fs.stat("\(dir)/src").linkCount == 2)
            try fs.access("\(dir)/src", mode: R_OK)
            #expect(throws: UVError.noSuchFileOrDirectory) { try fs.access("\(dir)/missing") }
            try fs.chmod("\(dir)/src", mode: 0o644)
            #expect(try fs.stat("\(dir)/src").permissions == 0o644)
            try fs.copyfile("\(dir)/src", to: "\(dir)/dst")
            #expect(try fs.readFile("\(dir)/dst") == Array("copy me".utf8))
            #expect(throws: UVError.fileExists) { try fs.copyfile("\(dir)/src", to: "\(dir)/dst", exclusive: true) }
            #expect(throws: UVError.fileExists) { try fs.mkdir(dir) }
            #expect(throws: UVError.notDirectory) { try fs.rmdir("\(dir)/src") }
        }
    }

    @Test("a file where a folder is expected, a folder where a file is, and a permission error root cannot bypass", arguments: backends)
    func wrongKinds(backend: Backend) throws {
        try withLoop(backend) { loop in
            let dir = try scratchDirectory(loop)
            defer { removeScratch(loop, dir) }
            try loop.fs.writeFile("\(dir)/file", [0])
            #expect(throws: UVError.notDirectory) { try loop.fs.open("\(dir)/file/inside") }
            #expect(throws: UVError.isDirectory) { try loop.fs.open(dir, flags: .writeOnly) }
            // Root may not hard-link a directory: EPERM whoever asks.
            #expect(throws: UVError.notPermitted) { try loop.fs.link(dir, to: "\(dir)-link") }
        }
    }
}
