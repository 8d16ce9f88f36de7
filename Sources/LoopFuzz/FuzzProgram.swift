/// A random SwiftUV program, as data: what it creates, what it does before
/// the loop runs, what it does inside which callback, and how it runs the
/// loop. `FuzzInterpreter` runs it on either backend; `Generator` makes one
/// from a seed; `Shrinker` makes it smaller; `description` prints it as code.
///
/// Programs are values (Codable), so a campaign sends them to a child
/// process and a shrunk program can be run again exactly.
public struct FuzzProgram: Codable, Sendable, Hashable {
    /// The seed it was generated from (shrinking keeps it, for the report).
    public var seed: UInt64
    /// The objects made before anything runs, one per slot; nil once the
    /// shrinker has taken a slot out (actions on it then do nothing).
    public var entities: [Entity?]
    /// What the program does before the first run.
    public var setup: [Action]
    /// What it does inside callbacks: the `nth` call (0-based) with a key.
    public var reactions: [Reaction]
    /// `loop.run` calls, in order; then every handle is closed and the loop
    /// run until it ends.
    public var runs: [RunStep]
    /// After this many callbacks every handle is closed and reactions stop,
    /// so that every program ends.
    public var budget: Int

    public init(seed: UInt64, entities: [Entity?], setup: [Action], reactions: [Reaction], runs: [RunStep], budget: Int) {
        self.seed = seed
        self.entities = entities
        self.setup = setup
        self.reactions = reactions
        self.runs = runs
        self.budget = budget
    }
}

/// What a slot holds. Pairs make both ends (and a listener for TCP), so a
/// program can talk to itself without anything outside the process.
public enum Entity: String, Codable, Sendable, CaseIterable {
    case timer, idle, prepare, check, async, signal
    /// Two `UVPipe`s opened on the ends of a `socketpair`.
    case socketPair
    /// Part 0 the client, part 1 the accepted end, part 2 the listener.
    case tcpPair
    /// Two bound UDP sockets that send to each other.
    case udpPair
    /// A `Poll` on one end of a socketpair; `poke` writes to the other end.
    case poll
    /// A child `sh -c 'exit N'`, made by `spawn`.
    case process
    /// An `FSPoll` or `FSEvent` watching a file of its own; `touch` appends to it.
    case fsPoll, fsEvent

    /// The handles a slot of this kind has.
    public var parts: Int {
        switch self {
        case .socketPair, .udpPair: return 2
        case .tcpPair: return 3
        default: return 1
        }
    }

    /// The callbacks each part can get, as the event word of its trace key.
    public func events(part: Int) -> [String] {
        let own: [String]
        switch self {
        case .timer, .idle, .prepare, .check, .async, .signal, .poll, .fsPoll, .fsEvent: own = [rawValue]
        case .socketPair: own = ["read", "write", "shutdown"]
        case .tcpPair: own = part == 2 ? ["listen"] : part == 0 ? ["connect", "read", "write", "shutdown"] : ["read", "write", "shutdown"]
        case .udpPair: own = ["recv", "send"]
        case .process: own = ["exit"]
        }
        return own + ["close"]
    }
}

/// One step of a program. `slot`/`part` name a handle; `a` and `b` are the
/// operation's numbers (a timeout, a byte count, a request's id...).
public struct Action: Codable, Sendable, Hashable {
    public var op: Op
    public var slot: Int
    public var part: Int
    public var a: Int
    public var b: Int

    public init(_ op: Op, slot: Int = 0, part: Int = 0, a: Int = 0, b: Int = 0) {
        self.op = op
        self.slot = slot
        self.part = part
        self.a = a
        self.b = b
    }
}

/// What an `Action` does. Operations on a handle apply to whatever that
/// handle is; a misuse (stopping a closed handle) is part of the test.
public enum Op: String, Codable, Sendable, CaseIterable {
    // On a handle.
    case start, startOneShot, stop, again, setRepeat, close, ref, unref, send
    case readStart, readStop, write, tryWrite, shutdown, spawn, kill, touch, poke, query
    // On the loop and its requests.
    case raise, queueWork, cancelWork, fsStat, fsMkdir, fsRmdir, resolve, stopLoop, queryLoop

