"""The HTML report: one self-contained file (inline CSS and a few lines of
JS, no external resources) with

- a summary bar per implementation (tally per kind, selected/executed, exit status),
- the problems (FAIL, TIMEOUT, CRASH, UNEXPECTED-PASS, FLAKY) as links,
- the mutant matrix and the mutation score, when runs are mutants,
- the matrix: cases down, grouped by area, implementations across; every
  cell coloured by its kind and opening (``<details>``) its evidence.

``python -m conformance.report.html_report OUT.html RUN.json...`` writes one.
"""
from __future__ import annotations

import datetime
import html
import json
import os
import re
import sys
import tempfile
from pathlib import Path

from ipc_conformance.conformance.outcome import (BAD_KINDS, CATCHING_KINDS, EXIT_INCOMPLETE, KINDS,
                                                CaseRecord, Kind, Run, as_run)
from ipc_conformance.conformance.report import json_report as jr
from ipc_conformance.conformance.report.trace_html import render_trace

COLOURS = {  # kind: (background, text)
    Kind.FAIL: ("#d32f2f", "#ffffff"),
    Kind.TIMEOUT: ("#e65100", "#ffffff"),
    Kind.CRASH: ("#6a1b9a", "#ffffff"),
    Kind.UNEXPECTED_PASS: ("#c2185b", "#ffffff"),
    Kind.FLAKY: ("#f9a825", "#000000"),
    Kind.EXPECTED_FAIL: ("#f6dcdc", "#7a2323"),
    Kind.NON_STRICT: ("#eef3c2", "#4d5400"),
    Kind.INFORMATIONAL: ("#dbe9f7", "#1c4a78"),
    Kind.NOT_CLAIMED: ("#f3ecf8", "#5b3a78"),
    Kind.UNIMPLEMENTED: ("#ececec", "#6b6b6b"),
    Kind.PASS: ("#d8f0dd", "#1b5e20"),
}
# Evidence keys shown first, in this order; the rest follow alphabetically,
# and the traceback and captured output come last.
FIRST_KEYS = ("leak", "diagnostics", "stderr", "transcript", "process_tree", "processes",
              "fd_tables", "fd_table", "exit_status", "exit_statuses", "events")
LAST_KEYS = ("trace", "traceback", "setup_error", "teardown_error", "captured_stdout",
             "captured_stderr")

CSS = """
table.trace td{font-size:.85em}tr.tr-bad td{background:#fbe3e3}tr.tr-ok td:last-child{color:#1b5e20}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.2em;color:#1d1d1d;background:#fff}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:1.4em 0 .4em;border-bottom:1px solid #ccc}
h4{margin:.7em 0 .2em;font-size:.95em}
.muted{color:#666}.small{font-size:.85em}
table{border-collapse:collapse}
th,td{border:1px solid #d0d0d0;padding:3px 6px;vertical-align:top;text-align:left}
.summary td.num{text-align:right;font-variant-numeric:tabular-nums;min-width:2.5em}
.summary td.zero{color:#bbb}
.bar{display:flex;width:260px;height:14px;border:1px solid #999;margin-top:3px}
.bar span{display:block;height:100%}
.badge{display:inline-block;padding:0 .45em;border-radius:3px;font-weight:600;font-size:.85em;white-space:nowrap}
.status-ok{color:#1b5e20;font-weight:700}.status-bad{color:#b71c1c;font-weight:700}
.matrix{margin-top:.5em}
.matrix th.col{position:sticky;top:0;background:#f5f5f5;z-index:2;white-space:nowrap}
.matrix tr.area th{background:#263238;color:#fff;font-size:1em;padding:4px 8px}
.matrix td.id{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:nowrap}
.matrix td.stmt{max-width:34em}
.matrix td.cell{padding:0;min-width:9em}
.matrix td.cell>details>summary,.matrix td.cell>span{display:block;padding:3px 6px;cursor:pointer;font-weight:600;font-size:.85em;list-style:none}
.matrix td.cell>details>summary::-webkit-details-marker{display:none}
.matrix td.cell>details>summary::before{content:"\\25B8 ";font-weight:400}
.matrix td.cell>details[open]>summary::before{content:"\\25BE "}
.matrix td.bad>details>summary{font-size:.95em}
.matrix td.none{background:#fafafa;color:#bbb;text-align:center}
.ev{background:#fff;color:#1d1d1d;padding:6px 10px;border-top:1px solid #aaa;min-width:34em;max-width:78vw;font-weight:400}
.ev pre{background:#f6f8fa;border:1px solid #e1e4e8;padding:6px;max-height:26em;overflow:auto;white-space:pre-wrap;word-break:break-word;font-size:12px;margin:.2em 0}
.ev table{font-size:12px;margin:.2em 0}.ev th{background:#f3f3f3}
.ev .msg{white-space:pre-wrap;font-family:ui-monospace,Menlo,Consolas,monospace;background:#fff4f4;border-left:4px solid #d32f2f;padding:4px 8px}
.ev .msg.okmsg{background:#f4fff6;border-left-color:#2e7d32}
body.only-problems tr.case:not(.bad){display:none}
body.only-problems tr.area{display:none}
.controls{margin:.4em 0}.controls label{margin-right:1.2em}
.legend .badge{margin-right:.3em}
ul.problems{margin:.2em 0 .8em}ul.problems li{margin:.1em 0}
.mutants td.caught{color:#1b5e20;font-weight:700}.mutants td.missed{color:#b71c1c;font-weight:700}
.mutgrid th.small{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:400}
.mutgrid td.caught{background:#d8f0dd;text-align:center}.mutgrid td.missed{background:#f6dcdc}
"""

