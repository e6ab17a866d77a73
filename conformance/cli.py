"""``ipc-conformance``: run the conformance suite against implementations,
list and explain its cases, reproduce one, smoke-test a manifest.

Every run is plain pytest underneath (``python -m pytest conformance/cases
--ipc-impl MANIFEST ...``, in a subprocess per implementation); this module
only builds the command lines, reads the JSON results and writes the HTML
report. The exit status follows the contract in docs/report.md.
"""
from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from conformance.case import (CASES_DIR, REPO_ROOT, CaseDefinitionError, collect_cases,
                              explain, load_requirements)
from conformance.cpu_load import cpu_load
from conformance.report import html_report
from conformance.report import json_report as jr

DEFAULT_MANIFEST = REPO_ROOT / "conformance" / "manifests" / "reference.toml"
DEFAULT_REPORT_DIR = Path("reports") / "latest"
KNOWN_ROLES = ("child", "listener", "shell")
EXIT_PIPE_CLOSED = 141   # 128 + SIGPIPE: our output's reader left (docs/report.md)


class ManifestProblem(Exception):
    """A manifest that cannot be used (exit status 3)."""


def load_manifest(path):
    """harness.manifest.load_manifest, with every failure as ManifestProblem."""
    try:
        from harness.manifest import ManifestError
        from harness.manifest import load_manifest as _load
    except ImportError as e:  # the harness itself is missing: not the manifest's fault
        raise SystemExit(f"ipc-conformance: cannot import harness.manifest: {e}")
    try:
        return _load(Path(path))
    except ManifestError as e:
        raise ManifestProblem(f"invalid manifest {path}: {e}") from e
    except OSError as e:
        raise ManifestProblem(f"cannot read manifest {path}: {e.strerror or e}") from e


def _manifests(paths) -> list[tuple[Path, object]]:
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


