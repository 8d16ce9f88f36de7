#!/usr/bin/env bash
# fetch.sh BUILD_DIR: Debian's source package of libuv1, the version of the
# installed libuv1 (libuv1-dev's <uv.h> is what the tests compile against),
# unpacked into BUILD_DIR/src/libuv (with Debian's patches applied).
#
# apt runs with a private state, cache and source list under BUILD_DIR/apt:
# the deb-src entries are derived at run time from the machine's own
# /etc/apt/sources.list.d/*.sources (deb822) and /etc/apt/sources.list, so
# no mirror is named here and the system's apt set-up is left as it was.
# A second run with the same version unpacked does nothing.
set -euo pipefail
build=${1:?usage: fetch.sh BUILD_DIR}
mkdir -p "$build"
build=$(cd "$build" && pwd)
apt_dir=$build/apt
src=$build/src/libuv
stamp=$build/src/libuv.version

version=$(dpkg-query -W -f='${Version}' libuv1 2>/dev/null || true)
if [ -z "$version" ]; then
    echo "fetch: libuv1 is not installed (make deps installs libuv1-dev)" >&2
    exit 1
fi
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ] && [ -f "$src/test/test-list.h" ]; then
    echo "fetch: libuv1 $version already unpacked in $src"
    exit 0
fi
for tool in dpkg-source:dpkg-dev; do
    if ! command -v "${tool%%:*}" >/dev/null 2>&1; then
        echo "fetch: installing ${tool#*:}"
        apt-get install -y "${tool#*:}" || (apt-get update && apt-get install -y "${tool#*:}")
    fi
done

# The machine's deb entries, as deb-src entries of the private source list.
mkdir -p "$apt_dir/sources.list.d" "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/download"
rm -f "$apt_dir/sources.list.d/"*
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822: each enabled stanza whose Types has deb gets Types: deb-src,
    # the rest of it as it is.
    awk '
        function flush() {
            if (n && deb && !off) { print "Types: deb-src"; for (i = 1; i <= n; i++) print lines[i]; print "" }
            n = 0; deb = 0; off = 0
        }
        /^[[:space:]]*$/ { flush(); next }
        /^#/ { next }
        /^Types:/ { if ($0 ~ /[[:space:]]deb([[:space:]]|$)/) deb = 1; next }
        /^Enabled:[[:space:]]*[Nn]o/ { off = 1; next }
        { lines[++n] = $0 }
        END { flush() }
    ' "$f" > "$apt_dir/sources.list.d/$(basename "$f")"
done
: > "$apt_dir/sources.list"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >> "$apt_dir/sources.list"
done
if ! grep -qs . "$apt_dir/sources.list" "$apt_dir/sources.list.d/"*; then
    echo "fetch: no deb entries found in /etc/apt to derive deb-src entries from" >&2
    exit 1
fi

apt_private=(
    -o "Dir::State=$apt_dir/state"
    -o "Dir::State::status=/var/lib/dpkg/status"
    -o "Dir::Cache=$apt_dir/cache"
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
    -o "APT::Sandbox::User=root"
    -o "Debug::NoLocking=true"
)
echo "fetch: apt-get update (private lists in $apt_dir)"
apt-get "${apt_private[@]}" update -q
cd "$apt_dir/download"
rm -f ./*
echo "fetch: apt-get source libuv1=$version"
apt-get "${apt_private[@]}" source --download-only "libuv1=$version" \
    || apt-get "${apt_private[@]}" source --download-only libuv1
dsc=$(ls ./*.dsc | head -n 1)
rm -rf "$src"
mkdir -p "$(dirname "$src")"
dpkg-source -x "$dsc" "$src"
echo "$version" > "$stamp"
echo "fetch: libuv1 $version unpacked in $src"
