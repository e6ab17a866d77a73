"""The conformance suite's pytest plugin (entry point ``ipc_conformance``).

It gives the ``impl`` and ``evidence`` fixtures, makes a case whose role or
protocol feature the manifest does not offer UNIMPLEMENTED before it runs,
classifies every case into exactly one kind (conformance.report.json_report
KINDS), applies the manifest's expectations, repeats cases (FLAKY), shuffles
them, prints a tally, writes the JSON results once (on the xdist controller)
and sets pytest's exit status by the contract of docs/report.md.

Only items marked by ``@case`` (marker ``ipc_case``) are touched: the plugin
is installed for every pytest run of the project and stays silent elsewhere.
"""
from __future__ import annotations

import datetime
import json
import os
import random
import re
import signal
import sys
import time
import tomllib
from pathlib import Path

import pytest

from ipc_conformance.conformance.case import (MARKER, REPO_ROOT, SMOKE_MARKER, layer_of, load_requirements,
                              statement_of)
from ipc_conformance.conformance.report import json_report as jr
from ipc_conformance.conformance.selection import (check_programs, not_claimed_reason, unimplemented_reason,
                                   unrunnable_message)

DEFAULT_MANIFEST = REPO_ROOT / "conformance" / "manifests" / "reference.toml"
REPEAT_FIXTURE = "_ipc_repeat"
MAX_TEXT = 100_000     # longest evidence string kept in the JSON
MAX_TRACEBACK = 20_000

_STATE = pytest.StashKey["_State"]()
_EVIDENCE = pytest.StashKey["Evidence"]()
_PHASES = pytest.StashKey[dict]()
_REGISTRY = pytest.StashKey[str]()
_OWNED_REGISTRIES: list[str] = []   # the registry this process created (pytest_keyboard_interrupt)


# ---------------------------------------------------------------- evidence

class Evidence:
    """What a case (or the harness on its behalf) attaches to its result.

    ``record(key, value)``: any JSON-able value (bytes, sets, dataclasses
    and paths are converted; anything else is kept as its repr).
    ``non_strict(why)``: a pass becomes NON-STRICT.
    ``informational(why)``: a pass becomes INFORMATIONAL.
    The key ``process_verdict`` is lifted into the record's own field.
    """

    def __init__(self):
        self.data: dict = {}
        self.non_strict_reasons: list[str] = []
        self.informational_reasons: list[str] = []

    def record(self, key: str, value) -> None:
        self.data[str(key)] = value

    def append(self, key: str, value) -> None:
        self.data.setdefault(str(key), []).append(value)

    def non_strict(self, why: str) -> None:
        self.non_strict_reasons.append(str(why))

    def informational(self, why: str) -> None:
        self.informational_reasons.append(str(why))

    def __repr__(self) -> str:
        return f"<Evidence {sorted(self.data)}>"

    def get(self, key, default=None):
        return self.data.get(key, default)

    def __contains__(self, key) -> bool:
        return key in self.data

    def __getitem__(self, key):
        return self.data[key]


# ---------------------------------------------------------------- options

def pytest_addoption(parser):
    group = parser.getgroup("ipc-conformance", "IPC conformance suite")
    group.addoption("--ipc-impl", metavar="PATH", default=None,
                    help="manifest of the implementation under test "
                         f"(default: {DEFAULT_MANIFEST.relative_to(REPO_ROOT)} in the repo)")
    group.addoption("--ipc-json", metavar="PATH", default=None,
                    help="write the run's results as JSON (docs/report.md)")
    group.addoption("--ipc-repeat", metavar="N", type=int, default=1,
                    help="run each case N times; cases whose results differ are FLAKY")
    group.addoption("--ipc-random-order", action="store_true", default=False,
                    help="shuffle the cases (the seed is printed)")
    group.addoption("--ipc-seed", metavar="N", type=int, default=None,
                    help="shuffle the cases with this seed (implies --ipc-random-order)")
    group.addoption("--ipc-case", metavar="ID", action="append", default=[],
                    help="run only this case ID (repeatable)")
    group.addoption("--ipc-forbid", metavar="KIND", action="append", default=[],
                    help="a case of this kind fails the run too (repeatable; e.g. "
                         "UNIMPLEMENTED, NOT-CLAIMED, EXPECTED-FAIL, NON-STRICT)")
    group.addoption("--ipc-show-evidence", action="store_true", default=False,
                    help="print every case's evidence in the terminal summary")


