import Foundation

extension FuzzProgram {
    /// The program as one line of JSON, for `uvdemo fuzz --replay`.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Reads a program from `json`: the JSON itself, or a line starting
    /// with `replay: ` somewhere in a report.
    public init?(json text: String) {
        let line = text.split(separator: "\n").first { $0.hasPrefix("replay: ") }.map { String($0.dropFirst(8)) } ?? text
        guard let program = try? JSONDecoder().decode(FuzzProgram.self, from: Data(line.utf8)) else { return nil }
        self = program
    }
}

/// Two traces in two columns, libuv on the left; `!` marks the first line
/// that differs, and every line after it that is not the same on both sides.
public func sideBySide(_ left: [String], _ right: [String], leftTitle: String = "libuv", rightTitle: String = "native") -> String {
    let width = min(max((left.map(\.count).max() ?? 0), leftTitle.count), 60)
    func cell(_ text: String) -> String {
        text.count > width ? String(text.prefix(width - 1)) + "…" : text + String(repeating: " ", count: width - text.count)
    }
    var lines = ["  " + cell(leftTitle) + " | " + rightTitle, "  " + String(repeating: "-", count: width) + "-+-" + String(repeating: "-", count: 20)]
    for index in 0..<max(left.count, right.count) {
        let l = index < left.count ? left[index] : ""
        let r = index < right.count ? right[index] : ""
        lines.append((l == r ? "  " : "! ") + cell(l) + " | " + r)
    }
    return lines.joined(separator: "\n")
}

extension CampaignReport {
    /// Every finding in full, then the summary line.
    public var text: String {
        var parts: [String] = []
        for divergence in divergences {
            var part = "== seed \(divergence.original.seed): the backends diverge"
            if divergence.shrinkSteps > 0 {
                part += " (shrunk in \(divergence.shrinkSteps) steps from \(divergence.original.setup.count + divergence.original.reactions.count) to \(divergence.program.setup.count + divergence.program.reactions.count) setup actions and reactions)"
            }
            part += "\n\n" + divergence.program.description + "\n\n" + sideBySide(divergence.libuv, divergence.native)
            part += "\n\nreplay: " + divergence.program.json
            parts.append(part)
        }
        for item in unstable {
            parts.append("== seed \(item.seed): two native runs of one program differ\n\n"
                         + Generator.program(seed: item.seed).description + "\n\n"
                         + sideBySide(item.first, item.second, leftTitle: "native, run 1", rightTitle: "native, run 2"))
        }
        for failure in failures {
            let what: String
            switch failure.outcome {
            case .hung: what = "hung (no answer in time; the worker was killed)"
            case .crashed(let message): what = "crashed:\n" + message
            case .trace: what = "failed"
            }
            parts.append("== seed \(failure.seed): on \(failure.backend), the program \(what)\n\n" + Generator.program(seed: failure.seed).description)
        }
        if !notReproduced.isEmpty {
            parts.append("== not reproduced on a recheck (the machine's pace, not the engine; shown for a look):\n"
                         + notReproduced.map { "seed \($0.seed): \($0.finding)" }.joined(separator: "\n"))
        }
        parts.append(summary + (stoppedByTimeLimit ? " (time limit reached)" : ""))
        return parts.joined(separator: "\n\n") + "\n"
    }
}
