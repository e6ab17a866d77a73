#!/usr/bin/env bash
# Builds the C++ implementation (fixtures/cpp) into fixtures/cpp/build/, which
# is gitignored. Needs a C++17 compiler, make, pkg-config and Debian's Cap'n
# Proto (packages capnproto and libcapnp-dev). Exits non-zero, saying what is
# missing, when any of them is not there; the suite then reports the C++ roles
# UNIMPLEMENTED and the interop tests skip.
set -euo pipefail
case "$0" in */*) here="${0%/*}" ;; *) here=. ;; esac
cd "$here/../fixtures/cpp"

missing=()
for tool in make pkg-config capnp "${CXX:-g++}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if command -v pkg-config >/dev/null 2>&1 && ! pkg-config --exists capnp-rpc kj-async; then
  missing+=("libcapnp-dev (pkg-config capnp-rpc kj-async)")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "build-cpp: cannot build the C++ implementation, missing: ${missing[*]}" >&2
  echo "build-cpp: on Debian/Ubuntu: apt-get install g++ make pkg-config capnproto libcapnp-dev" >&2
  exit 1
fi

jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -gt 2 ] && jobs=2
log=build/build.log
mkdir -p build
start=$(date +%s)
if ! make -j"$jobs" >"$log" 2>&1; then
  # Errors through the capnp/kj headers are long: show the first ones only.
  grep -m 20 -E 'error|Error' "$log" >&2 || tail -n 40 "$log" >&2
  echo "build-cpp: build failed; full log in fixtures/cpp/$log" >&2
  exit 1
fi
echo "build-cpp: built fixtures/cpp/build/cpp-node, cpp-shell and probe-child in $(( $(date +%s) - start ))s"
