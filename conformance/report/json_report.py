"""The JSON results of a run: kinds, tallies, the exit-status contract, and
reading and merging several runs (docs/report.md).

A run file (written by the plugin with ``--ipc-json``)::

    {"format": 1,
     "implementation": {"name", "manifest", "kind", ...[implementation] table},
     "started", "duration", "selected", "executed",
     "run": {"seed", "repeat", "workers"},
     "cases": [{"id", "key", "requirement", "requirement_text", "layer", "statement",
                "area", "kind", "duration", "message", "nodeid", "evidence",
                "process_verdict"?, ...}],
     "summary": {kind: count},
     "exit_status": n}
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Iterable

FORMAT = 1

PASS = "PASS"
FAIL = "FAIL"
NON_STRICT = "NON-STRICT"
INFORMATIONAL = "INFORMATIONAL"
UNIMPLEMENTED = "UNIMPLEMENTED"
EXPECTED_FAIL = "EXPECTED-FAIL"
UNEXPECTED_PASS = "UNEXPECTED-PASS"
TIMEOUT = "TIMEOUT"
CRASH = "CRASH"
FLAKY = "FLAKY"
# The case's requirement is of a layer (docs/spec.md) the manifest does not
# claim: it ran when it could, its observed kind is in "observed_kind", and
# it is never judged.
NOT_CLAIMED = "NOT-CLAIMED"

# Report order: problems first.
KINDS = (FAIL, TIMEOUT, CRASH, UNEXPECTED_PASS, FLAKY, EXPECTED_FAIL, NON_STRICT,
         INFORMATIONAL, NOT_CLAIMED, UNIMPLEMENTED, PASS)
# Kinds that make a run fail (exit status 1).
BAD_KINDS = frozenset({FAIL, TIMEOUT, CRASH, UNEXPECTED_PASS, FLAKY})
# Kinds whose case ran and did what the suite checks (or was excused).
PASSING_KINDS = frozenset({PASS, NON_STRICT, INFORMATIONAL})
# Kinds that catch a mutant.
CATCHING_KINDS = frozenset({FAIL, TIMEOUT, CRASH})

# The exit-status contract (ipc-conformance and the plugin).
EXIT_OK = 0           # nothing failed unexpectedly
EXIT_FAILED = 1       # a FAIL, TIMEOUT, CRASH, UNEXPECTED-PASS or FLAKY
EXIT_INCOMPLETE = 2   # fewer executed than selected, nothing selected, no report
EXIT_MANIFEST = 3     # a manifest is invalid, or the set-up cannot run it (preflight)
EXIT_UNRUNNABLE = 4   # a program the manifest declares is missing or cannot be executed

EXIT_STATUS_HELP = """\
exit status:
  0  nothing failed unexpectedly (UNIMPLEMENTED, NOT-CLAIMED, EXPECTED-FAIL,
     NON-STRICT and INFORMATIONAL do not fail a run)
  1  a case was FAIL, TIMEOUT, CRASH, UNEXPECTED-PASS (stale expectation) or FLAKY,
     or of a kind the run forbids (--forbid UNIMPLEMENTED, --forbid NOT-CLAIMED, ...)
  2  the run is incomplete: fewer cases executed than selected (a worker
     crashed, pytest was interrupted), no case was selected, or a report
     (JSON, HTML) could not be written
  3  a manifest is invalid (the message names the field)
  4  a role the manifest declares cannot run: its program is missing, not
     executable or fails at exec (the message names it); a manifest with
     `required = false` reports such roles UNIMPLEMENTED instead
