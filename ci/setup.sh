#!/usr/bin/env bash
# Sets up a fresh machine for ipc-conformance: the Python package with its
# dependencies (pycapnp, psutil, pexpect, pytest and plugins), and, where
# possible, the C++ implementation (Debian's Cap'n Proto). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e .

# The C++ implementation needs Debian's capnproto and libcapnp-dev. Install
# them when we can (root with apt); otherwise its cases report UNIMPLEMENTED.
if ! command -v capnp >/dev/null 2>&1 || ! pkg-config --exists capnp-rpc 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq capnproto libcapnp-dev pkg-config >/dev/null
  else
    echo "setup: capnproto/libcapnp-dev missing and not root: the C++ implementation is skipped" >&2
  fi
fi
if [ -x ci/build-cpp.sh ] || [ -f ci/build-cpp.sh ]; then
  bash ci/build-cpp.sh || echo "setup: the C++ implementation did not build; its cases report UNIMPLEMENTED" >&2
fi
