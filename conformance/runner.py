"""The runner API: run the suite against manifests and get the results.

``run_suite(manifests, options)`` is what ``run``, ``smoke``, ``repro``,
``mutants`` and ``bench`` call; it loads and checks every manifest, runs
pytest once per implementation (``python -m pytest conformance/cases
--ipc-impl MANIFEST ...``, in a subprocess; several at once when the cores
allow, see ``RunOptions.jobs``), reads the JSON results, writes the HTML
report and computes the exit status of docs/report.md. It prints only the
pytest command lines, their output and notes; what to print of the results
is the caller's (``summary_lines``).

This module exists so that the command line only parses and prints, and so
that other commands run the suite without re-entering the command line.
"""
from __future__ import annotations

import dataclasses
import re
import shlex
import subprocess
import sys
from pathlib import Path

from ipc_conformance.conformance.case import CASES_DIR, REPO_ROOT
from ipc_conformance.conformance.cpu_load import cpu_load
from ipc_conformance.conformance.outcome import (EXIT_FAILED, EXIT_INCOMPLETE, EXIT_MANIFEST, EXIT_OK,
                                                EXIT_UNRUNNABLE, Run)
from ipc_conformance.conformance.report import html_report
from ipc_conformance.conformance.report import json_report as jr

DEFAULT_MANIFEST = REPO_ROOT / "conformance" / "manifests" / "reference.toml"
DEFAULT_REPORT_DIR = Path("reports") / "latest"
# The last runs' case durations per implementation (--ipc-durations): the
# next run starts the slowest cases first.
DEFAULT_DURATIONS_DIR = Path("reports") / ".durations"


class ManifestProblem(Exception):
    """A manifest that cannot be used (exit status 3)."""


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """What ``ipc-conformance run`` takes besides the manifests."""
    report_dir: Path = DEFAULT_REPORT_DIR
    cases_dir: Path = CASES_DIR
    workers: int | None = None
    keyword: str | None = None
    repeat: int | None = None
    random_order: bool = False
    seed: int | None = None
    case_ids: tuple[str, ...] = ()
    timeout: float | None = None
    cpu_load: int = 0
    forbid: tuple[str, ...] = ()
    pytest_args: tuple[str, ...] = ()
    durations_dir: Path | None = DEFAULT_DURATIONS_DIR     # None: collection order
    marker: str | None = None          # pytest -m (smoke: "smoke")
    verbose: bool = False              # pytest -vv -s (repro)
    show_evidence: bool = False        # print each case's evidence (repro)
    capture: bool = False              # keep pytest's output in ImplementationRun.output, unprinted
    preflight: bool = True             # check each shell sees its staged argv0 first
    write_html: bool = True
    # Implementations run at once. None: as many as fit in the cores, each
    # taking ``workers`` of them (1 without xdist), so that the total stays
    # within the machine; 1: one after another, with pytest's output live.
    jobs: int | None = None
    # Environment variables set for the runs (bench: IPC_PROBE=python beside
    # the default, side by side in one process); the rest is inherited.
    env: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass
class ImplementationRun:
    """One implementation's run: its report stem, JSON path and results
    (None when pytest wrote none)."""
    stem: str
    json_path: Path
    run: Run | None
    returncode: int | None = None
    output: str | None = None          # pytest's output when it was captured


@dataclasses.dataclass
class SuiteRun:
    """The outcome of ``run_suite``: the exit status, and either why the run
    stopped before it started (``stopped``) or the runs and the report."""
    status: int
    stopped: str | None = None
    runs: list[ImplementationRun] = dataclasses.field(default_factory=list)
    report_path: Path | None = None
    report_written: bool = False


# A seam for the project's own tests of the plugin and the reports
# (tests/report): MODULE names a module with load_manifest(path) and
# ManifestError, which then stands in for harness.manifest.
MANIFEST_LOADER_ENV = "IPC_MANIFEST_LOADER"


