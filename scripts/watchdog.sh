#!/usr/bin/env bash
# watchdog.sh SECONDS COMMAND...: runs COMMAND; if it still runs after
# SECONDS, prints the stack of every thread of the test process (with gdb,
# when installed), stops it and fails. A hung test then costs minutes and
# says where it hung, instead of using up CI's whole time in silence.
set -u
limit=$1
shift
"$@" &
pid=$!
(
    for ((i = 0; i < limit; i++)); do
        sleep 1
        kill -0 "$pid" 2>/dev/null || exit 0
    done
    echo "watchdog: '$*' still running after ${limit} s; the threads of the test process:"
    for p in $(pgrep -f 'PackageTests.xctest'); do
        if command -v gdb >/dev/null 2>&1; then
            gdb -p "$p" -batch -ex 'thread apply all bt 30' 2>/dev/null | grep -E '^Thread|^#'
        fi
        kill -KILL "$p" 2>/dev/null
    done
    kill -TERM "$pid" 2>/dev/null
) &
watchdog=$!
wait "$pid"
status=$?
kill "$watchdog" 2>/dev/null
wait "$watchdog" 2>/dev/null
exit $status
