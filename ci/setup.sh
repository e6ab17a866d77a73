#!/usr/bin/env bash
# Sets up a fresh machine for ipc-conformance: the Python package with its
# dependencies (pycapnp, psutil, pexpect, pytest and plugins), and, where
# possible, the C++ implementation (Debian's Cap'n Proto) and libmultiprocess
# with its adapter (CMake; the source tree is $LIBMULTIPROCESS_SRC, else the
# pinned snapshot in ../shared/upstream/libmultiprocess). Idempotent: both
# builds are cached.
set -euo pipefail
cd "$(dirname "$0")/.."

# [mutation]: cosmic-ray, for `ipc-conformance mutants --generated`; the
# project's tests check that command's plumbing with it.
python3 -m pip install --quiet --disable-pip-version-check -e ".[test,mutation]"

# Debian packages, installed when missing and we can (root with apt):
# iproute2 (`ss`: the LISTEN cases read a listener's accept queue) and the
# C++ implementation's toolchain and Cap'n Proto. Without the latter the C++
# roles report UNIMPLEMENTED and the interop tests skip.
need=()
command -v ss >/dev/null 2>&1 || need+=(iproute2)
command -v capnp >/dev/null 2>&1 || need+=(capnproto)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
pkg-config --exists capnp-rpc 2>/dev/null || need+=(libcapnp-dev)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
command -v cmake >/dev/null 2>&1 || need+=(cmake)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "setup: missing Debian packages (${need[*]}) and not root: the backlog cases fail and the C++ implementation is skipped" >&2
  fi
fi
# Under CI (CI=true) a build that fails fails the set-up: the gate must not
# go green with an implementation missing. Elsewhere the roles of a build
# that failed are reported UNIMPLEMENTED, with the reason.
strict() { if [ "${CI:-}" = true ]; then exit 1; fi; }
bash ci/build-cpp.sh || { echo "setup: the C++ implementation did not build; its cases report UNIMPLEMENTED" >&2; strict; }
bash ci/build-libmultiprocess.sh || { echo "setup: libmultiprocess did not build; its cases report UNIMPLEMENTED" >&2; strict; }
