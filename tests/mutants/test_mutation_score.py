"""The suite's detection score: every mutant of fixtures/mutants/ (the
reference with one known lifecycle bug) must be caught by the cases its
manifest names, and the reference must pass those same cases.

Each mutant is run through the real ``ipc-conformance run``, restricted to
its expected catchers so that the whole file stays within a few minutes;
``ipc-conformance mutants`` runs the full suite against all of them.
"""
import concurrent.futures
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ipc_conformance.conformance.mutants import MUTANTS_DIR, mutant_manifests
from ipc_conformance.conformance.report import html_report
from ipc_conformance.conformance import outcome
from ipc_conformance.conformance.report import json_report as jr
from ipc_conformance.harness.manifest import load_manifest

MANIFESTS = mutant_manifests()
REFERENCE = Path(__file__).resolve().parents[2] / "conformance" / "manifests" / "reference.toml"


def _catchers(path: Path) -> list[str]:
    return list(load_manifest(path).implementation.get("expected_catchers") or [])


def _run(manifest: Path, case_ids, report_dir: str) -> dict:
    """``ipc-conformance run`` on the named cases; the run's JSON."""
    cmd = [sys.executable, "-m", "ipc_conformance.conformance.cli", "run", "--impl", str(manifest),
           "--report", report_dir, "--timeout", "60"]
    for cid in case_ids:
        cmd += ["--case", cid]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    runs = jr.load_runs(jr.find_runs(Path(report_dir)))
    assert len(runs) == 1, f"no single run in {report_dir}: {proc.stdout[-2000:]}{proc.stderr[-2000:]}"
    return runs[0]


def test_there_are_enough_mutants_and_each_is_described():
    assert len(MANIFESTS) >= 15, [p.parent.name for p in MANIFESTS]
    names = set()
    for path in MANIFESTS:
        m = load_manifest(path)
        folder = path.parent
        assert m.kind == "mutant", f"{path}: implementation.kind must be \"mutant\""
        assert m.name == folder.name and m.name not in names, m.name
        names.add(m.name)
        assert m.implementation.get("bug", "").strip(), f"{path}: no bug sentence"
        assert _catchers(path), f"{path}: no expected_catchers"
        assert not m.missing_executables(), m.missing_executables()
        for exe in ("ref-node", "ref-shell"):
            assert os.access(folder / exe, os.X_OK), f"{folder / exe} is not executable"
        mutation = (folder / "mutation.py").read_text()
        assert mutation.startswith('"""Mutant ') and "def apply():" in mutation, folder


@pytest.mark.timeout(400)
def test_mutation_score_is_total(tmp_path):
    """Every mutant fails (FAIL, TIMEOUT or CRASH) on each case it names, in
    a complete run; the score computed as the report does is 100%, and the
    HTML report shows it."""
    def one(path):
        return path, _run(path, _catchers(path), tempfile.mkdtemp(dir=tmp_path))

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(one, MANIFESTS))
    problems = []
    for path, run in results:
        wanted = _catchers(path)
        kinds = {rec["id"]: rec["kind"] for rec in run["cases"]}
        if run.get("executed") != run.get("selected") or run.get("selected") != len(wanted):
            problems.append(f"{path.parent.name}: incomplete run, selected {run.get('selected')}, "
                            f"executed {run.get('executed')} of {wanted}")
        for cid in wanted:
            if kinds.get(cid) not in outcome.CATCHING_KINDS:
                problems.append(f"{path.parent.name}: {cid} was {kinds.get(cid, 'not run')}, "
                                "not FAIL/TIMEOUT/CRASH")
    runs = [run for _, run in results]
    matrix = jr.mutant_matrix(runs)
    assert matrix["total"] == len(MANIFESTS)
    assert not problems, "\n".join(problems)
    assert matrix["score"] == 1.0, [m["label"] for m in matrix["mutants"] if not m["caught"]]
    page = html_report.render(runs)
    assert "Mutation score: <b>100%</b>" in page
    assert "Which case catches which mutant" in page


@pytest.mark.timeout(300)
def test_reference_passes_every_catching_case(tmp_path):
    """The cases that catch the mutants pass against the reference: they
    catch the bug, not something every implementation does."""
    wanted = sorted({cid for path in MANIFESTS for cid in _catchers(path)})
    run = _run(REFERENCE, wanted, str(tmp_path))
    assert run.get("executed") == run.get("selected") == len(wanted), run.get("summary")
    bad = [f"{rec['id']}: {rec['kind']} {rec.get('message', '')[:200]}" for rec in run["cases"]
           if rec["kind"] not in outcome.PASSING_KINDS]
    assert not bad, "\n".join(bad)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("folder", ["ipcfd-not-validated"])
def test_mutants_command_scores_one_mutant(tmp_path, folder):
    """`ipc-conformance mutants --only NAME --case ...` runs the reference and
    the mutant, prints the score and writes the report with the matrix."""
    path = MUTANTS_DIR / folder / "manifest.toml"
    cmd = [sys.executable, "-m", "ipc_conformance.conformance.cli", "mutants", "--only", folder,
           "--report", str(tmp_path)]
    for cid in _catchers(path)[:1]:
        cmd += ["--case", cid]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "mutation score: 100% (1 of 1 mutants caught)" in proc.stdout
    assert "reference: passes" in proc.stdout
    assert "Mutation score: <b>100%</b>" in (tmp_path / "report.html").read_text()
