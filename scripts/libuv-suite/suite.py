#!/usr/bin/env python3
"""libuv's own test suite on system libuv and on the native engine's C ABI.

Steps (README of this folder: scripts/libuv-suite/README.md):
  fetch    Debian's source package of the installed libuv1 (fetch.sh)
  build    libuv's test/*.c compiled once against the system's <uv.h>, then
           linked twice: against system libuv (the baseline) and against the
           native engine's C ABI library, every uv_* function that library
           does not export replaced by a generated stub that says so and aborts
  run      every test of the runner's list on both builds, as an unprivileged
           user, each in a scratch folder and in namespaces of its own
           (isolate.c: loopback only, a private /tmp, its own PIDs), in
           parallel; without namespaces, the tests sharing a fixed port one
           at a time, those sharing a socket path alone
  report   report.json and report.md in the build folder, and one line:
           "libuv suite: N tests, system libuv passes B, native engine passes Q of those B"
  --check  the gate: fails when a test of Tests/LibuvSuite/known-failures.txt
           passes on the native engine, or a test not listed there that passes
           on the baseline fails on the native engine
  --write-known-failures  rewrites that list from the run

The ABI library: --abi PATH, else $LIBUV_ABI, else .build/debug/libUVNative.so;
--abi throwaway builds and uses a tiny C library exporting only uv_version and
uv_version_string (to try the harness before the real library exists).
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
KNOWN_FAILURES = os.path.join(REPO, "Tests", "LibuvSuite", "known-failures.txt")

# Tests of libuv's private code that the test files #include (src/idna.c,
# src/strscpy.c, src/strtok.c): they test that code, not an event loop, and
# are reported apart and not counted.
PRIVATE_CODE_TESTS = {"utf8_decode1", "utf8_decode1_overrun", "idna_toascii", "strscpy", "strtok"}

# What libuv's CMakeLists.txt gives its tests on Linux (uv_defines, uv_cflags,
# uv_test_libraries), with Debian's -O2 -g.
DEFINES = ["-D_GNU_SOURCE", "-D_POSIX_C_SOURCE=200112", "-D_FILE_OFFSET_BITS=64",
           "-D_LARGEFILE_SOURCE", "-DUSING_UV_SHARED=1"]
CFLAGS = ["-std=gnu89", "-O2", "-g", "-pthread", "-fno-strict-aliasing",
          "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wstrict-prototypes"]
LIBS = ["-lpthread", "-ldl", "-lrt", "-lutil"]

# Debian's debian/rules runs the suite with these.
TEST_ENV = {"UV_TEST_TIMEOUT_MULTIPLIER": "2", "RES_OPTIONS": "attempts:0"}
# The Swift runtime's crash reports (on a stub's abort) would bury the output.
QUIET_SWIFT = {"SWIFT_BACKTRACE": "enable=no"}

# The unprivileged user the tests run as (the suite refuses root, and as
# root fs_copyfile and a few others cannot fail the way they expect).
TEST_UID = 65534
TEST_GID = 65534

# A test that names one of these shares a fixed port (task.h's TEST_PORT...,
# and 9999) or a fixed socket path (TEST_PIPENAME..., an abstract socket).
PORT_MARK = re.compile(r"\bTEST_PORT(_[23])?\b|\b(9123|9124|9125|9999)\b")
PIPE_MARK = re.compile(r"\bTEST_PIPENAME(_[23])?\b|\"\\0")

RUNNER_FILES = ("run-tests.c", "runner.c", "runner-unix.c")

# The addresses off this machine that tests connect or send to.
OFF_MACHINE = re.compile(r'"(1\.2\.3\.4|8\.8\.8\.8|192\.0\.2\.3|239\.255\.0\.1|2001:4860:4860::8888|ff02::1)"')

OUTER_LIMIT = 120  # seconds; the runner's own timeouts are far shorter
STUB_TEXT = "not in the native engine's C ABI yet"


def shown(path):
    """path relative to the repository when inside it."""
    path = os.path.abspath(path)
    return os.path.relpath(path, REPO) if path.startswith(REPO + "/") else path


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def out(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


# ---------------------------------------------------------------- build

def test_sources(src):
    """The Linux test sources from CMakeLists.txt's uv_test_sources lists."""
    text = open(os.path.join(src, "CMakeLists.txt")).read()
    files = []
    for block in re.findall(r"list\(APPEND uv_test_sources(.*?)\)", text, re.S):
        for f in block.split():
            if f.startswith("test/") and f.endswith(".c") and "win" not in f:
                files.append(f)
    if "test/runner-unix.c" not in files or "test/run-tests.c" not in files:
        sys.exit("libuv-suite: CMakeLists.txt's uv_test_sources not understood")
    return sorted(set(files))


