#!/usr/bin/env bash
# The README's Swift examples, built as a user would: a package of its own,
# outside this repository, that depends on SwiftUV by path and imports
# Foundation beside it. Every example compiles with warnings as errors; the
# quick start and the async echo run, and print what the README says.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$repo/.build-readme/examples"
rm -rf "$work/Sources"
mkdir -p "$work/Sources"

# The README's ```swift blocks, in order; the first is the Package.swift snippet.
python3 - "$repo/README.md" "$work/Sources" <<'PY'
import os, re, sys
text = open(sys.argv[1]).read()
blocks = re.findall(r"```swift\n(.*?)```", text, re.S)
names = ["quickstart", "everycore", "echo", "executor"]
code = [b for b in blocks if "Package.swift" not in b]
if len(code) != len(names):
    sys.exit(f"readme-check: expected {len(names)} Swift examples in the README, found {len(code)}")
for name, body in zip(names, code):
    os.makedirs(os.path.join(sys.argv[2], name))
    head = "" if "import SwiftUV" in body else "import Foundation\nimport SwiftUV\n\n"
    if "import Foundation" not in body and "import Foundation" not in head:
        head = "import Foundation\n" + head
    tail = {"everycore": "", "executor": "\n_ = Session.self\n"}.get(name, "")
    if name == "echo":
        # The example's fixed port, swapped for one free now.
        import socket
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        body = body.replace("127.0.0.1:7000", f"127.0.0.1:{probe.getsockname()[1]}")
        probe.close()
    open(os.path.join(sys.argv[2], name, "main.swift"), "w").write(head + body + tail)
PY

cat > "$work/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription
let swiftUV = Target.Dependency.product(name: "SwiftUV", package: "$(basename "$repo")")
let package = Package(
    name: "examples",
    dependencies: [.package(path: "$repo")],
    targets: ["quickstart", "everycore", "echo", "executor"].map { .executableTarget(name: \$0, dependencies: [swiftUV]) },
    swiftLanguageModes: [.v6]
)
SWIFT

cd "$work"
if ! swift build -Xswiftc -warnings-as-errors > build.log 2>&1; then
    tail -40 build.log
    echo "readme-check: the README's examples do not build (log: $work/build.log)"
    exit 1
fi
bin="$(swift build --show-bin-path)"

out="$(timeout 60 "$bin/quickstart")"
echo "$out"
python3 - "$out" <<'PY'
import re, sys
lines = sys.argv[1].splitlines()
ticks = [tuple(map(int, m.groups())) for m in (re.fullmatch(r"tick (\d+) at (\d+) ms", l) for l in lines) if m]
problems = []
if [n for n, _ in ticks] != list(range(1, 11)):
    problems.append(f"ticks {[n for n, _ in ticks]}, expected 1...10")
# Loop time: a tick is never early (however late a busy machine makes it).
early = [(n, ms) for n, ms in ticks if ms < 50 * n - 1]
if early:
    problems.append(f"ticks before their time: {early}")
if "sum: 500000500000" not in lines:
    problems.append("no 'sum: 500000500000'")
if problems:
    sys.exit("readme-check: the quick start printed something else: " + "; ".join(problems))
PY

out="$(timeout 60 "$bin/echo")"
echo "$out"
test "$out" = "hello" || { echo "readme-check: the echo example printed '$out', not 'hello'"; exit 1; }
echo "readme-check: the README's 4 examples build with Foundation imported and zero warnings; the quick start and the echo print what the README says"
