"""The plumbing of ``ipc-conformance mutants --generated`` (the cosmic-ray
session, docs/mutants.md "Generated mutants"), not the session itself,
which takes about an hour:

- every module of the reference's process and protocol layers is mapped to
  case areas that exist (or is excluded with a reason);
- a run's verdict: only a failing case kills; a suite that stopped before
  judging (exit 2 without a failure, 3, 4) or a run past its bound does not;
- the scratch copy is what the suite runs (PYTHONPATH wins over the
  editable install): a mutant of the copy's ref-node that exits at once is
  killed, and the unmutated copy passes the same case;
- without cosmic-ray the command says how to install it (exit 3);
- a one-mutant session, end to end.
"""
import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ipc_conformance.conformance import generated_mutants as gm
from ipc_conformance.conformance import mutant_areas as ma
from ipc_conformance.conformance import mutant_probe as mp

REPO = Path(__file__).resolve().parents[2]
NODE = "reference_impl/cli/node.py"


def test_every_module_of_the_layers_is_mapped_to_existing_areas():
    modules = {str(p.relative_to(REPO)) for p in (REPO / "reference_impl").rglob("*.py")
               if p.stat().st_size > 0 and "__pycache__" not in p.parts}
    packages = {m for m in modules if m.endswith("__init__.py") and m != "reference_impl/cli/__init__.py"}
    unmapped = modules - packages - set(ma.MODULE_AREAS) - set(ma.NOT_MUTATED)
    assert not unmapped, f"map these modules to case areas in conformance/mutant_areas.py: {unmapped}"
    for module, areas in ma.MODULE_AREAS.items():
        assert (REPO / module).is_file(), module
        assert areas and set(areas) <= set(ma.ALL_AREAS), module
    for area in ma.ALL_AREAS:
        assert (REPO / "conformance" / "cases" / f"test_{area}.py").is_file(), area
    assert ma.keyword_for("reference_impl/protocol/schema.py") == "test_smoke.py or test_protocol.py"
    assert ma.keyword_for("reference_impl/ipc.py") == ""      # every area: no -k at all


def test_operator_selection():
    assert ma.operator_selected("core/AddNot")
    assert ma.operator_selected("core/ReplaceComparisonOperator_Lt_LtE")
    assert ma.operator_selected("core/ReplaceBinaryOperator_Add_Sub")
    assert not ma.operator_selected("core/ReplaceComparisonOperator_Eq_Gt")
    assert not ma.operator_selected("core/ReplaceBinaryOperator_Mul_Pow")
    assert not ma.operator_selected("core/ReplaceUnaryOperator_USub_Invert")


@pytest.mark.parametrize("rc, kinds, complete, timed_out, expected", [
    (0, {"PASS": 5}, True, False, ma.SURVIVED),
    (1, {"PASS": 4, "FAIL": 1}, True, False, ma.KILLED),
    (2, {"PASS": 2, "FAIL": 1}, False, False, ma.KILLED),      # --maxfail stopped it: still a kill
    (2, {"PASS": 2, "CRASH": 1}, False, False, ma.KILLED),
    (1, {"PASS": 2, "TIMEOUT": 1}, True, False, ma.KILLED),
    (2, {"PASS": 2}, False, False, ma.ERROR),                 # a worker died: nothing judged
    (2, None, False, False, ma.ERROR),                        # no results
    (3, None, False, False, ma.ERROR),                        # manifest or preflight
    (4, None, False, False, ma.ERROR),                        # a program cannot run
    (0, {"PASS": 5}, False, False, ma.ERROR),                 # fewer executed than selected
    (None, None, False, True, ma.TIMEOUT),                    # past the bound
    (None, {"PASS": 1, "TIMEOUT": 1}, False, True, ma.TIMEOUT),
    (None, {"PASS": 1, "FAIL": 1}, False, True, ma.KILLED),
])
def test_verdicts_and_exit_statuses(rc, kinds, complete, timed_out, expected):
    assert ma.verdict(rc, kinds, complete=complete, timed_out=timed_out) == expected
    assert (ma.EXIT_FOR[expected] == 0) == (expected == ma.SURVIVED)


