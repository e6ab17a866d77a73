"""The record of one case: from the outcome of its three phases (setup,
call, teardown), its evidence and the manifest's expectation to one
``outcome.CaseRecord`` of docs/report.md. The pytest plugin gathers the
phases and calls ``build_record`` at teardown.

How an exception becomes a kind (``classify_exception``):

- a skip is UNIMPLEMENTED, an xfail EXPECTED-FAIL;
- a harness exception (``harness.errors.HarnessError``) is its class's
  ``kind``: ``WaitTimeout`` TIMEOUT, ``ImplementationCrashed`` CRASH, a
  ``Leak`` FAIL (reported as ``leak: ...`` from teardown);
- pytest-timeout's failure ("Timeout (>...") is TIMEOUT;
- a plain ``TimeoutError`` (a socket's timeout, say) is TIMEOUT when it was
  raised through the harness: a frame of its traceback is code of a module
  of the harness package (told by the frame's module name, never by a file
  path), or its class is defined there; raised by the case's own code it is
  a FAIL, as any other exception.
"""
from __future__ import annotations

import re

import pytest

from ipc_conformance.conformance.case import layer_of, load_requirements, statement_of
from ipc_conformance.conformance.evidence import Evidence
from ipc_conformance.conformance.outcome import (CATCHING_KINDS, PASSING_KINDS, CaseRecord,
                                                ExpectationNote, Kind)
from ipc_conformance.conformance.selection import not_claimed_reason
from ipc_conformance.harness.errors import HarnessError, Leak

REPEAT_FIXTURE = "_ipc_repeat"
MAX_TEXT = 100_000     # longest evidence string kept in the JSON
MAX_TRACEBACK = 20_000
HARNESS_PACKAGE = HarnessError.__module__.rpartition(".")[0]    # ipc_conformance.harness


# ---------------------------------------------------------------- node IDs

_REPEAT_ID = re.compile(r"^ipc-repeat-\d+(?:-|$)|-ipc-repeat-\d+(?=-|$)")


def base_nodeid(nodeid: str) -> str:
    """The node ID without the --ipc-repeat parameter."""
    m = re.match(r"^(.*)\[(.*)\]$", nodeid, re.S)
    if not m:
        return nodeid
    inner = _REPEAT_ID.sub("", m.group(2))
    return m.group(1) + (f"[{inner}]" if inner else "")


# ---------------------------------------------------------------- exceptions

def _in_harness(module_name) -> bool:
    name = str(module_name or "")
    return name == HARNESS_PACKAGE or name.startswith(HARNESS_PACKAGE + ".")


def _from_harness(exc) -> bool:
    if _in_harness(type(exc).__module__):
        return True
    tb = exc.__traceback__
    while tb is not None:
        if _in_harness(tb.tb_frame.f_globals.get("__name__")):
            return True
        tb = tb.tb_next
    return False


def _is_pytest_timeout(exc) -> bool:
    return isinstance(exc, pytest.fail.Exception) and str(exc).startswith("Timeout (>")


def is_leak(exc) -> bool:
    """A teardown failure raised by the harness's leak check."""
    return isinstance(exc, Leak)


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


def classify_exception(excinfo) -> tuple[Kind, str]:
    """(kind, short message) for an exception raised by a case or fixture
    (the rules are in the module docstring)."""
    exc = excinfo.value
    msg = _message(excinfo)
    if isinstance(exc, pytest.skip.Exception):
        return Kind.UNIMPLEMENTED, msg
    if isinstance(exc, pytest.xfail.Exception):
        return Kind.EXPECTED_FAIL, msg
    if isinstance(exc, HarnessError):
        return Kind(exc.kind), msg
    if _is_pytest_timeout(exc) or (isinstance(exc, TimeoutError) and _from_harness(exc)):
        return Kind.TIMEOUT, msg
    return Kind.FAIL, msg


# ---------------------------------------------------------------- evidence

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


# ---------------------------------------------------------------- the record

