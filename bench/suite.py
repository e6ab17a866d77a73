"""The full conformance run against the reference: wall time serially and
with ``-n 2``, and what the harness costs per case beside the bare cost of
the implementation's spawn; and the same run (``-n 2``) against each compiled
implementation (cpp, libmultiprocess), whose children start in milliseconds:
what is left there is the harness.

Each run is the real command (``ipc-conformance run``) in a subprocess, with
its report in a temporary directory; the per-case durations come from the
run's JSON. Per case = the sum of the case durations / cases (serial run);
its ratio to ``spawn.ref`` says how many child spawns each case costs. Each
case's ``time_breakdown`` (conformance/timing.py) splits that per case into
waiting on events, the harness's own Python, and the CPU of the
implementation's and of the harness's helper processes; the details name the
ten most expensive cases of each run with their breakdown.
"""
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ipc_conformance.conformance import timing

from .context import Context
from .programs import REPO

MANIFEST = REPO / "conformance" / "manifests" / "reference.toml"


def run(ctx: Context):
    s = ctx.settings
    f = ctx.figure
    what = "smoke cases" if s.suite == "smoke" else "full suite"
    serial = f("suite.serial", "suite", f"conformance run, {what}, serial", "s")
    par = f("suite.n2", "suite", f"conformance run, {what}, -n 2", "s", baseline="suite.serial",
            limit=20.0 if s.suite == "full" else None,
            target_text="<= 20 s wall" if s.suite == "full" else "")
    per_case = f("suite.per_case", "suite", "per case (serial): mean case duration", "ms",
                 baseline="spawn.ref")
    parts = {k: f(f"suite.time.{k}", "suite", f"per case (serial): {text}", "ms")
             for k, text in (("waiting", "waiting on events (harness waits)"),
                             ("harness_python", "harness's own Python (duration - waits)"),
                             ("implementation_cpu", "CPU of the implementation's processes"),
                             ("helper_cpu", "CPU of the harness's helper processes"))}
    overhead = f("suite.session", "suite", "per run: wall minus the cases (pytest start, collection, report)",
                 "s", baseline="suite.serial")
    runs = []

    def one(workers, fig, manifest=MANIFEST):
        def go():
            wall, data = _run_suite(workers, s.suite, manifest)
            fig.add(wall)
            runs.append({"manifest": manifest.name, "workers": workers, "wall_s": round(wall, 3),
                         **data})
            if workers is None:
                if data["cases"]:
                    per_case.add(data["case_seconds"] / data["cases"] * 1e3)
                    tb = data["time_breakdown"]
                    for k, part in parts.items():
                        part.add(tb[f"{k}_s"] / data["cases"] * 1e3)
                overhead.add(max(0.0, wall - data["case_seconds"]))
        return go
    tasks = {"serial": one(None, serial), "n2": one(2, par)}
    figs = {"serial": [serial, per_case, *parts.values(), overhead], "n2": par}
    # The same suite against each compiled implementation: the harness's cost
    # with children that start in milliseconds instead of an interpreter's time.
    for impl in ctx.natives:
        figs[impl.name] = f(f"suite.{impl.name}.n2", "suite", f"conformance run, {what}, -n 2, "
                            f"against {impl.name}", "s", impl=impl.name, baseline="suite.n2")
        if impl.built:
            tasks[impl.name] = one(2, figs[impl.name], impl.manifest_path)
        else:
            ctx.not_built(figs[impl.name], impl)
    ctx.interleave(tasks, figs, max(1, s.suite_repeats))
    ctx.extra["suite"] = {"scope": s.suite, "runs": runs}


def _run_suite(workers, scope, manifest=MANIFEST):
    with tempfile.TemporaryDirectory(prefix="ipcb-suite-") as tmp:
        cmd = [sys.executable, "-m", "ipc_conformance.conformance.cli", "run", "--impl", str(manifest),
               "--report", tmp]
        if workers:
            cmd += ["-n", str(workers)]
        if scope == "smoke":
            cmd += ["-k", "smoke"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
        wall = time.perf_counter() - t0
        results = list(Path(tmp).glob("*.json"))
        if not results:
            raise RuntimeError(f"conformance run wrote no JSON (exit {proc.returncode}): "
                               + proc.stdout[-2000:])
        data = json.loads(results[0].read_text())
    cases = data.get("cases", [])
    kinds = {}
    for rec in cases:
        kinds[rec.get("kind")] = kinds.get(rec.get("kind"), 0) + 1
    slowest = sorted(cases, key=lambda r: -float(r.get("duration") or 0))[:10]
    breakdowns = [(r.get("evidence") or {}).get("time_breakdown") for r in cases]
    return wall, {"exit_status": proc.returncode, "cases": len(cases), "kinds": kinds,
                  "case_seconds": sum(float(r.get("duration") or 0) for r in cases),
                  "slowest": [[r.get("key") or r.get("nodeid"), round(float(r.get("duration") or 0), 3)]
                              for r in slowest],
                  # conformance.timing: where the cases' time went, in total and
                  # for the ten most expensive cases
                  "time_breakdown": timing.total(breakdowns),
                  "most_expensive": [
                      {"case": r.get("key") or r.get("nodeid"),
                       **{k: v for k, v in ((r.get("evidence") or {}).get("time_breakdown") or {}).items()
                          if k != "processes"}} for r in slowest]}
