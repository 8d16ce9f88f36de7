import Foundation

/// The ways a trace is shown: the book's lines, two columns side by side,
/// JSON lines, a timeline picture.
public enum Render {
    /// One event as `run` prints it: time, then the book's line.
    public static func line(_ event: TraceEvent) -> String {
        milliseconds(event.time, width: 9) + " ms  " + event.bookLine
    }

    static func milliseconds(_ value: Double, width: Int) -> String {
        pad(String(format: "%.1f", value), width, left: true)
    }

    /// The two traces side by side, aligned event by event, then the verdict.
    public static func sideBySide(_ comparison: Comparison, width: Int = 64) -> String {
        let messageWidth = width - 19
        func cell(_ event: TraceEvent?) -> String {
            guard let event else { return String(repeating: " ", count: width) }
            let flag = event.isFloating ? "*" : event.tie != nil ? "~" : " "
            return milliseconds(event.time, width: 8) + "  " + pad(event.thread, 7) + flag + truncate(event.message, messageWidth)
        }
        var out = pad("      ms  thread  " + comparison.leftName, width) + "   " + "      ms  thread  " + comparison.rightName + "\n"
        for row in comparison.rows {
            let mark = row.left == nil ? " > " : row.right == nil ? " < " : " | "
            let text = pad(cell(row.left), width) + mark + cell(row.right)
            out += text.trimmingTrailingSpaces() + "\n"
        }
        out += "\n~ its order among its neighbours marked ~ is not defined (they race, or libuv orders them by address)\n"
        out += "* its place depends on CPU speed or the kernel; compared by presence\n"
        out += "< or > an event the other side has at another place, or not at all\n\n"
        out += verdict(comparison)
        return out
    }

    /// The verdict in words: the same order, or each difference.
    public static func verdict(_ comparison: Comparison) -> String {
        var out: String
        if comparison.same {
            out = "verdict: the same: \(comparison.leftName) and \(comparison.rightName) ran the same events in the same order\n"
        } else {
            out = "verdict: \(comparison.differences.count) difference\(comparison.differences.count == 1 ? "" : "s"):\n"
            for difference in comparison.differences { out += "  - \(difference)\n" }
        }
        for note in comparison.notes { out += "  note: \(note)\n" }
        if let gap = comparison.largestGap {
            out += "  timing: the largest gap between the backends is \(String(format: "%.1f", gap.milliseconds)) ms (\"\(truncate(gap.message, 60))\")\n"
        }
        return out
    }

    /// One JSON object per event, one per line.
    public static func jsonLines(_ events: [TraceEvent]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return events.map { event in
            var rounded = event
            rounded.time = (event.time * 1000).rounded() / 1000
            return String(decoding: (try? encoder.encode(rounded)) ?? Data(), as: UTF8.self)
        }.joined(separator: "\n") + "\n"
    }