def compile_objects(src, build, jobs):
    obj_dir = os.path.join(build, "obj")
    os.makedirs(obj_dir, exist_ok=True)
    flags = CFLAGS + DEFINES
    # Compiled from the source folder, so that assertion messages (and the
    # reasons in report and known-failures.txt) say test/test-x.c, not a path
    # of this machine.
    signature = " ".join(flags) + " (in the source folder)"
    flag_file = os.path.join(obj_dir, "flags")
    old_flags = open(flag_file).read() if os.path.exists(flag_file) else ""
    if old_flags != signature:
        for f in os.listdir(obj_dir):
            os.remove(os.path.join(obj_dir, f))
    todo, objects = [], []
    for f in test_sources(src):
        o = os.path.join(obj_dir, os.path.basename(f)[:-2] + ".o")
        objects.append(o)
        if not os.path.exists(o) or os.path.getmtime(o) < os.path.getmtime(os.path.join(src, f)):
            todo.append((f, o))

    def cc(pair):
        c, o = pair
        r = subprocess.run(["gcc", *flags, "-c", c, "-o", o], cwd=src, capture_output=True, text=True)
        return c, r

    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        for c, r in pool.map(cc, todo):
            if r.returncode != 0:
                sys.exit(f"libuv-suite: compiling {c} failed:\n{r.stderr}")
    with open(flag_file, "w") as f:
        f.write(signature)
    return objects, len(todo)


def symbols(cmd):
    """Names from `nm` output lines 'NAME TYPE ...' (posix format)."""
    names = set()
    for line in out(cmd).splitlines():
        parts = line.split()
        if parts and not parts[0].endswith(":"):
            names.add(parts[0].split("@")[0])
    return names


def link_baseline(objects, build):
    exe = os.path.join(build, "bin", "run-tests-libuv")
    os.makedirs(os.path.dirname(exe), exist_ok=True)
    run(["gcc", "-pthread", "-o", exe, *objects, "-luv", *LIBS])
    return exe


def swift_runtime_dirs():
    """The Swift toolchain's runtime library folders, when there is a toolchain."""
    swift = shutil.which(os.environ.get("SWIFT", "swift"))
    if not swift:
        return []
    try:
        info = json.loads(out([swift, "-print-target-info"]))
        return [d for d in info["paths"]["runtimeLibraryPaths"] if os.path.isdir(d)]
    except (subprocess.CalledProcessError, KeyError, ValueError):
        d = os.path.join(os.path.dirname(os.path.realpath(swift)), "..", "lib", "swift", "linux")
        return [os.path.normpath(d)] if os.path.isdir(d) else []


def build_throwaway_abi(build):
    """A stand-in for the native ABI library: uv_version and uv_version_string only."""
    d = os.path.join(build, "throwaway")
    os.makedirs(d, exist_ok=True)
    c = os.path.join(d, "throwaway-abi.c")
    with open(c, "w") as f:
        f.write('/* Generated by scripts/libuv-suite/suite.py: a stand-in for libUVNative.so. */\n'
                '#include <uv.h>\n'
                'unsigned int uv_version(void) { return UV_VERSION_HEX; }\n'
                'const char* uv_version_string(void) { return "1.44.2"; }\n')
    lib = os.path.join(d, "libUVNative.so")
    run(["gcc", "-shared", "-fPIC", "-O1", "-g", "-Wl,-soname,libUVNative.so", "-o", lib, c])
    return lib


# libuv 1.44.2's Linux sources (CMakeLists.txt's uv_sources on Linux), for
# --abi selftest.
LIBUV_LINUX_SOURCES = (
    "fs-poll idna inet random strscpy strtok threadpool timer uv-common uv-data-getter-setters version "
    "unix/async unix/core unix/dl unix/fs unix/getaddrinfo unix/getnameinfo unix/loop-watcher unix/loop "
    "unix/pipe unix/poll unix/process unix/random-devurandom unix/signal unix/stream unix/tcp unix/thread "
    "unix/tty unix/udp unix/proctitle unix/linux-core unix/linux-inotify unix/linux-syscalls "
    "unix/procfs-exepath unix/random-getrandom unix/random-sysctl-linux unix/epoll").split()


