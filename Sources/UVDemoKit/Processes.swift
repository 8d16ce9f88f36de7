import SwiftUV

#if canImport(Glibc)
import Glibc
#endif

extension DemoProgram {
    /// `seq 1 10000 | grep 7 | wc -l`, with the loop carrying the bytes.
    public static let pipeline = DemoProgram(
        name: "pipeline",
        summary: "a process pipeline, seq 1 10000 | grep 7 | wc -l, with the loop relaying every byte",
        details: """
        Three child processes, each stdin and stdout a pipe to the loop. Each \
        read from one process is written to the next; an EOF becomes a shutdown \
        of the next one's stdin. A child's exit arrives by SIGCHLD, whenever the \
        kernel reports it, so exits are not ordered against the output.
        """
    ) { loop, trace, _ in
        let commands = [["seq", "1", "10000"], ["grep", "7"], ["wc", "-l"]]
        var outputs: [UVPipe] = []
        var inputs: [UVPipe?] = []
        var processes: [UVProcess] = []
        var exited = 0
        for (index, command) in commands.enumerated() {
            let output = try UVPipe(loop: loop)
            let input: UVPipe? = index == 0 ? nil : try UVPipe(loop: loop)
            let stdin: StdioOption = input.map { .pipe($0, childReads: true, childWrites: false) } ?? .ignore
            let options = ProcessOptions(file: command[0], arguments: command,
                                         stdio: [stdin, .pipe(output, childReads: false, childWrites: true), .inherit(2)])
            let name = command[0]
            let process = try UVProcess.spawn(loop: loop, options) { process, status, signal in
                trace.log("\(name) exited with status \(status)\(signal != 0 ? ", signal \(signal)" : "")", floating: true)
                try? process.close()
                exited += 1
                if exited == commands.count { trace.log("all three processes have exited", floating: true) }
            }
            outputs.append(output)
            inputs.append(input)
            processes.append(process)
        }
        trace.log("spawned " + commands.map { $0.joined(separator: " ") }.joined(separator: " | "))

        for (index, output) in outputs.enumerated() {
            let name = commands[index][0]
            let next = index + 1 < inputs.count ? inputs[index + 1] : nil
            var total = 0
            var collected: [UInt8] = []
            try output.readStart(bytes: { result in
                switch result {
                case .success(let bytes):
                    total += bytes.count
                    if let next { try? next.write(bytes) } else { collected += bytes }
                case .failure(let error):
                    if error != .endOfFile { trace.log("\(name): read failed: \(error)") }
                    trace.log("\(name): its output ended after \(total) bytes")
                    try? output.close()
                    if let next {
                        trace.log("shutting down \(commands[index + 1][0])'s stdin")
                        try? next.shutdown { _ in try? next.close() }
                    } else {
                        let count = String(decoding: collected, as: UTF8.self).filter { !$0.isWhitespace }
                        trace.log("wc -l says \(count) of the numbers 1 to 10000 contain a 7")
                    }
                }
            })
        }
    }

    /// Signal watchers: two on one signal, a one-shot, and SIGINT sent while
    /// the loop sleeps in its poll.
    public static let signals = DemoProgram(
        name: "signals",
        summary: "signal handling: two watchers on SIGUSR1, a one-shot SIGUSR2, a SIGINT from another thread",
        details: """
        A signal's handler only writes a byte; the loop reads it and calls every \
        watcher of that signal from its own thread. A one-shot watcher stops after \
        the first signal. A signal sent from another thread wakes the loop while \
        it blocks in its poll with nothing else to do.
        """
    ) { loop, trace, context in
        let first = try Signal(loop: loop)
        let second = try Signal(loop: loop)
        let oneShot = try Signal(loop: loop)
        let interrupt = try Signal(loop: loop)
        var usr1 = 0
        try first.start(signum: SIGUSR1) { _, _ in
            usr1 += 1
            trace.log("watcher A: SIGUSR1", tie: "usr1")
        }
        try second.start(signum: SIGUSR1) { _, _ in
            usr1 += 1
            trace.log("watcher B: SIGUSR1", tie: "usr1")
        }
        try oneShot.startOneShot(signum: SIGUSR2) { signal, _ in
            trace.log("one-shot watcher: SIGUSR2; active afterwards: \(signal.isActive)")
        }
        try interrupt.start(signum: SIGINT) { _, _ in
            trace.log("SIGINT (as from Ctrl-C) after \(usr1) SIGUSR1 calls: closing every handle")
            for handle in loop.handles where !handle.isClosing { try? handle.close() }
        }
        trace.log("watching SIGUSR1 twice, SIGUSR2 once, SIGINT")

        let timer = try UVTimer(loop: loop)
        var step = 0
        try timer.start(timeout: 10, repeat: 10) { timer in
            step += 1
            switch step {
            case 1, 2:
                trace.log("timer: sending SIGUSR1 to this process")
                kill(getpid(), SIGUSR1)
            case 3:
                trace.log("timer: sending SIGUSR2")
                kill(getpid(), SIGUSR2)
            default:
                try? timer.close()
                trace.log("timer closed; only the watchers are left: the poll blocks until a signal comes")
                do {
                    let sender = try HelperThread {
                        trace.name("sender")
                        usleep(50_000)
                        trace.log("sending SIGINT from another thread")
                        kill(getpid(), SIGINT)
                    }
                    context.atEnd { sender.join() }
                } catch {
                    trace.log("cannot start the sender: \(error)")
                    loop.closeAll()
                }
            }
        }
    }
}