JS = """
function openFromHash(){var id=decodeURIComponent(location.hash.slice(1));if(!id)return;
var el=document.getElementById(id);if(!el)return;var d=el.querySelector('details');if(d)d.open=true;
el.scrollIntoView({block:'center'});}
window.addEventListener('hashchange',openFromHash);window.addEventListener('load',openFromHash);
document.getElementById('only-problems').addEventListener('change',function(e){
document.body.classList.toggle('only-problems',e.target.checked);});
document.getElementById('open-problems').addEventListener('click',function(){
document.querySelectorAll('td.bad details').forEach(function(d){d.open=true;});});
document.getElementById('close-all').addEventListener('click',function(){
document.querySelectorAll('td.cell details').forEach(function(d){d.open=false;});});
"""


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def badge(kind: str, text: str | None = None) -> str:
    bg, fg = COLOURS.get(kind, ("#ddd", "#000"))
    return f'<span class="badge" style="background:{bg};color:{fg}">{esc(text or kind)}</span>'


def cell_id(col: int, key: str) -> str:
    return f"c{col}-" + re.sub(r"[^A-Za-z0-9_.-]", "_", key or "")


def _is_scalar(v) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def render_value(value) -> str:
    """Evidence value -> HTML: text in <pre>, flat dicts as tables, lists of
    flat dicts as tables, anything else as pretty JSON."""
    if isinstance(value, str):
        if "\n" in value or len(value) > 100:
            return f"<pre>{esc(value)}</pre>"
        return f"<div><code>{esc(value)}</code></div>"
    if _is_scalar(value):
        return f"<div><code>{esc(json.dumps(value))}</code></div>"
    if isinstance(value, dict) and value and all(_is_scalar(v) for v in value.values()):
        rows = "".join(f"<tr><th>{esc(k)}</th><td>{_scalar_html(v)}</td></tr>"
                       for k, v in value.items())
        return f"<table>{rows}</table>"
    if (isinstance(value, list) and value and all(isinstance(r, dict) for r in value)
            and all(_is_scalar(v) for r in value for v in r.values()) and len(value) <= 200):
        cols: list[str] = []
        for r in value:
            cols += [k for k in r if k not in cols]
        head = "".join(f"<th>{esc(c)}</th>" for c in cols)
        body = "".join("<tr>" + "".join(f"<td>{_scalar_html(r.get(c))}</td>" for c in cols)
                       + "</tr>" for r in value)
        return f"<table><tr>{head}</tr>{body}</table>"
    return f"<pre>{esc(json.dumps(value, indent=2, default=jr.jsonable))}</pre>"


def _scalar_html(v) -> str:
    if isinstance(v, str) and "\n" in v:
        return f"<pre>{esc(v)}</pre>"
    return esc(v if isinstance(v, str) else json.dumps(v))


def _evidence_keys(ev: dict) -> list[str]:
    first = [k for k in FIRST_KEYS if k in ev]
    last = [k for k in LAST_KEYS if k in ev]
    middle = sorted(k for k in ev if k not in first and k not in last)
    return first + middle + last