class _State:
    def __init__(self, config):
        self.config = config
        opt = config.option
        self.impl_path = Path(opt.ipc_impl or DEFAULT_MANIFEST).resolve()
        self.json_path = Path(opt.ipc_json).resolve() if opt.ipc_json else None
        self.repeat = max(1, int(opt.ipc_repeat or 1))
        self.only = {c.strip().upper() for c in (opt.ipc_case or []) if c.strip()}
        self.forbid = sorted({k.strip().upper() for k in (opt.ipc_forbid or []) if k.strip()})
        unknown = [k for k in self.forbid if k not in jr.KINDS]
        if unknown:
            raise pytest.UsageError(f"--ipc-forbid: unknown kind(s) {', '.join(unknown)}"
                                    f" (kinds: {', '.join(jr.KINDS)})")
        workerinput = getattr(config, "workerinput", None)
        self.is_worker = workerinput is not None
        if workerinput is not None and "ipc_seed" in workerinput:
            self.seed = workerinput["ipc_seed"]
        elif opt.ipc_seed is not None:
            self.seed = opt.ipc_seed
        elif opt.ipc_random_order:
            self.seed = random.SystemRandom().randrange(1, 2**31)
        else:
            self.seed = None
        self._manifest = None
        self.unrunnable: dict[str, str] = {}
        self.started = time.time()
        self.records: list[dict] = []
        self.selected: set[str] | None = None         # base nodeids (no xdist)
        self.controller_ids: set[str] = set()          # base nodeids (xdist controller)
        self.non_ipc_done: set[str] = set()
        self.non_ipc_failed = False
        self.ipc_seen = False
        self.workers: set[str] = set()
        self.run: dict | None = None
        self.json_error: str | None = None
        self.active = False       # a conformance run: the plugin's side effects are on

    def manifest(self):
        if self._manifest is None:
            from ipc_conformance.conformance.runner import manifest_api
            try:
                load_manifest, ManifestError = manifest_api()
            except SystemExit as e:
                raise pytest.UsageError(str(e))
            try:
                self._manifest = load_manifest(self.impl_path)
            except ManifestError as e:
                raise pytest.UsageError(f"invalid manifest {self.impl_path}: {e}")
            except OSError as e:
                raise pytest.UsageError(
                    f"cannot read manifest {self.impl_path}: {e.strerror or e}")
            self.unrunnable = check_programs(self._manifest)
        return self._manifest

    def stop_if_unrunnable(self) -> None:
        """A declared role whose program cannot run stops the run (exit
        status 4) unless the manifest says required = false."""
        manifest = self.manifest()
        if self.unrunnable and getattr(manifest, "required", True):
            raise pytest.exit(f"ipc-conformance: {unrunnable_message(manifest, self.unrunnable)}",
                              returncode=jr.EXIT_UNRUNNABLE)

    def manifest_or_none(self):
        try:
            return self.manifest()
        except pytest.UsageError:
            return None

    def implementation(self) -> dict:
        m = self.manifest_or_none()
        impl = {"name": getattr(m, "name", None) or self.impl_path.stem,
                "manifest": str(getattr(m, "path", None) or self.impl_path),
                "kind": "implementation"}
        try:  # pass the [implementation] table through (kind, bug, expected_catchers, ...)
            with open(impl["manifest"], "rb") as f:
                table = tomllib.load(f).get("implementation", {})
            for key, value in table.items():
                if key not in ("name", "manifest") and isinstance(value, (str, int, float, bool, list)):
                    impl[key] = value
        except (OSError, tomllib.TOMLDecodeError):
            pass
        return impl


