"""SIGTERM and SIGHUP clean up like SIGINT; after SIGKILL the next run does.

A run of a few cases against the reference gets a signal sent to its whole
process group (as a CI runner cancelling a job, or a closing terminal,
does) at a random point: after the k-th folder or registry file the run
creates in its private $TMPDIR (an event, watched with inotify; k and the
signal's seed are in the failure message). Promptly (BOUND below) nothing of
the suite's may be left: no ipc-* folder or registry file, no process of the
implementation; the run's own Python processes (the command, the pytest
controller, the xdist workers) must then end too, with status 2.

After SIGKILL nothing can run: the dead run's registry, folders and
surviving process groups stay. The next run sweeps them, and leaves alone a
live run's registry (its owner runs, with the recorded start time), while a
registry whose owner pid now belongs to another process (start time
mismatch) is a dead run's."""
import os
import random
import signal
import subprocess
import sys
import tempfile
import shutil
from pathlib import Path

import psutil
import pytest

from ipc_conformance.harness import registry
from ipc_conformance.harness.waits import DirWatch
from ipc_conformance.harness.waits import Deadline

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "conformance" / "manifests" / "reference.toml"
CASES = ["SPAWN-001", "SPAWN-004", "CLEAN-001", "LISTEN-001", "SHUT-002", "SPAWN-005"]
# The requirement is 2 s; measured on a quiet machine the folders, registry
# and implementation processes are gone 0.00-0.1 s after the signal. The
# test allows 10 s, so that a loaded 2-core machine (the project's own tests
# run two at a time) cannot make it flaky: it checks that everything goes,
# promptly, and the figure itself is not a timed test.
BOUND = 10.0
# Starts a run and reaps everything it leaves: a subreaper (the run's
# orphans are re-parented to it, not to the worker running this test, which
# other tests need free of stray zombies) that exits when every child has,
# with the run's status. Signals to its group are for the run: a do-nothing
# handler, reset to the default at exec.
LAUNCHER = """# ipc-test-launcher
import ctypes, os, signal, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(s, lambda *a: None)
pid = os.fork()
if pid == 0:
    if sys.argv[1] == "setsid":
        os.setsid()
    os.execv(sys.executable, [sys.executable] + sys.argv[2:])
status = 1
while True:
    try:
        p, st = os.waitpid(-1, 0)
    except ChildProcessError:
        break
    if p == pid:
        status = os.waitstatus_to_exitcode(st)
sys.exit(status if status >= 0 else 128 - status)
"""


def _launch(args, *, setsid=False, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", LAUNCHER, "setsid" if setsid else "-", *args],
                            start_new_session=True, **kw)


@pytest.fixture
def tmpdir_env():
    """A private, short $TMPDIR (socket paths stay short), removed after."""
    path = tempfile.mkdtemp(dir="/tmp", prefix="ipcT")
    env = {k: v for k, v in os.environ.items() if k != registry.REGISTRY_ENV}
    env["TMPDIR"] = path
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    yield path, env
    shutil.rmtree(path, ignore_errors=True)


def _ours(tmp) -> list[str]:
    return sorted(n for n in os.listdir(tmp) if n.startswith("ipc-"))


def _wait_created(tmp, count, timeout, proc):
    """Block (inotify) until ``count`` ipc-* entries were created in tmp."""
    seen: set[str] = set()
    deadline = Deadline(timeout)
    with DirWatch(tmp) as watch:
        while True:
            seen |= set(_ours(tmp))
            if len(seen) >= count:
                return seen
            if deadline.expired() or proc.poll() is not None:
                raise AssertionError(f"{len(seen)} of {count} entries created before "
                                     f"{'the run ended' if proc.poll() is not None else 'the deadline'}: {seen}")
            watch.wait(min(deadline.left(), 0.5))


def _run_processes(tmp):
    """Every live process of the run, wherever it was re-parented: they all
    inherit the run's private $TMPDIR (no subreaper needed, so this test
    leaves the worker running it as it found it)."""
    out = []
    for p in psutil.process_iter():
        try:
            if p.status() != psutil.STATUS_ZOMBIE and p.environ().get("TMPDIR") == tmp:
                out.append(p)
        except psutil.Error:
            pass
    return out


def _is_runner(p) -> bool:
    """The run's own Python processes: the command, pytest, xdist workers
    (execnet's bootstrap); anything else is the implementation's."""
    try:
        cmd = p.cmdline()
    except psutil.Error:
        return True
    text = " ".join(cmd)
    return " ".join(cmd[1:3]) in ("-m ipc_conformance.conformance.cli", "-m pytest") \
        or "exec(eval(sys.stdin.readline()))" in text or "ipc-test-launcher" in text


def _kill_leftovers(tmp):
    """Whatever a failing run left (the assertions have spoken already)."""
    left = _run_processes(tmp)
    for p in left:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(left, timeout=5)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT],
                         ids=lambda s: s.name)
