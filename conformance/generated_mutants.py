"""``ipc-conformance mutants --generated``: machine-made mutants (cosmic-ray).

The hand-written mutants of fixtures/mutants/ measure whether the suite
catches the bugs it was written for; this session measures bugs nobody
chose. cosmic-ray mutates the reference's process and protocol layers and,
for each mutant, runs the conformance suite's areas relevant to the mutated
module (conformance/mutant_areas.py) through conformance/mutant_probe.py.

cosmic-ray edits the files it mutates in place, and other people run the
suite against the real reference_impl at the same time, so the session
works on a scratch copy of the repository under
``reports/generated-mutants/tree/``: the last commit's files (``git
archive HEAD``; a working tree that others are editing can be half-way
through a change, and the baseline would fail), or with
``--from-worktree`` the working tree's, plus this session's own modules;
``--overlay`` brings single files of the working tree in (a case written
for a survivor). The runs put the copy first on PYTHONPATH. Everything the session keeps is in that folder: the copy, the
pristine target files, cosmic-ray's config and sqlite session (resumable:
running the command again goes on where it stopped; ``--fresh`` starts
over), the baseline's timings (each module's wall-clock bound), the log and
the summary (``summary.json``, ``summary.md``).
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from ipc_conformance.conformance import mutant_areas as ma
from ipc_conformance.conformance import mutant_probe as mp
from ipc_conformance.conformance.case import REPO_ROOT
from ipc_conformance.conformance.outcome import EXIT_INCOMPLETE, EXIT_MANIFEST, EXIT_OK

DEFAULT_STATE = Path("reports") / "generated-mutants"
INSTALL_HINT = ("cosmic-ray is not installed; the generated-mutant session needs it:\n"
                "  pip install -e '.[mutation]'      (in a checkout; or: pip install 'cosmic-ray>=8.3')")
NOT_RUN_NOTE = "not in this session's sample (--limit/--sample)"


# ---------------------------------------------------------------- the copy

# The session's own modules: the copy must hold them even when they are not
# committed yet (the test command runs the copy's mutant_probe).
OWN_FILES = ("conformance/mutant_areas.py", "conformance/mutant_probe.py", "conformance/generated_mutants.py")


def project_files(repo: Path) -> list[str]:
    """The repository's files as a developer has them: tracked and
    untracked-but-not-ignored (reports/, build/ are ignored)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=repo, capture_output=True, check=True).stdout
    return [f for f in out.decode().split("\0") if f]


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    else:
        shutil.copy2(src, dst)


def make_tree(repo: Path, tree: Path, *, keep=(), rev: str | None = None, paths=None) -> int:
    """Fill ``tree`` with the project's files: the commit ``rev``'s
    (``git archive``: a consistent state, while the working tree may be
    half-way through someone's edit), or with ``rev`` None the working
    tree's (tracked and untracked-but-not-ignored); ``paths`` limits the
    copy to those files, ``keep`` leaves those as they are in ``tree``.
    The session's own modules are always the running ones. Returns the
    number of files written."""
    tree.mkdir(parents=True, exist_ok=True)
    n = 0
    if rev is not None and paths is None:
        archive = subprocess.run(["git", "archive", "--format=tar", rev], cwd=repo,
                                 capture_output=True, check=True).stdout
        import io
        import tarfile
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            members = [m for m in tar.getmembers() if m.name not in keep]
            for m in members:
                target = tree / m.name
                if (m.isfile() or m.issym()) and (target.is_symlink() or target.exists()):
                    target.unlink()
            tar.extractall(tree, members=members, filter="tar")
            n = sum(1 for m in members if m.isfile() or m.issym())
    else:
        for rel in (paths if paths is not None else project_files(repo)):
            src = repo / rel
            if rel in keep or not (src.is_file() or src.is_symlink()):
                continue               # kept, or deleted in the working tree
            _copy(src, tree / rel)
            n += 1
    here = Path(__file__).resolve().parent.parent
    for rel in OWN_FILES:
        if (here / rel).is_file() and rel not in keep:
            _copy(here / rel, tree / rel)
    return n