def render_cell_body(rec: CaseRecord, label: str) -> str:
    kind = rec.kind or "?"
    parts = [f"<div class='small muted'>{esc(label)} &middot; {esc(rec.label)}"
             f" &middot; {badge(kind)} &middot; {float(rec.duration or 0):.3f}s</div>"]
    if rec.message:
        cls = "msg" if kind in BAD_KINDS or kind == Kind.EXPECTED_FAIL else "msg okmsg"
        parts.append(f"<h4>message</h4><div class='{cls}'>{esc(rec.message)}</div>")
    if rec.observed_kind:
        parts.append(f"<div class='small'>observed: {badge(rec.observed_kind)}</div>")
    if rec.expectation:
        exp = rec.expectation
        parts.append(f"<h4>manifest expectation</h4><div>{esc(exp.result)}: "
                     f"{esc(exp.reason)}</div>")
    if rec.requirement:
        layer = f" (layer: {rec.layer})" if rec.layer else ""
        parts.append(f"<h4>requirement {esc(rec.requirement)}{esc(layer)}</h4>"
                     f"<div>{esc(rec.requirement_text or '(text not found in docs/spec.md)')}</div>")
    if rec.process_verdict is not None:
        parts.append("<h4>process verdict</h4>" + render_value(rec.process_verdict))
    if rec.repeats:
        rows = "".join(f"<tr><td>{i}</td><td>{badge(r.kind or '?')}</td>"
                       f"<td>{float(r.duration or 0):.3f}s</td><td>{esc(r.message)}</td></tr>"
                       for i, r in enumerate(rec.repeats, 1))
        parts.append(f"<h4>repeats</h4><table><tr><th>#</th><th>kind</th><th>duration</th>"
                     f"<th>message</th></tr>{rows}</table>")
    ev = rec.evidence or {}
    for key in _evidence_keys(ev):
        if key == "trace" and isinstance(ev[key], dict):
            parts.append(f"<h4>trace</h4>{render_trace(ev[key])}")
            continue
        parts.append(f"<h4>{esc(key)}</h4>{render_value(ev[key])}")
    parts.append(f"<div class='small muted'>{esc(rec.nodeid)}"
                 + (f" &middot; {esc(rec.file)}:{esc(rec.line)}" if rec.file else "") + "</div>")
    return "<div class='ev'>" + "".join(parts) + "</div>"


def _summary_section(runs: list[Run], labels: list[str]) -> str:
    head = "".join(f"<th>{badge(k)}</th>" for k in KINDS)
    rows = []
    for label, run in zip(labels, runs):
        impl = run.implementation or {}
        summary = run.summary or jr.tally(run.cases)
        total = sum(summary.values()) or 1
        bar = "".join(
            f'<span style="width:{100.0 * summary.get(k, 0) / total:.2f}%;background:{COLOURS[k][0]}"'
            f' title="{esc(k)}: {summary.get(k, 0)}"></span>'
            for k in KINDS if summary.get(k, 0))
        counts = "".join(
            f"<td class='num{' zero' if not summary.get(k, 0) else ''}'>{summary.get(k, 0)}</td>"
            for k in KINDS)
        status = jr.run_exit_status(run)
        status_text = {0: "passed", 1: "FAILED", 2: "INCOMPLETE"}.get(status, f"status {status}")
        incomplete = ""
        if (run.executed or 0) < (run.selected or 0):
            incomplete = (f"<div class='status-bad small'>only {run.executed} of "
                          f"{run.selected} selected cases finished</div>")
        kind = run.kind
        rows.append(
            f"<tr><td><b>{esc(label)}</b>{' <span class=small>(mutant)</span>' if kind == 'mutant' else ''}"
            f"<div class='small muted'>{esc(impl.get('manifest', ''))}</div>"
            f"<div class='bar'>{bar}</div></td>"
            f"<td class='num'>{esc(run.selected if run.has('selected') else None)}</td>"
            f"<td class='num'>{esc(run.executed if run.has('executed') else None)}</td>"
            f"{counts}<td class='{'status-ok' if status == 0 else 'status-bad'}'>{status_text}"
            f" (exit {status}){incomplete}</td>"
            f"<td class='small'>{esc(run.started)}<br>{float(run.duration or 0):.1f}s"
            f"{_run_details(run)}</td></tr>")
    return ("<h2 id='summary'>Summary</h2><table class='summary'><tr><th>implementation</th>"
            f"<th>selected</th><th>executed</th>{head}<th>verdict</th><th>run</th></tr>"
            + "".join(rows) + "</table>")


