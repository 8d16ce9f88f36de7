/// Makes a diverging program smaller while it still diverges: takes out
/// slots (with every action on them), reactions, actions and runs, and
/// lowers the budget, keeping each change that leaves a stable divergence,
/// until no change does or `maximumSteps` candidates have been run.
public struct Shrinker {
    /// The traces of a program that still diverges stably, else nil.
    public typealias Oracle = (FuzzProgram) -> (libuv: [String], native: [String])?

    let oracle: Oracle
    public var maximumSteps = 400

    public init(maximumSteps: Int = 400, oracle: @escaping Oracle) {
        self.oracle = oracle
        self.maximumSteps = maximumSteps
    }

    public func shrink(_ divergence: inout Divergence) {
        var steps = 0
        var changed = true
        while changed && steps < maximumSteps {
            changed = false
            for candidate in Self.candidates(divergence.program) where steps < maximumSteps {
                steps += 1
                if let traces = oracle(candidate) {
                    divergence.program = candidate
                    divergence.libuv = traces.libuv
                    divergence.native = traces.native
                    changed = true
                    break
                }
            }
        }
        divergence.shrinkSteps = steps
    }

    /// Smaller variants of `program`, the largest cuts first.
    public static func candidates(_ program: FuzzProgram) -> [FuzzProgram] {
        var result: [FuzzProgram] = []
        for slot in program.entities.indices where program.entities[slot] != nil {
            var smaller = program
            smaller.entities[slot] = nil
            let onSlot = { (action: Action) in action.op.onHandle && action.slot == slot }
            smaller.setup.removeAll(where: onSlot)
            smaller.reactions = smaller.reactions.compactMap { reaction in
                if reaction.on.hasPrefix("h\(slot) ") || reaction.on.hasPrefix("h\(slot).") { return nil }
                var kept = reaction
                kept.actions.removeAll(where: onSlot)
                return kept.actions.isEmpty ? nil : kept
            }
            result.append(smaller)
        }
        for index in program.reactions.indices {
            var smaller = program
            smaller.reactions.remove(at: index)
            result.append(smaller)
        }
        // A reaction's actions done before the loop runs instead: the
        // callback it waited for may then go too.
        for (index, reaction) in program.reactions.enumerated() {
            var flatter = program
            flatter.reactions.remove(at: index)
            flatter.setup += reaction.actions
            result.append(flatter)
        }
        for index in program.setup.indices {
            var smaller = program
            smaller.setup.remove(at: index)
            result.append(smaller)
        }
        for (index, reaction) in program.reactions.enumerated() where reaction.actions.count > 1 {
            for actionIndex in reaction.actions.indices {
                var smaller = program
                smaller.reactions[index].actions.remove(at: actionIndex)
                result.append(smaller)
            }
        }
        for index in program.runs.indices {
            var smaller = program
            smaller.runs.remove(at: index)
            result.append(smaller)
        }
        for (index, step) in program.runs.enumerated() where step != .noWait {
            var simpler = program
            simpler.runs[index] = step == .default ? .once : .noWait
            result.append(simpler)
        }
        if program.budget > 1 {
            var smaller = program
            smaller.budget = program.budget / 2
            result.append(smaller)
        }
        return result
    }
}
