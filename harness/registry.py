"""The run's registry: what a run leaves on the machine, written down as it
goes, so that it can be removed even when the code that made it never gets
to clean up.

A run (the pytest controller, or a lone pytest) creates one file,
``ipc-registry-*.txt`` in ``tempfile.gettempdir()``, named by
``$IPC_PROCESS_REGISTRY`` (xdist workers inherit the variable). Lines:

- ``run PID CREATE_TIME``: the run's owner (written first, at creation);
- ``PID CREATE_TIME``: a process group the harness started (its leader);
- ``dir PATH``: a temporary directory (staging folder, socket directory).

At its end the run kills the groups still running (a worker that died
before its teardown) and removes the directories and the file. When the run
itself dies (SIGKILL: nothing can run), the next run sweeps its file: the
owner is gone (or its pid now belongs to another process, told apart by the
start time), so its groups are killed and its directories removed. A file
whose owner still runs is a live run's and is left alone, and so is a file
without its ``run`` line (being created, or from an older suite).

Start times are compared, never pids alone: a pid can be reused, and
killing a stranger's process group is worse than leaving a leftover."""
from __future__ import annotations

import glob
import os
import shutil
import signal
import sys
import tempfile

import psutil

REGISTRY_ENV = "IPC_PROCESS_REGISTRY"
PREFIX = "ipc-registry-"
DIR_PREFIX = "ipc-"          # only directories named so are ever removed
_SAME_PROCESS = 0.01         # seconds: create_time is rounded by psutil
# What this process registered, for clean_mine (an interrupted worker).
_mine: dict[str, list] = {"groups": [], "dirs": []}