class Session:
    """The files of one session under ``state``."""

    def __init__(self, state: Path):
        self.state = Path(state).resolve()
        self.tree = self.state / "tree"
        self.pristine_dir = self.state / "pristine"
        self.config = self.state / "cosmic-ray.toml"
        self.db = self.state / "session.sqlite"
        self.options = self.state / "options.json"
        self.bounds = self.state / "bounds.json"
        self.log = self.state / "cosmic-ray.log"

    def exists(self) -> bool:
        return self.db.exists() and self.options.exists() and self.bounds.exists()

    def modules(self) -> list[str]:
        return json.loads(self.options.read_text())["modules"]

    def restore_targets(self) -> list[str]:
        """Put back any target file a stopped run left mutated."""
        pristine = json.loads((self.state / "pristine.json").read_text())
        restored = mp.changed_modules(self.tree, pristine)
        for rel in restored:
            shutil.copy2(self.pristine_dir / rel, self.tree / rel)
        return restored


def cosmic_ray_cmd(*args) -> list[str]:
    """cosmic-ray's command line, through this interpreter (its console
    script may be on no PATH)."""
    return [sys.executable, "-c", "import sys; from cosmic_ray.cli import main; sys.exit(main())", *args]


def write_config(s: Session, modules: list[str], *, workers: int, timeout: float) -> None:
    test_command = (f"{sys.executable} -m ipc_conformance.conformance.mutant_probe "
                    f"--state {s.state} -n {workers}")
    lines = ["[cosmic-ray]",
             "module-path = [" + ", ".join(json.dumps(str(s.tree / m)) for m in modules) + "]",
             f"timeout = {timeout:.0f}",           # a backstop only: the probe's own bound comes first
             "excluded-modules = []",
             f"test-command = {json.dumps(test_command)}",
             "", "[cosmic-ray.distributor]", 'name = "local"',
             "", "[cosmic-ray.filters.operators-filter]",
             "exclude-operators = [" + ", ".join(json.dumps(e) for e in ma.EXCLUDED_OPERATORS) + "]", ""]
    s.config.write_text("\n".join(lines))


def limit_session(db: Path, *, limit: int | None = None, sample: int | None = None, seed: int = 13) -> int:
    """Keep part of the pending mutants and mark the others skipped
    (``NOT_RUN_NOTE``): the first ``limit`` (by module, position, operator,
    occurrence: a quick check of the plumbing), or a uniform random
    ``sample`` of them drawn with ``seed`` (an unbiased estimate of the
    kill rate when the whole set would not fit in the time). Returns how
    many were skipped."""
    import random
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult
    with use_db(str(db), WorkDB.Mode.open) as work_db:
        items = sorted(work_db.pending_work_items,
                       key=lambda w: (str(w.mutations[0].module_path), tuple(w.mutations[0].start_pos),
                                      w.mutations[0].operator_name, w.mutations[0].occurrence))
        if sample is not None and sample < len(items):
            keep = set(w.job_id for w in random.Random(seed).sample(items, sample))
            items = [w for w in items if w.job_id in keep] + [w for w in items if w.job_id not in keep]
            limit = sample
        skip = [w.job_id for w in items[limit:]] if limit is not None else []
        if skip:
            work_db.set_multiple_results(skip, WorkResult(output=NOT_RUN_NOTE,
                                                          worker_outcome=WorkerOutcome.SKIPPED))
    return len(skip)


def shrink_session(db: Path, total: int, *, seed: int = 13) -> int:
    """Cut a running session down to ``total`` mutants: the ones done stay,
    and a seeded uniform random choice of the pending ones makes up the
    rest (the others are marked as not in the sample). Since the ones done
    were themselves a uniform sample, so is the whole. Returns how many
    were dropped."""
    import random
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult
    mutants = collect(db)["mutants"]
    done = sum(1 for m in mutants if m["state"] not in ("pending", "excluded", "unsampled"))
    pending = sorted(m["job"] for m in mutants if m["state"] == "pending")
    keep = set(random.Random(seed).sample(pending, max(0, min(len(pending), total - done))))
    drop = [j for j in pending if j not in keep]
    if drop:
        with use_db(str(db), WorkDB.Mode.open) as work_db:
            work_db.set_multiple_results(drop, WorkResult(output=NOT_RUN_NOTE,
                                                          worker_outcome=WorkerOutcome.SKIPPED))
    return len(drop)


