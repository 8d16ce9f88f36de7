#!/usr/bin/env python3
"""API coverage: every UV_EXTERN function of the installed <uv.h>, whether
Sources/SwiftUV calls it, and the reasoned skip list. Exits 1 if a function
is neither called nor skipped, or a skip has no reason."""
import os, re, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
header = subprocess.run(["pkg-config", "--variable=includedir", "libuv"], capture_output=True, text=True).stdout.strip() or "/usr/include"
names = sorted(set(re.findall(r"UV_EXTERN[^;(]*?\b(uv_[a-z0-9_]+)\s*\(", open(os.path.join(header, "uv.h")).read())))

source = ""
for folder, _, files in os.walk(os.path.join(root, "Sources", "SwiftUV")):
    for f in files:
        if f.endswith(".swift"):
            source += open(os.path.join(folder, f)).read() + "\n"

skips = {}
for line in open(os.path.join(root, "scripts", "coverage-skip.txt")):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    name, _, reason = line.partition(" ")
    skips[name] = reason.strip()

called = [n for n in names if re.search(r"\b" + n + r"\b", source)]
skipped = [n for n in names if n not in called and n in skips]
missing = [n for n in names if n not in called and n not in skips]
unreasoned = [n for n, r in skips.items() if not r]
stale = [n for n in skips if n in called or n not in names]

width = max(len(n) for n in names)
for n in names:
    status = "called" if n in called else ("skipped: " + skips[n] if n in skips else "MISSING")
    print(f"{n:<{width}}  {status}")
print()
print(f"{len(names)} UV_EXTERN functions in {os.path.join(header, 'uv.h')}")
print(f"covered: {len(called)} called by SwiftUV, {len(skipped)} skipped with a reason, {len(missing)} missing")
if stale:
    print("skip entries no longer needed:", ", ".join(stale))
if missing or unreasoned:
    print("not covered:", ", ".join(missing + unreasoned))
    sys.exit(1)
