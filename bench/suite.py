"""The full conformance run against the reference: wall time serially and
with ``-n 2``, and what the harness costs per case beside the bare cost of
the implementation's spawn; the same run (``-n 2``) against each compiled
implementation (cpp, libmultiprocess), whose children start in milliseconds:
what is left there is the harness; and the README's first command, every
shipped manifest in one ``run -n 2``, with the implementations run at once
as the cores allow (conformance.runner.concurrent_jobs).

Each run is ``conformance.runner.run_suite``, the function behind
``ipc-conformance run``, with its report in a temporary directory and its
slowest-first order from a durations folder of the bench's own (so the
bench neither reads nor rewrites the user's reports/.durations). Per case =
the sum of the case durations / cases (serial run); its ratio to
``spawn.ref`` says how many child spawns each case costs. Each case's
``time_breakdown`` (conformance/timing.py) splits that per case into waiting
on events, the harness's own Python, and the CPU of the implementation's and
of the harness's helper processes; the details name the ten most expensive
cases of each run with their breakdown.

Targets (issue 15, 2 cores): the reference with ``-n 2`` in at most 20 s,
each compiled implementation in at most 8 s, the README's command in at most
45 s.
"""
import tempfile
import time
from pathlib import Path

from ipc_conformance.conformance import timing

from .context import Context
from .programs import REPO

MANIFEST = REPO / "conformance" / "manifests" / "reference.toml"
README_MANIFESTS = [REPO / "conformance" / "manifests" / f"{name}.toml"
                    for name in ("reference", "cpp", "libmultiprocess")]
NATIVE_LIMIT_S = 8.0
README_LIMIT_S = 45.0


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

    def one(workers, fig, manifest=MANIFEST, env=()):
        def go():
            wall, data = _run_suite(workers, s.suite, manifest, durations.name, env)
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
    # The same run with the Python probe child (the suite before the native
    # one became the default): the probe's share of the cost, side by side.
    pyprobe = f("suite.n2.python_probe", "suite", f"conformance run, {what}, -n 2, Python probe "
                "child (IPC_PROBE=python)", "s", baseline="suite.n2")
    tasks = {"serial": one(None, serial), "n2": one(2, par),
             "n2.python_probe": one(2, pyprobe, env=(("IPC_PROBE", "python"),))}
    figs = {"serial": [serial, per_case, *parts.values(), overhead], "n2": par,
            "n2.python_probe": pyprobe}
    # The same suite against each compiled implementation: the harness's cost
    # with children that start in milliseconds instead of an interpreter's time.
    full = s.suite == "full"
    durations = tempfile.TemporaryDirectory(prefix="ipcb-durations-")
    for impl in ctx.natives:
        figs[impl.name] = f(f"suite.{impl.name}.n2", "suite", f"conformance run, {what}, -n 2, "
                            f"against {impl.name}", "s", impl=impl.name, baseline="suite.n2",
                            limit=NATIVE_LIMIT_S if full else None,
                            target_text=f"<= {NATIVE_LIMIT_S:g} s wall" if full else "")
        if impl.built:
            tasks[impl.name] = one(2, figs[impl.name], impl.manifest_path)
        else:
            ctx.not_built(figs[impl.name], impl)
    readme = f("suite.readme", "suite", f"the README's command: {what}, -n 2, "
               + ", ".join(m.stem for m in README_MANIFESTS), "s", baseline="suite.n2",
               limit=README_LIMIT_S if full else None,
               target_text=f"<= {README_LIMIT_S:g} s wall" if full else "")
    missing = [impl for impl in ctx.natives if not impl.built]
    if missing:
        ctx.not_built(readme, missing[0])
    else:
        def readme_go():
            wall, data = _run_suite(2, s.suite, README_MANIFESTS, durations.name)
            readme.add(wall)
            runs.append({"manifest": "+".join(m.stem for m in README_MANIFESTS), "workers": 2,
                         "wall_s": round(wall, 3), **data})
        tasks["readme"] = readme_go
        figs["readme"] = readme
    if s.suite_baseline:
        _add_baseline(ctx, tasks, figs, runs, what, figs_by_impl={
            "reference": par, **{impl.name: figs[impl.name] for impl in ctx.natives}})
    try:
        ctx.interleave(tasks, figs, max(1, s.suite_repeats))
    finally:
        durations.cleanup()
    ctx.extra["suite"] = {"scope": s.suite, "runs": runs}