    /// Whether the operation names a handle.
    public var onHandle: Bool {
        switch self {
        case .raise, .queueWork, .cancelWork, .fsStat, .fsMkdir, .fsRmdir, .resolve, .stopLoop, .queryLoop: return false
        default: return true
        }
    }
}

/// The `nth` callback (counted from 0) whose trace key is `on` runs `actions`.
public struct Reaction: Codable, Sendable, Hashable {
    public var on: String
    public var nth: Int
    public var actions: [Action]

    public init(on: String, nth: Int, actions: [Action]) {
        self.on = on
        self.nth = nth
        self.actions = actions
    }
}

/// A `loop.run` mode.
public enum RunStep: String, Codable, Sendable, CaseIterable {
    case `default`, once, noWait
}

/// The signals a program raises to itself: `a` picks one.
public let fuzzSignals: [(number: Int32, name: String)] = [(10, "SIGUSR1"), (12, "SIGUSR2"), (28, "SIGWINCH")]

extension FuzzProgram: CustomStringConvertible {
    /// The program as readable Swift-like code.
    public var description: String {
        var lines = ["// seed \(seed), callback budget \(budget)"]
        for (slot, entity) in entities.enumerated() {
            guard let entity else { continue }
            lines.append("let h\(slot) = \(Self.construction(entity))")
        }
        lines += setup.map { $0.code }
        for reaction in reactions {
            lines.append("on \(reaction.on) #\(reaction.nth + 1) {")
            lines += reaction.actions.map { "    " + $0.code }
            lines.append("}")
        }
        lines += runs.map { "loop.run(.\($0.rawValue))" }
        lines.append("close every handle; loop.run(.default); loop.close()")
        return lines.joined(separator: "\n")
    }

    static func construction(_ entity: Entity) -> String {
        switch entity {
        case .timer: return "UVTimer(loop)"
        case .idle: return "Idle(loop)"
        case .prepare: return "Prepare(loop)"
        case .check: return "Check(loop)"
        case .async: return "Async(loop)"
        case .signal: return "Signal(loop)"
        case .socketPair: return "socketpair -> (UVPipe(loop).open, UVPipe(loop).open)"
        case .tcpPair: return "(client TCP, accepted TCP, listener TCP on 127.0.0.1:0)"
        case .udpPair: return "(UDP on 127.0.0.1:0, UDP on 127.0.0.1:0)"
        case .poll: return "Poll(loop, fd: socketpair end)"
        case .process: return "UVProcess slot (spawned by spawn)"
        case .fsPoll: return "FSPoll(loop) on a file of its own"
        case .fsEvent: return "FSEvent(loop) on a file of its own"
        }
    }
}

extension Action {
    /// The handle's name in traces and code: `h3` or `h3.1`.
    public var target: String { "h\(slot)" + (part == 0 ? "" : ".\(part)") }

    /// The action as one line of code.
    public var code: String {
        switch op {
        case .start: return "\(target).start(a: \(a), b: \(b))"
        case .startOneShot: return "\(target).startOneShot(\(fuzzSignals[a % 3].name))"
        case .setRepeat: return "\(target).setRepeat(\(a))"
        case .write: return "\(target).write(\(a) bytes)"
        case .tryWrite: return "\(target).tryWrite(\(a) bytes)"
        case .spawn: return "\(target) = spawn(sh -c 'exit \(a)')"
        case .touch: return "append \(a + 1) bytes to \(target)'s file"
        case .poke: return "write a byte to \(target)'s peer"
        case .raise: return "raise(\(fuzzSignals[a % 3].name))"
        case .queueWork: return "w\(a) = loop.queueWork { }"
        case .cancelWork: return "w\(a).cancel()"
        case .fsStat: return "f = loop.fs.stat(\(a % 2 == 0 ? "existing file" : "missing file"))"
        case .fsMkdir: return "loop.fs.mkdir(d\(a))"
        case .fsRmdir: return "loop.fs.rmdir(d\(a))"
        case .resolve: return "loop.resolve(\"127.0.0.1\", \"\(80 + a)\")"
        case .stopLoop: return "loop.stop()"
        case .queryLoop: return "print(loop.isAlive, loop.backendTimeout)"
        case .query: return "print(\(target).isActive, .hasRef, .isClosing)"
        default: return "\(target).\(op.rawValue)()"
        }
    }
}