def manifest_api():
    """(load_manifest, ManifestError): harness.manifest's, or the module
    named by $IPC_MANIFEST_LOADER."""
    import importlib
    import os
    name = os.environ.get(MANIFEST_LOADER_ENV) or "ipc_conformance.harness.manifest"
    try:
        module = importlib.import_module(name)
    except ImportError as e:  # the harness itself is missing: not the manifest's fault
        raise SystemExit(f"ipc-conformance: cannot import the manifest loader {name}: {e}")
    return module.load_manifest, module.ManifestError


def load_manifest(path):
    """harness.manifest.load_manifest, with every failure as ManifestProblem."""
    _load, ManifestError = manifest_api()
    try:
        return _load(Path(path))
    except ManifestError as e:
        raise ManifestProblem(f"invalid manifest {path}: {e}") from e
    except OSError as e:
        raise ManifestProblem(f"cannot read manifest {path}: {e.strerror or e}") from e


def load_manifests(paths) -> list[tuple[Path, object]]:
    """(resolved path, Manifest) for each path (the reference's by default)."""
    out = []
    for p in paths or [DEFAULT_MANIFEST]:
        path = Path(p).resolve()
        out.append((path, load_manifest(path)))
    return out


def _stem(name: str, used: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name or "impl").strip("._") or "impl"
    base, n = stem, 2
    while stem in used or stem == "report":
        stem, n = f"{base}-{n}", n + 1
    used.add(stem)
    return stem


# The pytest plugins every run loads, by entry-point name: the suite's own and
# pytest-timeout for the per-case bound (with -n, pytest_command adds xdist;
# all three are dependencies). The run's environment turns plugin autoloading off
# (RUN_ENVIRONMENT), so a plugin that happens to be installed where the suite
# runs (rerunfailures, randomly, hypothesis) neither changes a verdict nor
# costs the run its start-up time: hypothesis's alone cost each run about 2 s
# at its end. Another plugin is asked for by name: ``run ... -- -p NAME``.
RUN_PLUGINS = ("ipc_conformance", "timeout")
RUN_ENVIRONMENT = (("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1"),)


def pytest_command(manifest: Path, *, cases_dir: Path, json_path: Path | None = None,
                   junit_path: Path | None = None, keyword: str | None = None,
                   workers: int | None = None, repeat: int | None = None,
                   random_order: bool = False, seed: int | None = None,
                   case_ids=(), marker: str | None = None, timeout: float | None = None,
                   verbose: bool = False, show_evidence: bool = False,
                   durations_path: Path | None = None, extra=()) -> list[str]:
    """The pytest command line of one run."""
    cmd = [sys.executable, "-m", "pytest", str(cases_dir),
           *(a for name in RUN_PLUGINS for a in ("-p", name)),
           "--ipc-impl", str(manifest), "-p", "no:cacheprovider"]
    if json_path is not None:
        cmd += ["--ipc-json", str(json_path)]
    if junit_path is not None:
        cmd += ["--junitxml", str(junit_path)]
    cmd += ["-vv", "-s"] if verbose else ["-q"]
    if keyword:
        cmd += ["-k", keyword]
    if marker:
        cmd += ["-m", marker]
    ordered = durations_path is not None and seed is None and not random_order
    if workers is not None:
        cmd += ["-p", "xdist", "-n", str(workers)]
        if ordered:
            # --dist load (xdist's default with -n) hands each worker a chunk
            # of consecutive cases; one at a time, a worker that frees up
            # takes the next slowest case instead.
            cmd += ["--maxschedchunk", "1"]
    if durations_path is not None:
        cmd += ["--ipc-durations", str(durations_path)]
    if repeat and repeat > 1:
        cmd += ["--ipc-repeat", str(repeat)]
    if seed is not None:
        cmd += ["--ipc-seed", str(seed)]
    elif random_order:
        cmd += ["--ipc-random-order"]
    for cid in case_ids or ():
        cmd += ["--ipc-case", cid]
    if timeout is not None:
        cmd += ["--timeout", str(timeout)]
    if show_evidence:
        cmd += ["--ipc-show-evidence"]
    return cmd + list(extra)