def _state(config) -> _State:
    return config.stash[_STATE]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", f"{MARKER}(id, requirement, roles, needs, smoke): a conformance case "
                   "(use conformance.case.case)")
    config.addinivalue_line("markers", f"{SMOKE_MARKER}: a quick case run by ipc-conformance smoke")
    config.stash[_STATE] = _State(config)
    if _asked(config):
        _activate(config)
    if config.option.ipc_impl and not hasattr(config, "workerinput"):
        # Before any xdist worker starts. A manifest that does not load is
        # reported at collection, and only if conformance cases are collected.
        if config.stash[_STATE].manifest_or_none() is not None:
            config.stash[_STATE].stop_if_unrunnable()


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
    st = _state(config)
    if st.active:
        return
    st.active = True
    _undo_inherited_signal_ignores()
    from ipc_conformance.conformance import interrupts
    interrupts.install()
    _open_process_registry(config)


def _open_process_registry(config):
    """The controller (or a lone pytest) names a registry file
    (harness/registry.py) that every worker appends to; pytest_unconfigure
    kills what a dead worker left running and removes its folders. Workers
    inherit the variable. First, the leftovers of runs that died (SIGKILL)
    are swept: their owner is gone, so nothing else ever will."""
    try:
        from ipc_conformance.harness import registry
    except ImportError:          # a stand-in harness (the report tests): nothing to register
        return
    if os.environ.get(registry.REGISTRY_ENV):    # a worker, or a run inside a run
        return
    for path, killed, removed in registry.sweep_dead_runs():
        print(f"ipc-conformance: cleaned up after a dead run ({path}): killed "
              f"{len(killed)} process group(s), removed {len(removed)} folder(s)", file=sys.stderr)
    path = registry.create()
    os.environ[registry.REGISTRY_ENV] = path
    config.stash[_REGISTRY] = path
    _OWNED_REGISTRIES.append(path)


def pytest_unconfigure(config):
    path = config.stash.get(_REGISTRY, None)
    if path is None:
        return
    from ipc_conformance.harness import registry
    _wait_for_workers()
    killed, _removed = registry.clean(path)
    if path in _OWNED_REGISTRIES:
        _OWNED_REGISTRIES.remove(path)
    if killed:
        print(f"ipc-conformance: killed {len(killed)} process group(s) left running by a "
              f"worker that died before its teardown: {killed}", file=sys.stderr)
    os.environ.pop(registry.REGISTRY_ENV, None)


def _wait_for_workers(timeout: float = 10) -> None:
    """The run ends when its processes have: xdist lets the controller
    exit while a worker still winds down (after an interrupt, its teardown
    and other plugins' session-end hooks), and that worker would outlive the
    command. Wait for our children (the workers), bounded; kill the rest."""
    import psutil
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
    try:
        from ipc_conformance.harness import registry
    except ImportError:          # a stand-in harness (the report tests)
        return
    registry.clean_mine()                     # a worker: what it registered itself
    for path in _OWNED_REGISTRIES:            # the run's owner: everything, and the file
        registry.clean(path)


def _undo_inherited_signal_ignores():
    """Implementations must meet the suite with default signal dispositions.
    An ignored signal survives exec, so a suite started in the background by
    a shell without job control (SIGINT and SIGQUIT ignored) would hand that
    to every process it starts, and the SIGINT cases would judge the
    launcher instead of the implementation. Handlers, unlike ignores, are
    reset at exec: give SIGINT Python's own, SIGQUIT the default."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGQUIT) == signal.SIG_IGN:
        signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def pytest_report_header(config):
    st = _state(config)
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
    node.workerinput["ipc_seed"] = _state(node.config).seed
    node.workerinput["ipc_active"] = _state(node.config).active


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def impl(request):
    """The Manifest of the implementation under test (--ipc-impl)."""
    return _state(request.config).manifest()


@pytest.fixture
def evidence(request) -> Evidence:
    """Attach evidence to the case's result: record / non_strict / informational."""
    ev = request.node.stash.get(_EVIDENCE, None)
    if ev is None:
        ev = request.node.stash[_EVIDENCE] = Evidence()
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
    st = _state(metafunc.config)
    if st.repeat > 1 and metafunc.definition.get_closest_marker(MARKER):
        metafunc.fixturenames.append(REPEAT_FIXTURE)
        metafunc.parametrize(REPEAT_FIXTURE, range(1, st.repeat + 1), indirect=True,
                             ids=lambda i: f"ipc-repeat-{i}")


