"""``ipc-conformance mutants``: the suite's detection score.

Runs the suite against the reference and against every mutant of
``fixtures/mutants/`` (each the reference with one known lifecycle bug,
docs/mutants.md), writes the usual report (whose mutant matrix shows which
cases caught which mutant) and prints the mutation score: mutants caught /
mutants. A mutant is caught when at least one case FAILs, TIMEs OUT or
CRASHes against it. The command succeeds only when the reference passes,
every run is complete and every mutant is caught.

With --generated it runs the machine-made mutants instead: a resumable
cosmic-ray session over the reference's process and protocol layers
(conformance/generated_mutants.py; pip install -e '.[mutation]').
"""
from __future__ import annotations

from pathlib import Path

from ipc_conformance.conformance.case import REPO_ROOT
from ipc_conformance.conformance.outcome import EXIT_FAILED, EXIT_OK, Run, as_run
from ipc_conformance.conformance.report import json_report as jr

MUTANTS_DIR = REPO_ROOT / "fixtures" / "mutants"


def mutant_manifests(directory: Path = MUTANTS_DIR, only=()) -> list[Path]:
    """The manifests of the mutants in ``directory`` (one folder each),
    sorted by name; ``only`` keeps the folders named there."""
    found = sorted(p for p in Path(directory).glob("*/manifest.toml")
                   if not p.parent.name.startswith(("_", ".")))
    if only:
        unknown = set(only) - {p.parent.name for p in found}
        if unknown:
            raise SystemExit(f"ipc-conformance: no mutant {', '.join(sorted(unknown))} in {directory}")
        found = [p for p in found if p.parent.name in only]
    return found


def score_lines(runs: list[Run | dict]) -> tuple[list[str], bool]:
    """The mutant table as text, and whether the score is 100% with every
    run complete and every non-mutant run passing."""
    lines, good = [], True
    runs = [as_run(r) for r in runs]
    for run in runs:
        if run.kind != "mutant":
            status = jr.run_exit_status(run)
            good &= status == EXIT_OK
            lines.append(f"{jr.run_label(run)}: {'passes' if status == EXIT_OK else 'DOES NOT PASS'}"
                         f" (exit {status})")
    matrix = jr.mutant_matrix(runs)
    if matrix is None:
        return lines + ["no mutant was run"], False
    for m in matrix["mutants"]:
        verdict = "caught" if m["caught"] else "NOT CAUGHT"
        if not m["complete"]:
            verdict += " (incomplete run)"
            good = False
        lines.append(f"  {m['label']:<34} {verdict:<11} {', '.join(m['caught_by']) or '-'}")
        if m["missed_expected"]:
            lines.append(f"  {'':<34} expected but silent: {', '.join(m['missed_expected'])}")
    lines.append(f"mutation score: {100.0 * matrix['score']:.0f}% "
                 f"({matrix['caught']} of {matrix['total']} mutants caught)")
    return lines, good and matrix["caught"] == matrix["total"]


def cmd_mutants(args) -> int:
    if getattr(args, "generated", False):       # machine-made mutants: conformance/generated_mutants.py
        from ipc_conformance.conformance.generated_mutants import cmd_generated
        return cmd_generated(args)
    from ipc_conformance.conformance import runner

    manifests = ([] if args.no_reference else [str(runner.DEFAULT_MANIFEST)]) + \
        [str(p) for p in mutant_manifests(Path(args.dir), args.only)]
    options = runner.RunOptions(report_dir=Path(args.report), cases_dir=args.cases,
                                workers=args.n, keyword=args.k, case_ids=tuple(args.case),
                                timeout=args.timeout, pytest_args=tuple(args.pytest_args))
    for stale in jr.find_runs(Path(args.report)) if Path(args.report).is_dir() else []:
        stale.unlink()        # this directory holds the results of one mutants run
    result = runner.run_suite(manifests, options)
    if result.stopped:
        print(result.stopped)
        return result.status
    print("\n".join(runner.summary_lines(result)))
    runs = jr.read_runs(jr.find_runs(Path(args.report)))
    lines, good = score_lines(runs)
    print("\n".join(lines))
    return EXIT_OK if good else EXIT_FAILED


def add_parser(sub, fmt) -> None:
    """The ``mutants`` subcommand (registered by conformance.cli)."""
    p = sub.add_parser("mutants", formatter_class=fmt,
                       help="run the suite against the reference and every mutant; print the mutation score",
                       description=__doc__.split("\n\n", 1)[1])
    p.add_argument("--report", metavar="DIR", default="reports/mutants",
                   help="report directory (default: reports/mutants)")
    p.add_argument("--dir", default=str(MUTANTS_DIR), metavar="DIR", help="where the mutants are")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="only this mutant (folder name; repeatable)")
    p.add_argument("--no-reference", action="store_true", help="do not run the reference")
    p.add_argument("-n", type=int, metavar="N", help="pytest-xdist workers")
    p.add_argument("-k", metavar="EXPR", help="pytest -k expression (test names)")
    p.add_argument("--case", action="append", metavar="ID", default=[], help="only this case ID (repeatable)")
    p.add_argument("--timeout", type=float, metavar="S", help="pytest-timeout per case, seconds")
    from ipc_conformance.conformance.generated_mutants import add_arguments
    add_arguments(p)
    p.set_defaults(func=cmd_mutants)