def _run_details(run: Run) -> str:
    info = run.run or {}
    bits = []
    if info.get("seed") is not None:
        bits.append(f"seed {info['seed']}")
    if (info.get("repeat") or 1) > 1:
        bits.append(f"repeat {info['repeat']}")
    if info.get("workers"):
        bits.append(f"{info['workers']} workers")
    if info.get("probe"):
        bits.append(f"{info['probe']} probe child")
    return ("<br>" + esc(", ".join(bits))) if bits else ""


def _problems_section(runs: list[Run], labels: list[str]) -> str:
    out = []
    for col, (label, run) in enumerate(zip(labels, runs)):
        bad = jr.problems(run)
        if not bad:
            continue
        items = "".join(
            f"<li>{badge(r.kind)} <a href='#{cell_id(col, r.label)}'>"
            f"<code>{esc(r.label)}</code></a> {esc(r.statement)}"
            f"<div class='small muted'>{esc(r.first_line)}</div></li>"
            for r in bad)
        out.append(f"<h3>{esc(label)}: {len(bad)}</h3><ul class='problems'>{items}</ul>")
    if not out:
        return "<h2 id='problems'>Problems</h2><p class='status-ok'>No case failed unexpectedly.</p>"
    return "<h2 id='problems'>Problems</h2>" + "".join(out)


def _mutant_section(runs: list[Run]) -> str:
    mm = jr.mutant_matrix(runs)
    if not mm:
        return ""
    rows = []
    for m in mm["mutants"]:
        caught = "caught" if m["caught"] else "NOT CAUGHT"
        missed = (f"<div class='small status-bad'>expected but silent: {esc(', '.join(m['missed_expected']))}</div>"
                  if m["missed_expected"] else "")
        rows.append(
            f"<tr><td><b>{esc(m['label'])}</b>{'' if m['complete'] else ' <span class=status-bad>(incomplete run)</span>'}</td>"
            f"<td>{esc(m['bug'])}</td><td class='{'caught' if m['caught'] else 'missed'}'>{caught}</td>"
            f"<td><code>{esc(', '.join(m['caught_by']) or '-')}</code>{missed}</td>"
            f"<td><code>{esc(', '.join(m['expected_catchers']) or '-')}</code></td></tr>")
    score = f"{100.0 * mm['score']:.0f}%"
    return (f"<h2 id='mutants'>Mutant matrix</h2><p>Mutation score: <b>{score}</b> "
            f"({mm['caught']} of {mm['total']} mutants caught)</p>"
            "<table class='mutants'><tr><th>mutant</th><th>bug</th><th>caught</th>"
            "<th>caught by</th><th>expected catchers</th></tr>" + "".join(rows) + "</table>"
            + _mutant_grid(runs))


def _mutant_grid(runs: list[Run]) -> str:
    """Cases down (those that catch a mutant or are expected to), mutants
    across: which case caught which mutant, and the expected catchers that
    stayed silent."""
    mutant_runs = [r for r in runs if r.kind == "mutant"]
    kinds, expected = [], []
    for run in mutant_runs:
        kinds.append({(rec.key or rec.id): rec.kind for rec in run.cases})
        expected.append(set(run.implementation.get("expected_catchers") or []))
    from ipc_conformance.conformance.case import case_sort_key
    keys = sorted({k for by_key, exp in zip(kinds, expected) for k, kind in by_key.items()
                   if kind in CATCHING_KINDS or k.split("[")[0] in exp},
                  key=lambda k: (case_sort_key(k.split("[")[0]), k))
    head = "".join(f"<th class='col small'>{esc(jr.run_label(r))}</th>" for r in mutant_runs)
    body = []
    for key in keys:
        cells = []
        for by_key, exp in zip(kinds, expected):
            kind = by_key.get(key)
            if kind in CATCHING_KINDS:
                cells.append(f"<td class='caught' title='{esc(kind)}'>{esc(kind)}</td>")
            elif key.split("[")[0] in exp:
                cells.append(f"<td class='missed' title='expected to catch'>missed ({esc(kind or 'not run')})</td>")
            else:
                cells.append("<td></td>")
        body.append(f"<tr><td class='id'>{esc(key)}</td>{''.join(cells)}</tr>")
    return ("<h3>Which case catches which mutant</h3>"
            "<table class='mutants mutgrid matrix'><tr><th class='col'>case</th>" + head + "</tr>"
            + "".join(body) + "</table>")