def run_pytest(cmd: list[str], *, capture: bool = False, env: dict | None = None
               ) -> subprocess.CompletedProcess:
    print("$ " + shlex.join(cmd), flush=True)
    from ipc_conformance.conformance import child_run      # an interrupt waits for pytest's cleanup
    return child_run.run(cmd, capture=capture, env=env)


def _run_concurrently(cmds, at_once: int, *, echo: bool, env: dict | None = None
                      ) -> list[subprocess.CompletedProcess]:
    """``child_run.run_many``; with ``echo``, each command line is printed
    as it starts and its output, whole, as it ends."""
    from ipc_conformance.conformance import child_run

    def started(i, cmd):
        if echo:
            print(f"$ {shlex.join(cmd)}   [run {i + 1} of {len(cmds)}, {at_once} at once]", flush=True)

    def ended(i, proc):
        if echo:
            print(f"--- run {i + 1} of {len(cmds)} ended (exit status {proc.returncode}): "
                  f"{shlex.join(proc.args)}", flush=True)
            print(proc.stdout, end="" if proc.stdout.endswith("\n") else "\n", flush=True)

    return child_run.run_many(cmds, at_once=at_once, on_start=started, on_end=ended, env=env)


def read_run(json_path: Path, rc: int) -> Run | None:
    try:
        return jr.read_run(json_path)
    except jr.ReportError as e:
        print(f"ipc-conformance: no results from pytest (exit status {rc}): {e}", file=sys.stderr)
        return None


def preflight_problem(manifests) -> str | None:
    """conformance.preflight for each manifest with a shell: the message
    that stops the run (exit status 3) when a shell does not see its staged
    argv0, else None."""
    from ipc_conformance.conformance.preflight import check_shell
    problems = [m for _, manifest in manifests if (m := check_shell(manifest))]
    return "\n".join(f"ipc-conformance: {m}" for m in problems) or None


def probe_problem(manifests) -> str | None:
    """The message that stops a run (exit status 3) when $IPC_PROBE asks
    for a probe child that cannot serve (misspelt, or native and not
    built): a set-up error, not something to blame on an implementation."""
    from ipc_conformance.harness.staging import probe_kind
    for _path, manifest in manifests:
        try:
            probe_kind(getattr(manifest, "protocol", None))
        except (ValueError, OSError) as e:
            return f"ipc-conformance: {e}"
    return None


def unrunnable_problem(manifests) -> str | None:
    """The message that stops a run before it starts: a declared role whose
    program cannot run, in a manifest that does not say required = false;
    for optional manifests, a note of the roles that will be UNIMPLEMENTED."""
    from ipc_conformance.conformance.selection import check_programs, unrunnable_message
    stop = []
    for _path, manifest in manifests:
        roles = check_programs(manifest)
        if roles and manifest.required:
            stop.append(unrunnable_message(manifest, roles))
        elif roles:
            print(f"ipc-conformance: note: {manifest.name}: optional programs missing, "
                  f"{len(roles)} role(s) UNIMPLEMENTED: "
                  + "; ".join(f"{r}: {why}" for r, why in sorted(roles.items())), file=sys.stderr)
    return "\n".join(f"ipc-conformance: {m}" for m in stop) or None


def usable_cores() -> int:
    import os
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def concurrent_jobs(options: RunOptions, implementations: int) -> int:
    """How many implementations run at once: ``options.jobs``, or as many
    as fit in the usable cores at ``options.workers`` each."""
    if options.jobs is not None:
        wanted = options.jobs
    else:
        wanted = usable_cores() // max(1, options.workers or 1)
    return max(1, min(wanted, implementations))


