"""The conformance suite's pytest plugin (entry point ``ipc_conformance``):
its hooks and fixtures, and nothing else.

It gives the ``impl`` and ``evidence`` fixtures, makes a case whose role or
protocol feature the manifest does not offer UNIMPLEMENTED before it runs,
gathers each case's phases into one record (conformance.records: exactly one
kind of conformance.outcome.Kind, the manifest's expectation applied),
repeats cases (FLAKY), shuffles them, prints a tally, writes the JSON
results once (on the xdist controller) and sets pytest's exit status by the
contract of docs/report.md. The options and the session's state are in
conformance.session_state, when the plugin acts in conformance.activation,
which cases run in conformance.selection; the run's registry and the signal
hygiene are the harness's (harness/registry.py, harness/signals.py).

Only items marked by ``@case`` (marker ``ipc_case``) are touched: the plugin
is installed for every pytest run of the project and stays silent elsewhere.
"""
from __future__ import annotations

import json
import random
import sys
import time

import pytest

from ipc_conformance.conformance import timing
from ipc_conformance.conformance.case import MARKER, SMOKE_MARKER
from ipc_conformance.conformance.evidence import Evidence
from ipc_conformance.conformance.outcome import BAD_KINDS, CaseRecord
from ipc_conformance.conformance.records import (REPEAT_FIXTURE, base_nodeid, build_record,
                                                 worker_crash_record)
from ipc_conformance.conformance.report import json_report as jr
from ipc_conformance.conformance.run_assembly import assemble_run, update_durations
from ipc_conformance.conformance.selection import (not_claimed_reason, unimplemented_reason,
                                                   unrunnable_message)
from ipc_conformance.conformance.session_state import (CLOCKS, EVIDENCE, PHASES, REGISTRY, STATE,
                                                       State, add_options, slowest_first, state)


# ---------------------------------------------------------------- options

def pytest_addoption(parser):
    add_options(parser)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", f"{MARKER}(id, requirement, roles, needs, smoke): a conformance case "
                   "(use conformance.case.case)")
    config.addinivalue_line("markers", f"{SMOKE_MARKER}: a quick case run by ipc-conformance smoke")
    config.stash[STATE] = State(config)
    if _asked(config):
        _activate(config)
    if config.option.ipc_impl and not hasattr(config, "workerinput"):
        # Before any xdist worker starts. A manifest that does not load is
        # reported at collection, and only if conformance cases are collected.
        if state(config).manifest_or_none() is not None:
            state(config).stop_if_unrunnable()


def _asked(config) -> bool:
    """Whether this session is a conformance run, decided at configure (see
    conformance.activation): a worker follows its controller."""
    from ipc_conformance.conformance.activation import asked
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and "ipc_active" in workerinput:
        return bool(workerinput["ipc_active"])
    return asked(config.option.ipc_impl, config.args, config.invocation_params.dir)


def _activate(config):
    """The plugin's side effects, only in a conformance run: signal
    hygiene, SIGTERM/SIGHUP as Ctrl-C (conformance.interrupts), the run's
    registry. Idempotent: also called at collection when conformance cases
    show up in a session that did not ask at configure."""
    st = state(config)
    if st.active:
        return
    st.active = True
    from ipc_conformance.harness import signals
    signals.undo_inherited_ignores()
    from ipc_conformance.conformance import interrupts
    interrupts.install()
    from ipc_conformance.harness import registry
    path = registry.open_run()
    if path is not None:
        config.stash[REGISTRY] = path


def pytest_unconfigure(config):
    path = config.stash.get(REGISTRY, None)
    if path is None:
        return
    from ipc_conformance.harness import registry
    killed = registry.close_run(path)
    if killed:
        print(f"ipc-conformance: killed {len(killed)} process group(s) left running by a "
              f"worker that died before its teardown: {killed}", file=sys.stderr)


@pytest.hookimpl(tryfirst=True)
def pytest_keyboard_interrupt(excinfo):
    """Ctrl-C, SIGTERM or SIGHUP (conformance.interrupts): each worker kills
    and removes what it registered, and the run owner empties its registry
    (groups, folders, the file), at once, rather than after pytest and xdist
    have wound down, which can take seconds; the fixtures' own teardowns run
    later and find it all gone. Only for a signal: -x and pytest.exit also land
    here, and then the other workers' cases must be left to finish."""
    from ipc_conformance.conformance import interrupts
    if interrupts.first_signal() is None:
        return
    from ipc_conformance.harness import registry
    registry.clean_mine()                     # a worker: what it registered itself
    registry.clean_owned()                    # the run's owner: everything, and the file