    /// The runs on one time axis, a row per thread, as SVG; as an HTML page
    /// (the SVG and a table of every event) when `html` is set.
    public static func timeline(program: String, traces: [[TraceEvent]], html: Bool) -> String {
        let labelWidth = 90.0, plotWidth = 960.0, rowHeight = 22.0, bandGap = 34.0
        let end = max(1, traces.flatMap { $0.map(\.time) }.max() ?? 1) * 1.02
        func x(_ time: Double) -> Double { labelWidth + time / end * plotWidth }
        let step = niceStep(end / 8)

        var body = ""
        var y = 10.0
        for events in traces {
            guard let backend = events.first?.backend else { continue }
            let threads = threadOrder(events)
            body += "<text x=\"4\" y=\"\(f(y + 14))\" class=\"band\">\(escape(backend))</text>\n"
            y += bandGap - 10
            let top = y
            for (row, thread) in threads.enumerated() {
                // The loop's row is taller: its events carry short labels.
                let height = thread == "main" ? rowHeight + 14 : rowHeight
                let cy = y + height - rowHeight / 2
                if row % 2 == 0 {
                    body += "<rect x=\"\(f(labelWidth))\" y=\"\(f(y))\" width=\"\(f(plotWidth))\" height=\"\(f(height))\" class=\"stripe\"/>\n"
                }
                body += "<text x=\"\(f(labelWidth - 6))\" y=\"\(f(cy + 4))\" class=\"label\">\(escape(thread))</text>\n"
                let mine = events.filter { $0.thread == thread }
                // Tasks: a begin and the next end on the same thread.
                var open: TraceEvent?
                for event in mine {
                    if event.span == "begin" { open = event }
                    if event.span == "end", let begin = open {
                        let width = max(1, x(event.time) - x(begin.time))
                        body += "<rect x=\"\(f(x(begin.time)))\" y=\"\(f(cy - 6))\" width=\"\(f(width))\" height=\"12\" class=\"task\">"
                            + "<title>\(escape(begin.message)): \(f(begin.time)) to \(f(event.time)) ms</title></rect>\n"
                        let fits = Int((width - 12) / 6)
                        if fits >= 4 {
                            body += "<text x=\"\(f(x(begin.time) + 6))\" y=\"\(f(cy + 3.5))\" class=\"tasklabel\">"
                                + "\(escape(truncate(taskName(begin.message), fits)))</text>\n"
                        }
                        open = nil
                    }
                }
                var lastLabel = -Double.infinity
                for event in mine where thread == "main" && x(event.time) - lastLabel > 80 {
                    lastLabel = x(event.time)
                    body += "<text x=\"\(f(x(event.time) - 3))\" y=\"\(f(y + 11))\" class=\"eventlabel\">"
                        + "\(escape(truncate(event.message, 14)))</text>\n"
                }
                for event in mine {
                    let kind = event.onLoopThread ? "loop" : event.onPoolThread ? "pool" : "helper"
                    body += "<circle cx=\"\(f(x(event.time)))\" cy=\"\(f(cy))\" r=\"4\" class=\"\(kind)\">"
                        + "<title>\(f(event.time)) ms, \(escape(event.thread)): \(escape(event.message))</title></circle>\n"
                }
                y += height
            }
            var tick = 0.0
            while tick <= end {
                body += "<line x1=\"\(f(x(tick)))\" y1=\"\(f(top))\" x2=\"\(f(x(tick)))\" y2=\"\(f(y + 4))\" class=\"tick\"/>\n"
                body += "<text x=\"\(f(x(tick)))\" y=\"\(f(y + 16))\" class=\"axis\">\(tickLabel(tick))</text>\n"
                tick += step
            }
            y += 28
        }
        let height = y + 10
        let width = labelWidth + plotWidth + 80
        let style = """
        .band{font:bold 14px sans-serif}.label{font:12px monospace;text-anchor:end}\
        .axis{font:10px sans-serif;text-anchor:middle;fill:#555}.tick{stroke:#ccc;stroke-width:1}\
        .stripe{fill:#f4f6f8}.tasklabel{font:9px sans-serif;fill:#5a3a00}.eventlabel{font:9px sans-serif;fill:#1e3a8a}.task{fill:#f5c27a;opacity:0.8}.loop{fill:#2563eb}.pool{fill:#d97706}.helper{fill:#059669}
        """
        let svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" viewBox="0 0 \(f(width)) \(f(height))">
        <title>uvdemo \(escape(program)): a row per thread, milliseconds since start</title>
        <style>\(style)</style>
        \(body)</svg>
        """
        guard html else { return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + svg + "\n" }
        var table = "<table>\n<tr><th>backend</th><th>ms</th><th>thread</th><th>message</th></tr>\n"
        for events in traces {
            for event in events {
                table += "<tr><td>\(escape(event.backend))</td><td>\(String(format: "%.1f", event.time))</td>"
                    + "<td>\(escape(event.thread))</td><td>\(escape(event.message))</td></tr>\n"
            }
        }
        table += "</table>\n"
        return """
        <!DOCTYPE html>
        <html xmlns="http://www.w3.org/1999/xhtml"><head><meta charset="utf-8"/><title>uvdemo \(escape(program))</title>
        <style>body{font-family:sans-serif;margin:16px}table{border-collapse:collapse;font:12px monospace}td,th{padding:1px 8px;text-align:left}tr:nth-child(even){background:#f4f6f8}</style>
        </head><body>
        <h1>uvdemo \(escape(program))</h1>
        <p>Each dot is an event (hover for its message); a bar is a task on a pool thread.</p>
        \(svg)
        \(table)</body></html>

        """
    }

    /// A task's name from its begin message ("received a task of type: X" → X).
    static func taskName(_ message: String) -> String {
        message.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? message
    }

    /// `main`, then pool threads by number, then helper threads by name.
    static func threadOrder(_ events: [TraceEvent]) -> [String] {
        var seen: [String] = []
        for event in events where !seen.contains(event.thread) { seen.append(event.thread) }
        func rank(_ t: String) -> (Int, Int, String) {
            if t == "main" { return (0, 0, t) }
            if t.hasPrefix("pool"), let n = Int(t.dropFirst(4)) { return (1, n, t) }
            return (2, 0, t)
        }
        return seen.sorted { rank($0) < rank($1) }
    }

    static func niceStep(_ raw: Double) -> Double {
        let magnitude = pow(10, floor(log10(max(raw, 1e-3))))
        for factor in [1.0, 2.0, 5.0, 10.0] where raw <= factor * magnitude { return factor * magnitude }
        return 10 * magnitude
    }

    static func tickLabel(_ ms: Double) -> String {
        ms >= 1000 ? String(format: "%g s", ms / 1000) : String(format: "%g ms", ms)
    }

    static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }
}

func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - s.count))
    return left ? fill + s : s + fill
}

func truncate(_ s: String, _ width: Int) -> String {
    s.count <= width ? s : String(s.prefix(width - 1)) + "…"
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