def build_selftest_abi(src, build, jobs):
    """libuv itself, built from the unpacked source as libUVNative.so: with
    it, the native runner must give the baseline's results (a check of this
    harness, not of the engine)."""
    d = os.path.join(build, "selftest")
    os.makedirs(d, exist_ok=True)
    flags = ["-std=gnu89", "-O2", "-g", "-fPIC", "-pthread", "-fvisibility=hidden", "-fno-strict-aliasing",
             "-DBUILDING_UV_SHARED=1", *DEFINES[:-1], "-I" + os.path.join(src, "include"), "-I" + os.path.join(src, "src")]

    def cc(name):
        o = os.path.join(d, name.replace("/", "-") + ".o")
        if not os.path.exists(o):
            run(["gcc", *flags, "-c", os.path.join(src, "src", name + ".c"), "-o", o])
        return o

    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        objs = list(pool.map(cc, LIBUV_LINUX_SOURCES))
    lib = os.path.join(d, "libUVNative.so")
    run(["gcc", "-shared", "-o", lib, *objs, "-lpthread", "-ldl", "-lrt"])
    return lib


def link_native(objects, build, abi):
    """The runner against the ABI library, with a generated stub for each
    uv_* function it needs that the library does not export."""
    d = os.path.join(build, "native")
    os.makedirs(d, exist_ok=True)
    per_object = {}
    defined = set()
    for o in objects:
        per_object[os.path.basename(o)] = symbols(["nm", "-u", "--format=posix", o])
        defined |= symbols(["nm", "--defined-only", "--format=posix", o])
    for o in per_object:
        per_object[o] = {s for s in per_object[o] - defined if s.startswith("uv_")}
    needed = set().union(*per_object.values())
    exported = symbols(["nm", "-D", "--defined-only", "--format=posix", abi])
    missing = sorted(needed - exported)
    stubs = os.path.join(d, "stubs.c")
    with open(stubs, "w") as f:
        f.write("/* Generated by scripts/libuv-suite/suite.py: the uv_* functions libuv's tests\n"
                " * call that the native engine's C ABI does not export yet. */\n"
                "#include <stdio.h>\n#include <stdlib.h>\n\n"
                "static void missing(const char* name) {\n"
                f'  fprintf(stderr, "%s: {STUB_TEXT}\\n", name);\n'
                "  fflush(stderr);\n  abort();\n}\n\n")
        for s in missing:
            f.write(f'void {s}(void) {{ missing("{s}"); }}\n')
    stubs_o = os.path.join(d, "stubs.o")
    run(["gcc", "-O1", "-g", "-fno-builtin", "-c", stubs, "-o", stubs_o])
    # A copy: the run is not disturbed by a rebuild of the library meanwhile,
    # and the tests' private /tmp cannot hide it.
    abi_dir = os.path.join(d, "lib")
    os.makedirs(abi_dir, exist_ok=True)
    shutil.copy2(abi, os.path.join(abi_dir, os.path.basename(abi)))
    rpaths = [abi_dir] + swift_runtime_dirs()
    exe = os.path.join(build, "bin", "run-tests-native")
    # DT_RPATH rather than DT_RUNPATH: it serves the ABI library's own needs
    # (the Swift runtime) too.
    run(["gcc", "-pthread", "-o", exe, *objects, stubs_o,
         "-L" + abi_dir, "-l:" + os.path.basename(abi), "-Wl,--disable-new-dtags",
         *[f"-Wl,-rpath,{p}" for p in rpaths], *LIBS])
    # The native runner must not reach system libuv in any way.
    needs = [l for l in out(["readelf", "-d", exe]).splitlines() if "(NEEDED)" in l]
    if any("libuv.so" in l for l in needs):
        sys.exit(f"libuv-suite: {exe} needs libuv.so:\n" + "\n".join(needs))
    ldd = out(["ldd", exe])
    if re.search(r"^\s*libuv\.so", ldd, re.M) or "not found" in ldd:
        sys.exit(f"libuv-suite: {exe} resolves wrongly:\n{ldd}")
    undefined = {s for s in symbols(["nm", "-u", "--format=posix", exe]) if s.startswith("uv_")}
    if not undefined <= exported:
        sys.exit(f"libuv-suite: {exe} has uv_* symbols neither stubbed nor exported: {sorted(undefined - exported)}")
    # Which stubbed functions each test file (and the runner itself) calls.
    stubbed_by_object = {o[:-2] + ".c": sorted(per_object[o] - exported) for o in per_object}
    return exe, {"needed": len(needed), "exported_used": len(needed) - len(missing), "stubbed": missing,
                 "stubbed_by_file": stubbed_by_object}