def pytest_report_header(config):
    st = state(config)
    lines = []
    if config.option.ipc_impl:
        lines.append(f"ipc-conformance: implementation manifest {st.impl_path}")
    if st.seed is not None:
        lines.append(f"ipc-conformance: random order, seed {st.seed} (--ipc-seed {st.seed})")
    if st.repeat > 1:
        lines.append(f"ipc-conformance: every case runs {st.repeat} times")
    return lines


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist controller: every worker shuffles with the same seed (xdist
    requires identical collections)."""
    node.workerinput["ipc_seed"] = state(node.config).seed
    node.workerinput["ipc_active"] = state(node.config).active
    node.workerinput["ipc_durations"] = state(node.config).durations


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def impl(request):
    """The Manifest of the implementation under test (--ipc-impl)."""
    return state(request.config).manifest()


@pytest.fixture
def evidence(request) -> Evidence:
    """Attach evidence to the case's result: record / non_strict / informational."""
    ev = request.node.stash.get(EVIDENCE, None)
    if ev is None:
        ev = request.node.stash[EVIDENCE] = Evidence()
    return ev


@pytest.fixture
def _ipc_repeat(request):
    return request.param


# ---------------------------------------------------------------- collection

def _marker(item):
    return item.get_closest_marker(MARKER)


def _case_fields(item) -> dict:
    mk = _marker(item)
    kw = dict(mk.kwargs) if mk else {}
    if mk and mk.args:  # tolerate pytest.mark.ipc_case("ID", "REQ-...") written by hand
        kw.setdefault("id", mk.args[0])
        if len(mk.args) > 1:
            kw.setdefault("requirement", mk.args[1])
    return kw


def pytest_generate_tests(metafunc):
    st = state(metafunc.config)
    if st.repeat > 1 and metafunc.definition.get_closest_marker(MARKER):
        metafunc.fixturenames.append(REPEAT_FIXTURE)
        metafunc.parametrize(REPEAT_FIXTURE, range(1, st.repeat + 1), indirect=True,
                             ids=lambda i: f"ipc-repeat-{i}")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    st = state(config)
    ipc_items = [it for it in items if _marker(it)]
    if not ipc_items:
        return
    st.ipc_seen = True
    if st.only:
        keep, drop = [], []
        for it in items:
            (keep if _case_fields(it).get("id") in st.only else drop).append(it)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
        ipc_items = [it for it in items if _marker(it)]
    # One ID, one definition.
    where: dict[str, tuple] = {}
    for it in ipc_items:
        cid = _case_fields(it).get("id")
        code = getattr(getattr(it, "function", None), "__code__", None)
        loc = (code.co_filename, code.co_firstlineno) if code else (it.nodeid,)
        if cid in where and where[cid] != loc:
            raise pytest.UsageError(f"duplicate case ID {cid}: {where[cid]} and {loc}")
        where[cid] = loc
    if ipc_items:
        manifest = st.manifest()
        if st.is_worker and st.unrunnable and getattr(manifest, "required", True):
            raise pytest.UsageError(unrunnable_message(manifest, st.unrunnable))
        if not st.is_worker:
            st.stop_if_unrunnable()
        expectations = getattr(manifest, "expectations", {}) or {}
        for it in ipc_items:
            if not_claimed_reason(manifest, _case_fields(it).get("requirement")):
                # Runs, and is never judged: pytest's own view is a non-strict xfail.
                it.add_marker(pytest.mark.xfail(reason="NOT-CLAIMED", strict=False))
                continue
            exp = expectations.get(_case_fields(it).get("id"))
            if exp is not None and exp.result in ("fail", "non-strict"):
                # pytest's own view agrees: a failure is xfailed, a pass is a
                # strict XPASS (failed).
                # A non-strict expectation is also met by a case that itself
                # reports NON-STRICT (it passes): not strict for pytest then.
                it.add_marker(pytest.mark.xfail(
                    reason=f"{'EXPECTED-FAIL' if exp.result == 'fail' else 'NON-STRICT'}:"
                           f" {exp.reason}",
                    strict=exp.result == "fail" and not getattr(exp, "intermittent", False)))
    if st.seed is not None:
        random.Random(st.seed).shuffle(items)
    elif st.durations:
        # Slowest first, so that xdist's workers finish together (the runner
        # adds --maxschedchunk 1: each worker then takes the next case in
        # this order when it frees up).
        slowest_first(items, st.durations, base_nodeid)


def pytest_collection_finish(session):
    st = state(session.config)
    if st.ipc_seen:
        _activate(session.config)     # cases collected without --ipc-impl: act from here on
        st.selected = {base_nodeid(it.nodeid) for it in session.items if _marker(it)}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    st = state(node.config)
    st.workers.add(str(getattr(getattr(node, "gateway", None), "id", node)))
    st.controller_ids.update(base_nodeid(i) for i in ids)


