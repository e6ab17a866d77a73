"""The JSON results of runs: reading and writing run files, tallies, each
run's exit status under the contract, merging several runs into the matrix
(docs/report.md). The kinds, the exit statuses and the typed records are
conformance.outcome's; ``load_run`` gives a file as written (a dict),
``read_run`` the same as an ``outcome.Run``.

A run file (written by the plugin with ``--ipc-json``)::

    {"format": 1,
     "implementation": {"name", "manifest", "kind", ...[implementation] table},
     "started", "duration", "selected", "executed",
     "run": {"seed", "repeat", "workers", "only", "forbid", "probe"},
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

from ipc_conformance.conformance.outcome import (BAD_KINDS, CATCHING_KINDS, EXIT_FAILED,
                                                EXIT_INCOMPLETE, EXIT_MANIFEST, EXIT_OK,
                                                KINDS, PASSING_KINDS, CaseRecord, Kind, RepeatResult, Run,
                                                as_record, as_run)


class ReportError(Exception):
    """A run file is missing, unreadable or not a run."""


def empty_summary() -> dict[str, int]:
    return {kind: 0 for kind in KINDS}


def tally(cases: Iterable[CaseRecord | dict]) -> dict[str, int]:
    summary = empty_summary()
    for rec in cases:
        kind = as_record(rec).kind
        summary[kind] = summary.get(kind, 0) + 1
    return summary


def tally_line(summary: dict[str, int], *, zeros: bool = False) -> str:
    parts = [f"{kind} {summary.get(kind, 0)}" for kind in KINDS
             if zeros or summary.get(kind, 0)]
    parts += [f"{k} {v}" for k, v in summary.items() if k not in KINDS and v]
    return ", ".join(parts) if parts else "no cases"


def combine_repeats(runs: list[CaseRecord | dict]) -> CaseRecord:
    """One record from the records of the repeats of one case: the common
    kind, or FLAKY when they differ. The evidence shown is the first
    problem's (or the first run's)."""
    runs = [as_record(r) for r in runs]
    if len(runs) == 1:
        return runs[0]
    kinds = [r.kind for r in runs]
    shown = next((r for r in runs if r.kind not in PASSING_KINDS), runs[0])
    changes = {
        "repeats": tuple(RepeatResult.new(kind=r.kind, duration=r.duration, message=r.message)
                         for r in runs),
        "duration": round(sum(r.duration or 0 for r in runs), 6),
        "executed": all(r.executed for r in runs)}
    intermittent = shown.expectation is not None and bool(shown.expectation.intermittent)
    if len(set(kinds)) == 1:
        pass
    elif intermittent and set(kinds) <= {Kind.PASS, Kind.EXPECTED_FAIL}:
        # What the manifest declared: the failure shows in some runs only.
        seen = kinds.count(Kind.EXPECTED_FAIL)
        changes["message"] = (f"the expected failure showed in {seen} of {len(runs)} runs,"
                              f" as the manifest's intermittent expectation allows; {shown.message}")
    else:
        changes["kind"] = Kind.FLAKY
        changes["message"] = (f"results differ over {len(runs)} runs: {', '.join(kinds)}"
                              + (f"; {shown.message}" if shown.message else ""))
    return shown.replace(**changes)


def run_exit_status(run: Run | dict | None) -> int:
    """The exit status one run earns under the contract."""
    if not run or (isinstance(run, dict) and not isinstance(run.get("cases"), list)):
        return EXIT_INCOMPLETE
    run = as_run(run)
    selected = run.selected or 0
    executed = run.executed or 0
    if selected == 0 or executed < selected:
        return EXIT_INCOMPLETE
    if run.incomplete:
        return EXIT_INCOMPLETE
    if problems(run):
        return EXIT_FAILED
    return EXIT_OK


def exit_status(runs: Iterable[Run | dict | None], *, report_written: bool = True,
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


def problems(run: Run | dict) -> list[CaseRecord]:
    """The run's cases of a bad kind, or of a kind it forbids."""
    run = as_run(run)
    bad = BAD_KINDS | run.forbid
    return [rec for rec in run.cases if rec.kind in bad]


# ---------------------------------------------------------------- files

def write_run(run: Run | dict, path: str | Path) -> None:
    """Write atomically (a reader never sees half a file)."""
    if isinstance(run, Run):
        run = run.to_json()
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


def read_run(path: str | Path) -> Run:
    """load_run, typed."""
    return Run.from_json(load_run(path))


def read_runs(paths: Iterable[str | Path]) -> list[Run]:
    return [read_run(p) for p in paths]


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


def run_label(run: Run | dict) -> str:
    run = as_run(run)
    impl = run.implementation or {}
    return str(impl.get("label") or impl.get("name") or Path(run.source or "run").stem)


def merge_runs(runs: list[Run | dict]) -> dict:
    """The matrix of several runs: ``{"columns": [labels], "rows": [{"key",
    "id", "area", "statement", "requirement", "requirement_text", "cells":
    [CaseRecord or None per column]}]}``. Columns with the same label get a
    suffix; rows are sorted by area (docs order) then ID."""
    from ipc_conformance.conformance.case import case_sort_key

    runs = [as_run(r) for r in runs]
    labels, seen = [], {}
    for run in runs:
        label = run_label(run)
        seen[label] = seen.get(label, 0) + 1
        labels.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    rows: dict[str, dict] = {}
    for col, run in enumerate(runs):
        for rec in run.cases:
            key = rec.key or rec.id or rec.nodeid
            row = rows.get(key)
            if row is None:
                row = rows[key] = {
                    "key": key, "id": rec.id or key,
                    "area": rec.area or (rec.id or "?").split("-")[0],
                    "statement": rec.statement, "requirement": rec.requirement,
                    "requirement_text": rec.requirement_text, "layer": rec.layer,
                    "cells": [None] * len(runs)}
            for field in ("statement", "requirement", "requirement_text", "layer"):
                if not row[field] and getattr(rec, field):
                    row[field] = getattr(rec, field)
            row["cells"][col] = rec
    ordered = sorted(rows.values(), key=lambda r: (case_sort_key(r["id"]), r["key"]))
    return {"columns": labels, "rows": ordered}


def mutant_matrix(runs: list[Run | dict]) -> dict | None:
    """Per mutant run (implementation.kind == "mutant"): caught or not, by
    which cases, the expected catchers missed, and the mutation score."""
    mutants = []
    for run in map(as_run, runs):
        if run.kind != "mutant":
            continue
        impl = run.implementation
        caught_by = sorted({rec.key or rec.id for rec in run.cases
                            if rec.kind in CATCHING_KINDS})
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