def baseline(s: Session, modules: list[str], *, workers: int) -> tuple[dict, list[str]]:
    """Run each distinct area set once against the unmutated copy. Every
    one must pass, or the session would count the suite's own problems as
    kills. Returns each module's wall-clock bound (four times its
    baseline, plus a minute: a busy machine slows a run, it does not make
    one hang) and the problems."""
    by_areas: dict[tuple, list[str]] = {}
    for m in modules:
        by_areas.setdefault(tuple(sorted(ma.areas_for(m))), []).append(m)
    bounds, problems = {}, []
    for i, (areas, mods) in enumerate(sorted(by_areas.items()), 1):
        print(f"baseline {i}/{len(by_areas)}: {', '.join(areas)}", flush=True)
        rec = mp.probe(s.tree, mods[0], workers=workers, bound=900.0, runs_dir=s.state / "runs")
        if rec["verdict"] != ma.SURVIVED:
            problems.append(f"the unmutated copy does not pass ({', '.join(areas)}): {rec['verdict']}, "
                            f"exit {rec['rc']}, {rec['caught_by'] or rec['tail']}")
        for m in mods:
            bounds[m] = round(4 * rec["seconds"] + 60)
    return bounds, problems


def init_session(s: Session, repo: Path, modules: list[str], *, workers: int, limit: int | None,
                 rev: str | None, sample: int | None = None, seed: int = 13) -> int:
    if s.state.exists():
        shutil.rmtree(s.state)
    s.state.mkdir(parents=True)
    n = make_tree(repo, s.tree, rev=rev)
    pristine = {}
    for m in modules:
        (s.pristine_dir / m).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(s.tree / m, s.pristine_dir / m)
        pristine[m] = mp.file_hash(s.tree / m)
    (s.state / "pristine.json").write_text(json.dumps(pristine, indent=1))
    print(f"copied {n} files ({'commit ' + rev if rev else 'the working tree'}) to {s.tree}", flush=True)
    bounds, problems = baseline(s, modules, workers=workers)
    if problems:
        print("\n".join(f"ipc-conformance: {p}" for p in problems), file=sys.stderr)
        return EXIT_INCOMPLETE
    s.bounds.write_text(json.dumps(bounds, indent=1))
    write_config(s, modules, workers=workers, timeout=max(bounds.values()) + mp.GRACE + 120)
    for cmd in (cosmic_ray_cmd("init", str(s.config), str(s.db)),
                [sys.executable, "-c", "import sys; from cosmic_ray.tools.filters.operators_filter "
                 "import main; sys.exit(main())", str(s.db), str(s.config)]):
        r = subprocess.run(cmd, cwd=s.state, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"ipc-conformance: {' '.join(cmd[3:])} failed:\n{r.stderr[-2000:]}", file=sys.stderr)
            return EXIT_MANIFEST
    if limit is not None or sample is not None:
        limit_session(s.db, limit=limit, sample=sample, seed=seed)
    s.options.write_text(json.dumps({"modules": modules, "workers": workers, "limit": limit, "source": rev,
                                     "sample": sample, "seed": seed,
                                     "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())},
                                    indent=1))
    return EXIT_OK


# ---------------------------------------------------------------- results

def parse_verdict(output: str | None) -> dict | None:
    for line in reversed((output or "").splitlines()):
        if line.startswith(ma.VERDICT_PREFIX):
            try:
                return json.loads(line[len(ma.VERDICT_PREFIX):])
            except ValueError:
                return None
    return None


def classify(worker_outcome: str, test_outcome: str | None, output: str | None) -> tuple[str, dict | None]:
    """One cosmic-ray result as the session counts it: excluded, killed,
    survived, timeout, error or incompetent (cosmic-ray could not make or
    test the mutant), with the probe's verdict record."""
    if worker_outcome == "skipped":
        return ("unsampled" if (output or "").startswith(NOT_RUN_NOTE) else "excluded"), None
    if worker_outcome != "normal":
        return "incompetent", None
    rec = parse_verdict(output)
    if rec is not None:
        return rec["verdict"], rec
    if (output or "").strip() == "timeout":      # cosmic-ray's own backstop
        return ma.TIMEOUT, None
    if test_outcome == "incompetent":
        return "incompetent", None
    return ma.ERROR, None


def collect(db: Path) -> dict:
    """Every mutant of the session with its state (pending when it has no
    result yet)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = con.execute(
            "SELECT w.job_id, m.module_path, m.operator_name, m.occurrence, m.start_pos_row, "
            "m.start_pos_col, r.worker_outcome, r.test_outcome, r.output, r.diff "
            "FROM work_items w JOIN mutation_specs m ON m.job_id = w.job_id "
            "LEFT JOIN work_results r ON r.job_id = w.job_id").fetchall()
    finally:
        con.close()
    mutants = []
    for job, module, op, occ, row, col, wo, to, output, diff in rows:
        state, rec = ("pending", None) if wo is None else classify(wo.lower(), (to or "").lower() or None, output)
        mutants.append({"job": job, "module": module, "operator": op, "occurrence": occ,
                        "line": row, "col": col, "state": state, "record": rec, "diff": diff})
    return {"mutants": mutants}


def tally(mutants: list[dict], tree: Path | None = None) -> dict:
    counts = {k: 0 for k in ("pending", "killed", "survived", "timeout", "error", "incompetent", "excluded",
                             "unsampled")}
    for m in mutants:
        counts[m["state"]] += 1
    generated = len(mutants) - counts["excluded"] - counts["unsampled"]
    judged = counts["killed"] + counts["survived"]
    counts.update(generated=generated, done=generated - counts["pending"],
                  kill_rate=(counts["killed"] / judged) if judged else None,
                  killed_by_timeout_only=sum(
                      1 for m in mutants if m["state"] == ma.KILLED and m["record"]
                      and not any(k in (m["record"].get("kinds") or {}) and m["record"]["kinds"][k]
                                  for k in ("FAIL", "CRASH"))))
    return counts


def progress_line(c: dict, started: float | None = None) -> str:
    line = (f"[{c['done']}/{c['generated']}] killed {c['killed']}, survived {c['survived']}, "
            f"timed out {c['timeout']}, error {c['error']}, incompetent {c['incompetent']}")
    if started is not None and c["done"]:
        elapsed = time.monotonic() - started
        line += f"  ({elapsed / 60:.0f} min"
        if c.get("done_here"):
            line += f", ~{elapsed / c['done_here'] * c['pending'] / 60:.0f} min left"
        line += ")"
    return line


def rel_module(module: str, tree: Path) -> str:
    try:
        return str(Path(module).resolve().relative_to(tree))
    except ValueError:
        return module


def summary(s: Session) -> tuple[dict, list[str]]:
    """The session's figures and survivors, as a dict and as lines."""
    mutants = collect(s.db)["mutants"]
    for m in mutants:
        m["module"] = rel_module(m["module"], s.tree)
    c = tally(mutants)
    rate = f"{100 * c['kill_rate']:.1f}%" if c["kill_rate"] is not None else "-"
    lines = [f"mutants in the session: {c['generated']} (cosmic-ray made {len(mutants)}: "
             f"{c['excluded']} left out by the operator selection, {c['unsampled']} not in the sample)",
             f"  done {c['done']}, pending {c['pending']}",
             f"  killed {c['killed']} (of which by a case TIMEOUT only: {c['killed_by_timeout_only']})",
             f"  survived {c['survived']}",
             f"  timed out {c['timeout']} (the run passed its bound: not a kill)",
             f"  error {c['error']} (the suite stopped before judging: not a kill)",
             f"  incompetent {c['incompetent']}",
             f"  kill rate (killed / (killed + survived)): {rate}"]
    per_module: dict[str, dict] = {}
    for m in mutants:
        if m["state"] not in ("excluded", "unsampled"):
            pm = per_module.setdefault(m["module"], {"generated": 0, "killed": 0, "survived": 0})
            pm["generated"] += 1
            if m["state"] in (ma.KILLED, ma.SURVIVED):
                pm[m["state"]] += 1
    lines.append("per module (generated / killed / survived):")
    lines += [f"  {mod:<42} {v['generated']:>4} {v['killed']:>4} {v['survived']:>4}"
              for mod, v in sorted(per_module.items())]
    for state in (ma.SURVIVED, ma.TIMEOUT, ma.ERROR, "incompetent"):
        chosen = sorted((m for m in mutants if m["state"] == state),
                        key=lambda m: (m["module"], m["line"] or 0, m["operator"], m["occurrence"]))
        if chosen:
            lines.append(f"{state}:")
            lines += [f"  {m['job'][:8]} {m['module']}:{m['line']} {m['operator']} #{m['occurrence']}"
                      for m in chosen]
    data = {"figures": c, "per_module": per_module,
            "mutants": [{k: v for k, v in m.items() if k != "diff" or m["state"] != ma.KILLED}
                        for m in mutants if m["state"] not in ("excluded", "unsampled")]}
    return data, lines


def write_summary(s: Session) -> list[str]:
    data, lines = summary(s)
    (s.state / "summary.json").write_text(json.dumps(data, indent=1))
    md = ["# Generated mutants: session summary", "", "```", *lines, "```", ""]
    for m in data["mutants"]:
        if m["state"] in (ma.SURVIVED, ma.TIMEOUT, ma.ERROR):
            md += [f"## {m['state']} {m['job'][:8]}: {m['module']}:{m['line']} {m['operator']}", "",
                   "```diff", (m.get("diff") or "").rstrip(), "```", ""]
    (s.state / "summary.md").write_text("\n".join(md))
    return lines


# ---------------------------------------------------------------- running

def forget(db: Path, jobs: list[str]) -> int:
    """Drop the results of these mutants (job id prefixes) so that the
    next exec runs them again."""
    con = sqlite3.connect(str(db), timeout=30)
    try:
        ids = [row[0] for row in con.execute("SELECT job_id FROM work_results")
               if any(row[0].startswith(j) for j in jobs)]
        con.executemany("DELETE FROM work_results WHERE job_id = ?", [(i,) for i in ids])
        con.commit()
    finally:
        con.close()
    return len(ids)


def execute(s: Session, *, poll: float = 15.0) -> int:
    """Run cosmic-ray exec on the pending mutants, printing progress."""
    here = Path(__file__).resolve().parent.parent
    for rel in OWN_FILES:               # the session's own modules are always the running ones
        _copy(here / rel, s.tree / rel)
    restored = s.restore_targets()
    if restored:
        print(f"restored {', '.join(restored)} (left mutated by a stopped run)", flush=True)
    before = tally(collect(s.db)["mutants"])
    print("resuming: " + progress_line(before) if before["done"] else progress_line(before), flush=True)
    if not before["pending"]:
        return EXIT_OK
    started = time.monotonic()
    env = mp.copy_env(s.tree)
    with open(s.log, "ab") as log:
        proc = subprocess.Popen(cosmic_ray_cmd("exec", str(s.config), str(s.db)), cwd=s.state,
                                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        last = None
        try:
            while True:
                try:
                    proc.wait(timeout=poll)
                    finished = True
                except subprocess.TimeoutExpired:
                    finished = False
                c = tally(collect(s.db)["mutants"])
                c["done_here"] = c["done"] - before["done"]
                line = progress_line(c, started)
                if c["done"] != last or finished:
                    print(line, flush=True)
                    last = c["done"]
                if finished:
                    break
        except KeyboardInterrupt:
            proc.terminate()       # cosmic-ray puts the mutated file back as it unwinds
            proc.wait()
            print("interrupted; run the command again to resume", flush=True)
            return EXIT_INCOMPLETE
    if proc.returncode != 0:
        print(f"ipc-conformance: cosmic-ray exec exited {proc.returncode}; see {s.log}", file=sys.stderr)
        return EXIT_INCOMPLETE
    return EXIT_OK


def _head(repo: Path) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                          check=True).stdout.strip()


def cmd_generated(args) -> int:
    """The ``mutants --generated`` command."""
    try:
        import cosmic_ray  # noqa: F401
    except ImportError:
        print(f"ipc-conformance: {INSTALL_HINT}", file=sys.stderr)
        return EXIT_MANIFEST
    s = Session(Path(args.state))
    modules = sorted(args.module) if args.module else sorted(ma.MODULE_AREAS)
    unknown = [m for m in modules if m not in ma.MODULE_AREAS]
    if unknown:
        print(f"ipc-conformance: not a module the session mutates: {', '.join(unknown)} "
              f"(known: {', '.join(sorted(ma.MODULE_AREAS))})", file=sys.stderr)
        return EXIT_MANIFEST
    if args.summary:
        if not s.exists():
            print(f"ipc-conformance: no session in {s.state}", file=sys.stderr)
            return EXIT_INCOMPLETE
        print("\n".join(write_summary(s)))
        return EXIT_OK
    if args.fresh or not s.exists():
        try:
            rev = None if args.from_worktree else _head(REPO_ROOT)
            status = init_session(s, REPO_ROOT, modules, workers=args.n or 2, limit=args.limit, rev=rev,
                                  sample=args.sample, seed=args.seed)
        except (subprocess.CalledProcessError, FileNotFoundError) as e:
            print(f"ipc-conformance: the session copies a git checkout ({REPO_ROOT}): {e}", file=sys.stderr)
            return EXIT_MANIFEST
        if status != EXIT_OK:
            return status
    elif args.sample is not None:
        dropped = shrink_session(s.db, args.sample, seed=args.seed)
        print(f"the session now holds {args.sample} mutants ({dropped} pending ones dropped from the sample)",
              flush=True)
    elif args.module or args.limit is not None:
        print(f"note: resuming the session in {s.state} with its own selection "
              f"({len(s.modules())} modules); --fresh to start another", flush=True)
    if args.overlay:
        n = make_tree(REPO_ROOT, s.tree, keep=set(s.modules()), paths=list(args.overlay))
        print(f"copied {n} file(s) of the working tree into the copy (targets kept as they were)", flush=True)
    if args.rerun:
        jobs = list(args.rerun)
        states = {"timeout", "error", "survived", "killed"}
        if set(jobs) & states:
            wanted = set(jobs) & states
            jobs = [j for j in jobs if j not in states] + \
                [m["job"] for m in collect(s.db)["mutants"] if m["state"] in wanted]
        print(f"re-running {forget(s.db, jobs)} mutant(s)", flush=True)
    if args.confirm:
        if not args.rerun:          # every survivor; with --rerun, only those named
            survivors = [m["job"] for m in collect(s.db)["mutants"] if m["state"] == ma.SURVIVED]
            print(f"confirming {forget(s.db, survivors)} survivor(s) against every area", flush=True)
        (s.state / mp.ALL_AREAS_FLAG).touch()
    try:
        status = execute(s)
    finally:
        (s.state / mp.ALL_AREAS_FLAG).unlink(missing_ok=True)
    lines = write_summary(s)
    print("\n".join(lines))
    print(f"summary: {s.state / 'summary.md'}")
    if status != EXIT_OK:
        return status
    c = tally(collect(s.db)["mutants"])
    return EXIT_OK if not (c["pending"] or c["error"]) else EXIT_INCOMPLETE


def add_arguments(p) -> None:
    """The ``--generated`` options of ``ipc-conformance mutants``."""
    g = p.add_argument_group("generated mutants (--generated; docs/mutants.md, 'Generated mutants')")
    g.add_argument("--generated", action="store_true",
                   help="machine-made mutants: run the cosmic-ray session (resumable) instead of fixtures/mutants")
    g.add_argument("--fresh", action="store_true", help="start the session over")
    g.add_argument("--state", metavar="DIR", default=str(DEFAULT_STATE),
                   help=f"the session's folder (default: {DEFAULT_STATE})")
    g.add_argument("--module", action="append", default=[], metavar="PATH",
                   help="only this module (e.g. reference_impl/protocol/listener.py; repeatable; new sessions)")
    g.add_argument("--limit", type=int, metavar="N", help="only the first N mutants (new sessions; plumbing checks)")
    g.add_argument("--sample", type=int, metavar="N",
                   help="a uniform random sample of N of the selected mutants (--seed); on a session "
                        "already started, cut its pending mutants down so that it holds N")
    g.add_argument("--seed", type=int, default=13, metavar="S", help="the sample's seed (default 13)")
    g.add_argument("--rerun", action="append", default=[], metavar="JOB|STATE",
                   help="run these mutants again (job id prefix, or timeout, error, survived; repeatable)")
    g.add_argument("--from-worktree", action="store_true",
                   help="copy the working tree (tracked and untracked files) instead of the last commit (new sessions)")
    g.add_argument("--overlay", action="append", default=[], metavar="PATH",
                   help="copy this file of the working tree into the session's copy first (a new case; "
                        "repeatable; never a mutated module)")
    g.add_argument("--confirm", action="store_true",
                   help="run every survivor (or the --rerun ones) again against the whole suite (a gap "
                        "in the module->areas mapping must not pass for a missing case)")
    g.add_argument("--summary", action="store_true", help="only print and write the session's summary")