def test_a_session_result_is_counted_by_its_verdict_line_not_by_cosmic_rays_outcome():
    line = ma.VERDICT_PREFIX + json.dumps({"verdict": ma.ERROR, "rc": 3})
    assert gm.classify("normal", "killed", "noise\n" + line)[0] == ma.ERROR
    assert gm.classify("normal", "killed", "timeout")[0] == ma.TIMEOUT
    assert gm.classify("skipped", None, "Filtered operator")[0] == "excluded"
    assert gm.classify("exception", "incompetent", "Traceback")[0] == "incompetent"
    assert gm.classify("normal", "killed", "no verdict line")[0] == ma.ERROR
    c = gm.tally([{"state": s, "record": None} for s in
                  ("killed", "killed", "killed", "survived", "timeout", "excluded", "pending")])
    assert (c["generated"], c["done"], c["killed"], c["survived"], c["timeout"]) == (6, 5, 3, 1, 1)
    assert c["kill_rate"] == 0.75


@pytest.fixture
def tree():
    base = Path(tempfile.mkdtemp(prefix="gm-", dir="/tmp"))
    try:
        t = base / "tree"
        gm.make_tree(REPO, t, rev="HEAD")
        yield t
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_the_copy_is_what_the_suite_runs(tree):
    env = mp.copy_env(tree)
    where = subprocess.run([sys.executable, "-c", "import ipc_conformance.reference_impl.cli.node as m;"
                            "print(m.__file__)"], cwd=tree, env=env, capture_output=True, text=True,
                           check=True).stdout.strip()
    assert Path(where).resolve() == (tree / NODE).resolve()

    pristine = {NODE: mp.file_hash(tree / NODE)}
    original = (tree / NODE).read_text()
    # A deliberately killing mutant: the copy's ref-node exits 7 at once.
    (tree / NODE).write_text(original.replace("def main(", "def main(*a, **k):\n    return 7\n\n\ndef _main(", 1))
    assert mp.changed_modules(tree, pristine) == [NODE]
    killed = mp.probe(tree, NODE, workers=1, bound=120, case_ids=("PROTO-001",))
    assert killed["verdict"] == ma.KILLED, killed
    assert any(c.startswith("PROTO-001") for c in killed["caught_by"]), killed
    (tree / NODE).write_text(original)
    assert mp.changed_modules(tree, pristine) == []
    passed = mp.probe(tree, NODE, workers=1, bound=120, case_ids=("PROTO-001",))
    assert passed["verdict"] == ma.SURVIVED, passed
    assert not list((tree.parent / "runs").iterdir())        # each run's report folder is removed


def test_without_cosmic_ray_it_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "cosmic_ray", None)      # import cosmic_ray now raises ImportError
    args = argparse.Namespace(generated=True, state="/nonexistent", module=[], limit=None, sample=None,
                              seed=13, summary=False,
                              fresh=False, rerun=[], overlay=[], from_worktree=False, confirm=False, n=2)
    assert gm.cmd_generated(args) == 3
    err = capsys.readouterr().err
    assert "pip install" in err and "[mutation]" in err


def test_a_one_mutant_session_end_to_end():
    pytest.importorskip("cosmic_ray")
    state = Path(tempfile.mkdtemp(prefix="gms-", dir="/tmp"))
    try:
        cmd = [sys.executable, "-m", "ipc_conformance.conformance.cli", "mutants", "--generated",
               "--state", str(state), "--module", "reference_impl/protocol/schema.py", "--limit", "1", "-n", "1"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=REPO)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert "[1/1]" in proc.stdout
        figures = json.loads((state / "summary.json").read_text())["figures"]
        assert figures["generated"] == 1 and figures["done"] == 1
        assert figures["killed"] + figures["survived"] == 1, figures
        assert mp.changed_modules(state / "tree", json.loads((state / "pristine.json").read_text())) == []
        # resuming a finished session runs nothing and keeps the figures
        again = subprocess.run(cmd[:-6] + ["-n", "1"], capture_output=True, text=True, timeout=120, cwd=REPO)
        assert again.returncode == 0 and "resuming: [1/1]" in again.stdout, again.stdout[-2000:]
    finally:
        shutil.rmtree(state, ignore_errors=True)
