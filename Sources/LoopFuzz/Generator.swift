/// SplitMix64: a small, fast generator whose sequence depends only on the
/// seed, on every platform and Swift version.
public struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Makes a `FuzzProgram` from a seed: the same seed gives the same program.
public enum Generator {
    /// How often each kind of slot is picked (the loop's own watchers and
    /// the streams most, as they carry most of the ordering rules).
    static let weights: [(Entity, Int)] = [
        (.timer, 6), (.idle, 3), (.prepare, 3), (.check, 3), (.async, 3), (.signal, 2),
        (.socketPair, 3), (.tcpPair, 3), (.udpPair, 2), (.poll, 2), (.process, 2), (.fsPoll, 2), (.fsEvent, 2),
    ]

    public static func program(seed: UInt64) -> FuzzProgram {
        var random = SeededRandom(seed: seed)
        let count = Int.random(in: 1...5, using: &random)
        let entities: [Entity?] = (0..<count).map { _ in pick(weights, &random) }
        var program = FuzzProgram(seed: seed, entities: entities, setup: [], reactions: [], runs: [], budget: Int.random(in: 10...60, using: &random))
        // Start most slots, so that most programs do something.
        for (slot, entity) in entities.enumerated() {
            guard let entity, Int.random(in: 0..<4, using: &random) > 0 else { continue }
            program.setup += startActions(entity, slot: slot, &random)
        }
        for _ in 0..<Int.random(in: 0...3, using: &random) {
            program.setup.append(action(for: program, &random))
        }
        let keys = callbackKeys(program)
        for _ in 0..<Int.random(in: 0...8, using: &random) where !keys.isEmpty {
            let actions = (0..<Int.random(in: 1...3, using: &random)).map { _ in action(for: program, &random) }
            program.reactions.append(Reaction(on: keys.randomElement(using: &random)!,
                                              nth: pick([(0, 5), (1, 3), (2, 2), (4, 1)], &random), actions: actions))
        }
        program.runs = (0..<Int.random(in: 1...3, using: &random)).map { _ in
            pick([(RunStep.default, 3), (.once, 3), (.noWait, 2)], &random)
        }
        return program
    }

    /// The keys of the callbacks the program's slots and requests can get.
    static func callbackKeys(_ program: FuzzProgram) -> [String] {
        var keys: [String] = []
        for (slot, entity) in program.entities.enumerated() {
            guard let entity else { continue }
            for part in 0..<entity.parts {
                let name = Action(.query, slot: slot, part: part).target
                keys += entity.events(part: part).map { "\(name) \($0)" }
            }
        }
        keys += (0..<3).map { "w\($0) done" } + ["fs done", "dns done"]
        return keys
    }

    /// What a slot of this kind does to get going.
    static func startActions(_ entity: Entity, slot: Int, _ random: inout SeededRandom) -> [Action] {
        switch entity {
        case .timer:
            return [Action(.start, slot: slot, a: pick([(0, 3), (1, 3), (2, 2), (5, 1)], &random), b: pick([(0, 2), (1, 2), (2, 1)], &random))]
        case .signal:
            let a = Int.random(in: 0..<3, using: &random)
            return [Action(Bool.random(using: &random) ? .start : .startOneShot, slot: slot, a: a), Action(.raise, a: a)]
        case .socketPair, .tcpPair:
            return [Action(.readStart, slot: slot, part: 0), Action(.readStart, slot: slot, part: 1),
                    Action(.write, slot: slot, part: Int.random(in: 0...1, using: &random), a: Int.random(in: 0...8, using: &random))]
        case .udpPair:
            return [Action(.start, slot: slot, part: 1), Action(.write, slot: slot, part: 0, a: Int.random(in: 0...8, using: &random))]
        case .poll:
            return [Action(.start, slot: slot, a: pick([(1, 3), (2, 1), (3, 1)], &random)), Action(.poke, slot: slot)]
        case .process:
            return [Action(.spawn, slot: slot, a: Int.random(in: 0...3, using: &random))]
        case .fsPoll:
            return [Action(.start, slot: slot, a: Int.random(in: 1...3, using: &random)), Action(.touch, slot: slot)]
        case .fsEvent:
            return [Action(.start, slot: slot), Action(.touch, slot: slot)]
        case .async:
            return [Action(.send, slot: slot)]
        case .idle, .prepare, .check:
            return [Action(.start, slot: slot)]
        }
    }

    /// A random action that fits the program's slots.
    static func action(for program: FuzzProgram, _ random: inout SeededRandom) -> Action {
        let slots = program.entities.indices.filter { program.entities[$0] != nil }
        if slots.isEmpty || Int.random(in: 0..<4, using: &random) == 0 {
            let op = pick([(Op.queueWork, 4), (.cancelWork, 3), (.fsStat, 2), (.fsMkdir, 1), (.fsRmdir, 1),
                           (.resolve, 2), (.stopLoop, 2), (.queryLoop, 3), (.raise, 1)], &random)
            return Action(op, a: Int.random(in: 0..<3, using: &random))
        }
        let slot = slots.randomElement(using: &random)!
        let entity = program.entities[slot]!
        let part = Int.random(in: 0..<entity.parts, using: &random)
        let common: [(Op, Int)] = [(.close, 2), (.ref, 1), (.unref, 2), (.query, 2)]
        let own: [(Op, Int)]
        switch entity {
        case .timer: own = [(.start, 4), (.stop, 3), (.again, 3), (.setRepeat, 1)]
        case .idle, .prepare, .check: own = [(.start, 4), (.stop, 4)]
        case .async: own = [(.send, 6)]
        case .signal: own = [(.start, 2), (.startOneShot, 2), (.stop, 2), (.raise, 3)]
        case .socketPair, .tcpPair: own = [(.readStart, 3), (.readStop, 2), (.write, 4), (.tryWrite, 2), (.shutdown, 2)]
        case .udpPair: own = [(.start, 3), (.stop, 2), (.write, 4), (.tryWrite, 2)]
        case .poll: own = [(.start, 3), (.stop, 2), (.poke, 3)]
        case .process: own = [(.spawn, 2), (.kill, 2)]
        case .fsPoll, .fsEvent: own = [(.start, 3), (.stop, 3), (.touch, 3)]
        }
        let op = pick(own + common, &random)
        var a = Int.random(in: 0...8, using: &random)
        var b = Int.random(in: 0...2, using: &random)
        switch (entity, op) {
        case (.timer, .start):
            a = pick([(0, 3), (1, 3), (2, 2), (5, 1)], &random)
        case (.poll, .start):
            a = Int.random(in: 1...3, using: &random)
        case (.fsPoll, .start):
            a = Int.random(in: 1...3, using: &random)
        case (.signal, _), (_, .raise):
            a = Int.random(in: 0..<3, using: &random)
        case (.process, _):
            a = Int.random(in: 0...3, using: &random)
        default:
            b = min(b, 2)
        }
        if op == .raise { return Action(.raise, a: a) }
        return Action(op, slot: slot, part: part, a: a, b: b)
    }

    /// One of `choices`, each as likely as its weight.
    static func pick<T>(_ choices: [(T, Int)], _ random: inout SeededRandom) -> T {
        var roll = Int.random(in: 0..<choices.reduce(0) { $0 + $1.1 }, using: &random)
        for (choice, weight) in choices {
            if roll < weight { return choice }
            roll -= weight
        }
        return choices[0].0
    }
}