# ---------------------------------------------------------------- tests

def as_test_user(cmd, isolate):
    """The command as the unprivileged user: with isolate (the path of the
    isolate helper, isolate.c), in a network namespace with only loopback, a
    private /tmp and a PID namespace; else with setpriv, on the machine's
    network."""
    if isolate:
        keep = os.environ.get("ISOLATE_KEEP")
        # The tests get an environment of their own: isolate's setting goes
        # on its command line.
        prefix = ["env", f"ISOLATE_KEEP={keep}"] if keep else []
        return [*prefix, isolate, str(TEST_UID), str(TEST_GID), *cmd]
    return ["setpriv", f"--reuid={TEST_UID}", f"--regid={TEST_GID}", "--clear-groups", "--", *cmd]


def build_isolate(build):
    """The isolate helper, when this machine lets it work (root, namespaces)."""
    exe = os.path.join(build, "bin", "isolate")
    os.makedirs(os.path.dirname(exe), exist_ok=True)
    run(["gcc", "-O1", "-Wall", "-Wextra", "-o", exe, os.path.join(HERE, "isolate.c")])
    if (build + "/").startswith("/tmp/"):
        # Its private /tmp would hide the runners: isolate binds the build
        # folder back in (ISOLATE_KEEP), in every run.
        os.environ["ISOLATE_KEEP"] = os.path.realpath(build)
    try:
        r = subprocess.run([exe, str(TEST_UID), str(TEST_GID), "/bin/true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return exe if r.returncode == 0 else None


def check_loads(exe, isolate):
    """The dynamic loader finds every library of exe where the tests run."""
    env = {"PATH": "/usr/bin:/bin", "LD_TRACE_LOADED_OBJECTS": "1"}
    r = subprocess.run(as_test_user([exe], isolate), env=env, cwd="/", capture_output=True, text=True)
    if r.returncode != 0 or "not found" in r.stdout:
        sys.exit(f"libuv-suite: {exe} does not load as the test user:\n{r.stdout}{r.stderr}")


def list_tests(exe, build):
    cwd = os.path.join(build, "run")
    os.makedirs(cwd, exist_ok=True)
    text = subprocess.run(as_test_user([exe, "--list"], None), env={"PATH": "/usr/bin:/bin"}, cwd=cwd,
                          check=True, capture_output=True, text=True).stdout
    tests = {}
    for line in text.splitlines():
        m = re.match(r"(\S+)\s*(?:\(helpers:(.*)\))?$", line.strip())
        if m:
            tests[m.group(1)] = (m.group(2) or "").split()
    return tests


def marks_of(text):
    return ("ports" if PORT_MARK.search(text) else "") + ("pipes" if PIPE_MARK.search(text) else "")


def classify(src, tests):
    """test -> (its source file, 'ports' | 'pipes' | '', whether the file
    sends off the machine) from grepping the file of the test and of its
    helpers."""
    impl = {}
    for f in sorted(os.listdir(os.path.join(src, "test"))):
        if not f.endswith(".c"):
            continue
        text = open(os.path.join(src, "test", f), errors="replace").read()
        file_marks = marks_of(text)
        off = bool(OFF_MACHINE.search(text))
        found = list(re.finditer(r"^(TEST_IMPL|HELPER_IMPL)\((\w+)\)", text, re.M))
        for m, after in zip(found, found[1:] + [None]):
            # A helper whose own body (up to the next TEST_IMPL or HELPER_IMPL)
            # names a port or path (echo-server.c's servers) is judged by its
            # body, anything else by its file.
            body = text[m.end():after.start() if after else len(text)]
            body_marks = marks_of(body) if m.group(1) == "HELPER_IMPL" else ""
            impl[(m.group(1), m.group(2))] = (f, body_marks or file_marks, off)
    result = {}
    for t, helpers in tests.items():
        f, marks, off = impl.get(("TEST_IMPL", t), ("?", "ports", True))
        for h in helpers:
            marks += impl.get(("HELPER_IMPL", h), ("?", "ports", True))[1]
        result[t] = (f, " ".join(m for m in ("ports", "pipes") if m in marks), off)
    return result


def parse_result(name, rc, text, timed_out):
    if timed_out:
        return "timeout"
    if re.search(r"^# timeout$", text, re.M):
        return "timeout"
    if rc == 0 and re.search(rf"^ok \d+ - {re.escape(name)}$", text, re.M):
        return "pass"
    if rc == 7 and re.search(rf"^ok \d+ - {re.escape(name)} # SKIP", text, re.M):
        return "skip"
    return "fail"


def reason_of(result, text):
    lines = [l[2:] if l.startswith("# ") else l for l in text.splitlines()]
    if result == "skip":
        m = re.search(r"# SKIP (.*)$", text, re.M)
        return m.group(1).strip() if m else "skipped"
    for l in lines:
        if STUB_TEXT in l:
            return l.strip()
    for l in reversed(lines):
        if "Assertion failed" in l or "ASSERT" in l or "Assertion `" in l:
            return l.strip()
    for l in reversed(lines):
        if "Fatal error" in l:  # Swift's fatalError and friends
            return l.strip()
    for l in reversed(lines):
        m = re.match(r"exit code (\d+)$", l)
        if m:
            # For a test ended by a signal the runner prints the wait status.
            try:
                return f"{l.strip()} ({signal.Signals(int(m.group(1))).name}?)"
            except ValueError:
                return l.strip()
        if l == "timeout" or l.startswith("harness:"):
            return l.strip()
    return lines[-1].strip() if lines else "no output"


def run_one(exe, variant, name, build, src, isolate):
    base = os.path.join(build, "run", variant)
    cwd = os.path.join(base, name)
    shutil.rmtree(cwd, ignore_errors=True)
    shutil.copytree(os.path.join(src, "test", "fixtures"), os.path.join(cwd, "test", "fixtures"))
    for root, dirs, files in os.walk(cwd):
        for x in [root] + [os.path.join(root, y) for y in dirs + files]:
            os.chown(x, TEST_UID, TEST_GID)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": cwd, "USER": "nobody",
           "LOGNAME": "nobody", "LANG": "C.UTF-8", **TEST_ENV, **QUIET_SWIFT}
    cmd = as_test_user([exe, name], isolate)
    start = time.monotonic()
    timed_out = False
    with open(os.path.join(base, name + ".log"), "w+b") as logf:
        p = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=logf,
                             stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = p.wait(OUTER_LIMIT)
        except subprocess.TimeoutExpired:
            timed_out = True
            rc = None
        try:
            os.killpg(p.pid, signal.SIGKILL)  # the test's leftover helpers too
        except ProcessLookupError:
            pass
        if rc is None:
            rc = p.wait()
        logf.seek(0)
        text = logf.read().decode("utf-8", "replace")
    if timed_out:
        text += f"\nharness: killed after {OUTER_LIMIT} s\n"
    seconds = round(time.monotonic() - start, 2)
    result = parse_result(name, rc, text, timed_out)
    tail = text.splitlines()[-15:]
    shutil.rmtree(cwd, ignore_errors=True)
    return {"result": result, "exit": rc, "seconds": seconds, "tail": tail,
            "reason": "" if result == "pass" else reason_of(result, text)}


def run_all(exe, variant, names, groups, build, src, jobs, isolate):
    """Every test; the 'serial' ones one at a time (beside parallel ones),
    the 'alone' ones with nothing beside them, the others on the remaining
    cores. Failures that are not a stub's abort are run again alone once: a
    pass then marks the test flaky beside others."""
    alone = [t for t in names if groups[t] == "alone"]
    serial = [t for t in names if groups[t] == "serial"]
    parallel = [t for t in names if groups[t] == "parallel"]
    results = {t: {"result": "not run", "exit": None, "seconds": 0, "tail": [],
                   "reason": "would send packets off this machine (no network namespace here)"}
               for t in names if groups[t] == "not run"}
    running = {}
    with concurrent.futures.ThreadPoolExecutor(max(jobs, 2)) as pool:
        while alone or serial or parallel or running:
            serial_busy = any(groups[t] == "serial" for t in running.values())
            if alone and not running:
                t = alone.pop(0)
                running[pool.submit(run_one, exe, variant, t, build, src, isolate)] = t
            while len(running) < jobs and (serial or parallel) and not any(
                    groups[t] == "alone" for t in running.values()):
                if serial and not serial_busy:
                    t = serial.pop(0)
                    serial_busy = True
                elif parallel:
                    t = parallel.pop(0)
                else:
                    break
                running[pool.submit(run_one, exe, variant, t, build, src, isolate)] = t
            done, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for fut in done:
                results[running.pop(fut)] = fut.result()
    for t in names:
        r = results[t]
        if r["result"] in ("fail", "timeout") and STUB_TEXT not in r["reason"]:
            again = run_one(exe, variant, t, build, src, isolate)
            r["alone"] = again["result"]
            if again["result"] == "pass":
                r["flaky_beside_others"] = True
                r.update(result="pass", reason="", tail=again["tail"])
    return results


# ---------------------------------------------------------------- report

def summary_line(report):
    counted = [r for r in report["tests"] if r["group"] == "engine" and r["baseline"] != "not run"]
    base = [r for r in counted if r["baseline"] == "pass"]
    q = [r for r in base if r["native"] == "pass"]
    return f"libuv suite: {len(counted)} tests, system libuv passes {len(base)}, native engine passes {len(q)} of those {len(base)}"


def write_report(report, build):
    with open(os.path.join(build, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    counted = [r for r in report["tests"] if r["group"] == "engine"]
    private = [r for r in report["tests"] if r["group"] != "engine"]
    md = ["# libuv's test suite on system libuv and on the native engine", "",
          f"libuv {report['libuv_version']} (Debian source package), ABI library `{report['abi']}`.", "",
          summary_line(report) + ".", "",
          f"The {len(private)} tests of libuv's private code ({', '.join(sorted(r['name'] for r in private))}) "
          "compile libuv's src/idna.c, src/strscpy.c and src/strtok.c into the runner: they test that code, "
          "not an event loop, and are listed apart below and not counted above.", "",
          "Timings (s): " + ", ".join(f"{k} {v}" for k, v in report["timings"].items()) + ".", "",
          f"Stubbed: {len(report['native_link']['stubbed'])} of the {report['native_link']['needed']} uv_* "
          "functions the tests call are not exported by the ABI library.", ""]
    for b in ("fail", "timeout", "skip"):
        names = [r["name"] for r in counted if r["baseline"] == b]
        if names:
            md.append(f"Baseline {b}: {', '.join(names)}.")
    flaky = [f"{r['name']} ({v})" for r in report["tests"] for v in ("baseline", "native")
             if r.get(v + "_flaky_beside_others")]
    if flaky:
        md.append(f"Failed beside other tests, passed alone: {', '.join(flaky)}.")
    md.append("")
    by_file = report["native_link"]["stubbed_by_file"]
    runner = sorted(set().union(*[by_file.get(f, []) for f in RUNNER_FILES]))
    if runner:
        md += [f"The runner itself (run-tests.c, runner.c, runner-unix.c) calls {len(runner)} stubbed "
               f"functions, so every test stops at the first of them: {', '.join(runner)}.", ""]
    users = {}
    for r in counted:
        for fn in by_file.get(r["file"], []):
            users.setdefault(fn, []).append(r["name"])
    if users:
        md += ["Stubbed functions by how many engine tests' files call them (what to export first; "
               "report.json has each test's list):", "",
               ", ".join(f"{fn} {len(ts)}" for fn, ts in sorted(users.items(), key=lambda x: (-len(x[1]), x[0]))), ""]

    def table(rows):
        t = ["| test | group | run | baseline | native | reason (native, else baseline) |",
             "| --- | --- | --- | --- | --- | --- |"]
        for r in rows:
            reason = r["native_reason"] or r["baseline_reason"]
            reason = reason.replace("|", "\\|")[:200]
            t.append(f"| {r['name']} | {r['group']} | {r['schedule']} | {r['baseline']} | {r['native']} | {reason} |")
        return t

    md += ["## Engine tests", ""] + table(counted) + ["", "## libuv private code (not counted)", ""] + table(private)
    with open(os.path.join(build, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")


def read_known_failures(path):
    known = {}
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, reason = line.partition(" ")
                known[name] = reason.strip()
    return known


def check(report, path):
    known = read_known_failures(path)
    rel = shown(path)
    problems = []
    seen = set()
    for r in report["tests"]:
        seen.add(r["name"])
        if known.get(r["name"], "").startswith("flaky"):
            # Passes on some runs and fails on others: reported, not gated.
            log(f"libuv-suite: {r['name']} (listed as flaky) {r['native']}s on the native engine")
            continue
        if r["name"] in known and r["native"] == "pass":
            problems.append(f"{r['name']} passes on the native engine now: remove it from {rel}")
        elif r["name"] not in known and r["baseline"] == "pass" and r["native"] != "pass":
            problems.append(f"{r['name']} passes on system libuv but {r['native']}s on the native engine "
                            f"and is not in {rel}: {r['native_reason']}")
    for name in sorted(set(known) - set(report.get("runner_tests", seen))):
        log(f"libuv-suite: {rel} lists {name}, which the runner does not have")
    return problems


def write_known_failures(report, path):
    # Every test that does not pass on the native engine, those that do not
    # pass on system libuv either included: a test flaky on the baseline
    # (tcp_close_while_connecting here) must not make the gate flaky.
    # Tests marked flaky by hand keep their line whatever this run gave; a
    # test still failing keeps the reason written for it (reasons are
    # curated by hand; a new failure gets the run's).
    previous = read_known_failures(path)
    flaky = {n: reason for n, reason in previous.items() if reason.startswith("flaky")}
    rows = [r for r in report["tests"] if r["native"] not in ("pass", "not run") or r["name"] in flaky]
    width = max([len(r["name"]) for r in rows] + [10])
    lines = ["# libuv tests that do not pass on the native engine's C ABI.",
             "# One line a test: name, then the reason (from the run that wrote this list).",
             "# `make libuv-suite` fails when a test listed here passes (remove it from the list)",
             "# or a test not listed here passes on system libuv and fails on the native engine.",
             "# A reason that starts with 'flaky' (written by hand) lets the test pass or fail.",
             "# Rewrite it from a run: python3 scripts/libuv-suite/suite.py --write-known-failures",
             f"# Written from a run against {report['abi']}.", ""]
    for r in sorted(rows, key=lambda r: r["name"]):
        if r["name"] in flaky:
            lines.append(f"{r['name']:<{width}}  {flaky[r['name']]}")
            continue
        if r["name"] in previous:
            lines.append(f"{r['name']:<{width}}  {previous[r['name']]}")
            continue
        reason = r["native_reason"] or r["native"]
        if r["baseline"] != "pass":
            reason += f" (system libuv: {r['baseline']})"
        lines.append(f"{r['name']:<{width}}  {reason}")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(REPO, ".build", "libuv-suite"))
    ap.add_argument("--abi", default=os.environ.get("LIBUV_ABI") or os.path.join(REPO, ".build", "debug", "libUVNative.so"),
                    help="the native engine's C ABI library ('throwaway': a stand-in exporting uv_version*; "
                         "'selftest': libuv itself built from the source, to check this harness)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--tests", help="comma-separated test names (default: all)")
    ap.add_argument("--check", action="store_true", help="fail on a change against known-failures.txt")
    ap.add_argument("--write-known-failures", action="store_true", help="rewrite known-failures.txt from this run")
    ap.add_argument("--known-failures", default=KNOWN_FAILURES)
    ap.add_argument("--no-isolation", action="store_true",
                    help="no namespaces: setpriv only, tests sharing ports or paths one at a time")
    ap.add_argument("--from-report", action="store_true", help="use the last report.json instead of running")
    args = ap.parse_args()
    if args.tests and args.write_known_failures:
        ap.error("--write-known-failures needs a run of every test (no --tests)")
    build = os.path.abspath(args.build_dir)
    os.makedirs(build, exist_ok=True)

    if args.from_report:
        report = json.load(open(os.path.join(build, "report.json")))
    else:
        report = full_run(args, build)
    print(summary_line(report), flush=True)
    if args.write_known_failures:
        write_known_failures(report, args.known_failures)
        log(f"libuv-suite: wrote {shown(args.known_failures)}")
    if args.check:
        problems = check(report, args.known_failures)
        for p in problems:
            log("libuv-suite: " + p)
        if problems:
            sys.exit(f"libuv-suite: {len(problems)} results differ from {shown(args.known_failures)}")


def full_run(args, build):
    timings = {}
    t0 = time.monotonic()
    run(["bash", os.path.join(HERE, "fetch.sh"), build])
    src = os.path.join(build, "src", "libuv")
    version = open(os.path.join(build, "src", "libuv.version")).read().strip()
    timings["fetch"] = round(time.monotonic() - t0, 1)

    t0 = time.monotonic()
    objects, compiled = compile_objects(src, build, args.jobs)
    baseline_exe = link_baseline(objects, build)
    if args.abi == "throwaway":
        abi = build_throwaway_abi(build)
    elif args.abi == "selftest":
        abi = build_selftest_abi(src, build, args.jobs)
    else:
        abi = os.path.abspath(args.abi)
    if not os.path.exists(abi):
        sys.exit(f"libuv-suite: no ABI library at {abi} (--abi PATH or LIBUV_ABI=PATH; "
                 "'throwaway' for a stand-in)")
    native_exe, native_link = link_native(objects, build, abi)
    timings["compile"] = round(time.monotonic() - t0, 1)
    log(f"libuv-suite: {len(objects)} objects ({compiled} compiled), {len(native_link['stubbed'])} "
        f"of {native_link['needed']} uv_* functions stubbed for the native runner")

    isolate = None if args.no_isolation else build_isolate(build)
    if not isolate:
        log("libuv-suite: no network and mount namespace per test here (or --no-isolation): the tests "
            "sharing a port or socket path run one at a time, those that send off the machine not at all")
    for exe in (baseline_exe, native_exe):
        check_loads(exe, isolate)
    tests = list_tests(baseline_exe, build)
    names = sorted(tests)
    if args.tests:
        wanted = args.tests.split(",")
        names = [t for t in names if t in wanted]
    files = classify(src, {t: tests[t] for t in names})
    # In namespaces of its own, a test shares nothing with the others. Else
    # the tests of a fixed port run one at a time (beside the others), and
    # those of a socket path alone: every runner removes /tmp/uv-test-sock*
    # when it starts.
    groups = {t: "parallel" if isolate or not files[t][1] else
              "alone" if "pipes" in files[t][1] else "serial" for t in names}
    for t in names:
        if not isolate and files[t][2]:
            groups[t] = "not run"
    count = {g: sum(x == g for x in groups.values()) for g in ("serial", "alone", "not run")}
    log(f"libuv-suite: {len(names)} tests, {args.jobs} at once" + ("" if isolate else
        f"; {count['serial']} one at a time, {count['alone']} alone, {count['not run']} not run"))

    results = {}
    for variant, exe in (("baseline", baseline_exe), ("native", native_exe)):
        t0 = time.monotonic()
        shutil.rmtree(os.path.join(build, "run", variant), ignore_errors=True)
        os.makedirs(os.path.join(build, "run", variant))
        os.chown(os.path.join(build, "run", variant), TEST_UID, TEST_GID)
        results[variant] = run_all(exe, variant, names, groups, build, src, args.jobs, isolate)
        timings[variant] = round(time.monotonic() - t0, 1)
        log(f"libuv-suite: {variant} run: {timings[variant]} s")

    rows = []
    for t in names:
        b, n = results["baseline"][t], results["native"][t]
        row = {"name": t, "file": files[t][0], "shares": files[t][1], "off_machine": files[t][2],
               "schedule": groups[t],
               "group": "libuv private code" if t in PRIVATE_CODE_TESTS else "engine",
               "baseline": b["result"], "native": n["result"],
               "baseline_reason": b["reason"], "native_reason": n["reason"],
               "baseline_seconds": b["seconds"], "native_seconds": n["seconds"],
               "baseline_tail": b["tail"], "native_tail": n["tail"],
               "stubbed_calls": native_link["stubbed_by_file"].get(files[t][0], [])}
        for v, r in (("baseline", b), ("native", n)):
            if r.get("flaky_beside_others"):
                row[v + "_flaky_beside_others"] = True
        rows.append(row)
    report = {"libuv_version": version, "abi": shown(abi), "timings": timings, "runner_tests": sorted(tests),
              "isolated": bool(isolate), "jobs": args.jobs,
              "native_link": native_link, "tests": rows}
    write_report(report, build)
    return report


if __name__ == "__main__":
    main()
