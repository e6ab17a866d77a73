"""Can the programs a manifest declares be executed at all?

A manifest can name a file that exists and has its execute bit, yet cannot
be run: a script whose interpreter is missing, a binary for another
architecture, a truncated build. Such a program must stop the run as a
set-up problem (docs/report.md, exit status 4) rather than turn into dozens
of FAILs that blame the implementation. The check execs each program once,
with no arguments, in a session of its own, and kills it the moment the exec
has succeeded: ``subprocess.Popen`` returns only after the exec (it reports
an exec failure in the parent through its error pipe), so nothing of the
program's own behaviour is judged here.
"""
from __future__ import annotations

import os
import signal
import subprocess


def exec_problem(path: str) -> str | None:
    """Why ``path`` cannot be executed (None when it can)."""
    try:
        proc = subprocess.Popen([path], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True,
                                close_fds=True)
    except OSError as e:
        return f"{path} cannot be executed: {e.strerror or e}"
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    return None


def program_problems(manifest) -> dict[str, str]:
    """Executable key -> why it cannot run, for every executable the
    manifest declares: missing or not executable (found by the loader), or
    failing at exec (found here)."""
    problems = dict(manifest.missing_executables())
    for key, path in manifest.executables.items():
        if path and key not in problems:
            problem = exec_problem(path)
            if problem:
                problems[key] = problem
    return problems
