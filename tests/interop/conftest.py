"""Fixtures for the interop tests: the C++ implementation (fixtures/cpp,
built by ci/build-cpp.sh) talking to the Python reference in both directions.

Every test here needs the C++ binaries; without them it skips, saying how to
build them. Each test gets a short staging directory (unix socket paths are
limited to 108 bytes) in which executables are placed as symlinks, so that a
parent's ``dirname(argv0)/NAME`` finds the child of the other language."""
import os
import shutil
import tempfile

import pytest

from harness.processes import ProcessTracker
from harness.shell_driver import ShellDriver

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# IPC_CPP_BUILD points the tests at another build (a scratch or mutant one).
BUILD = os.environ.get("IPC_CPP_BUILD") or os.path.join(ROOT, "fixtures", "cpp", "build")
CPP_NODE = os.path.join(BUILD, "cpp-node")
CPP_SHELL = os.path.join(BUILD, "cpp-shell")


@pytest.fixture
def cpp():
    """Paths of the built C++ programs, or a skip that says how to build them."""
    missing = [p for p in (CPP_NODE, CPP_SHELL) if not os.access(p, os.X_OK)]
    if missing:
        pytest.skip(f"C++ implementation not built ({', '.join(missing)} missing): "
                    "run ci/build-cpp.sh (needs capnproto and libcapnp-dev)")
    return type("Cpp", (), {"node": CPP_NODE, "shell": CPP_SHELL})


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
