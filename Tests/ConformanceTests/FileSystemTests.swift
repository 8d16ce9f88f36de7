import SwiftUV
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under /tmp for one case.
func scratchDirectory(_ loop: Loop) throws -> String {
    try loop.fs.makeTemporaryDirectory(template: "/tmp/swiftuv-fs-XXXXXX")
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
                    _ = try? fs.synchronize(descriptor: fd, dataOnly: true) { _ in
                        steps.append("fdatasync")
                        _ = try? fs.synchronize(descriptor: fd) { _ in
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
                                            _ = try? fs.truncate(descriptor: fd, length: 7) { _ in
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
            #expect(try loop.fs.stat(descriptor: fd) == s)
            try loop.fs.close(fd)
            try loop.fs.symlink(file, at: "\(dir)/l")
            #expect(try loop.fs.stat("\(dir)/l", followingSymlinks: false).isSymbolicLink)
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
            #expect(throws: UVError.invalidArgument) { try fs.makeTemporaryDirectory(template: "/tmp/no-template") }
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
            try fs.copyFile("\(dir)/src", to: "\(dir)/dst")
            #expect(try fs.readFile("\(dir)/dst") == Array("copy me".utf8))
            #expect(throws: UVError.fileExists) { try fs.copyFile("\(dir)/src", to: "\(dir)/dst", exclusive: true) }
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

    @Test("mkstemp, opendir/readdir/closedir in batches, statfs", arguments: backends)
    func moreCalls(backend: Backend) throws {
        try withLoop(backend) { loop in
            let fs = loop.fs
            let dir = try scratchDirectory(loop)
            defer { removeScratch(loop, dir) }
            let (fd, path) = try fs.makeTemporaryFile(template: "\(dir)/tmpXXXXXX")
            #expect(fd >= 0 && path.hasPrefix("\(dir)/tmp") && !path.hasSuffix("XXXXXX"))
            try fs.close(fd)
            #expect(throws: UVError.invalidArgument) { try fs.makeTemporaryFile(template: "\(dir)/bad") }
            for name in ["e1", "e2", "e3", "e4", "e5"] { try fs.writeFile("\(dir)/\(name)", [0]) }
            let d = try fs.opendir(dir)
            var names: [String] = []
            while true {
                let batch = try d.read(max: 2)
                #expect(batch.count <= 2)
                if batch.isEmpty { break }
                names += batch.map(\.name)
            }
            try d.close()
            #expect(throws: UVError.invalidArgument) { try d.read() }
            #expect(Set(names) == Set(["e1", "e2", "e3", "e4", "e5", path.split(separator: "/").last.map(String.init)!]))
            var asyncNames: [String] = []
            try fs.opendir(dir) { r in
                guard let d = try? r.get() else { return }
                _ = try? d.read(max: 100) { r in
                    asyncNames = ((try? r.get()) ?? []).map(\.name)
                    _ = try? d.close { _ in }
                }
            }
            try loop.run()
            #expect(Set(asyncNames) == Set(names))
            let stats = try fs.statfs(dir)
            #expect(stats.blockSize > 0 && stats.blocks > 0)
            let other = try Loop(backend: backend == .libuv ? .native : .libuv)
            #expect(try other.fs.statfs(dir).type == stats.type)
            try other.close()
        }
    }

    @Test("sendfile, utime/futime/lutime, chown/fchown/lchown", arguments: backends)
    func metadataCalls(backend: Backend) throws {
        try withLoop(backend) { loop in
            let fs = loop.fs
            let dir = try scratchDirectory(loop)
            defer { removeScratch(loop, dir) }
            try fs.writeFile("\(dir)/src", Array("0123456789".utf8))
            let input = try fs.open("\(dir)/src")
            let output = try fs.open("\(dir)/dst", flags: [.writeOnly, .create])
            #expect(try fs.sendfile(to: output, from: input, offset: 2, length: 5) == 5)
            try fs.close(input)
            try fs.close(output)
            #expect(try fs.readFile("\(dir)/dst") == Array("23456".utf8))

            try fs.utime("\(dir)/src", accessed: 1_000_000_000.5, modified: 1_100_000_000.25)
            let st = try fs.stat("\(dir)/src")
            #expect(st.modified.seconds == 1_100_000_000 && st.modified.nanoseconds == 250_000_000)
            #expect(st.accessed.seconds == 1_000_000_000 && st.accessed.nanoseconds == 500_000_000)
            let fd = try fs.open("\(dir)/src")
            try fs.utime(descriptor: fd, accessed: 5, modified: 7)
            #expect(try fs.stat(descriptor: fd).modified.seconds == 7)
            try fs.chown(descriptor: fd, uid: 1234, gid: 4321)
            #expect(try fs.stat(descriptor: fd).uid == 1234)
            try fs.close(fd)
            try fs.symlink("src", at: "\(dir)/lnk")
            try fs.utime("\(dir)/lnk", accessed: 3, modified: 4, followingSymlinks: false)
            #expect(try fs.stat("\(dir)/lnk", followingSymlinks: false).modified.seconds == 4)
            #expect(try fs.stat("\(dir)/lnk").modified.seconds == 7, "the target is untouched")
            try fs.chown("\(dir)/src", uid: 42, gid: 43)
            #expect(try fs.stat("\(dir)/src").gid == 43)
            try fs.chown("\(dir)/lnk", uid: 7, gid: 8, followingSymlinks: false)
            #expect(try fs.stat("\(dir)/lnk", followingSymlinks: false).uid == 7)
            #expect(try fs.stat("\(dir)/lnk").uid == 42)
        }
    }
}
