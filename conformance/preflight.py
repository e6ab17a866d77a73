"""Preflight: before a run, the shell is started once, exactly as the shell
cases start it, to check that it sees the argv0 the suite staged.

The shell cases link the shell into a fresh folder next to a probe child and
rely on the shell spawning ``dirname(argv0)/NAME`` (docs/programs.md). A
manifest entry that resolves to a wrapper (a version manager's shim, an
env-based launcher) re-executes the real program under another argv0, and
then some thirty cases FAIL with "Failed to spawn .../probe-child": a set-up
problem blamed on the implementation. The preflight tells the two apart and
stops the run with exit status 3 (docs/report.md) and a message saying what
to do instead. It never produces a verdict of its own:

- ``spawn probe-child`` answered ``ok spawned``: fine (the child is
  destroyed and the shell quits);
- it answered an error, and the argv of the shell's processes does not
  contain the staged path: the shell was re-executed under another argv0,
  the set-up problem;
- anything else (the shell does not start, its spawn fails although it got
  the staged argv0): the implementation's own business, which the cases
  judge; the preflight says nothing.

One shell start, so it stays cheap; everything it starts is killed and
reaped and its folder removed, whatever happens."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import tomllib

import psutil

PROBE = "probe-child"


class _Procs:
    """The two calls ShellHandle makes on a ProcessTracker: the shell's
    session is killed by ShellDriver.close, which is all we need here."""

    def own(self, pid, label):
        pass

    def adopt(self, pid, label):
        pass


class _Evidence:
    def record(self, key, value):
        pass

    def append(self, key, value):
        pass


def _argvs(pid: int) -> list[list[str]]:
    from ipc_conformance.harness.processes import family
    out = []
    for p in family(pid):
        try:
            out.append(p.cmdline())
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
    return out


def _manifest_value(manifest, key: str) -> str | None:
    try:
        with open(manifest.path, "rb") as f:
            value = (tomllib.load(f).get("executables") or {}).get(key)
        return value if isinstance(value, str) else None
    except (OSError, tomllib.TOMLDecodeError):
        return None


def describe_program(path: str) -> list[str]:
    """What the program at ``path`` is, when it is a wrapper: a symlink's
    target, a script's interpreter line and the lines that exec another
    program."""
    out = []
    real = os.path.realpath(path)
    if real != path:
        out.append(f"{path} is a symlink to {real}")
    try:
        with open(real, "rb") as f:
            head = f.read(8192)
    except OSError:
        return out
    if not head.startswith(b"#!"):
        return out
    lines = head.decode("utf-8", "replace").splitlines()
    execs = [ln.strip() for ln in lines[1:] if "exec" in ln and not ln.lstrip().startswith("#")]
    if execs:
        out.append(f"{real} is a wrapper script ({lines[0].strip()}) that re-executes "
                   f"another program: {' | '.join(execs[:3])}")
    return out


def _message(manifest, staged: str, answer: str, argvs) -> str:
    exe = manifest.executables.get("shell")
    raw = _manifest_value(manifest, "shell")
    where = ""
    if raw and "/" not in raw:
        where = (" (found beside the interpreter)"
                 if os.path.dirname(exe) == os.path.dirname(sys.executable) else " (found on PATH)")
    lines = [f"{manifest.name}: the shell does not see the argv0 the suite starts it with, so it "
             f"cannot find the programs staged beside it (it spawns dirname(argv0)/NAME, "
             f"docs/programs.md); every shell case would FAIL for a set-up problem.",
             f"  executables.shell = {raw!r} in {manifest.path} resolved to {exe}{where}"]
    lines += [f"  {d}" for d in describe_program(exe)]
    lines.append(f"  started as {staged}, it runs as: "
                 + (" ; ".join(" ".join(a) for a in argvs) or "(gone)"))
    lines.append(f"  `spawn {PROBE}` answered: {answer}")
    lines.append("  Fix: give executables.shell as an absolute path to the program itself "
                 "(not to a wrapper), or run the suite from the environment the implementation "
                 "is installed in (activate its venv, or call its bin/ipc-conformance) so the "
                 "name resolves beside the interpreter.")
    return "\n".join(lines)


def check_shell(manifest, timeout: float = 20) -> str | None:
    """None when the shell sees its staged argv0 (or there is nothing the
    preflight can tell); else the message that stops the run."""
    if not manifest.has_role("shell") or not manifest.executables.get("shell"):
        return None
    from ipc_conformance.harness.shell_handle import ShellHandle
    from ipc_conformance.harness.staging import short_tmp_root
    from ipc_conformance.harness.waits import WaitTimeout

    from ipc_conformance.conformance.interrupts import deferred

    tmp = handle = None
    try:
        with deferred():    # a signal as the folder appears finds the finally below armed
            tmp = tempfile.mkdtemp(dir=short_tmp_root(), prefix="ipc-preflight-")
        _subreaper(True)
        exe_dir = tempfile.mkdtemp(dir=tmp, prefix="x")
        try:
            handle = ShellHandle(manifest, _Procs(), _Evidence(), exe_dir=exe_dir, datadir=tmp,
                                 probe_names=(PROBE,))
            answer = handle.command(f"spawn {PROBE}", timeout)
            if answer.ok:
                words = answer.words
                if len(words) > 2:
                    handle.command(f"destroy {words[2]}", timeout)
                return None
            argvs = _argvs(handle.pid)
        except (WaitTimeout, Exception):
            return None          # not the preflight's to judge: the cases will
        staged = os.path.join(exe_dir, os.path.basename(manifest.executables["shell"]))
        if any(staged in argv for argv in argvs):
            return None          # it got the staged argv0 and still failed: the cases judge that
        return _message(manifest, staged, answer.result, argvs)
    finally:
        if handle is not None:
            handle.driver.close()
        _reap_orphans()
        _subreaper(False)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _subreaper(on: bool) -> None:
    """While the preflight runs, what the shell leaves (its probe child,
    killed with it) is re-parented to us and reaped here, instead of
    becoming a zombie of whatever subreaper is above us."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(36, 1 if on else 0, 0, 0, 0)


def _reap_orphans() -> None:
    """Kill and reap every child left: before the run starts, the command
    has no child of its own, so anything here is the preflight's."""
    from ipc_conformance.harness.registry import wait_for_children
    wait_for_children(timeout=0)
