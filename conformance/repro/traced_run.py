"""Running one case through the ordinary pytest path to get its trace.

Why a real run: the reproducer is generated from what the case did against
this implementation (harness/trace.py records it into the JSON record's
evidence ``trace``), so ``repro --write`` first runs the case, exactly as
``ipc-conformance run`` would, then reads the record back.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from ipc_conformance.conformance.outcome import as_run


class NoTrace(Exception):
    """The run left no record (or no trace) for the case."""


def case_record(case_id: str, manifest_path: Path, *, cases_dir: Path, timeout=None):
    """The case's record (conformance.outcome.CaseRecord) from one run of it
    (conformance.runner.run_suite, as ``ipc-conformance run --case`` runs it)."""
    from ipc_conformance.conformance.runner import RunOptions, run_suite
    with tempfile.TemporaryDirectory(prefix="ipc-trace-") as tmp:
        result = run_suite([Path(manifest_path)], RunOptions(
            report_dir=Path(tmp), cases_dir=cases_dir, case_ids=(case_id,), timeout=timeout,
            capture=True, durations_dir=None, write_html=False, jobs=1))
    if result.stopped:
        raise NoTrace(f"the run of {case_id} did not start: {result.stopped}")
    (impl_run,) = result.runs
    if impl_run.run is None:
        raise NoTrace(f"the run of {case_id} wrote no results (pytest exit "
                      f"{impl_run.returncode}): {(impl_run.output or '')[-800:]}")
    return record_from_run(impl_run.run, case_id)


def record_from_run(run, case_id: str):
    """The record of ``case_id`` in a run (the first, with --repeat)."""
    for rec in as_run(run).cases:
        if rec.id == case_id:
            return rec
    raise NoTrace(f"the run has no record of {case_id}")


def trace_of(rec) -> dict:
    trace = (rec.evidence or {}).get("trace")
    if not trace:
        raise NoTrace(f"the record of {rec.id} ({rec.kind}) holds no trace: {rec.message}")
    return trace