# ---------------------------------------------------------------- running

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if not _marker(item):
        return
    item.stash.setdefault(EVIDENCE, Evidence())
    item.stash[CLOCKS] = timing.start()
    fields = _case_fields(item)
    reason = unimplemented_reason(state(item.config).manifest(), fields.get("id"),
                                  fields.get("roles", ()), fields.get("needs", ()))
    if reason is not None:
        pytest.skip(f"UNIMPLEMENTED: {reason}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    if not _marker(item):
        return rep
    fields = _case_fields(item)
    rep.ipc_case_id = fields.get("id")
    item.stash.setdefault(PHASES, {})[call.when] = {
        "excinfo": call.excinfo, "duration": call.duration, "rep": rep}
    if call.when == "teardown":
        _record_time_breakdown(item)
        record = build_record(item, fields, item.stash.get(PHASES, {}),
                              item.stash.get(EVIDENCE, None), state(item.config).manifest_or_none())
        rep.ipc_record = json.dumps(record.to_json(), default=jr.jsonable)
        rep.user_properties.append(("ipc_case", record.id))
        rep.user_properties.append(("ipc_kind", str(record.kind)))
        rep.user_properties.append(("ipc_requirement", record.requirement))
    return rep


def _record_time_breakdown(item) -> None:
    """conformance.timing: where the case's time went, in its evidence."""
    clocks = item.stash.get(CLOCKS, None)
    ev = item.stash.get(EVIDENCE, None)
    if clocks is None or ev is None:
        return
    processes = ev.data.pop(timing.TIMINGS_KEY, None)
    duration = sum((p.get("duration") or 0.0) for p in item.stash.get(PHASES, {}).values())
    ev.record("time_breakdown", timing.breakdown(clocks, duration, processes))


class _Collector:
    """Registered on the config: sees every report (local or from xdist)."""

    def __init__(self, state: State):
        self.state = state

    def pytest_runtest_logreport(self, report):
        st = self.state
        rec_json = getattr(report, "ipc_record", None)
        if rec_json:
            st.ipc_seen = True
            st.records.append(CaseRecord.from_json(json.loads(rec_json)))
            return
        if getattr(report, "ipc_case_id", None):
            return
        if report.when == "???" and st.active:  # xdist: the worker died running this item
            st.ipc_seen = True
            st.records.append(worker_crash_record(report))
            return
        if report.when == "teardown":
            st.non_ipc_done.add(base_nodeid(report.nodeid))
        if report.failed:
            st.non_ipc_failed = True


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session):
    st = state(session.config)
    st.started = time.time()
    session.config.pluginmanager.register(_Collector(st), "ipc_conformance_collector")


# ---------------------------------------------------------------- results

def _finish(session) -> None:
    st = state(session.config)
    if st.is_worker or not (st.ipc_seen or st.records or st.json_path):
        return
    st.run = assemble_run(st, stopped=bool(session.shouldstop or session.shouldfail))
    update_durations(st, st.run.cases)


def pytest_sessionfinish(session, exitstatus):
    st = state(session.config)
    _finish(session)
    if st.run is None:
        return
    if int(session.exitstatus) in (0, 1):
        status = st.run.exit_status
        if not st.run.cases and not st.run.selected:
            return  # nothing of ours ran: leave pytest's status alone
        if st.non_ipc_failed:
            status = max(status, 1)
        session.exitstatus = status


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    st = state(config)
    run = st.run
    if run is None:
        return
    tr = terminalreporter
    name = run.implementation["name"]
    tr.write_sep("=", f"ipc conformance: {name}")
    tr.write_line(f"{name}: selected {run.selected}, executed {run.executed}: "
                  f"{jr.tally_line(run.summary)}")
    for rec in run.cases:
        if rec.kind in BAD_KINDS or rec.kind in st.forbid:
            msg = rec.message.replace("\n", " | ")
            tr.write_line(f"  {rec.kind} {rec.label}: {msg}", red=True)
    if run.executed < run.selected:
        tr.write_line(f"  INCOMPLETE: {run.selected - run.executed} selected case(s) "
                      "did not finish", red=True)
    if st.seed is not None:
        tr.write_line(f"random order seed {st.seed} (same order again: --ipc-seed {st.seed})")
    if st.json_error:
        tr.write_line(f"JSON NOT WRITTEN: {st.json_error}", red=True)
    elif st.json_path:
        tr.write_line(f"results: {st.json_path}")
    if config.option.ipc_show_evidence:
        for rec in run.cases:
            tr.write_sep("-", f"{rec.key} {rec.kind}")
            if rec.message:
                tr.write_line(f"message: {rec.message}")
            if rec.requirement:
                tr.write_line(f"requirement {rec.requirement}: {rec.requirement_text}")
            if rec.process_verdict is not None:
                tr.write_line("process verdict: " + json.dumps(rec.process_verdict,
                                                             default=jr.jsonable))
            for key, value in (rec.evidence or {}).items():
                if isinstance(value, str):
                    tr.write_line(f"{key}:")
                    for line in value.splitlines() or [""]:
                        tr.write_line(f"    {line}")
                else:
                    tr.write_line(f"{key}: " + json.dumps(value, indent=2, default=jr.jsonable))