def _matrix_section(matrix: dict) -> str:
    labels = matrix["columns"]
    head = "".join(f"<th class='col'>{esc(l)}</th>" for l in labels)
    body = []
    current_area = None
    counts: dict[str, int] = {}
    for row in matrix["rows"]:
        counts[row["area"]] = counts.get(row["area"], 0) + 1
    for row in matrix["rows"]:
        if row["area"] != current_area:
            current_area = row["area"]
            body.append(f"<tr class='area'><th colspan='{2 + len(labels)}'>{esc(current_area)}"
                        f" <span class='small'>({counts[current_area]} cases)</span></th></tr>")
        cells = []
        bad_row = False
        for col, rec in enumerate(row["cells"]):
            if rec is None:
                cells.append("<td class='cell none'><span>&mdash;</span></td>")
                continue
            kind = rec.kind or "?"
            bad = kind in BAD_KINDS
            bad_row |= bad
            bg, fg = COLOURS.get(kind, ("#ddd", "#000"))
            short = rec.first_line[:200]
            cells.append(
                f"<td class='cell{' bad' if bad else ''}' id='{cell_id(col, row['key'])}'"
                f" style='background:{bg};color:{fg}' title='{esc(kind + (': ' + short if short else ''))}'>"
                f"<details><summary>{esc(kind)}</summary>{render_cell_body(rec, labels[col])}</details></td>")
        req = row.get("requirement") or ""
        if row.get("layer"):
            req = f"{req} \u00b7 {row['layer']}"
        body.append(
            f"<tr class='case{' bad' if bad_row else ''}'><td class='id'>{esc(row['key'])}</td>"
            f"<td class='stmt'>{esc(row.get('statement') or '')}"
            f"<div class='small muted' title='{esc(row.get('requirement_text') or '')}'>{esc(req)}</div></td>"
            + "".join(cells) + "</tr>")
    legend = " ".join(badge(k) for k in KINDS)
    controls = ("<div class='controls'><label><input type='checkbox' id='only-problems'> only rows with a problem</label>"
                "<button type='button' id='open-problems'>open every problem</button> "
                "<button type='button' id='close-all'>close all</button></div>")
    return ("<h2 id='matrix'>Matrix</h2>"
            f"<div class='legend small'>{legend}</div>{controls}"
            f"<table class='matrix'><tr><th class='col'>case</th><th class='col'>statement / requirement</th>{head}</tr>"
            + "".join(body) + "</table>")


def render(runs: list[Run | dict], title: str = "IPC conformance report") -> str:
    runs = [as_run(r) for r in runs]
    matrix = jr.merge_runs(runs)
    labels = matrix["columns"]
    generated = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    # Mutants are there to fail: the verdict speaks of the implementations,
    # and of the mutants through their score.
    impls = [r for r in runs if r.kind != "mutant"]
    status = jr.exit_status(impls) if impls else EXIT_INCOMPLETE
    verdict = {0: "<span class='status-ok'>nothing failed unexpectedly</span>",
               1: "<span class='status-bad'>unexpected failures</span>",
               2: "<span class='status-bad'>incomplete run</span>"}.get(status, "")
    if len(impls) < len(runs):
        mm = jr.mutant_matrix(runs)
        verdict += (f"; mutants: {mm['caught']} of {mm['total']} caught"
                    if impls else f"mutants: {mm['caught']} of {mm['total']} caught")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{esc(title)}</title>"
        f"<style>{CSS}</style></head><body>"
        f"<h1>{esc(title)}</h1><p class='muted'>{len(runs)} run(s), {len(matrix['rows'])} case(s); "
        f"generated {esc(generated)}. Verdict: {verdict}"
        + (f" (exit status {status}). " if impls else ". ")
        + "Click a cell to see its evidence.</p>"
        + _summary_section(runs, labels)
        + _problems_section(runs, labels)
        + _mutant_section(runs)
        + _matrix_section(matrix)
        + f"<script>{JS}</script></body></html>\n")


def write(runs: list[Run | dict], path: str | Path, title: str = "IPC conformance report") -> Path:
    """Write the report atomically. Raises OSError if it cannot be written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = render(runs, title)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; reports are for everyone
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        print("usage: python -m conformance.report.html_report OUT.html RUN.json...", file=sys.stderr)
        return 2
    try:
        runs = jr.load_runs(argv[1:])
        write(runs, argv[0])
    except (jr.ReportError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
