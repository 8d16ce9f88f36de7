import Foundation
import SwiftUV

#if canImport(Glibc)
import Glibc
#endif

/// The example program of "The Node Experiment", as
/// `../shared/reference/book-demo.md` gives it, written once against SwiftUV.
extension DemoProgram {
    public static let book = DemoProgram(
        name: "book",
        summary: "the example program of \"The Node Experiment\": timers, pool file reads, fib(39), a slow HTTP call",
        details: """
        Two 0 ms timers fire first; the first two file reads (each sleeps 1 s on \
        the pool) and the 1000 ms timer come at about 1 s; the third read and the \
        web call (a local server answers after 2000 ms) at about 2 s; the 3000 ms \
        timer at 3 s and its nested 500 ms timer at 3.5 s; then nothing is left \
        alive and the loop ends. fib(39) runs on the pool, so its answer comes \
        whenever the CPU finishes it.
        """
    ) { loop, trace, context in
        let directory = try context.scratchDirectory()
        let path = directory + "/test.txt"
        try writeFile(path, "Hello world! This is a text to encrypt!")
        let server = try DelayServer(backend: loop.backend, trace: trace)
        context.atEnd { server.join() }

        func print(_ message: String, tie: String? = nil, floating: Bool = false) {
            trace.log(message, tie: tie, floating: floating)
        }
        /// `Fs.read`: the read happens on the pool, after a 1 s sleep that
        /// stands for a very large file.
        func read(_ completion: @escaping (String) -> Void) throws {
            try loop.queueWork({ () -> String in
                trace.log("received a task of type: FileRead", span: "begin")
                sleep(1)
                let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
                trace.log("FileRead done", span: "end")
                return text
            }) { result in
                switch result {
                case .success(let text): completion(text)
                case .failure(let error): print("read failed: \(error)")
                }
            }
        }
        /// `Crypto.encrypt`: fib(n), recursively, on the pool.
        func encrypt(_ n: Int, _ completion: @escaping (Int) -> Void) throws {
            try loop.queueWork({ () -> Int in
                trace.log("received a task of type: Encrypt", span: "begin")
                let result = fibonacci(n)
                trace.log("Encrypt done", span: "end")
                return result
            }) { result in
                if case .success(let n) = result { completion(n) }
            }
        }
        func printContent(_ text: String, _ description: String, tie: String) {
            let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
                .map(String.init).filter { !$0.isEmpty }
            print("===== THREAD main START CONTENT - \(description.uppercased()) =====", tie: tie)
            for line in lines.prefix(2) { print(line, tie: tie) }
            if let location = lines.dropFirst(2).first(where: { $0.lowercased().hasPrefix("location:") }) {
                print(location, tie: tie)
            }
            print("... [Note: Abbreviated for display] ...", tie: tie)
            print("===== END CONTENT =====", tie: tie)
        }

        print("First call to read test.txt")
        try read { text in
            print("First count: \(text.count) characters.", tie: "1s")
            print("I want to create a \"magic\" number based on the text.", tie: "1s")
            do {
                try encrypt(text.count) { n in print("\"Encrypted\" number is: \(n)", floating: true) }
            } catch {
                print("encrypt failed: \(error)")
            }
        }
        print("Registering immediate timeout 1")
        try setTimeout(loop, 0) { print("Immediate1 timed out") }
        print("Registering immediate timeout 2")
        try setTimeout(loop, 0) { print("Immediate2 timed out") }
        print("Second call to read test.txt")
        try read { text in
            print("Second count: \(text.count) characters.", tie: "1s")
            print("Third call to read test.txt", tie: "1s")
            do {
                try read { text in printContent(text, "file read", tie: "2s") }
            } catch {
                print("read failed: \(error)")
            }
        }
        print("Registering a 3000 and a 500 ms timeout")
        try setTimeout(loop, 3000) {
            print("3000ms timer timed out")
            do {
                try setTimeout(loop, 500) { print("500ms timer(nested) timed out") }
            } catch {
                print("timer failed: \(error)")
            }
        }
        print("Registering a 1000 ms timeout")
        try setTimeout(loop, 1000) { print("SETTIMEOUT", tie: "1s") }
        print("Registering http get request to google.com")
        try HTTPClient.getSlow(loop, port: server.port, url: "http//www.google.com", delay: 2000) { result in
            switch result {
            case .success(let response): printContent(response, "web call", tie: "2s")
            case .failure(let error): print("web call failed: \(error)", tie: "2s")
            }
        }
    }
}

