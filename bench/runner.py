"""``ipc-conformance bench``: run the benchmark families, print the table,
write bench.json and listener.png (docs/bench.md)."""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from pathlib import Path

from . import programs, report
from .context import Context, Settings

FAMILY_MODULES = {"spawn": "ipc_conformance.bench.spawn", "echo": "ipc_conformance.bench.echo", "listener": "ipc_conformance.bench.listener",
                  "cycles": "ipc_conformance.bench.cycles", "suite": "ipc_conformance.bench.suite"}


def add_arguments(p: argparse.ArgumentParser):
    p.add_argument("--quick", action="store_true",
                   help="tiny counts (seconds, not minutes): checks the command, measures little")
    p.add_argument("--out", metavar="DIR", default="reports/bench",
                   help="where bench.json and listener.png go (default reports/bench)")
    p.add_argument("--only", action="append", choices=list(FAMILY_MODULES), metavar="FAMILY",
                   help="run only this family (repeatable): " + ", ".join(FAMILY_MODULES))
    p.add_argument("--repeats", type=int, metavar="N", help="repeats per figure (default 15; quick 3)")
    p.add_argument("--cycles", type=int, metavar="N", help="spawn/destroy cycles (default 1000)")
    p.add_argument("--cycle-workers", type=int, metavar="N", help="threads doing cycles (default 2)")
    p.add_argument("--clients", metavar="N,N,...", help="listener client counts (default 1,16,256)")
    p.add_argument("--suite", choices=("full", "smoke", "none"),
                   help="conformance run to time (default full; quick: smoke)")
    p.add_argument("--suite-repeats", type=int, metavar="N", help="conformance runs of each kind (default 1)")
    p.add_argument("--suite-baseline", metavar="DIR",
                   help="an earlier checkout (git worktree add DIR COMMIT, its programs built "
                   "there): its conformance runs are timed beside this one's, round by round, "
                   "for before and after figures measured side by side")
    p.add_argument("--fail-on-miss", action="store_true", help="exit 1 when a target is missed")


def settings_from(args) -> Settings:
    s = Settings.quick_settings() if args.quick else Settings()
    for name in ("repeats", "cycles", "cycle_workers", "suite", "suite_repeats", "suite_baseline"):
        v = getattr(args, name, None)
        if v is not None:
            setattr(s, name, v)
    if args.clients:
        s.clients = tuple(int(x) for x in args.clients.split(","))
    return s


def run(args) -> int:
    s = settings_from(args)
    if s.suite_baseline:
        from .baseline import BaselineError, check_checkout
        try:
            check_checkout(Path(s.suite_baseline).resolve())
        except BaselineError as e:
            print(f"python -m bench: {e}", file=sys.stderr)
            return 2
    families = args.only or [f for f in FAMILY_MODULES if not (f == "suite" and s.suite == "none")]
    if "suite" in families and "spawn" not in families:
        families.insert(0, "spawn")       # per case is compared with the reference's spawn
    families = [f for f in FAMILY_MODULES if f in families]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = Context(settings=s, ref=programs.reference(), natives=programs.natives())
    implementations = {i.name: i.node or i.why_missing for i in (ctx.ref, *ctx.natives)}
    load_start = os.getloadavg()
    ctx.log(f"families {', '.join(families)}; load {load_start[0]:.2f}; "
            + "; ".join(f"{k} {v}" for k, v in implementations.items()))
    failed = {}
    t0 = time.monotonic()
    for fam in families:
        ctx.log(f"{fam} ...")
        try:
            importlib.import_module(FAMILY_MODULES[fam]).run(ctx)
        except Exception as e:
            failed[fam] = "".join(traceback.format_exception_only(type(e), e)).strip()
            ctx.log(f"{fam} failed:\n{traceback.format_exc()}")
            for fig in ctx.figures.values():
                if fig.family in (fam, "pipelined" if fam == "echo" else fam) and not fig.samples \
                        and fig.status == "measured":
                    fig.status = f"failed: {failed[fam]}"
    rows = report.rows(ctx)
    json_path = out / "bench.json"
    png_path = out / "listener.png"
    from .plot import listener_plot
    listener_plot(report.listener_series(rows), png_path)
    payload = {"command": "ipc-conformance bench" + (" --quick" if s.quick else ""),
               "settings": {k: getattr(s, k) for k in s.__dataclass_fields__},
               "machine": report.machine(load_start, os.getloadavg()),
               "duration_s": round(time.monotonic() - t0, 2),
               "implementations": implementations,
               "families": families, "failed": failed, "figures": rows, "details": ctx.extra,
               "plot": str(png_path)}
    report.write_json(json_path, payload)
    m = payload["machine"]
    print(f"ipc-conformance bench: {m['cpus']} CPUs, load {m['loadavg_start'][0]} at start, "
          f"{m['loadavg_end'][0]} at end; {payload['duration_s']} s"
          + ("; QUICK (counts too small to mean much)" if s.quick else ""))
    print(report.table(rows))
    for line in report.suite_breakdown_lines(ctx.extra):
        print(line)
    summary = report.targets_summary(rows)
    if summary:
        print("\ntargets:")
        print("\n".join(summary))
    for fam, err in failed.items():
        print(f"FAILED family {fam}: {err}")
    print(f"\njson: {json_path}\nplot: {png_path}")
    if failed:
        return 1
    if args.fail_on_miss and any(r["verdict"] == "MISSED" for r in rows):
        return 1
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    add_arguments(p)
    return run(p.parse_args(argv))