def pytest_command(manifest: Path, *, cases_dir: Path, json_path: Path | None = None,
                   junit_path: Path | None = None, keyword: str | None = None,
                   workers: int | None = None, repeat: int | None = None,
                   random_order: bool = False, seed: int | None = None,
                   case_ids=(), marker: str | None = None, timeout: float | None = None,
                   verbose: bool = False, show_evidence: bool = False,
                   extra=()) -> list[str]:
    """The pytest command line of one run."""
    cmd = [sys.executable, "-m", "pytest", str(cases_dir), "-p", "ipc_conformance",
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
    if workers is not None:
        cmd += ["-p", "xdist", "-n", str(workers)]
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


def _run_pytest(cmd: list[str], *, capture: bool = False) -> subprocess.CompletedProcess:
    print("$ " + shlex.join(cmd), flush=True)
    from conformance import child_run      # an interrupt waits for pytest's cleanup
    return child_run.run(cmd, capture=capture)


def _preflight(manifests) -> str | None:
    """conformance.preflight for each manifest with a shell: the message
    that stops the run (exit status 3) when a shell does not see its staged
    argv0, else None."""
    from conformance.preflight import check_shell
    problems = [m for _, manifest in manifests if (m := check_shell(manifest))]
    return "\n".join(f"ipc-conformance: {m}" for m in problems) or None


def _read_run(json_path: Path, rc: int) -> dict | None:
    try:
        return jr.load_run(json_path)
    except jr.ReportError as e:
        print(f"ipc-conformance: no results from pytest (exit status {rc}): {e}", file=sys.stderr)
        return None


def describe_status(status: int) -> str:
    return {jr.EXIT_OK: "nothing failed unexpectedly",
            jr.EXIT_FAILED: "unexpected failures",
            jr.EXIT_INCOMPLETE: "incomplete run or missing report",
            jr.EXIT_MANIFEST: "invalid manifest or set-up",
            jr.EXIT_UNRUNNABLE: "a declared program cannot run"}.get(status, "?")


# ---------------------------------------------------------------- run

def _unrunnable(manifests) -> str | None:
    """The message that stops a run before it starts: a declared role whose
    program cannot run, in a manifest that does not say required = false;
    for optional manifests, a note of the roles that will be UNIMPLEMENTED."""
    from conformance.selection import check_programs, unrunnable_message
    stop = []
    for path, manifest in manifests:
        roles = check_programs(manifest)
        if roles and manifest.required:
            stop.append(unrunnable_message(manifest, roles))
        elif roles:
            print(f"ipc-conformance: note: {manifest.name}: optional programs missing, "
                  f"{len(roles)} role(s) UNIMPLEMENTED: "
                  + "; ".join(f"{r}: {why}" for r, why in sorted(roles.items())), file=sys.stderr)
    return "\n".join(f"ipc-conformance: {m}" for m in stop) or None



def cmd_run(args) -> int:
    try:
        manifests = _manifests(args.impl)
    except ManifestProblem as e:
        print(f"ipc-conformance: {e}", file=sys.stderr)
        return jr.EXIT_MANIFEST
    unrunnable = _unrunnable(manifests)
    if unrunnable:
        print(unrunnable, file=sys.stderr)
        return jr.EXIT_UNRUNNABLE
    problem = _preflight(manifests)
    if problem:
        print(problem, file=sys.stderr)
        return jr.EXIT_MANIFEST
    report_dir = Path(args.report).resolve()
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"ipc-conformance: cannot create {report_dir}: {e.strerror or e}", file=sys.stderr)
        return jr.EXIT_INCOMPLETE
    used: set[str] = set()
    results: list[tuple[str, Path, dict | None]] = []
    for path, manifest in manifests:
        stem = _stem(getattr(manifest, "name", None) or path.stem, used)
        json_path = report_dir / f"{stem}.json"
        junit_path = report_dir / f"{stem}.junit.xml"
        for stale in (json_path, junit_path):
            try:
                stale.unlink()
            except FileNotFoundError:
                pass
        cmd = pytest_command(path, cases_dir=args.cases, json_path=json_path,
                             junit_path=junit_path, keyword=args.k, workers=args.n,
                             repeat=args.repeat, random_order=args.random_order,
                             seed=args.seed, case_ids=args.case, timeout=args.timeout,
                             extra=[*(a for k in args.forbid for a in ("--ipc-forbid", k)),
                                    *args.pytest_args])
        with cpu_load(args.cpu_load):
            proc = _run_pytest(cmd)
        results.append((stem, json_path, _read_run(json_path, proc.returncode)))
    runs = [run for _, _, run in results]
    report_path = report_dir / "report.html"
    report_written = False
    try:
        html_report.write([r for r in runs if r is not None], report_path)
        report_written = True
    except OSError as e:
        print(f"ipc-conformance: cannot write {report_path}: {e.strerror or e}", file=sys.stderr)
    status = jr.exit_status(runs, report_written=report_written)
    print()
    for stem, json_path, run in results:
        if run is None:
            print(f"{stem}: NO RESULTS (expected {json_path})")
            continue
        print(f"{jr.run_label(run)}: selected {run.get('selected')}, executed "
              f"{run.get('executed')}: {jr.tally_line(run.get('summary') or {})}")
        for rec in jr.problems(run):
            msg = (rec.get("message") or "").splitlines()[0] if rec.get("message") else ""
            print(f"  {rec.get('kind')} {rec.get('key') or rec.get('nodeid')}: {msg}")
    if report_written:
        print(f"report: {report_path}")
    print(f"exit status {status}: {describe_status(status)}")
    return status


# ---------------------------------------------------------------- list / explain

def _cases(args):
    try:
        return collect_cases(args.cases)
    except CaseDefinitionError as e:
        raise SystemExit(f"ipc-conformance: {e}")


def _availability(info, manifest) -> str:
    from conformance.selection import availability
    return availability(manifest, info)


def cmd_list(args) -> int:
    manifest = None
    if args.impl:
        try:
            manifest = load_manifest(Path(args.impl).resolve())
        except ManifestProblem as e:
            print(f"ipc-conformance: {e}", file=sys.stderr)
            return jr.EXIT_MANIFEST
    cases = _cases(args)
    if args.markdown:
        print(cases_markdown(cases), end="")
        return 0
    for info in cases:
        line = (f"{info.id:<11} {info.requirement:<15} {info.layer or '?':<12} "
                f"{','.join(info.roles) or '-':<15} {info.statement}")
        if info.smoke:
            line += " [smoke]"
        if manifest is not None:
            line += f"  ({_availability(info, manifest)})"
        print(line)
    print(f"{len(cases)} cases")
    return 0


def cases_markdown(cases) -> str:
    """docs/cases.md: the catalogue of cases by area (kept in step with the
    code by tests/cli/test_cases_doc.py; regenerate with
    `ipc-conformance list --markdown > docs/cases.md`)."""
    out = ["# The conformance cases", "",
           "Generated by `ipc-conformance list --markdown`; do not edit by hand.",
           "Each case checks one requirement of `docs/spec.md`;",
           "`ipc-conformance explain ID` shows its requirement's text and where it is defined.",
           "", f"{len(cases)} cases."]
    area = None
    for info in cases:
        if info.area != area:
            area = info.area
            out += ["", f"## {area}", "",
                    "| case | requirement | layer | roles | needs | statement |",
                    "|---|---|---|---|---|---|"]
        statement = info.statement.replace("|", "\\|") + (" (smoke)" if info.smoke else "")
        out.append(f"| {info.id} | {info.requirement} | {info.layer or '?'} | "
                   f"{', '.join(info.roles) or '-'} | "
                   f"{', '.join(info.needs) or '-'} | {statement} |")
    return "\n".join(out) + "\n"