When several apply, the highest wins."""


class ReportError(Exception):
    """A run file is missing, unreadable or not a run."""


def empty_summary() -> dict[str, int]:
    return {kind: 0 for kind in KINDS}


def tally(cases: Iterable[dict]) -> dict[str, int]:
    summary = empty_summary()
    for rec in cases:
        kind = rec.get("kind")
        summary[kind] = summary.get(kind, 0) + 1
    return summary


def tally_line(summary: dict[str, int], *, zeros: bool = False) -> str:
    parts = [f"{kind} {summary.get(kind, 0)}" for kind in KINDS
             if zeros or summary.get(kind, 0)]
    parts += [f"{k} {v}" for k, v in summary.items() if k not in KINDS and v]
    return ", ".join(parts) if parts else "no cases"


def combine_repeats(runs: list[dict]) -> dict:
    """One record from the records of the repeats of one case: the common
    kind, or FLAKY when they differ. The evidence shown is the first
    problem's (or the first run's)."""
    if len(runs) == 1:
        return runs[0]
    kinds = [r.get("kind") for r in runs]
    shown = next((r for r in runs if r.get("kind") not in PASSING_KINDS), runs[0])
    rec = dict(shown)
    rec["repeats"] = [{"kind": r.get("kind"), "duration": r.get("duration"),
                       "message": r.get("message", "")} for r in runs]
    rec["duration"] = round(sum(r.get("duration") or 0 for r in runs), 6)
    rec["executed"] = all(r.get("executed", True) for r in runs)
    if len(set(kinds)) > 1:
        rec["kind"] = FLAKY
        rec["message"] = (f"results differ over {len(runs)} runs: {', '.join(kinds)}"
                          + (f"; {shown.get('message')}" if shown.get("message") else ""))
    return rec


def run_exit_status(run: dict | None) -> int:
    """The exit status one run earns under the contract."""
    if not run or not isinstance(run.get("cases"), list):
        return EXIT_INCOMPLETE
    selected = run.get("selected", 0) or 0
    executed = run.get("executed", 0) or 0
    if selected == 0 or executed < selected:
        return EXIT_INCOMPLETE
    if run.get("incomplete"):
        return EXIT_INCOMPLETE
    bad = BAD_KINDS | set((run.get("run") or {}).get("forbid") or ())
    if any(rec.get("kind") in bad for rec in run["cases"]):
        return EXIT_FAILED
    return EXIT_OK


def exit_status(runs: Iterable[dict | None], *, report_written: bool = True,
                manifest_invalid: bool = False) -> int:
    """The exit status of ``ipc-conformance run`` over its runs: the
    highest of the runs' statuses, 2 if the report was not written, 3 if a
    manifest was invalid."""
    if manifest_invalid:
        return EXIT_MANIFEST
    runs = list(runs)
    status = max((run_exit_status(r) for r in runs), default=EXIT_INCOMPLETE)
    if not report_written:
        status = max(status, EXIT_INCOMPLETE)
    return status


def problems(run: dict) -> list[dict]:
    bad = BAD_KINDS | set((run.get("run") or {}).get("forbid") or ())
    return [rec for rec in run.get("cases", []) if rec.get("kind") in bad]


# ---------------------------------------------------------------- files

def write_run(run: dict, path: str | Path) -> None:
    """Write atomically (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; reports are for everyone
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(run, f, indent=1, default=jsonable)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def jsonable(value):
    """json.dumps default: bytes, sets, paths, dataclasses, anything else by repr."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "__dataclass_fields__"):
        import dataclasses
        return dataclasses.asdict(value)
    if hasattr(value, "_asdict"):
        return value._asdict()
    return repr(value)


def load_run(path: str | Path) -> dict:
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            run = json.load(f)
    except OSError as e:
        raise ReportError(f"cannot read {path}: {e.strerror or e}") from e
    except ValueError as e:
        raise ReportError(f"{path} is not JSON: {e}") from e
    if not isinstance(run, dict) or "cases" not in run or "implementation" not in run:
        raise ReportError(f"{path} is not a conformance run (no 'implementation'/'cases')")
    run.setdefault("source", str(path))
    return run


def load_runs(paths: Iterable[str | Path]) -> list[dict]:
    return [load_run(p) for p in paths]


def find_runs(directory: str | Path) -> list[Path]:
    """The run files in a directory (JSON files that look like runs)."""
    found = []
    for path in sorted(Path(directory).glob("*.json")):
        try:
            load_run(path)
        except ReportError:
            continue
        found.append(path)
    return found


def run_label(run: dict) -> str:
    impl = run.get("implementation") or {}
    return str(impl.get("label") or impl.get("name") or Path(run.get("source", "run")).stem)


def merge_runs(runs: list[dict]) -> dict:
    """The matrix of several runs: ``{"columns": [labels], "rows": [{"key",
    "id", "area", "statement", "requirement", "requirement_text", "cells":
    [record or None per column]}]}``. Columns with the same label get a
    suffix; rows are sorted by area (docs order) then ID."""
    from ipc_conformance.conformance.case import case_sort_key

    labels, seen = [], {}
    for run in runs:
        label = run_label(run)
        seen[label] = seen.get(label, 0) + 1
        labels.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    rows: dict[str, dict] = {}
    for col, run in enumerate(runs):
        for rec in run.get("cases", []):
            key = rec.get("key") or rec.get("id") or rec.get("nodeid")
            row = rows.get(key)
            if row is None:
                row = rows[key] = {
                    "key": key, "id": rec.get("id") or key,
                    "area": rec.get("area") or (rec.get("id") or "?").split("-")[0],
                    "statement": rec.get("statement", ""),
                    "requirement": rec.get("requirement", ""),
                    "requirement_text": rec.get("requirement_text", ""),
                    "layer": rec.get("layer", ""),
                    "cells": [None] * len(runs)}
            for field in ("statement", "requirement", "requirement_text", "layer"):
                if not row[field] and rec.get(field):
                    row[field] = rec[field]
            row["cells"][col] = rec
    ordered = sorted(rows.values(), key=lambda r: (case_sort_key(r["id"]), r["key"]))
    return {"columns": labels, "rows": ordered}


def mutant_matrix(runs: list[dict]) -> dict | None:
    """Per mutant run (implementation.kind == "mutant"): caught or not, by
    which cases, the expected catchers missed, and the mutation score."""
    mutants = []
    for run in runs:
        impl = run.get("implementation") or {}
        if impl.get("kind") != "mutant":
            continue
        caught_by = sorted({rec.get("key") or rec.get("id") for rec in run.get("cases", [])
                            if rec.get("kind") in CATCHING_KINDS})
        expected = list(impl.get("expected_catchers") or impl.get("caught_by") or [])
        caught_ids = {k.split("[")[0] for k in caught_by}
        mutants.append({
            "label": run_label(run), "name": impl.get("name"),
            "bug": impl.get("bug") or impl.get("description") or "",
            "caught": bool(caught_by), "caught_by": caught_by,
            "expected_catchers": expected,
            "missed_expected": [c for c in expected if c not in caught_ids],
            "complete": run_exit_status(run) != EXIT_INCOMPLETE,
        })
    if not mutants:
        return None
    caught = sum(1 for m in mutants if m["caught"])
    return {"mutants": mutants, "caught": caught, "total": len(mutants),
            "score": caught / len(mutants)}
