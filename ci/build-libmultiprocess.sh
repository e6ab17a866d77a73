#!/usr/bin/env bash
# Builds libmultiprocess (bitcoin-core/libmultiprocess) from a source tree,
# with its mpgen code generator, its example programs mpcalculator and
# mpprinter, and the project's adapter on it (fixtures/libmultiprocess:
# mp-node, mp-shell), into build/libmultiprocess/ (gitignored):
#
#   build/libmultiprocess/bin/{mp-node,mp-shell,mpcalculator,mpprinter}
#   build/libmultiprocess/schemas/example/   upstream's example schemas, for
#                                            conformance/manifests/mp{calculator,printer}.toml
#   build/libmultiprocess/build.log          the full output of the last build
#
# Usage: ci/build-libmultiprocess.sh [SRC]
#   SRC: a libmultiprocess checkout; default $LIBMULTIPROCESS_SRC, else
#   ../shared/upstream/libmultiprocess next to this repository.
#
# The build is cached: it runs again only when a file of the source tree or of
# fixtures/libmultiprocess changed (paths, sizes and mtimes), or SRC did.
# Needs cmake, make, g++ and Cap'n Proto with its development files (Debian:
# capnproto libcapnp-dev); installs nothing.
set -euo pipefail
case "$0" in */*) here="${0%/*}" ;; *) here=. ;; esac
repo="$(cd "$here/.." && pwd)"
adapter="$repo/fixtures/libmultiprocess"
out="$repo/build/libmultiprocess"
log="$out/build.log"

src="${1:-${LIBMULTIPROCESS_SRC:-$repo/../shared/upstream/libmultiprocess}}"
if [ ! -f "$src/CMakeLists.txt" ] || [ ! -f "$src/include/mp/proxy-io.h" ]; then
  echo "build-libmultiprocess: no libmultiprocess source tree at '$src'" >&2
  echo "build-libmultiprocess: point the build at a checkout of https://github.com/bitcoin-core/libmultiprocess:" >&2
  echo "build-libmultiprocess:   ci/build-libmultiprocess.sh /path/to/libmultiprocess" >&2
  echo "build-libmultiprocess:   or LIBMULTIPROCESS_SRC=/path/to/libmultiprocess ci/build-libmultiprocess.sh" >&2
  exit 1
fi
src="$(cd "$src" && pwd)"

missing=()
for tool in cmake make capnp capnpc-c++ "${CXX:-g++}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
capnp_dev=no
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists capnp-rpc kj-async; then
  capnp_dev=yes
elif [ -f /usr/include/capnp/rpc-twoparty.h ] || [ -f /usr/local/include/capnp/rpc-twoparty.h ]; then
  capnp_dev=yes
fi
[ "$capnp_dev" = yes ] || missing+=("Cap'n Proto development files (capnp/rpc-twoparty.h, pkg-config capnp-rpc)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "build-libmultiprocess: cannot build libmultiprocess, missing: ${missing[*]}" >&2
  echo "build-libmultiprocess: on Debian/Ubuntu: apt-get install cmake make g++ capnproto libcapnp-dev" >&2
  exit 1
fi

programs=(mp-node mp-shell mpcalculator mpprinter)

# The stamp: what the build was made from.
stamp_now() {
  {
    echo "src=$src"
    echo "cxx=${CXX:-g++}"
    (cd "$src" && find . -path ./.git -prune -o -type f -printf '%P\t%s\t%T@\n' | LC_ALL=C sort)
    (cd "$adapter" && find . -type f -printf '%P\t%s\t%T@\n' | LC_ALL=C sort)
    sha256sum "$repo/ci/build-libmultiprocess.sh"
  } | sha256sum | cut -d' ' -f1
}
stamp="$(stamp_now)"
up_to_date=yes
[ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] || up_to_date=no
for program in "${programs[@]}"; do
  [ -x "$out/bin/$program" ] || up_to_date=no
done
if [ "$up_to_date" = yes ]; then
  echo "build-libmultiprocess: up to date (build/libmultiprocess/bin, from $src)"
  exit 0
fi

jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -gt 2 ] && jobs=2
mkdir -p "$out"
rm -f "$out/stamp"
start=$(date +%s)
echo "build-libmultiprocess: building $src and fixtures/libmultiprocess (log: build/libmultiprocess/build.log)"
fail() {
  # Errors through the capnp/kj/mp templates are long: show the first ones only.
  grep -m 20 -E 'error|Error' "$log" >&2 || tail -n 40 "$log" >&2
  echo "build-libmultiprocess: $1 failed; full log in build/libmultiprocess/build.log" >&2
  exit 1
}
{
  echo "== $(date -u +%FT%TZ) cmake configure (LIBMULTIPROCESS_SRC=$src)"
} >"$log"
cmake -S "$adapter" -B "$out/cmake" \
  -DLIBMULTIPROCESS_SRC="$src" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g0" >>"$log" 2>&1 || fail "cmake configure"
echo "== make -j$jobs ${programs[*]}" >>"$log"
make -C "$out/cmake" -j"$jobs" "${programs[@]}" >>"$log" 2>&1 || fail "make"

# Fixed paths for the manifests.
mkdir -p "$out/bin"
cp -f "$out/cmake/mp-node" "$out/cmake/mp-shell" "$out/bin/"
cp -f "$out/cmake/libmultiprocess/example/mpcalculator" "$out/cmake/libmultiprocess/example/mpprinter" "$out/bin/"
# Upstream's example schemas, where the suite's pycapnp can load them
# ("/mp/proxy.capnp" resolved under the same root).
rm -rf "$out/schemas/example"
mkdir -p "$out/schemas/example/mp"
install -m 0644 "$src/example/init.capnp" "$src/example/calculator.capnp" "$src/example/printer.capnp" "$out/schemas/example/"
install -m 0644 "$src/include/mp/proxy.capnp" "$out/schemas/example/mp/"

echo "$stamp" >"$out/stamp"
echo "build-libmultiprocess: built build/libmultiprocess/bin/{$(IFS=,; echo "${programs[*]}")} in $(( $(date +%s) - start ))s"
