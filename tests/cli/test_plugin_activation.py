"""The plugin is registered for every pytest session of the environment (an
entry point), but acts only in a conformance run: ``--ipc-impl`` given, or
arguments pointing into conformance/cases. A plain session keeps its signal
dispositions, gets no registry file (nor a sweep of other runs' files), and
ends with pytest's own summary and exit status, with xdist too."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import shutil
from pathlib import Path

import pytest

from ipc_conformance.conformance.activation import asked, points_into_cases
from ipc_conformance.conformance.case import CASES_DIR
from ipc_conformance.harness.registry import PREFIX, REGISTRY_ENV

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "conformance" / "manifests" / "reference.toml"

# Run in the child session: what the plugin must not have touched.
PLAIN_TESTS = textwrap.dedent("""
    import os, signal

    def test_dispositions_and_environment_untouched():
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL
        assert "IPC_PROCESS_REGISTRY" not in os.environ

    def test_fails():
        assert 1 == 2
""")

# Run in the child session: what the plugin must have set up (a conformance run).
ACTIVE_TESTS = textwrap.dedent("""
    import os, signal

    def test_registry_and_handlers(worker_id):
        path = os.environ["IPC_PROCESS_REGISTRY"]
        assert os.path.isfile(path)
        assert open(path).readline().startswith("run ")
        assert callable(signal.getsignal(signal.SIGTERM))
        with open(os.environ["SEEN_FILE"], "a") as f:
            f.write(f"{worker_id} {path}\\n")

    def test_second(worker_id):
        test_registry_and_handlers(worker_id)
""")

# Starts pytest with SIGINT ignored, as a shell without job control does.
IGNORING_LAUNCHER = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                     "os.execv(sys.executable, [sys.executable, '-m', 'pytest', *sys.argv[1:]])")


@pytest.fixture
def session_dir(tmp_path):
    """A folder with the tiny test files, a private $TMPDIR, and an
    environment without the outer run's registry."""
    (tmp_path / "test_plain.py").write_text(PLAIN_TESTS)
    (tmp_path / "test_active.py").write_text(ACTIVE_TESTS)
    tmp = tempfile.mkdtemp(dir="/tmp", prefix="ipcA")
    env = {k: v for k, v in os.environ.items()
           if k not in (REGISTRY_ENV, "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")}
    env["TMPDIR"] = tmp
    yield tmp_path, tmp, env
    shutil.rmtree(tmp, ignore_errors=True)


def _pytest(cwd, env, *args):
    return subprocess.run([sys.executable, "-c", IGNORING_LAUNCHER, "-p", "no:cacheprovider",
                           "--rootdir", str(cwd), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _summary(out: str) -> list[str]:
    """The session's result lines, durations removed."""
    lines = [re.sub(r" in [0-9.]+s", "", ln) for ln in out.splitlines()
             if re.search(r"(passed|failed)", ln) or ln.startswith(("FAILED", "PASSED"))]
    return lines


@pytest.mark.parametrize("xdist", [[], ["-p", "xdist", "-n", "2"]], ids=["lone", "xdist"])
def test_a_plain_session_is_left_alone(session_dir, xdist):
    cwd, tmp, env = session_dir
    with_plugin = _pytest(cwd, env, "-p", "ipc_conformance", *xdist, "test_plain.py")
    out = with_plugin.stdout + with_plugin.stderr
    assert "test_dispositions_and_environment_untouched PASSED" in out or \
        "1 failed, 1 passed" in out, out
    assert with_plugin.returncode == 1, out
    assert "ipc conformance" not in out, out
    assert [n for n in os.listdir(tmp) if n.startswith(PREFIX)] == [], os.listdir(tmp)
    without = _pytest(cwd, env, "-p", "no:ipc_conformance", *xdist, "test_plain.py")
    assert without.returncode == with_plugin.returncode
    assert _summary(without.stdout) == _summary(with_plugin.stdout), (without.stdout, out)


def test_ipc_impl_makes_a_run_whose_workers_share_the_registry(session_dir):
    cwd, tmp, env = session_dir
    seen_file = cwd / "seen.txt"
    proc = _pytest(cwd, {**env, "SEEN_FILE": str(seen_file)}, "-p", "xdist", "-n", "2",
                   "--ipc-impl", str(MANIFEST), "test_active.py")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    lines = [ln.split() for ln in seen_file.read_text().splitlines()]
    assert len(lines) == 2, lines
    seen = {path for _worker, path in lines}
    assert len(seen) == 1, lines                     # one registry, from the controller
    assert os.path.dirname(seen.pop()) == tmp
    assert [n for n in os.listdir(tmp) if n.startswith(PREFIX)] == []     # removed at the end


def test_what_counts_as_asking(tmp_path):
    assert asked("m.toml", [], tmp_path)
    assert not asked(None, ["tests"], REPO)
    assert not asked(None, [str(tmp_path)], tmp_path)
    assert points_into_cases(["conformance/cases"], REPO)
    assert points_into_cases([f"{CASES_DIR}/test_spawn.py::test_x[a]"], "/")
    assert points_into_cases(["."], REPO)              # a folder holding the cases
    assert not points_into_cases(["-k", "spawn", "tests/cli"], REPO)