def _add_baseline(ctx: Context, tasks, figs, runs, what, figs_by_impl):
    """A task per implementation running the baseline checkout's own suite
    with ``-n 2`` (bench/baseline.py), interleaved with this checkout's runs;
    each figure is divided by this checkout's figure for the same
    implementation, so its ratio reads "before / after"."""
    from . import baseline
    checkout = Path(ctx.settings.suite_baseline).resolve()
    where = baseline.describe(checkout)
    scope = ctx.settings.suite
    for name, current in figs_by_impl.items():
        fig = ctx.figure(f"suite.baseline.{name}.n2", "suite", f"before: the baseline's conformance "
                         f"run, its {what}, -n 2, against {name} ({where})", "s", impl=name,
                         baseline=current.id)
        why = baseline.unbuilt(checkout, name)
        if why:
            fig.status = why
            continue

        def go(name=name, fig=fig):
            wall, data = baseline.run_once(checkout, name, smoke=scope == "smoke")
            fig.add(wall)
            runs.append({"manifest": f"baseline:{name}", "workers": 2, "wall_s": round(wall, 3),
                         "checkout": where, **data})
        tasks[f"baseline.{name}"] = go
        figs[f"baseline.{name}"] = fig


def _run_suite(workers, scope, manifests, durations_dir=None, env=()):
    """One run_suite call, timed: (wall seconds, facts from its records)."""
    from ipc_conformance.conformance.runner import RunOptions, run_suite
    manifests = manifests if isinstance(manifests, list) else [manifests]
    with tempfile.TemporaryDirectory(prefix="ipcb-suite-") as tmp:
        options = RunOptions(report_dir=Path(tmp), workers=workers,
                             keyword="smoke" if scope == "smoke" else None,
                             durations_dir=Path(durations_dir) if durations_dir else None,
                             capture=True, env=tuple(env))
        t0 = time.perf_counter()
        result = run_suite([str(m) for m in manifests], options)
        wall = time.perf_counter() - t0
    if result.stopped:
        raise RuntimeError(f"conformance run did not start (exit {result.status}): {result.stopped}")
    missing = [r for r in result.runs if r.run is None]
    if missing:
        raise RuntimeError(f"conformance run wrote no JSON for {missing[0].stem} "
                           f"(exit {missing[0].returncode}): " + (missing[0].output or "")[-2000:])
    cases = [rec for r in result.runs for rec in r.run.cases]
    kinds: dict[str, int] = {}
    for rec in cases:
        kinds[str(rec.kind)] = kinds.get(str(rec.kind), 0) + 1
    slowest = sorted(cases, key=lambda r: -float(r.duration or 0))[:10]
    breakdowns = [rec.evidence.get("time_breakdown") for rec in cases]
    return wall, {"exit_status": result.status, "cases": len(cases), "kinds": kinds,
                  "probe": sorted({str(r.run.run.get("probe")) for r in result.runs}),
                  "jobs": _jobs(workers, len(manifests)),
                  "case_seconds": sum(float(r.duration or 0) for r in cases),
                  "slowest": [[r.key, round(float(r.duration or 0), 3)] for r in slowest],
                  # conformance.timing: where the cases' time went, in total and
                  # for the ten most expensive cases
                  "time_breakdown": timing.total(breakdowns),
                  "most_expensive": [
                      {"case": r.key, **{k: v for k, v in (r.evidence.get("time_breakdown") or {}).items()
                                         if k != "processes"}} for r in slowest]}


def _jobs(workers, implementations):
    from ipc_conformance.conformance.runner import RunOptions, concurrent_jobs
    return concurrent_jobs(RunOptions(workers=workers), implementations)
