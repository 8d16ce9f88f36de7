import SwiftUV

#if canImport(Glibc)
import Glibc
#endif

extension DemoProgram {
    /// Timers against idle, prepare and check: the phases of an iteration.
    public static let phases = DemoProgram(
        name: "phases",
        summary: "timers against idle, prepare and check: the order of a loop iteration's phases",
        details: """
        Each iteration runs due timers, idle, prepare, the poll for I/O, check. \
        While an idle watcher is active the poll does not block; once it stops, \
        the poll waits: first for the pool's work to finish (no timer is active, \
        so it waits as long as the work takes), then for the 20 ms timer that \
        the work's completion starts.
        """
    ) { loop, trace, _ in
        let idle = try Idle(loop: loop)
        let prepare = try Prepare(loop: loop)
        let check = try Check(loop: loop)
        let timer = try UVTimer(loop: loop)
        var iteration = 0
        try prepare.start { _ in
            iteration += 1
            trace.log("iteration \(iteration): prepare (just before the poll)")
        }
        try idle.start { _ in trace.log("iteration \(iteration + 1): idle (so the poll will not block)") }
        try check.start { _ in
            trace.log("iteration \(iteration): check (just after the poll)")
            guard iteration == 2 else { return }
            try? idle.stop()
            trace.log("idle stopped: the next poll blocks until the pool's work comes back")
            _ = try? loop.queueWork({ () -> Int in
                trace.log("summing 1...1000 on the pool", span: "begin")
                let sum = (1...1000).reduce(0, +)
                trace.log("sum done", span: "end")
                return sum
            }) { result in
                guard case .success(let sum) = result else { return }
                trace.log("iteration \(iteration): poll: the pool's result came back: \(sum); starting a 20 ms timer")
                // Started here, not before the work: the order of the timer and
                // the pool's result must not depend on how fast the machine is.
                try? timer.start(timeout: 20) { _ in
                    trace.log("iteration \(iteration + 1): timers: the 20 ms timer fired; closing every handle")
                    for handle in loop.handles where !handle.isClosing {
                        let type = handle.type
                        try? handle.close { _ in trace.log("closing callbacks: \(type) closed") }
                    }
                }
            }
        }
        trace.log("started idle, prepare and check watchers")
    }

    /// A TCP echo server and a client on one loop, ping-pong.
    public static let echo = DemoProgram(
        name: "echo",
        summary: "a TCP echo server and client on one loop: five ping-pongs, then a clean shutdown",
        details: """
        Server and client share the loop: each write's bytes come back as a read \
        callback on the other side, the next step starts only from that callback. \
        The client's shutdown sends EOF; the server answers by closing.
        """
    ) { loop, trace, _ in
        let rounds = 5
        let address = try acceptOne(loop) { result in
            guard case .success(let connection) = result else { return trace.log("server: accept failed: \(result)") }
            trace.log("server: accepted a connection", tie: "handshake")
            try? connection.readStart(bytes: { result in
                switch result {
                case .success(let bytes):
                    trace.log("server: echoing \"\(String(decoding: bytes, as: UTF8.self))\"")
                    try? connection.write(bytes)
                case .failure(.endOfFile):
                    trace.log("server: end of file from the client; closing", tie: "shutdown")
                    try? connection.close()
                case .failure(let error):
                    trace.log("server: read failed: \(error)")
                    try? connection.close()
                }
            })
        }
        trace.log("server: listening on 127.0.0.1")

        let client = try TCP(loop: loop)
        try client.setNoDelay(true)
        var round = 0
        func ping() {
            round += 1
            let message = "ping \(round)"
            trace.log("client: sending \"\(message)\"")
            try? client.write(message)
        }
        try client.connect(to: address) { error in
            if let error {
                trace.log("client: connect failed: \(error)", tie: "handshake")
                try? client.close()
                return
            }
            trace.log("client: connected", tie: "handshake")
            try? client.readStart(bytes: { result in
                switch result {
                case .success(let bytes):
                    trace.log("client: got \"\(String(decoding: bytes, as: UTF8.self))\" back")
                    if round < rounds {
                        ping()
                    } else {
                        trace.log("client: \(rounds) round trips done; shutting down the write side")
                        try? client.shutdown { _ in trace.log("client: shutdown complete", tie: "shutdown") }
                    }
                case .failure(.endOfFile):
                    trace.log("client: the server closed; closing")
                    try? client.close()
                case .failure(let error):
                    trace.log("client: read failed: \(error)")
                    try? client.close()
                }
            })
            ping()
        }
        trace.log("client: connecting")
    }