/// fib(n) the slow way: the book's CPU-bound "encryption".
func fibonacci(_ n: Int) -> Int {
    n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2)
}

/// `Http.getSlow`: a non-blocking HTTP/1.1 GET on the program's loop (TCP
/// connect, write, read until EOF) to the local delay server.
enum HTTPClient {
    static func getSlow(_ loop: Loop, port: Int, url: String, delay: Int,
                        _ completion: @escaping (Result<String, UVError>) -> Void) throws(UVError) {
        let socket = try TCP(loop: loop)
        var response: [UInt8] = []
        var finished = false
        func finish(_ result: Result<String, UVError>) {
            guard !finished else { return }
            finished = true
            try? socket.close()
            completion(result)
        }
        try socket.connect(to: try SocketAddress(ip: "127.0.0.1", port: port)) { error in
            if let error { return finish(.failure(error)) }
            let request = "GET /delay/\(delay)/url/\(url) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n"
            do throws(UVError) {
                try socket.write(request) { error in if let error { finish(.failure(error)) } }
                try socket.readStart(bytes: { result in
                    switch result {
                    case .success(let bytes): response += bytes
                    case .failure(.endOfFile): finish(.success(String(decoding: response, as: UTF8.self)))
                    case .failure(let error): finish(.failure(error))
                    }
                })
            } catch {
                finish(.failure(error))
            }
        }
    }
}

/// The stand-in for the book's dead public "slow" server: on 127.0.0.1, on a
/// loop and thread of its own, it reads one request for
/// `/delay/<ms>/url/<url>`, waits that long on a timer, answers
/// `302 Found` with `Location: <url>`, and ends.
final class DelayServer: @unchecked Sendable {
    private(set) var port = 0
    private var failure: String?
    private var thread: HelperThread?

    init(backend: Backend, trace: Trace) throws {
        let ready = DispatchSemaphore(value: 0)
        thread = try HelperThread { [self] in
            trace.name("server")
            do {
                let loop = try Loop(backend: backend)
                try self.serve(loop, trace, ready)
                try loop.run()
                try loop.close()
            } catch {
                self.failure = "\(error)"
                ready.signal()
            }
        }
        ready.wait()
        if let failure { throw DemoError("the delay server did not start: \(failure)") }
    }

    func join() { thread?.join() }

    private func serve(_ loop: Loop, _ trace: Trace, _ ready: DispatchSemaphore) throws(UVError) {
        let address = try acceptOne(loop) { result in
            guard case .success(let client) = result else { return trace.log("accept failed") }
            var request: [UInt8] = []
            try? client.readStart(bytes: { result in
                guard case .success(let bytes) = result else { try? client.close(); return }
                request += bytes
                let text = String(decoding: request, as: UTF8.self)
                guard text.contains("\r\n\r\n") else { return }
                try? client.readStop()
                let target = text.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
                let parts = target.split(separator: "/", maxSplits: 3).map(String.init)
                let delay = parts.count == 4 && parts[0] == "delay" && parts[2] == "url" ? UInt64(parts[1]) ?? 0 : 0
                let location = parts.count == 4 ? parts[3] : "/"
                trace.log("GET \(target): answering in \(delay) ms")
                try? setTimeout(loop, delay) {
                    let response = "HTTP/1.1 302 Found\r\nServer: SwiftUV delay server\r\nLocation: \(location)\r\n"
                        + "Content-Length: 0\r\nConnection: close\r\n\r\n"
                    try? client.write(response) { _ in
                        trace.log("302 Found sent; closing the connection")
                        try? client.close()
                    }
                }
            })
        }
        port = address.port ?? 0
        trace.log("delay server listening on 127.0.0.1")
        ready.signal()
    }
}