def cmd_explain(args) -> int:
    cases = _cases(args)
    wanted = args.case.upper()
    info = next((c for c in cases if c.id == wanted), None)
    if info is None:
        print(f"ipc-conformance: no case {args.case}", file=sys.stderr)
        return jr.EXIT_INCOMPLETE
    print(explain(info, load_requirements()))
    if args.impl:
        try:
            manifest = load_manifest(Path(args.impl).resolve())
        except ManifestProblem as e:
            print(f"ipc-conformance: {e}", file=sys.stderr)
            return jr.EXIT_MANIFEST
        print(f"against {getattr(manifest, 'name', args.impl)}: {_availability(info, manifest)}")
    return 0


# ---------------------------------------------------------------- repro

def write_reproducer(info, manifest_path: Path, out: Path) -> int:
    """``repro --write FILE``: a standalone reproducer script (conformance.repro)."""
    from conformance import repro
    try:
        path = repro.write_reproducer(info, load_manifest(manifest_path), out,
                                      requirement_text=load_requirements().get(info.requirement, ""))
    except repro.ReproUnsupported as e:
        print(f"ipc-conformance: {e}", file=sys.stderr)
        return jr.EXIT_INCOMPLETE
    print(f"wrote {path}: run it with `python3 {path}` (exit 0: right, 1: the bug, with a message)")
    return jr.EXIT_OK


def cmd_repro(args) -> int:
    try:
        (manifest_path, manifest), = _manifests([args.impl])
    except ManifestProblem as e:
        print(f"ipc-conformance: {e}", file=sys.stderr)
        return jr.EXIT_MANIFEST
    cases = _cases(args)
    info = next((c for c in cases if c.id == args.case.upper()), None)
    if info is None:
        print(f"ipc-conformance: no case {args.case}", file=sys.stderr)
        return jr.EXIT_INCOMPLETE
    if args.write:
        return write_reproducer(info, manifest_path, Path(args.write))
    print(explain(info, load_requirements()))
    print(f"against {getattr(manifest, 'name', manifest_path)}: {_availability(info, manifest)}")
    with tempfile.TemporaryDirectory(prefix="ipc-repro-") as tmp:
        json_path = Path(args.json).resolve() if args.json else Path(tmp) / "repro.json"
        cmd = pytest_command(manifest_path, cases_dir=args.cases, json_path=json_path,
                             case_ids=[info.id], verbose=True, show_evidence=True,
                             repeat=args.repeat, timeout=args.timeout, extra=args.pytest_args)
        proc = _run_pytest(cmd)
        run = _read_run(json_path, proc.returncode)
    status = jr.exit_status([run])
    if run is not None:
        for rec in run.get("cases", []):
            print(f"{rec.get('key')}: {rec.get('kind')}"
                  + (f": {rec.get('message')}" if rec.get("message") else ""))
    print(f"exit status {status}: {describe_status(status)}")
    return status


# ---------------------------------------------------------------- smoke

def role_verdicts(run: dict | None, manifest) -> list[tuple[str, str, str]]:
    """(role, verdict, detail) per role from a smoke run: works / BROKEN /
    not offered / untested."""
    roles = list(KNOWN_ROLES)
    for name in (getattr(manifest, "roles", None) or {}):
        if name not in roles:
            roles.append(name)
    records = (run or {}).get("cases", [])
    for rec in records:
        for role in rec.get("roles", []):
            if role not in roles:
                roles.append(role)
    out = []
    for role in roles:
        if not manifest.has_role(role):
            out.append((role, "not offered", manifest.role_missing_reason(role) or ""))
            continue
        mine = [r for r in records if role in r.get("roles", [])]
        bad = [r for r in mine if r.get("kind") in jr.BAD_KINDS]
        ok = [r for r in mine if r.get("kind") in jr.PASSING_KINDS or r.get("kind") == jr.EXPECTED_FAIL]
        if bad:
            out.append((role, "BROKEN", "; ".join(
                f"{r.get('key')} {r.get('kind')}: {(r.get('message') or '').splitlines()[0] if r.get('message') else ''}"
                for r in bad)))
        elif ok:
            out.append((role, "works", ", ".join(r.get("key") for r in ok)))
        elif mine:
            out.append((role, "untested", "; ".join(
                f"{r.get('key')} {r.get('kind')}: {r.get('message') or ''}" for r in mine)))
        else:
            out.append((role, "untested", "no smoke case uses this role"))
    return out