    /// A directory tree read by thread-pool jobs, one per directory.
    public static let walk = DemoProgram(
        name: "walk",
        summary: "a file tree walk on the thread pool: one pool job per directory, results back on the loop",
        details: """
        Each directory is read (readdir and lstat) by a job on the thread pool; \
        its completion runs on the loop's thread and queues jobs for the \
        subdirectories. Up to four directories are read at once; their \
        completions come back in whatever order the pool finishes them.
        """
    ) { loop, trace, context in
        let root = try context.scratchDirectory()
        // 3 directories of 2 subdirectories; every directory holds 3 files.
        var made = 0
        func fill(_ path: String, depth: Int) throws {
            for f in 0..<3 {
                try writeFile("\(path)/file\(f).txt", String(repeating: "x", count: 100 * (depth + 1) + f))
            }
            guard depth < 2 else { return }
            for d in 0..<(depth == 0 ? 3 : 2) {
                let sub = "\(path)/dir\(d)"
                guard mkdir(sub, 0o755) == 0 else { throw DemoError("mkdir \(sub): errno \(errno)") }
                made += 1
                try fill(sub, depth: depth + 1)
            }
        }
        try fill(root, depth: 0)
        trace.log("made a tree of \(made + 1) directories; walking it")

        struct Listing: Sendable { var directories: [String] = []; var files = 0; var bytes = 0 }
        var pending = 0
        var totals = Listing()
        var directoriesRead = 0
        func visit(_ relative: String) {
            pending += 1
            let path = relative.isEmpty ? root : root + "/" + relative
            let name = relative.isEmpty ? "." : relative
            do {
                try loop.queueWork({ () -> Listing in
                    trace.log("reading \(name)", span: "begin")
                    let listing = list(path)
                    trace.log("read \(name)", span: "end")
                    return listing
                }) { result in
                    pending -= 1
                    if case .success(let listing) = result {
                        directoriesRead += 1
                        totals.files += listing.files
                        totals.bytes += listing.bytes
                        trace.log("\(name): \(listing.directories.count) directories, \(listing.files) files, \(listing.bytes) bytes",
                                  tie: "walk")
                        for sub in listing.directories { visit(relative.isEmpty ? sub : relative + "/" + sub) }
                    }
                    if pending == 0 {
                        trace.log("walked \(directoriesRead) directories: \(totals.files) files, \(totals.bytes) bytes")
                    }
                }
            } catch {
                pending -= 1
                trace.log("cannot queue \(name): \(error)")
            }
        }
        visit("")

        /// One directory's entries, sorted, and its files' sizes (on the pool).
        @Sendable func list(_ path: String) -> Listing {
            var listing = Listing()
            guard let dir = opendir(path) else { return listing }
            defer { closedir(dir) }
            var names: [String] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if name != "." && name != ".." { names.append(name) }
            }
            for name in names.sorted() {
                var info = stat()
                guard lstat(path + "/" + name, &info) == 0 else { continue }
                if (info.st_mode & S_IFMT) == S_IFDIR {
                    listing.directories.append(name)
                } else {
                    listing.files += 1
                    listing.bytes += Int(info.st_size)
                }
            }
            return listing
        }
    }
}