def run_suite(manifest_paths, options: RunOptions = RunOptions()) -> SuiteRun:
    """Run the suite once per manifest; raises ManifestProblem for a
    manifest that does not load."""
    manifests = load_manifests(manifest_paths)
    stopped = unrunnable_problem(manifests)
    if stopped:
        return SuiteRun(EXIT_UNRUNNABLE, stopped=stopped)
    stopped = probe_problem(manifests) or (preflight_problem(manifests) if options.preflight else None)
    if stopped:
        return SuiteRun(EXIT_MANIFEST, stopped=stopped)
    report_dir = Path(options.report_dir).resolve()
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return SuiteRun(EXIT_INCOMPLETE,
                        stopped=f"ipc-conformance: cannot create {report_dir}: {e.strerror or e}")
    used: set[str] = set()
    extra = [*(a for k in options.forbid for a in ("--ipc-forbid", k)), *options.pytest_args]
    planned: list[tuple[str, Path, list[str]]] = []
    for path, manifest in manifests:
        stem = _stem(getattr(manifest, "name", None) or path.stem, used)
        json_path = report_dir / f"{stem}.json"
        junit_path = report_dir / f"{stem}.junit.xml"
        for stale in (json_path, junit_path):
            stale.unlink(missing_ok=True)
        cmd = pytest_command(path, cases_dir=options.cases_dir, json_path=json_path,
                             junit_path=junit_path, keyword=options.keyword,
                             workers=options.workers, repeat=options.repeat,
                             random_order=options.random_order, seed=options.seed,
                             case_ids=options.case_ids, timeout=options.timeout,
                             marker=options.marker, verbose=options.verbose,
                             show_evidence=options.show_evidence,
                             durations_path=(Path(options.durations_dir).resolve() / f"{stem}.json"
                                             if options.durations_dir is not None else None),
                             extra=extra)
        planned.append((stem, json_path, cmd))
    at_once = concurrent_jobs(options, len(planned))
    import os
    env = {**os.environ, **dict(RUN_ENVIRONMENT), **dict(options.env)}
    with cpu_load(options.cpu_load):
        if at_once == 1 and not options.capture:
            done = [run_pytest(cmd, env=env) for _stem_, _json, cmd in planned]
        else:
            done = _run_concurrently([cmd for _s, _j, cmd in planned], at_once,
                                     echo=not options.capture, env=env)
    results = [ImplementationRun(stem, json_path, read_run(json_path, proc.returncode),
                                 returncode=proc.returncode,
                                 output=proc.stdout if options.capture else None)
               for (stem, json_path, _cmd), proc in zip(planned, done)]
    runs = [r.run for r in results]
    report_path = report_dir / "report.html"
    written = False
    if not options.write_html:
        return SuiteRun(jr.exit_status(runs), runs=results)
    try:
        html_report.write([r for r in runs if r is not None], report_path)
        written = True
    except OSError as e:
        print(f"ipc-conformance: cannot write {report_path}: {e.strerror or e}", file=sys.stderr)
    return SuiteRun(jr.exit_status(runs, report_written=written), runs=results,
                    report_path=report_path, report_written=written)


def describe_status(status: int) -> str:
    return {EXIT_OK: "nothing failed unexpectedly",
            EXIT_FAILED: "unexpected failures",
            EXIT_INCOMPLETE: "incomplete run or missing report",
            EXIT_MANIFEST: "invalid manifest or set-up",
            EXIT_UNRUNNABLE: "a declared program cannot run"}.get(status, "?")


def summary_lines(result: SuiteRun) -> list[str]:
    """What ``run`` prints at the end: a tally per implementation, its
    problems, the report and the exit status."""
    lines = [""]
    for r in result.runs:
        if r.run is None:
            lines.append(f"{r.stem}: NO RESULTS (expected {r.json_path})")
            continue
        run = r.run
        lines.append(f"{jr.run_label(run)}: selected {run.selected}, executed "
                     f"{run.executed}: {jr.tally_line(run.summary or {})}")
        for rec in jr.problems(run):
            lines.append(f"  {rec.kind} {rec.label}: {rec.first_line}")
    if result.report_written:
        lines.append(f"report: {result.report_path}")
    lines.append(f"exit status {result.status}: {describe_status(result.status)}")
    return lines
