"""The trace evidence (harness/trace.py) as HTML: one row per step the case
took (what it did, on which handle, with what, and what came back), its
checks marked held or failed, so a reader sees the scenario the case played
and where it broke: the same steps ``repro --write`` replays."""
from __future__ import annotations

import html
import json

_SKIP = {"op", "on", "out", "result", "raised", "ok", "check", "seen", "expected", "background"}


def _brief(value, limit=160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _what(step: dict) -> str:
    if step.get("op") == "check":
        return f"check {step.get('check')}"
    return step.get("op", "?")


def _args(step: dict) -> str:
    args = {k: v for k, v in step.items() if k not in _SKIP and v not in (None, "", [], {})}
    if step.get("op") == "check":
        args = {"expected": step.get("expected"), **args}
    return ", ".join(f"{k}={_brief(v, 80)}" for k, v in args.items())


def _outcome(step: dict) -> tuple[str, str]:
    """(text, css class) of what the step gave."""
    if "raised" in step:
        return _brief(step["raised"], 400), "tr-bad"
    if step.get("op") == "check":
        if step.get("ok"):
            return "held", "tr-ok"
        seen = step.get("seen")       # a check's seen may be any value (a list of lines, a count)
        return (_brief(seen, 400) if seen not in (None, "") else "failed"), "tr-bad"
    if "result" in step:
        return _brief(step["result"]), ""
    return "", ""


def render_trace(trace: dict) -> str:
    steps = trace.get("steps") or []
    if not steps:
        return "<div class='small muted'>no steps recorded</div>"
    rows = []
    for i, step in enumerate(steps, 1):
        text, css = _outcome(step)
        on = step.get("on")
        on = ", ".join(on) if isinstance(on, list) else (on or "")
        out = f" \u2192 {step['out']}" if step.get("out") else ""
        rows.append(f"<tr class='{css}'><td class='num'>{i}</td><td><code>{html.escape(_what(step))}"
                    f"</code></td><td>{html.escape(on + out)}</td>"
                    f"<td>{html.escape(_args(step))}</td><td>{html.escape(text)}</td></tr>")
    roots = ", ".join(f"{k} = {v}" for k, v in (trace.get("roots") or {}).items())
    pids = ", ".join(f"{v} = {k}" for k, v in (trace.get("pids") or {}).items())
    return (f"<div class='small muted'>{len(steps)} steps; {html.escape(roots)}"
            f"{'; pids ' + html.escape(pids) if pids else ''}; "
            "<code>ipc-conformance repro CASE --impl M --write FILE</code> replays them</div>"
            "<table class='trace'><tr><th>#</th><th>step</th><th>on</th><th>with</th>"
            f"<th>gave</th></tr>{''.join(rows)}</table>")