def test_a_signal_to_the_run_leaves_nothing(sig, tmpdir_env, tmp_path):
    tmp, env = tmpdir_env
    seed = random.randrange(1 << 30)
    k = random.Random(seed).randint(1, 4)
    cmd = ["-m", "ipc_conformance.conformance.cli", "run", "-n", "2", "--impl", str(MANIFEST),
           "--report", str(tmp_path / "report")]
    for c in CASES:
        cmd += ["--case", c]
    proc = _launch(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                   text=True)
    try:
        where = f"{sig.name} after the {k}th ipc-* entry (seed {seed})"
        _wait_created(tmp, k, 60, proc)
        os.killpg(proc.pid, sig)
        deadline = Deadline(BOUND)
        with DirWatch(tmp) as watch:
            while True:
                left = _ours(tmp)
                impl = [p for p in _run_processes(tmp) if not _is_runner(p)]
                if not left and not impl:
                    break
                if deadline.expired():
                    raise AssertionError(
                        f"{where}: {BOUND}s later still there: {left}, "
                        f"{[(p.pid, p.cmdline()) for p in impl]}")
                watch.wait(0.05)      # folders going away are not inotify creations: re-look
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 2, f"{where}: exit status {proc.returncode}\n{out[-3000:]}"
        assert "Traceback" not in out, f"{where}:\n{out[-3000:]}"
        # A grandchild may still be on its way out when the launcher's last
        # child is reaped: wait for it (a bounded event wait), then judge.
        _, alive = psutil.wait_procs(_run_processes(tmp), timeout=10)
        assert not alive, f"{where}: {[(p.pid, p.name()) for p in alive]}"
        assert not _ours(tmp), f"{where}: {_ours(tmp)}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        _kill_leftovers(tmp)


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen(["sleep", "300"], start_new_session=True,
                            env={"TMPDIR": "elsewhere", "PATH": os.environ["PATH"]})


def test_the_next_run_sweeps_a_killed_run_but_not_a_live_one(tmpdir_env):
    tmp, env = tmpdir_env
    launcher = None
    live = dead_reused = dead_sleeper = live_sleeper = None
    pytest_cmd = ["-m", "pytest", "-q", "-p", "no:cacheprovider",
                  str(REPO / "conformance" / "cases" / "test_listen.py"),
                  "--ipc-impl", str(MANIFEST)]
    try:
        # 1. A run killed mid-case: SIGKILL to its process group.
        # The launcher stays (its own session) to reap what the sweep kills.
        launcher = _launch(pytest_cmd + ["--ipc-case", "LISTEN-002"], setsid=True, cwd=REPO,
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        created = _wait_created(tmp, 2, 60, launcher)      # its registry and a case folder
        (dead,) = psutil.Process(launcher.pid).children()
        os.killpg(dead.pid, signal.SIGKILL)
        psutil.wait_procs([dead], timeout=10)
        dead_registry = next(os.path.join(tmp, n) for n in created if n.startswith(registry.PREFIX))
        # A process of the dead run that outlived it (in its own session, as
        # implementations are): deterministic, whatever the kill interrupted.
        dead_sleeper = _sleeper()
        with open(dead_registry, "a") as f:
            f.write(f"{dead_sleeper.pid} {psutil.Process(dead_sleeper.pid).create_time()}\n")
        dead_dirs = registry.read(dead_registry)["dirs"]
        assert dead_dirs and all(os.path.isdir(d) for d in dead_dirs), dead_dirs
        survivors = [p for p in _run_processes(tmp) if p.pid != dead_sleeper.pid]

        # 2. A live run's registry (owner: this test process) and a
        # registry naming a pid that now belongs to another process.
        live_sleeper = _sleeper()
        live_dir = tempfile.mkdtemp(dir=tmp, prefix="ipc-live-")
        live = os.path.join(tmp, registry.PREFIX + "live.txt")
        me = psutil.Process()
        with open(live, "w") as f:
            f.write(f"run {me.pid} {me.create_time()}\n{live_sleeper.pid} "
                    f"{psutil.Process(live_sleeper.pid).create_time()}\ndir {live_dir}\n")
        reused_dir = tempfile.mkdtemp(dir=tmp, prefix="ipc-reused-")
        dead_reused = os.path.join(tmp, registry.PREFIX + "reused.txt")
        with open(dead_reused, "w") as f:
            f.write(f"run {me.pid} {me.create_time() - 1000}\ndir {reused_dir}\n")

        # 3. The next run (collection is enough: the sweep is at configure).
        nxt = subprocess.run([sys.executable, *pytest_cmd, "--collect-only"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=120)
        # (its own status is 2: collected, nothing executed; not the point here)
        assert "cleaned up after a dead run" in nxt.stderr, nxt.stderr
        assert not os.path.exists(dead_registry)
        assert not any(os.path.exists(d) for d in dead_dirs), dead_dirs
        assert dead_sleeper.wait(10) == -signal.SIGKILL
        _gone, alive = psutil.wait_procs(survivors, timeout=10)
        assert not alive, f"the dead run's processes outlived the sweep: {alive}"
        launcher.wait(10)          # it exits once the last of them is reaped
        assert not os.path.exists(dead_reused) and not os.path.exists(reused_dir)
        assert os.path.exists(live) and os.path.isdir(live_dir)
        assert live_sleeper.poll() is None, "a live run's process was killed"
        assert _ours(tmp) == sorted([os.path.basename(live), os.path.basename(live_dir)]), _ours(tmp)
    finally:
        for s in (dead_sleeper, live_sleeper):
            if s is not None and s.poll() is None:
                s.kill()
                s.wait()
        _kill_leftovers(tmp)
        if launcher is not None and launcher.poll() is None:
            launcher.kill()
            launcher.wait()
