"""The trace of one case: the steps it took against the implementation, in
order, recorded at the harness's API (the handles, the shell driver, the
pycapnp peer, the process tracker and the verifiers), never in the cases.

Why: a failure found by the suite must be handed to someone who does not
run the suite. ``conformance.repro`` turns a case's trace, read back from
its JSON record (evidence key ``trace``), into a standalone script that
replays the same steps and makes the same checks. So each step says what
was done in replayable terms (argv, lines sent, calls, signals, paths), and
each check says what it expected, not only what it saw.

A step is a JSON-able dict: ``{"op": "shell.command", "on": "sh1", "line":
"probe 1", "result": {...}}``. Handles are named (``sh1``, ``node1``,
``client2``); pids the implementation reported or the suite started are
named too (``P1``) so a replay can put its own pids in their place, and the
case's temporary folders are recorded as roots a replay maps to its own.

One trace is active per case (``activate``/``deactivate``, from the
``evidence`` wiring in conformance/conftest.py); with none active, recording
is a no-op, so harness code used outside a case (tests, bench) is unchanged.
Signals a case sends itself with ``os.kill`` are seen through an audit hook
(``sys.addaudithook``) filtered to calls made from case files.
"""
from __future__ import annotations

import os
import sys
import threading

_lock = threading.Lock()
_current: Trace | None = None
_hook_installed = False
_CASES_DIR = os.sep + os.path.join("conformance", "cases") + os.sep


class Trace:
    """The steps of one case, in the order they were taken."""

    def __init__(self):
        self.steps: list[dict] = []
        self.pids: dict[int, str] = {}        # pid -> its name in the trace (P1, P2...)
        self.roots: dict[str, str] = {}       # symbolic name -> a folder of the case
        self._counts: dict[str, int] = {}

    def name(self, prefix: str) -> str:
        """A fresh handle name: sh1, node1, client1, client2..."""
        with _lock:
            n = self._counts[prefix] = self._counts.get(prefix, 0) + 1
        return f"{prefix}{n}"

    def add(self, op: str, **fields) -> dict:
        step = {"op": op, **{k: _jsonable(v) for k, v in fields.items()}}
        with _lock:
            self.steps.append(step)
        return step

    def pid(self, pid: int) -> str:
        """The name of ``pid`` in this trace (given at its first sight)."""
        with _lock:
            if pid not in self.pids:
                self.pids[int(pid)] = f"P{len(self.pids) + 1}"
            return self.pids[int(pid)]

    def root(self, name: str, path: str) -> None:
        self.roots.setdefault(name, path)

    def to_json(self) -> dict:
        return {"version": 1, "roots": dict(self.roots),
                "pids": {str(k): v for k, v in self.pids.items()},
                "steps": list(self.steps)}


def _jsonable(v):
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_jsonable(x) for x in (sorted(v) if isinstance(v, (set, frozenset)) else v)]
    if isinstance(v, bytes):
        return {"bytes_hex": v.hex()}
    return str(v)


def current() -> Trace | None:
    return _current


def activate(trace: Trace) -> None:
    global _current
    _install_hook()
    _current = trace


def deactivate() -> Trace | None:
    global _current
    trace, _current = _current, None
    return trace


def record(op: str, **fields) -> dict | None:
    """Add a step to the active trace (None when no case is tracing)."""
    t = _current
    return t.add(op, **fields) if t is not None else None


def name(prefix: str) -> str | None:
    t = _current
    return t.name(prefix) if t is not None else None


def pid(value) -> str | None:
    t = _current
    return t.pid(int(value)) if t is not None and value is not None else None


def root(symbol: str, path: str) -> None:
    t = _current
    if t is not None and path:
        t.root(symbol, path)


def check(name: str, ok: bool, *, expected, seen, requirement_of=None, **args) -> None:
    """A check a verifier or handle made: what it looked at (``args``), what it
    expected and what it saw; ``ok`` is whether it held."""
    record("check", check=name, ok=bool(ok), expected=expected, seen=seen, **args)


def _audit(event, args):
    if _current is None or event != "os.kill" or not args[1]:
        return                          # signal 0 only asks whether a pid exists
    if _CASES_DIR not in sys._getframe(1).f_code.co_filename:
        return                          # only what a case sends itself, not its libraries
    target, sig = args
    record("kill", pid=pid(target), sig=int(sig))


def _install_hook():
    global _hook_installed
    if not _hook_installed:
        sys.addaudithook(_audit)
        _hook_installed = True


class Sourced(list):
    """A list (of shell events) that remembers where it came from, so a
    check made on it can be replayed: ``{"answer": "a3"}`` (the events of
    one command's answer) or ``{"events": "sh1"}`` (every event so far)."""

    def __init__(self, items=(), source=None):
        super().__init__(items)
        self.source = source


def source_of(value):
    return getattr(value, "source", None)


def call(op: str, fn, *args, result=lambda r: r, **fields):
    """``fn(*args)``, recorded as step ``op`` with its result (``result``
    maps it to what is kept) or the exception it raised."""
    step = record(op, **fields)
    if step is not None and threading.current_thread() is not threading.main_thread():
        step["background"] = True        # sent from a thread: answered later
    try:
        value = fn(*args)
    except BaseException as e:
        if step is not None:
            step["raised"] = f"{type(e).__name__}: {e}"[:600]
        raise
    if step is not None:
        step["result"] = _jsonable(result(value))
    return value


def step_giving(value) -> str | None:
    """The name of the latest step whose result is ``value`` (its ``out``,
    else its index as ``#N``): how a check on a plain value says which step
    it looked at."""
    t = _current
    if t is None:
        return None
    want = _jsonable(value)
    with _lock:
        for i in range(len(t.steps) - 1, -1, -1):
            step = t.steps[i]
            if step.get("op") != "check" and "result" in step and step["result"] == want:
                return step.get("out") or f"#{i}"
    return None


def step_giving_item(value) -> str | None:
    """``#N[k]`` (or ``out[k]``): the latest step whose result is a list with
    ``value`` at index ``k`` (a check on one part of what a step gave)."""
    t = _current
    if t is None:
        return None
    want = _jsonable(value)
    with _lock:
        for i in range(len(t.steps) - 1, -1, -1):
            result = t.steps[i].get("result")
            if t.steps[i].get("op") != "check" and isinstance(result, list) and want in result:
                return f"{t.steps[i].get('out') or f'#{i}'}[{result.index(want)}]"
    return None