_REPEAT_ID = re.compile(r"^ipc-repeat-\d+(?:-|$)|-ipc-repeat-\d+(?=-|$)")


def base_nodeid(nodeid: str) -> str:
    """The node ID without the --ipc-repeat parameter."""
    m = re.match(r"^(.*)\[(.*)\]$", nodeid, re.S)
    if not m:
        return nodeid
    inner = _REPEAT_ID.sub("", m.group(2))
    return m.group(1) + (f"[{inner}]" if inner else "")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    st = _state(config)
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
                           f" {exp.reason}", strict=exp.result == "fail"))
    if st.seed is not None:
        random.Random(st.seed).shuffle(items)


def pytest_collection_finish(session):
    st = _state(session.config)
    if st.ipc_seen:
        _activate(session.config)     # cases collected without --ipc-impl: act from here on
        st.selected = {base_nodeid(it.nodeid) for it in session.items if _marker(it)}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    st = _state(node.config)
    st.workers.add(str(getattr(getattr(node, "gateway", None), "id", node)))
    st.controller_ids.update(base_nodeid(i) for i in ids)


# ---------------------------------------------------------------- running

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if not _marker(item):
        return
    item.stash.setdefault(_EVIDENCE, Evidence())
    fields = _case_fields(item)
    reason = unimplemented_reason(_state(item.config).manifest(), fields.get("id"),
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
    item.stash.setdefault(_PHASES, {})[call.when] = {
        "excinfo": call.excinfo, "duration": call.duration, "rep": rep}
    if call.when == "teardown":
        record = _build_record(item, fields)
        rep.ipc_record = json.dumps(record, default=jr.jsonable)
        rep.user_properties.append(("ipc_case", record["id"]))
        rep.user_properties.append(("ipc_kind", record["kind"]))
        rep.user_properties.append(("ipc_requirement", record["requirement"]))
    return rep


def _mro_names(exc) -> list[str]:
    return [c.__name__ for c in type(exc).__mro__]


def _from_harness(exc) -> bool:
    if "harness" in type(exc).__module__.split("."):
        return True
    tb = exc.__traceback__
    while tb is not None:
        if "harness" in Path(tb.tb_frame.f_code.co_filename).parts:
            return True
        tb = tb.tb_next
    return False


def _is_pytest_timeout(exc) -> bool:
    return isinstance(exc, pytest.fail.Exception) and str(exc).startswith("Timeout (>")


def is_leak(exc) -> bool:
    """A teardown failure raised by the harness's leak check."""
    return any("Leak" in name for name in _mro_names(exc))


def _short(text: str, limit: int = 400) -> str:
    lines = [ln.rstrip() for ln in str(text).splitlines() if ln.strip()]
    out = "\n".join(lines[:3])
    if len(out) > limit:
        out = out[: limit - 1] + "\u2026"
    return out


def _message(excinfo) -> str:
    exc = excinfo.value
    if isinstance(exc, (pytest.skip.Exception, pytest.xfail.Exception, pytest.fail.Exception)):
        return _short(getattr(exc, "msg", None) or str(exc))
    if isinstance(exc, AssertionError):
        text = excinfo.exconly()
        for prefix in ("AssertionError: ", "AssertionError"):
            if text.startswith(prefix):
                text = text[len(prefix):] or "assertion failed"
                break
        return _short(text)
    text = str(exc)
    return _short(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def classify_exception(excinfo) -> tuple[str, str]:
    """(kind, short message) for an exception raised by a case or fixture."""
    exc = excinfo.value
    msg = _message(excinfo)
    if isinstance(exc, pytest.skip.Exception):
        return jr.UNIMPLEMENTED, msg
    if isinstance(exc, pytest.xfail.Exception):
        return jr.EXPECTED_FAIL, msg
    names = _mro_names(exc)
    if "ImplementationCrashed" in names:
        return jr.CRASH, msg
    if ("WaitTimeout" in names or _is_pytest_timeout(exc)
            or (isinstance(exc, TimeoutError) and _from_harness(exc))):
        return jr.TIMEOUT, msg
    return jr.FAIL, msg


def _clip(value):
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + f"\n\u2026 [{len(value) - MAX_TEXT} more characters cut]"
    if isinstance(value, dict):
        return {k: _clip(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clip(v) for v in value]
    return value


def _exception_evidence(exc, ev: dict) -> None:
    """Diagnostics the harness hangs on its exceptions (TIMEOUT, CRASH)."""
    for attr in ("diagnostics", "stderr", "seen", "evidence"):
        value = getattr(exc, attr, None)
        if value is None or callable(value):
            continue
        if attr == "evidence" and isinstance(value, dict):
            for k, v in value.items():
                ev.setdefault(k, v)
        else:
            ev.setdefault(attr, value)


def _phase_text(phase: dict) -> str:
    rep = phase.get("rep")
    text = getattr(rep, "longreprtext", "") if rep is not None else ""
    return text[-MAX_TRACEBACK:] if len(text) > MAX_TRACEBACK else text


def _build_record(item, fields: dict) -> dict:
    st = _state(item.config)
    phases = item.stash.get(_PHASES, {})
    ev_obj = item.stash.get(_EVIDENCE, None) or Evidence()
    ev = dict(ev_obj.data)
    setup, call, teardown = phases.get("setup"), phases.get("call"), phases.get("teardown")
    kind, message, failing = jr.PASS, "", None
    if setup and setup["excinfo"] is not None:
        kind, message = classify_exception(setup["excinfo"])
        failing = setup
        if kind not in (jr.UNIMPLEMENTED, jr.EXPECTED_FAIL):
            ev.setdefault("setup_error", _phase_text(setup))
            message = f"setup: {message}"
    elif call and call["excinfo"] is not None:
        kind, message = classify_exception(call["excinfo"])
        failing = call
    elif call is None:
        kind, message = jr.FAIL, "the case did not run"
    elif ev_obj.informational_reasons:
        kind, message = jr.INFORMATIONAL, "; ".join(ev_obj.informational_reasons)
    elif ev_obj.non_strict_reasons:
        kind, message = jr.NON_STRICT, "; ".join(ev_obj.non_strict_reasons)
    if failing is not None:
        _exception_evidence(failing["excinfo"].value, ev)
        if kind not in (jr.UNIMPLEMENTED, jr.EXPECTED_FAIL):
            ev.setdefault("traceback", _phase_text(failing))
    if teardown and teardown["excinfo"] is not None:
        t_kind, t_msg = classify_exception(teardown["excinfo"])
        exc = teardown["excinfo"].value
        _exception_evidence(exc, ev)
        if is_leak(exc):
            ev["leak"] = str(exc) or t_msg
            t_msg = f"leak: {t_msg}"
        else:
            ev["teardown_error"] = _phase_text(teardown)
            t_msg = f"teardown: {t_msg}"
        if kind in jr.PASSING_KINDS or kind == jr.UNIMPLEMENTED:
            kind, message = t_kind, t_msg
    if kind not in jr.PASSING_KINDS and kind != jr.UNIMPLEMENTED:
        for name, attr in (("captured_stdout", "capstdout"), ("captured_stderr", "capstderr")):
            text = "".join(getattr(p["rep"], attr, "") for p in phases.values())
            if text.strip():
                ev.setdefault(name, text[-MAX_TRACEBACK:])
    for reason in ev_obj.non_strict_reasons:
        ev.setdefault("non_strict", reason)
    for reason in ev_obj.informational_reasons:
        ev.setdefault("informational", reason)

    case_id = fields.get("id")
    record: dict = {}
    manifest = st.manifest_or_none()
    exp = (getattr(manifest, "expectations", {}) or {}).get(case_id) if manifest else None
    observed = kind
    if exp is not None and exp.result in ("fail", "non-strict"):
        record["expectation"] = {"result": exp.result, "reason": exp.reason}
        if kind in jr.CATCHING_KINDS:
            kind = jr.EXPECTED_FAIL if exp.result == "fail" else jr.NON_STRICT
            message = f"expected ({exp.reason}); saw {observed}: {message}"
        elif kind == jr.NON_STRICT and exp.result == "non-strict":
            message = f"expected ({exp.reason}); saw {observed}: {message}"
        elif kind in jr.PASSING_KINDS:
            kind = jr.UNEXPECTED_PASS
            message = (f"stale expectation: the manifest expects {exp.result!r}"
                       f" ({exp.reason}) but the case passed")
    elif exp is not None:
        record["expectation"] = {"result": exp.result, "reason": exp.reason}
    not_claimed = not_claimed_reason(manifest, fields.get("requirement")) if manifest else None
    if not_claimed is not None:
        # Observed, kept and shown, never judged (conformance/selection.py).
        seen = f"; observed {observed}" + (f": {message}" if message else "")
        kind, message = jr.NOT_CLAIMED, f"{not_claimed}{seen}"

    param = ""
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        param = base_nodeid(f"x[{callspec.id}]")[2:-1] if callspec.id else ""
    repeat_index = callspec.params.get(REPEAT_FIXTURE, 1) if callspec is not None else 1
    func = getattr(item, "function", None)
    from ipc_conformance.conformance.case import case_info
    info = case_info(func) if func is not None else None
    file, line = item.location[0], item.location[1] + 1
    if info is not None and info.line:
        line = info.line
    verdict = ev.pop("process_verdict", None)
    requirement = fields.get("requirement", "")
    record.update({
        "id": case_id,
        "key": f"{case_id}[{param}]" if param else case_id,
        "param": param or None,
        "requirement": requirement,
        "requirement_text": load_requirements().get(requirement, ""),
        "layer": layer_of(requirement) or "",
        "statement": statement_of(func) if func is not None else "",
        "area": (case_id or "?").split("-")[0],
        "kind": kind,
        "duration": round(sum((p.get("duration") or 0.0) for p in phases.values()), 6),
        "message": message,
        "nodeid": item.nodeid,
        "base_nodeid": base_nodeid(item.nodeid),
        "file": file,
        "line": line,
        "roles": list(fields.get("roles", ())),
        "needs": list(fields.get("needs", ())),
        "smoke": bool(fields.get("smoke")),
        "repeat": repeat_index,
        "executed": True,
        "evidence": _clip(ev),
    })
    if observed != kind:
        record["observed_kind"] = observed
    if verdict is not None:
        record["process_verdict"] = _clip(verdict)
    return record


class _Collector:
    """Registered on the config: sees every report (local or from xdist)."""

    def __init__(self, state: _State):
        self.state = state

    def pytest_runtest_logreport(self, report):
        st = self.state
        rec_json = getattr(report, "ipc_record", None)
        if rec_json:
            st.ipc_seen = True
            st.records.append(json.loads(rec_json))
            return
        if getattr(report, "ipc_case_id", None):
            return
        if report.when == "???" and st.active:  # xdist: the worker died running this item
            st.ipc_seen = True
            st.records.append({
                "id": None, "key": base_nodeid(report.nodeid), "nodeid": report.nodeid,
                "base_nodeid": base_nodeid(report.nodeid), "kind": jr.CRASH,
                "message": _short(str(report.longrepr)), "duration": 0.0, "executed": False,
                "area": "?", "statement": "", "requirement": "", "requirement_text": "",
                "evidence": {"worker_crash": str(report.longrepr)}})
            return
        if report.when == "teardown":
            st.non_ipc_done.add(base_nodeid(report.nodeid))
        if report.failed:
            st.non_ipc_failed = True


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session):
    st = _state(session.config)
    st.started = time.time()
    session.config.pluginmanager.register(_Collector(st), "ipc_conformance_collector")


# ---------------------------------------------------------------- results

def _finish(session) -> None:
    st = _state(session.config)
    if st.is_worker or not (st.ipc_seen or st.records or st.json_path):
        return
    groups: dict[str, list[dict]] = {}
    for rec in st.records:
        groups.setdefault(rec.get("base_nodeid") or rec["nodeid"], []).append(rec)
    cases = [jr.combine_repeats(sorted(g, key=lambda r: r.get("repeat", 1)))
             for g in groups.values()]
    if st.selected is not None:
        selected = st.selected
    else:
        selected = st.controller_ids - st.non_ipc_done
    executed = {base for base, g in groups.items()
                if all(r.get("executed", True) for r in g)
                and len(g) >= (st.repeat if g[0].get("id") else 1)}
    from ipc_conformance.conformance.case import case_sort_key
    cases.sort(key=lambda r: (case_sort_key(r.get("id") or ""), r.get("key") or ""))
    run = {
        "format": jr.FORMAT,
        "implementation": st.implementation(),
        "started": datetime.datetime.fromtimestamp(st.started, datetime.timezone.utc)
                           .isoformat(timespec="seconds"),
        "duration": round(time.time() - st.started, 3),
        "selected": len(selected | set(groups)) if selected else len(groups),
        "executed": len(executed),
        "run": {"seed": st.seed, "repeat": st.repeat, "workers": len(st.workers),
                "only": sorted(st.only), "forbid": st.forbid},
        "cases": cases,
        "summary": jr.tally(cases),
    }
    if session.shouldstop or session.shouldfail:
        run["incomplete"] = True
    run["exit_status"] = jr.run_exit_status(run)
    if st.json_path is not None:
        try:
            jr.write_run(run, st.json_path)
        except OSError as e:
            st.json_error = f"cannot write {st.json_path}: {e.strerror or e}"
            run["exit_status"] = jr.EXIT_INCOMPLETE
    st.run = run


def pytest_sessionfinish(session, exitstatus):
    st = _state(session.config)
    _finish(session)
    if st.run is None:
        return
    if int(session.exitstatus) in (0, 1):
        status = st.run["exit_status"]
        if not st.run["cases"] and not st.run["selected"]:
            return  # nothing of ours ran: leave pytest's status alone
        if st.non_ipc_failed:
            status = max(status, 1)
        session.exitstatus = status


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    st = _state(config)
    run = st.run
    if run is None:
        return
    tr = terminalreporter
    name = run["implementation"]["name"]
    tr.write_sep("=", f"ipc conformance: {name}")
    tr.write_line(f"{name}: selected {run['selected']}, executed {run['executed']}: "
                  f"{jr.tally_line(run['summary'])}")
    for rec in run["cases"]:
        if rec["kind"] in jr.BAD_KINDS or rec["kind"] in st.forbid:
            msg = (rec.get("message") or "").replace("\n", " | ")
            tr.write_line(f"  {rec['kind']} {rec.get('key') or rec['nodeid']}: {msg}", red=True)
    if run["executed"] < run["selected"]:
        tr.write_line(f"  INCOMPLETE: {run['selected'] - run['executed']} selected case(s) "
                      "did not finish", red=True)
    if st.seed is not None:
        tr.write_line(f"random order seed {st.seed} (same order again: --ipc-seed {st.seed})")
    if st.json_error:
        tr.write_line(f"JSON NOT WRITTEN: {st.json_error}", red=True)
    elif st.json_path:
        tr.write_line(f"results: {st.json_path}")
    if config.option.ipc_show_evidence:
        for rec in run["cases"]:
            tr.write_sep("-", f"{rec.get('key')} {rec['kind']}")
            if rec.get("message"):
                tr.write_line(f"message: {rec['message']}")
            if rec.get("requirement"):
                tr.write_line(f"requirement {rec['requirement']}: {rec.get('requirement_text', '')}")
            if rec.get("process_verdict") is not None:
                tr.write_line("process verdict: " + json.dumps(rec["process_verdict"],
                                                             default=jr.jsonable))
            for key, value in (rec.get("evidence") or {}).items():
                if isinstance(value, str):
                    tr.write_line(f"{key}:")
                    for line in value.splitlines() or [""]:
                        tr.write_line(f"    {line}")
                else:
                    tr.write_line(f"{key}: " + json.dumps(value, indent=2, default=jr.jsonable))