def cmd_smoke(args) -> int:
    try:
        (manifest_path, manifest), = _manifests([args.impl])
    except ManifestProblem as e:
        print(f"ipc-conformance: {e}", file=sys.stderr)
        return jr.EXIT_MANIFEST
    problem = _preflight([(manifest_path, manifest)])
    if problem:
        print(problem, file=sys.stderr)
        return jr.EXIT_MANIFEST
    with tempfile.TemporaryDirectory(prefix="ipc-smoke-") as tmp:
        json_path = Path(tmp) / "smoke.json"
        cmd = pytest_command(manifest_path, cases_dir=args.cases, json_path=json_path,
                             marker="smoke", timeout=args.timeout, extra=args.pytest_args)
        proc = _run_pytest(cmd, capture=True)
        run = _read_run(json_path, proc.returncode)
    status = jr.exit_status([run])
    if status != jr.EXIT_OK and proc.stdout:
        print("\n".join(proc.stdout.splitlines()[-60:]))
    name = getattr(manifest, "name", manifest_path.stem)
    print(f"smoke test of {name} ({manifest_path}):")
    for role, verdict, detail in role_verdicts(run, manifest):
        print(f"  {role:<10} {verdict:<12} {detail}")
    if run is not None:
        print(f"{jr.tally_line(run.get('summary') or {})} in {float(run.get('duration') or 0):.1f}s")
    print(f"exit status {status}: {describe_status(status)}")
    return status


# ---------------------------------------------------------------- report

def cmd_report(args) -> int:
    paths: list[Path] = []
    for p in args.runs:
        p = Path(p)
        paths.extend(jr.find_runs(p) if p.is_dir() else [p])
    try:
        runs = jr.load_runs(paths)
    except jr.ReportError as e:
        print(f"ipc-conformance: {e}", file=sys.stderr)
        return jr.EXIT_INCOMPLETE
    try:
        html_report.write(runs, args.output, title=args.title)
    except OSError as e:
        print(f"ipc-conformance: cannot write {args.output}: {e.strerror or e}", file=sys.stderr)
        return jr.EXIT_INCOMPLETE
    for run in runs:
        print(f"{jr.run_label(run)}: {jr.tally_line(run.get('summary') or {})}")
    print(f"report: {args.output}")
    return jr.exit_status(runs)


# ---------------------------------------------------------------- parser

