"""The test command of the generated-mutant session: one mutant, one run.

cosmic-ray writes one mutation into the scratch copy of the repository
(``reports/generated-mutants/tree/``) and runs this module there, as
``python -m ipc_conformance.conformance.mutant_probe --state DIR``, with
``PYTHONPATH`` set to the copy so that the copy's ``reference_impl`` (and
its suite) are what runs, not the editable install's. This module:

1. finds which target module the copy differs in, against the hashes
   written when the copy was made (``DIR/pristine.json``); ``--module``
   names it for the unmutated baseline run;
2. runs ``ipc-conformance run`` against the copy's reference manifest with
   only that module's case areas (conformance/mutant_areas.py), two
   workers, ``--maxfail=1`` (the first failing case decides), inside a
   wall-clock bound (``DIR/bounds.json``, from the baseline);
3. judges the run from its JSON results (mutant_areas.verdict), prints one
   ``ipc-mutant-verdict: {...}`` line (cosmic-ray keeps the output, and the
   session's summary reads the verdict from it) and exits 0 (survived),
   1 (killed), 3 (error: the suite stopped before judging) or 124 (the
   bound passed). cosmic-ray counts every non-zero status as killed; the
   summary does not.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ipc_conformance.conformance import mutant_areas as ma

DEFAULT_BOUND = 240.0     # seconds, when the baseline gave none
GRACE = 30.0              # after SIGTERM, for the run's own clean-up (it kills its process trees)


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def changed_modules(tree: Path, pristine: dict[str, str]) -> list[str]:
    """The target modules whose content in ``tree`` differs from the hash
    recorded when the copy was made."""
    out = []
    for rel, digest in sorted(pristine.items()):
        p = tree / rel
        if not p.exists() or file_hash(p) != digest:
            out.append(rel)
    return out


# With this file in the session's folder every mutant runs against every
# area (``mutants --generated --confirm``: survivors of the area-restricted
# run are run again against the whole suite, so that a gap in the mapping
# cannot pass for a missing case).
ALL_AREAS_FLAG = "all-areas"


def run_command(tree: Path, module: str, report_dir: Path, *, workers: int, case_timeout: float,
                case_ids=(), all_areas: bool = False) -> list[str]:
    """``ipc-conformance run`` against the copy, on ``module``'s areas (or
    every area, or only ``case_ids``: the project's tests check the
    plumbing with one)."""
    cmd = [sys.executable, "-m", "ipc_conformance.conformance.cli", "run",
           "--impl", str(tree / "conformance" / "manifests" / "reference.toml"),
           "-n", str(workers), "--report", str(report_dir), "--timeout", str(case_timeout)]
    keyword = "" if all_areas else ma.keyword_for(module)
    if case_ids:
        cmd += [a for cid in case_ids for a in ("--case", cid)]
    elif keyword:
        cmd += ["-k", keyword]
    return cmd + ["--", "--maxfail=1"]


def copy_env(tree: Path) -> dict[str, str]:
    """The environment of a run against the copy: the copy first on
    PYTHONPATH (ahead of the editable install's finder, which Python
    consults after sys.path), no bytecode written (cosmic-ray changes and
    restores files within the same second)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _stop(proc: subprocess.Popen) -> None:
    """End a run that passed its bound as Ctrl-C would (the command then
    kills the process trees it started), and the whole group if it does
    not end in GRACE seconds."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=GRACE)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        proc.wait()


def probe(tree: Path, module: str, *, workers: int = 2, bound: float = DEFAULT_BOUND,
          case_timeout: float = 30.0, runs_dir: Path | None = None, case_ids=(),
          all_areas: bool = False) -> dict:
    """Run the suite's areas for ``module`` against ``tree``; the verdict
    record (what the verdict line carries)."""
    runs_dir = Path(runs_dir or tree.parent / "runs")
    runs_dir.mkdir(parents=True, exist_ok=True)
    report_dir = Path(tempfile.mkdtemp(prefix="run-", dir=runs_dir))
    try:
        cmd = run_command(tree, module, report_dir, workers=workers, case_timeout=case_timeout,
                          case_ids=case_ids, all_areas=all_areas)
        log_path = report_dir / "output.txt"
        start = time.monotonic()
        timed_out = False
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, cwd=tree, env=copy_env(tree), stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
            try:
                rc = proc.wait(timeout=bound)
            except subprocess.TimeoutExpired:
                timed_out = True
                _stop(proc)
                rc = None
        seconds = round(time.monotonic() - start, 1)
        kinds, complete, caught_by = None, False, []
        results = report_dir / "reference.json"
        if results.exists():
            try:
                data = json.loads(results.read_text())
                kinds = {}
                for rec in data.get("cases", []):
                    k = rec.get("kind")
                    kinds[k] = kinds.get(k, 0) + 1
                    if k in ma.BAD:
                        caught_by.append(f"{rec.get('id') or rec.get('label')} {k}")
                complete = data.get("executed") == data.get("selected") and bool(data.get("selected"))
            except (ValueError, OSError):
                kinds = None
        v = ma.verdict(rc, kinds, complete=complete, timed_out=timed_out)
        tail = log_path.read_text(errors="replace").splitlines()[-6:] if v == ma.ERROR else []
        return {"verdict": v, "module": module, "areas": "all" if all_areas else list(ma.areas_for(module)),
                "rc": rc, "seconds": seconds, "bound": bound,
                "kinds": kinds, "caught_by": caught_by[:5], "complete": complete, "tail": tail}
    finally:
        shutil.rmtree(report_dir, ignore_errors=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="mutant_probe", description=__doc__.split("\n\n")[0])
    p.add_argument("--state", required=True, type=Path, help="the session's folder (tree/, pristine.json)")
    p.add_argument("--module", help="the module whose areas to run (default: the one that differs)")
    p.add_argument("-n", type=int, default=2, help="pytest-xdist workers")
    p.add_argument("--case-timeout", type=float, default=30.0)
    args = p.parse_args(argv)
    state = args.state.resolve()
    tree = state / "tree"
    pristine = json.loads((state / "pristine.json").read_text())
    changed = changed_modules(tree, pristine)
    module = args.module
    if module is None:
        if len(changed) != 1:
            record = {"verdict": ma.ERROR, "module": None,
                      "tail": [f"expected one mutated module in {tree}, found {changed or 'none'}"]}
            print(ma.VERDICT_PREFIX + json.dumps(record), flush=True)
            return ma.EXIT_FOR[ma.ERROR]
        module = changed[0]
    bounds_path = state / "bounds.json"
    bounds = json.loads(bounds_path.read_text()) if bounds_path.exists() else {}
    all_areas = (state / ALL_AREAS_FLAG).exists()
    bound = max(bounds.values(), default=DEFAULT_BOUND) if all_areas else bounds.get(module, DEFAULT_BOUND)
    record = probe(tree, module, workers=args.n, bound=float(bound), case_timeout=args.case_timeout,
                   runs_dir=state / "runs", all_areas=all_areas)
    print(ma.VERDICT_PREFIX + json.dumps(record), flush=True)
    return ma.EXIT_FOR[record["verdict"]]


if __name__ == "__main__":
    sys.exit(main())