def _created(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def _is(pid: int, created: float) -> bool:
    """``pid`` is still the process that was started at ``created``."""
    now = _created(pid)
    return now is not None and abs(now - created) <= _SAME_PROCESS


def create(owner_pid: int | None = None) -> str:
    """A new registry file owned by ``owner_pid`` (default: this process),
    with its ``run`` line written before anyone can read it empty."""
    pid = owner_pid or os.getpid()
    fd, path = tempfile.mkstemp(prefix=PREFIX, suffix=".txt")
    try:
        os.write(fd, f"run {pid} {_created(pid)}\n".encode())
    finally:
        os.close(fd)
    return path


def _append(line: str) -> None:
    """Append to the run's registry; never create it: once the run removed
    it (it is ending), a late line must not leave an ownerless file behind."""
    path = os.environ.get(REGISTRY_ENV)
    if not path:
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    except FileNotFoundError:
        return
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def register_started(pid: int) -> None:
    """Note a process group the harness started, if a run registry is set."""
    created = _created(pid)
    if created is not None:
        _mine["groups"].append((pid, created))
        _append(f"{pid} {created}")


def register_dir(path: str) -> None:
    """Note a temporary directory of the run, if a run registry is set."""
    _mine["dirs"].append(os.path.abspath(path))
    _append(f"dir {os.path.abspath(path)}")


def read(path: str) -> dict:
    """{"run": (pid, created) or None, "groups": [(pid, created)], "dirs": [path]}."""
    out = {"run": None, "groups": [], "dirs": []}
    with open(path) as f:
        for line in f:
            words = line.split(None, 1)
            if not words:
                continue
            try:
                if words[0] == "dir" and len(words) == 2:
                    out["dirs"].append(words[1].rstrip("\n"))
                elif words[0] == "run":
                    pid, created = words[1].split()
                    out["run"] = (int(pid), float(created))
                elif len(words) == 2:
                    out["groups"].append((int(words[0]), float(words[1])))
            except ValueError:      # a line cut short by a kill: ignore it
                continue
    return out


def _kill(groups) -> list[int]:
    killed = []
    for pid, created in groups:
        if _is(pid, created):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                continue
            killed.append(pid)
    return killed


def _remove(dirs) -> list[str]:
    removed = []
    for d in dirs:
        if os.path.basename(d.rstrip("/")).startswith(DIR_PREFIX) and os.path.isdir(d):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def clean_mine() -> None:
    """Kill the groups and remove the folders this process registered (an
    interrupted worker, at once: pytest's own winding down comes later and
    can take seconds)."""
    _kill(_mine["groups"])
    _remove(_mine["dirs"])


def kill_registered(path: str) -> list[int]:
    """Kill every process group of the registry that still runs (the same
    process: its start time is checked, so a reused pid is left alone);
    the pids killed."""
    try:
        return _kill(read(path)["groups"])
    except FileNotFoundError:
        return []


def remove_dirs(path: str) -> list[str]:
    """Remove the registry's directories (only ``ipc-*`` ones); those removed."""
    try:
        return _remove(read(path)["dirs"])
    except FileNotFoundError:
        return []


def clean(path: str) -> tuple[list[int], list[str]]:
    """Everything of one registry: kill its groups, remove its directories
    and the file itself; (pids killed, directories removed)."""
    killed = kill_registered(path)
    removed = remove_dirs(path)
    try:
        os.unlink(path)
    except OSError:
        pass
    return killed, removed


def owner_alive(path: str) -> bool | None:
    """True: the run that owns ``path`` still runs; False: it is dead;
    None: the file names no owner (being created, or an older format)."""
    owner = read(path)["run"]
    if owner is None:
        return None
    return _is(*owner)


def sweep_dead_runs(directory: str | None = None, *, keep=()) -> list[tuple[str, list, list]]:
    """Clean the registries of runs that died without cleaning up (their
    owner is gone): [(registry, pids killed, dirs removed)]. Live runs'
    registries, ownerless ones and those in ``keep`` are left alone."""
    out = []
    for path in sorted(glob.glob(os.path.join(directory or tempfile.gettempdir(),
                                              PREFIX + "*.txt"))):
        if path in keep:
            continue
        try:
            if owner_alive(path) is not False:
                continue
        except OSError:
            continue
        killed, removed = clean(path)
        out.append((path, killed, removed))
    return out


# ---------------------------------------------------------------- the run's owner

# The registries this process created (open_run), for clean_owned.
_owned: list[str] = []


def open_run() -> str | None:
    """The run's owner (the pytest controller, or a lone pytest) names a
    registry file that every worker appends to (they inherit
    $IPC_PROCESS_REGISTRY); None in a worker, or in a run inside a run.
    First, the leftovers of runs that died (SIGKILL) are swept: their owner
    is gone, so nothing else ever will."""
    if os.environ.get(REGISTRY_ENV):
        return None
    for path, killed, removed in sweep_dead_runs():
        print(f"ipc-conformance: cleaned up after a dead run ({path}): killed "
              f"{len(killed)} process group(s), removed {len(removed)} folder(s)", file=sys.stderr)
    path = create()
    os.environ[REGISTRY_ENV] = path
    _owned.append(path)
    return path


def close_run(path: str) -> list[int]:
    """The end of the run that opened ``path``: wait for its workers, kill
    what a dead worker left running, remove its folders and the file.
    Returns the process groups it had to kill."""
    wait_for_children()
    killed, _removed = clean(path)
    if path in _owned:
        _owned.remove(path)
    os.environ.pop(REGISTRY_ENV, None)
    return killed


def clean_owned() -> None:
    """An interrupt: empty every registry this process owns (groups,
    folders, the file) at once."""
    for path in _owned:
        clean(path)


def wait_for_children(timeout: float = 10) -> None:
    """The run ends when its processes have: xdist lets the controller
    exit while a worker still winds down (after an interrupt, its teardown
    and other plugins' session-end hooks), and that worker would outlive the
    command. Wait for our children (the workers), bounded; kill the rest."""
    try:
        children = psutil.Process().children()
    except psutil.Error:
        return
    _gone, alive = psutil.wait_procs(children, timeout=timeout)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)
