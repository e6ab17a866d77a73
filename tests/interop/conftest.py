"""Fixtures for the interop tests: the C++ implementation (fixtures/cpp,
built by ci/build-cpp.sh) and libmultiprocess through its adapter
(fixtures/libmultiprocess, built by ci/build-libmultiprocess.sh) talking to
the Python reference and to each other, in both directions.

A test that needs a build skips without it, saying how to build it; under
CI (CI=true, where ci/setup.sh builds both) a missing build fails instead,
so a broken build can never pass as a row of skips. Each test gets a short staging directory (unix socket paths are
limited to 108 bytes) in which executables are placed as symlinks, so that a
parent's ``dirname(argv0)/NAME`` finds the child of the other language."""
import os
import shutil
import tempfile

import pytest

from ipc_conformance.harness.processes import ProcessTracker
from ipc_conformance.harness.shell_driver import ShellDriver

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# IPC_CPP_BUILD points the tests at another build (a scratch or mutant one).
BUILD = os.environ.get("IPC_CPP_BUILD") or os.path.join(ROOT, "fixtures", "cpp", "build")
CPP_NODE = os.path.join(BUILD, "cpp-node")
CPP_SHELL = os.path.join(BUILD, "cpp-shell")
MP_BUILD = os.environ.get("IPC_MP_BUILD") or os.path.join(ROOT, "build", "libmultiprocess", "bin")
MP_NODE = os.path.join(MP_BUILD, "mp-node")
MP_SHELL = os.path.join(MP_BUILD, "mp-shell")


def _built(paths, what: str, command: str):
    missing = [p for p in paths if not os.access(p, os.X_OK)]
    if missing:
        message = f"{what} not built ({', '.join(missing)} missing): run {command}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def cpp():
    """Paths of the built C++ programs, or a skip that says how to build them."""
    _built((CPP_NODE, CPP_SHELL), "C++ implementation",
           "ci/build-cpp.sh (needs capnproto and libcapnp-dev)")
    return type("Cpp", (), {"node": CPP_NODE, "shell": CPP_SHELL})


@pytest.fixture
def mp():
    """Paths of the libmultiprocess adapter's programs, or a skip that says how to build them."""
    _built((MP_NODE, MP_SHELL), "libmultiprocess adapter",
           "ci/build-libmultiprocess.sh [LIBMULTIPROCESS_SOURCE] (needs cmake, capnproto, libcapnp-dev)")
    return type("Mp", (), {"node": MP_NODE, "shell": MP_SHELL})


@pytest.fixture
def ref_node():
    path = shutil.which("ref-node")
    if path is None:
        pytest.skip("ref-node is not on PATH: pip install -e .")
    return path


@pytest.fixture
def stage():
    """A fresh short directory; removed afterwards."""
    path = tempfile.mkdtemp(dir="/tmp", prefix="ipci-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def link(stage):
    """``link(target, name)``: a symlink NAME in the staging directory, to TARGET."""
    def make(target: str, name: str) -> str:
        path = os.path.join(stage, name)
        os.symlink(target, path)
        return path
    return make


@pytest.fixture
def procs():
    """Starts processes and, at the end, fails the test if any outlived it."""
    tracker = ProcessTracker()
    yield tracker
    problems = tracker.teardown()
    assert not problems, problems


@pytest.fixture
def shells(procs):
    """Starts shells (pexpect, a pty each) and ends them at teardown."""
    started = []

    def start(argv, **kwargs):
        driver = ShellDriver(argv, env=dict(os.environ), **kwargs)
        procs.own(driver.pid, "shell")
        started.append(driver)
        return driver
    yield start
    for driver in started:
        driver.close()
