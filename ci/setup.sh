#!/usr/bin/env bash
# Sets up a fresh machine for ipc-conformance: the Python package with its
# dependencies (pycapnp, psutil, pexpect, pytest and plugins), and, where
# possible, the C++ implementation (Debian's Cap'n Proto). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e .

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
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "setup: missing Debian packages (${need[*]}) and not root: the backlog cases fail and the C++ implementation is skipped" >&2
  fi
fi
if [ -x ci/build-cpp.sh ] || [ -f ci/build-cpp.sh ]; then
  bash ci/build-cpp.sh || echo "setup: the C++ implementation did not build; its cases report UNIMPLEMENTED" >&2
fi