class _Parser(argparse.ArgumentParser):
    """argparse, except that a failed write of the help or usage is not
    swallowed: a closed pipe must end the command with status 141 like any
    other output (main)."""

    def _print_message(self, message, file=None):
        if message:
            (file or sys.stderr).write(message)


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="ipc-conformance", formatter_class=fmt,
        description="The IPC conformance suite: runs conformance/cases with pytest against "
                    "implementations described by manifests (docs/manifest.md). "
                    "Arguments after `--` go to pytest unchanged.",
        epilog=jr.EXIT_STATUS_HELP)
    parser.add_argument("--cases", type=Path, default=CASES_DIR, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", formatter_class=fmt, epilog=jr.EXIT_STATUS_HELP,
                       help="run the suite against one or more implementations",
                       description="Run the suite once per manifest and write DIR/<name>.json, "
                                   "DIR/<name>.junit.xml and DIR/report.html.")
    p.add_argument("--impl", action="append", metavar="MANIFEST",
                   help=f"manifest to test (repeatable; default {DEFAULT_MANIFEST.relative_to(REPO_ROOT)})")
    p.add_argument("-k", metavar="EXPR", help="pytest -k expression (test names)")
    p.add_argument("-n", type=int, metavar="N", help="pytest-xdist workers")
    p.add_argument("--report", metavar="DIR", default=str(DEFAULT_REPORT_DIR),
                   help="report directory (default: reports/latest)")
    p.add_argument("--repeat", type=int, metavar="N", help="run each case N times; differing results are FLAKY")
    p.add_argument("--cpu-load", type=int, metavar="K", default=0,
                   help="keep K busy processes running meanwhile (with --repeat: flush out races)")
    p.add_argument("--random-order", action="store_true", help="shuffle the cases (the seed is printed)")
    p.add_argument("--seed", type=int, metavar="N", help="shuffle with this seed")
    p.add_argument("--case", action="append", metavar="ID", default=[], help="only this case ID (repeatable)")
    p.add_argument("--timeout", type=float, metavar="S", help="pytest-timeout per case, seconds")
    p.add_argument("--forbid", action="append", metavar="KIND", default=[], type=str.upper,
                   choices=[k for k in jr.KINDS if k not in jr.BAD_KINDS],
                   help="a case of this kind fails the run too (repeatable), e.g. "
                        "--forbid UNIMPLEMENTED --forbid NOT-CLAIMED")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("list", help="list every case: ID, requirement, roles, statement")
    p.add_argument("--impl", metavar="MANIFEST", help="also say whether each case runs against it")
    p.add_argument("--markdown", action="store_true",
                   help="the catalogue as Markdown, by area (docs/cases.md)")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("explain", help="what a case checks and why")
    p.add_argument("case", metavar="CASE")
    p.add_argument("--impl", metavar="MANIFEST", help="also say whether it runs against this manifest")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("repro", formatter_class=fmt, epilog=jr.EXIT_STATUS_HELP,
                       help="run one case alone, verbose, printing its transcript and evidence")
    p.add_argument("case", metavar="CASE")
    p.add_argument("--impl", metavar="MANIFEST", required=True)
    p.add_argument("--write", metavar="FILE", help="write a standalone reproducer script (pexpect, psutil, pycapnp only) instead of running the case")
    p.add_argument("--json", metavar="PATH", help="keep the JSON result here")
    p.add_argument("--repeat", type=int, metavar="N")
    p.add_argument("--timeout", type=float, metavar="S")
    p.set_defaults(func=cmd_repro)

    p = sub.add_parser("smoke", formatter_class=fmt, epilog=jr.EXIT_STATUS_HELP,
                       help="run the smoke cases and say whether each role works")
    p.add_argument("--impl", metavar="MANIFEST", required=True)
    p.add_argument("--timeout", type=float, metavar="S", default=30.0,
                   help="per case (default 30)")
    p.set_defaults(func=cmd_smoke)

    p = sub.add_parser("report", formatter_class=fmt, epilog=jr.EXIT_STATUS_HELP,
                       help="write the HTML report from run JSON files (or directories of them)")
    p.add_argument("runs", nargs="+", metavar="RUN")
    p.add_argument("-o", "--output", default=str(DEFAULT_REPORT_DIR / "report.html"), metavar="HTML")
    p.add_argument("--title", default="IPC conformance report")
    p.set_defaults(func=cmd_report)

    # Benchmarks live in bench/ (docs/bench.md); this only wires the command.
    p = sub.add_parser("bench", help="benchmarks: the reference (and C++) against their floors, "
                                     "as a table, bench.json and listener.png (docs/bench.md)")
    try:
        from bench.runner import add_arguments as add_bench_arguments
        from bench.runner import run as cmd_bench
        add_bench_arguments(p)
        p.set_defaults(func=cmd_bench)
    except ImportError as e:   # an install older than bench/ must not break the other commands
        p.set_defaults(func=lambda _args, e=e: print(
            f"ipc-conformance: bench is not importable ({e}); reinstall: pip install -e .",
            file=sys.stderr) or jr.EXIT_INCOMPLETE)

    from conformance.mutants import add_parser as add_mutants_parser
    add_mutants_parser(sub, fmt)
    return parser


def main(argv: list[str] | None = None) -> int:
    if argv is None:       # the command itself (not a test calling main): SIGTERM/SIGHUP as Ctrl-C
        from conformance import interrupts
        interrupts.install()
    try:
        try:
            return _main(list(sys.argv[1:] if argv is None else argv))
        finally:
            sys.stdout.flush()     # a closed pipe shows here too (argparse's help ignores it)
    except BrokenPipeError:
        return _output_closed()
    except KeyboardInterrupt:
        return jr.EXIT_INCOMPLETE


def _output_closed() -> int:
    """The reader of our output left (``ipc-conformance list | head -1``):
    end quietly, with the status a shell gives a program killed by SIGPIPE
    (docs/report.md). stdout now points at /dev/null, so that the flush at
    exit does not fail a second time."""
    import os
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return EXIT_PIPE_CLOSED


def _main(argv: list[str]) -> int:
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    args = build_parser().parse_args(argv)
    args.pytest_args = extra
    args.cases = Path(args.cases).resolve()
    try:
        return args.func(args)
    except ManifestProblem as e:
        print(f"ipc-conformance: {e}", file=sys.stderr)
        return jr.EXIT_MANIFEST


if __name__ == "__main__":
    sys.exit(main())
