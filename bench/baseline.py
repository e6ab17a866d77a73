"""An earlier checkout's conformance runs beside this one's, for before and
after figures measured side by side.

Why side by side: these machines are noisy, and a "before" figure measured
on another day (or another machine) says little about a change. With
``python -m bench --only suite --suite-baseline DIR``, the suite family adds
a task per implementation that runs DIR's own ``ipc-conformance run -n 2``
(its code, its cases, its manifests), and the interleaving puts those runs
between this checkout's, round by round.

DIR is any checkout of this project, typically ``git worktree add DIR
COMMIT``, with its compiled implementations built there
(``bash ci/build-cpp.sh``, ``bash ci/build-libmultiprocess.sh`` run in DIR);
an implementation DIR has no manifest for, or whose programs DIR has not
built, is reported as such, never timed. The baseline runs in a process of
its own with DIR first on ``PYTHONPATH``, so it imports DIR's package, not
the installed one (a command the baseline's manifest names, such as
``ref-node``, is the installed entry point, which then imports DIR's code).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from pathlib import Path

from ipc_conformance.harness.manifest import resolve_executable


class BaselineError(Exception):
    """The baseline checkout cannot be run (the message says why)."""


def describe(checkout: Path) -> str:
    """``DIR @ abbreviated commit`` (or DIR alone outside git)."""
    try:
        commit = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return str(checkout)
    return f"{checkout} @ {commit}"


def check_checkout(checkout: Path) -> None:
    """Stop before any measurement when DIR is not a checkout of this project."""
    if not (checkout / "ipc_conformance" / "__init__.py").is_file() or \
            not (checkout / "conformance" / "manifests").is_dir():
        raise BaselineError(f"--suite-baseline {checkout}: not a checkout of ipc-conformance "
                            "(no ipc_conformance/__init__.py or conformance/manifests/)")


def unbuilt(checkout: Path, name: str) -> str | None:
    """Why the baseline cannot run implementation ``name``, or None."""
    manifest = checkout / "conformance" / "manifests" / f"{name}.toml"
    if not manifest.is_file():
        return f"the baseline has no manifest {manifest.name}"
    data = tomllib.loads(manifest.read_text())
    for role, value in (data.get("executables") or {}).items():
        if isinstance(value, str) and "{" not in value:     # not a placeholder ({python})
            _path, why = resolve_executable(value, manifest.parent)
            if why:
                return f"the baseline cannot run its {role}: {why}"
    return None


def run_once(checkout: Path, name: str, workers: int = 2, smoke: bool = False,
             timeout: float = 1800) -> tuple[float, dict]:
    """One ``ipc-conformance run -n WORKERS`` of the baseline against its
    manifest ``name`` (with ``smoke``, its smoke cases: ``-k smoke``):
    (wall seconds, facts from its JSON)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(checkout), *filter(None, [env.get("PYTHONPATH")])])
    manifest = checkout / "conformance" / "manifests" / f"{name}.toml"
    with tempfile.TemporaryDirectory(prefix="ipcb-baseline-") as tmp:
        argv = [sys.executable, "-m", "ipc_conformance.conformance.cli", "run", "-n", str(workers),
                "--impl", str(manifest), "--report", tmp] + (["-k", "smoke"] if smoke else [])
        t0 = time.perf_counter()
        proc = subprocess.run(argv, cwd=checkout, env=env, capture_output=True, text=True,
                              timeout=timeout)
        wall = time.perf_counter() - t0
        path = Path(tmp) / f"{name}.json"
        if not path.is_file():
            raise BaselineError(f"the baseline's run of {name} wrote no JSON (exit {proc.returncode}): "
                                + (proc.stdout + proc.stderr)[-1500:])
        cases = json.loads(path.read_text()).get("cases", [])
    kinds = dict(Counter(rec.get("kind", "?") for rec in cases))
    return wall, {"exit_status": proc.returncode, "cases": len(cases), "kinds": kinds,
                  "case_seconds": round(sum(float(r.get("duration") or 0) for r in cases), 3)}
