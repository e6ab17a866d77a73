"""The benchmark's outputs: the table on stdout, bench.json, listener.png.

Every figure is printed with its median, its spread (IQR and min-max over
the repeats), the number of repeats, and its ratio to the baseline measured
in the same run; figures with a target say whether it was met.
"""
from __future__ import annotations

import json
import os
import platform

from .stats import ratio, verdict

FAMILIES = ("spawn", "echo", "echo cpu", "pipelined", "listener", "cycles", "suite")


def fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit in ("calls/s", "fds") or abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def rows(ctx) -> list[dict]:
    out = []
    for fig in ctx.figures.values():
        base = ctx.figures.get(fig.baseline) if fig.baseline else None
        r = ratio(fig, base)
        out.append({"id": fig.id, "family": fig.family, "label": fig.label, "impl": fig.impl,
                    "unit": fig.unit, "status": fig.status, "samples": [round(x, 6) for x in fig.samples],
                    **{k: round(v, 6) for k, v in fig.summary().items()},
                    "baseline": fig.baseline, "ratio": None if r is None else round(r, 4),
                    "target": fig.target, "limit": fig.limit, "target_text": fig.target_text,
                    "verdict": verdict(fig, r), "note": fig.note})
    return out


def table(rs: list[dict]) -> str:
    head = ("figure", "median", "IQR", "min-max", "n", "ratio", "vs", "target")
    lines = []
    body = []
    for fam in FAMILIES:
        fam_rows = [r for r in rs if r["family"] == fam]
        if not fam_rows:
            continue
        body.append(None)
        for r in fam_rows:
            if r["status"] != "measured" or not r["samples"]:
                body.append((r["label"], r["status"], "", "", "", "", "", ""))
                continue
            u = r["unit"]
            tgt = ""
            if r["verdict"]:
                tgt = f"{r['verdict']} ({r['target_text']})"
            body.append((
                r["label"], f"{fmt(r['median'], u)} {u}",
                f"{fmt(r['q1'], u)}-{fmt(r['q3'], u)}", f"{fmt(r['min'], u)}-{fmt(r['max'], u)}",
                str(r["n"]), "-" if r["ratio"] is None else f"{r['ratio']:.2f}x",
                r["baseline"] or "", tgt))
    measured = [b for b in body if b and b[2]]     # status rows may overflow their column
    widths = [max(len(head[i]), *(len(b[i]) for b in measured or [head])) for i in range(len(head))]
    widths[0] = min(widths[0], 62)

    def line(cells):
        if not cells[2]:
            return f"{cells[0][:widths[0]].ljust(widths[0])}  {cells[1]}"
        return "  ".join(c[:widths[i]].ljust(widths[i]) if i in (0, 6, 7) else c.rjust(widths[i])
                         for i, c in enumerate(cells)).rstrip()
    lines.append(line(head))
    for b in body:
        lines.append("-" * (sum(widths) + 2 * (len(widths) - 1)) if b is None else line(b))
    return "\n".join(lines)


BREAKDOWN_COLUMNS = (("duration_s", "case s"), ("waiting_s", "wait"), ("harness_python_s", "py"),
                     ("implementation_cpu_s", "impl cpu"), ("helper_cpu_s", "helper cpu"))


def suite_breakdown_lines(extra: dict) -> list[str]:
    """Where the suite's time went (conformance/timing.py), per run of the
    suite family: the totals and the ten most expensive cases."""
    out = []
    for run in (extra.get("suite") or {}).get("runs", []):
        tb = run.get("time_breakdown")
        if not tb:
            continue
        out.append(f"\nwhere the time went: {run['manifest']}, "
                   f"{'-n ' + str(run['workers']) if run.get('workers') else 'serial'}, "
                   f"{run['wall_s']} s wall, {tb['cases']} cases (seconds)")
        out.append(f"  {'total':<44}" + "".join(f"{h:>11}" for _, h in BREAKDOWN_COLUMNS))
        out.append(f"  {'':<44}" + "".join(f"{tb.get(k, 0):>11.2f}" for k, _ in BREAKDOWN_COLUMNS))
        for rec in run.get("most_expensive", []):
            out.append(f"  {str(rec['case'])[:44]:<44}"
                       + "".join(f"{float(rec.get(k) or 0):>11.2f}" for k, _ in BREAKDOWN_COLUMNS))
    return out


def targets_summary(rs: list[dict]) -> list[str]:
    return [f"{r['verdict']:>6}  {r['label']}: {r['target_text']}"
            + (f" (ratio {r['ratio']:.2f}x)" if r["ratio"] is not None and r["limit"] is None
               else f" (median {fmt(r['median'], r['unit'])} {r['unit']})")
            for r in rs if r["verdict"]]


def machine(load_start, load_end) -> dict:
    try:
        import capnp
        pycapnp = getattr(capnp, "__version__", "?")
    except Exception:
        pycapnp = None
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "pycapnp": pycapnp, "platform": platform.platform(),
            "loadavg_start": [round(x, 2) for x in load_start],
            "loadavg_end": [round(x, 2) for x in load_end]}


def listener_series(rs: list[dict]) -> list[dict]:
    series = {}
    for r in rs:
        parts = r["id"].split(".")
        if r["family"] != "listener" or len(parts) != 4 or parts[2] not in ("latency", "cost"):
            continue
        if r["status"] != "measured" or not r["samples"]:
            continue
        key = (parts[1], parts[2])
        series.setdefault(key, {"name": parts[1].upper(), "kind": parts[2], "points": []})
        series[key]["points"].append((int(parts[3]), r["median"], r["q1"], r["q3"]))
    return list(series.values())


def write_json(path, payload: dict):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(payload, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)