def build_record(item, fields: dict, phases: dict, ev_obj: Evidence | None,
                 manifest) -> CaseRecord:
    """The record of ``item`` (a case: its ``@case`` fields), from its
    ``phases`` (``{"setup"|"call"|"teardown": {"excinfo", "duration",
    "rep"}}``), its evidence and the manifest (None when it did not load)."""
    ev_obj = ev_obj or Evidence()
    ev = dict(ev_obj.data)
    setup, call, teardown = phases.get("setup"), phases.get("call"), phases.get("teardown")
    kind, message, failing = Kind.PASS, "", None
    if setup and setup["excinfo"] is not None:
        kind, message = classify_exception(setup["excinfo"])
        failing = setup
        if kind not in (Kind.UNIMPLEMENTED, Kind.EXPECTED_FAIL):
            ev.setdefault("setup_error", _phase_text(setup))
            message = f"setup: {message}"
    elif call and call["excinfo"] is not None:
        kind, message = classify_exception(call["excinfo"])
        failing = call
    elif call is None:
        kind, message = Kind.FAIL, "the case did not run"
    elif ev_obj.informational_reasons:
        kind, message = Kind.INFORMATIONAL, "; ".join(ev_obj.informational_reasons)
    elif ev_obj.non_strict_reasons:
        kind, message = Kind.NON_STRICT, "; ".join(ev_obj.non_strict_reasons)
    if failing is not None:
        _exception_evidence(failing["excinfo"].value, ev)
        if kind not in (Kind.UNIMPLEMENTED, Kind.EXPECTED_FAIL):
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
        if kind in PASSING_KINDS or kind == Kind.UNIMPLEMENTED:
            kind, message = t_kind, t_msg
    if kind not in PASSING_KINDS and kind != Kind.UNIMPLEMENTED:
        for name, attr in (("captured_stdout", "capstdout"), ("captured_stderr", "capstderr")):
            text = "".join(getattr(p["rep"], attr, "") for p in phases.values())
            if text.strip():
                ev.setdefault(name, text[-MAX_TRACEBACK:])
    for reason in ev_obj.non_strict_reasons:
        ev.setdefault("non_strict", reason)
    for reason in ev_obj.informational_reasons:
        ev.setdefault("informational", reason)

    case_id = fields.get("id")
    expectation = None
    exp = (getattr(manifest, "expectations", {}) or {}).get(case_id) if manifest else None
    observed = kind
    if exp is not None and exp.result in ("fail", "non-strict"):
        expectation = ExpectationNote.new(result=exp.result, reason=exp.reason,
                                          intermittent=True if getattr(exp, "intermittent", False) else None)
        if kind in CATCHING_KINDS:
            kind = Kind.EXPECTED_FAIL if exp.result == "fail" else Kind.NON_STRICT
            message = f"expected ({exp.reason}); saw {observed}: {message}"
        elif kind == Kind.NON_STRICT and exp.result == "non-strict":
            message = f"expected ({exp.reason}); saw {observed}: {message}"
        elif kind in PASSING_KINDS and getattr(exp, "intermittent", False):
            message = (f"passed this time; the manifest expects {exp.result!r} in some runs"
                       f" ({exp.reason})")
        elif kind in PASSING_KINDS:
            kind = Kind.UNEXPECTED_PASS
            message = (f"stale expectation: the manifest expects {exp.result!r}"
                       f" ({exp.reason}) but the case passed")
    elif exp is not None:
        expectation = ExpectationNote.new(result=exp.result, reason=exp.reason)
    not_claimed = not_claimed_reason(manifest, fields.get("requirement")) if manifest else None
    if not_claimed is not None:
        # Observed, kept and shown, never judged (conformance/selection.py).
        seen = f"; observed {observed}" + (f": {message}" if message else "")
        kind, message = Kind.NOT_CLAIMED, f"{not_claimed}{seen}"

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
    return CaseRecord.new(
        id=case_id,
        key=f"{case_id}[{param}]" if param else case_id,
        param=param or None,
        requirement=requirement,
        requirement_text=load_requirements().get(requirement, ""),
        layer=layer_of(requirement) or "",
        statement=statement_of(func) if func is not None else "",
        area=(case_id or "?").split("-")[0],
        kind=kind,
        duration=round(sum((p.get("duration") or 0.0) for p in phases.values()), 6),
        message=message,
        nodeid=item.nodeid,
        base_nodeid=base_nodeid(item.nodeid),
        file=file,
        line=line,
        roles=tuple(fields.get("roles", ())),
        needs=tuple(fields.get("needs", ())),
        smoke=bool(fields.get("smoke")),
        repeat=repeat_index,
        executed=True,
        evidence=_clip(ev),
        observed_kind=observed if observed != kind else None,
        process_verdict=_clip(verdict) if verdict is not None else None,
        expectation=expectation,
    )


def worker_crash_record(report) -> CaseRecord:
    """The record of a case whose xdist worker died running it (CRASH)."""
    return CaseRecord.from_json({
        "id": None, "key": base_nodeid(report.nodeid), "nodeid": report.nodeid,
        "base_nodeid": base_nodeid(report.nodeid), "kind": Kind.CRASH,
        "message": _short(str(report.longrepr)), "duration": 0.0, "executed": False,
        "area": "?", "statement": "", "requirement": "", "requirement_text": "",
        "evidence": {"worker_crash": str(report.longrepr)}})
