"""The run's results from the session's records: one ``outcome.Run``, as the
xdist controller (or a lone session) assembles it at the end, and the
durations file the next run orders its cases by.

Here rather than in conformance.plugin, which keeps the pytest hooks: this
is plain data work on ``session_state.State`` and testable without pytest's
session.
"""
from __future__ import annotations

import datetime
import sys
import time

from ipc_conformance.conformance.outcome import EXIT_INCOMPLETE, FORMAT, CaseRecord, Run
from ipc_conformance.conformance.report import json_report as jr
from ipc_conformance.conformance.session_state import State, read_durations, write_durations


def assemble_run(st: State, *, stopped: bool) -> Run:
    """The Run of the session's records (repeats combined, cases in
    catalogue order), written to --ipc-json if asked; ``stopped``: the
    session ended early (-x, --maxfail, an interrupt)."""
    groups: dict[str, list[CaseRecord]] = {}
    for rec in st.records:
        groups.setdefault(rec.group, []).append(rec)
    cases = [jr.combine_repeats(sorted(g, key=lambda r: r.repeat)) for g in groups.values()]
    if st.selected is not None:
        selected = st.selected
    else:
        selected = st.controller_ids - st.non_ipc_done
    executed = {base for base, g in groups.items()
                if all(r.executed for r in g) and len(g) >= (st.repeat if g[0].id else 1)}
    from ipc_conformance.conformance.case import case_sort_key
    cases.sort(key=lambda r: (case_sort_key(r.id or ""), r.key or ""))
    run = Run.new(
        format=FORMAT,
        implementation=st.implementation(),
        started=datetime.datetime.fromtimestamp(st.started, datetime.timezone.utc)
                        .isoformat(timespec="seconds"),
        duration=round(time.time() - st.started, 3),
        selected=len(selected | set(groups)) if selected else len(groups),
        executed=len(executed),
        run={"seed": st.seed, "repeat": st.repeat, "workers": len(st.workers),
             "only": sorted(st.only), "forbid": st.forbid, "probe": st.probe()},
        cases=tuple(cases),
        summary=jr.tally(cases),
        incomplete=True if stopped else None,
    )
    run = run.replace(exit_status=jr.run_exit_status(run))
    if st.json_path is not None:
        try:
            jr.write_run(run, st.json_path)
        except OSError as e:
            st.json_error = f"cannot write {st.json_path}: {e.strerror or e}"
            run = run.replace(exit_status=EXIT_INCOMPLETE)
    return run


def update_durations(st: State, cases) -> None:
    """--ipc-durations: this run's case durations, for the next run's order."""
    if st.durations_path is None:
        return
    got = {r.base_nodeid: float(r.duration or 0.0) / max(1, len(r.repeats or ()))
           for r in cases if r.executed and r.base_nodeid and r.id}
    if not got:
        return
    try:
        write_durations(st.durations_path, got, read_durations(st.durations_path))
    except OSError as e:
        print(f"ipc-conformance: cannot write {st.durations_path}: {e.strerror or e}",
              file=sys.stderr)
