"""ipc-conformance: the exit-status contract on synthetic results, the
pytest command lines, and the subcommands end to end on the fake suite
(the CLI runs in a subprocess with the stand-in harness on PYTHONPATH)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ipc_conformance.conformance import cli
from ipc_conformance.conformance.report import json_report as jr
from ipc_fake_suite import CASES, EXPECTED_KINDS, MANIFEST


def run_of(*kinds, selected=None, executed=None):
    cases = [{"id": f"SPAWN-{i:03d}", "key": f"SPAWN-{i:03d}", "kind": k}
             for i, k in enumerate(kinds, 1)]
    return {"implementation": {"name": "x"}, "cases": cases,
            "selected": len(cases) if selected is None else selected,
            "executed": len(cases) if executed is None else executed}


@pytest.mark.parametrize("kinds, status", [
    (["PASS"], 0),
    (["PASS", "UNIMPLEMENTED", "EXPECTED-FAIL", "NON-STRICT", "INFORMATIONAL"], 0),
    (["PASS", "FAIL"], 1),
    (["TIMEOUT"], 1),
    (["CRASH"], 1),
    (["EXPECTED-FAIL", "UNEXPECTED-PASS"], 1),
    (["FLAKY"], 1),
])
def test_exit_status_by_kind(kinds, status):
    assert jr.run_exit_status(run_of(*kinds)) == status
    assert jr.exit_status([run_of(*kinds)]) == status


def test_exit_status_incomplete_and_missing():
    assert jr.run_exit_status(run_of("PASS", "PASS", executed=1)) == 2
    assert jr.run_exit_status(run_of("FAIL", "PASS", executed=1)) == 2   # 2 outranks 1
    assert jr.run_exit_status(run_of()) == 2                              # nothing selected
    assert jr.run_exit_status(None) == 2                                  # no JSON at all
    assert jr.exit_status([run_of("PASS"), None]) == 2
    assert jr.exit_status([run_of("PASS")], report_written=False) == 2
    assert jr.exit_status([run_of("PASS"), run_of("FAIL")]) == 1
    assert jr.exit_status([run_of("PASS")], manifest_invalid=True) == 3
    assert jr.exit_status([]) == 2


def test_pytest_command():
    cmd = cli.pytest_command(Path("/m/ref.toml"), cases_dir=Path("/c"), json_path=Path("/r/ref.json"),
                             junit_path=Path("/r/ref.junit.xml"), keyword="spawn", workers=2,
                             repeat=3, random_order=True, case_ids=["SPAWN-001"], timeout=30,
                             extra=["-x"])
    assert cmd[:3] == [sys.executable, "-m", "pytest"]
    line = " ".join(cmd[3:])
    for part in ("/c -p ipc_conformance -p timeout --ipc-impl /m/ref.toml -p no:cacheprovider",
                 "--ipc-json /r/ref.json", "--junitxml /r/ref.junit.xml", "-q", "-k spawn",
                 "-p xdist -n 2", "--ipc-repeat 3", "--ipc-random-order", "--ipc-case SPAWN-001",
                 "--timeout 30"):
        assert part in line
    assert cmd[-1] == "-x"
    verbose = cli.pytest_command(Path("m"), cases_dir=Path("c"), verbose=True, seed=5,
                                 random_order=True, show_evidence=True)
    assert "-vv" in verbose and "-s" in verbose and "--ipc-show-evidence" in verbose
    assert "--ipc-seed" in verbose and "--ipc-random-order" not in verbose


@pytest.fixture
def suite(tmp_path, standin_env):
    """A cases directory and a manifest in a work directory."""
    _, env = standin_env
    work = tmp_path / "work"
    cases = work / "cases"
    cases.mkdir(parents=True)
    (cases / "test_cases.py").write_text(CASES)
    (work / "fake.toml").write_text(MANIFEST)
    return work, cases, env


def ipc(suite, *args):
    work, cases, env = suite
    return subprocess.run([sys.executable, "-m", "ipc_conformance.conformance.cli", "--cases", str(cases), *args],
                          cwd=work, env=env, text=True, capture_output=True, timeout=300)


def test_run_writes_json_junit_html_and_fails(suite):
    work = suite[0]
    proc = ipc(suite, "run", "--impl", "fake.toml", "--report", "out")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = work / "out"
    assert sorted(p.name for p in out.iterdir()) == ["fake.json", "fake.junit.xml", "report.html"]
    data = json.loads((out / "fake.json").read_text())
    assert {c["key"]: c["kind"] for c in data["cases"]} == EXPECTED_KINDS
    assert "fake: selected 13, executed 13: FAIL 3" in proc.stdout
    assert "  FAIL SPAWN-002: the child exited 1, not 0" in proc.stdout
    assert f"report: {out / 'report.html'}" in proc.stdout
    assert "exit status 1: unexpected failures" in proc.stdout
    page = (out / "report.html").read_text()
    assert "id='c0-SPAWN-002'" in page and "<th class='col'>fake</th>" in page


def test_a_pytest_plugin_installed_beside_the_suite_is_not_loaded(suite, tmp_path):
    """A pytest plugin that happens to be installed where the suite runs
    (entry point pytest11, autoloaded by plain pytest) cannot change a
    verdict: here one that would drop every case; the run loads only its own
    plugins (runner.RUN_PLUGINS) and judges every case as before."""
    work, cases, env = suite
    site = tmp_path / "site"
    dist = site / "dropper-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: dropper\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[pytest11]\ndropper = dropper_plugin\n")
    (site / "dropper_plugin.py").write_text(
        "def pytest_collection_modifyitems(items):\n    items[:] = []\n")
    env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))}
    plain = subprocess.run([sys.executable, "-m", "pytest", str(cases), "-p", "ipc_conformance",
                            "--ipc-impl", "fake.toml", "-q"], cwd=work, env=env, text=True,
                           capture_output=True, timeout=300)
    assert "no tests ran" in plain.stdout, plain.stdout      # plain pytest loads it
    proc = ipc((work, cases, env), "run", "--impl", "fake.toml", "--report", "out")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    data = json.loads((work / "out" / "fake.json").read_text())
    assert {c["key"]: c["kind"] for c in data["cases"]} == EXPECTED_KINDS


def test_run_two_implementations_and_passthrough(suite):
    work = suite[0]
    (work / "other.toml").write_text(MANIFEST.replace('name = "fake"', 'name = "other"'))
    proc = ipc(suite, "run", "--impl", "fake.toml", "--impl", "other.toml", "--report", "out",
               "-n", "2", "-k", "informational or non_strict or missing_role", "--", "-p", "no:randomly")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    page = (work / "out" / "report.html").read_text()
    assert "<th class='col'>fake</th><th class='col'>other</th>" in page
    for name in ("fake", "other"):
        data = json.loads((work / "out" / f"{name}.json").read_text())
        assert data["selected"] == data["executed"] == 3
        assert data["run"]["workers"] == 2
    assert "exit status 0: nothing failed unexpectedly" in proc.stdout


def test_implementations_at_once_give_the_records_of_one_after_another(suite):
    """--jobs 2 runs both manifests' pytest sessions at once (each output
    printed whole as it ends); every case's kind and message are those of
    the same two runs one after another."""
    work = suite[0]
    (work / "other.toml").write_text(MANIFEST.replace('name = "fake"', 'name = "other"'))
    verdicts = {}
    for jobs in ("1", "2"):
        proc = ipc(suite, "run", "--impl", "fake.toml", "--impl", "other.toml", "--report",
                   f"out{jobs}", "--jobs", jobs)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        verdicts[jobs] = {name: {c["key"]: (c["kind"], c.get("message"))
                                 for c in json.loads((work / f"out{jobs}" / f"{name}.json")
                                                     .read_text())["cases"]}
                          for name in ("fake", "other")}
        if jobs == "2":
            assert "[run 1 of 2, 2 at once]" in proc.stdout and "[run 2 of 2, 2 at once]" in proc.stdout
            assert proc.stdout.count("--- run ") == 2
    assert verdicts["1"] == verdicts["2"]
    assert {k: v[0] for k, v in verdicts["2"]["fake"].items()} == EXPECTED_KINDS


def test_invalid_manifest_is_3(suite):
    (suite[0] / "bad.toml").write_text("[implementation]\n")
    proc = ipc(suite, "run", "--impl", "bad.toml", "--report", "out")
    assert proc.returncode == 3
    assert "implementation.name" in proc.stderr
    assert not (suite[0] / "out").exists()
    assert ipc(suite, "run", "--impl", "missing.toml").returncode == 3


def test_report_not_writable_is_2(suite):
    (suite[0] / "out").write_text("a file where the report directory should be")
    proc = ipc(suite, "run", "--impl", "fake.toml", "--report", "out", "-k", "test_pass")
    assert proc.returncode == 2


def test_nothing_selected_is_2(suite):
    proc = ipc(suite, "run", "--impl", "fake.toml", "--report", "out", "-k", "no_such_case")
    assert proc.returncode == 2


def test_repro(suite):
    proc = ipc(suite, "repro", "spawn-002", "--impl", "fake.toml")
    assert proc.returncode == 1
    assert "SPAWN-002: The child exits 0 on EOF." in proc.stdout       # explained first
    assert "    <child> exited 1" in proc.stdout                      # transcript printed
    assert "SPAWN-002: FAIL: the child exited 1, not 0" in proc.stdout
    assert "test_cases.py::test_fail" in proc.stdout and "-vv" in proc.stdout
    proc = ipc(suite, "repro", "SPAWN-002", "--impl", "fake.toml", "--write", "r.py")
    assert proc.returncode == 2 and "SPAWN-002 (FAIL) holds no trace" in proc.stderr
    assert ipc(suite, "repro", "NOPE-001", "--impl", "fake.toml").returncode == 2


def test_smoke(suite):
    proc = ipc(suite, "smoke", "--impl", "fake.toml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    child = next(ln for ln in lines if ln.strip().startswith("child "))
    listener = next(ln for ln in lines if ln.strip().startswith("listener "))
    shell = next(ln for ln in lines if ln.strip().startswith("shell "))
    assert "works" in child and "SPAWN-001" in child
    assert "not offered" in listener
    assert "not offered" in shell
    assert "PASS 1" in proc.stdout and "UNIMPLEMENTED 1" in proc.stdout


def test_list_and_explain(suite, capsys):
    cases = str(suite[1])
    assert cli.main(["--cases", cases, "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"{len(EXPECTED_KINDS)} cases"
    spawn2 = next(ln for ln in out if ln.startswith("SPAWN-002"))
    assert spawn2.split()[:4] == ["SPAWN-002", "REQ-SPAWN-2", "bitcoin-ipc", "child"]
    assert spawn2.endswith("The child exits 0 on EOF.")
    assert any(ln.startswith("SPAWN-001") and ln.endswith("[smoke]") for ln in out)
    ids = [ln.split()[0] for ln in out[:-1]]
    assert ids.index("SPAWN-001") < ids.index("SHUT-001") < ids.index("CLI-001")

    assert cli.main(["--cases", cases, "explain", "SPAWN-002"]) == 0
    text = capsys.readouterr().out
    assert "SPAWN-002: The child exits 0 on EOF." in text
    assert "requirement: REQ-SPAWN-2" in text
    assert "roles: child" in text
    assert "test_cases.py:" in text and "(test_fail)" in text
    assert cli.main(["--cases", cases, "explain", "SPAWN-999"]) == 2


def test_list_with_impl(suite):
    proc = ipc(suite, "list", "--impl", "fake.toml")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert any(ln.startswith("LISTEN-001") and "UNIMPLEMENTED: the manifest offers no [roles.listener]" in ln
               for ln in lines)
    assert any(ln.startswith("SPAWN-004") and "expected fail: exec failure" in ln for ln in lines)
    assert any(ln.startswith("SPAWN-002") and ln.endswith("(runs)") for ln in lines)


def test_report_subcommand(suite, tmp_path):
    work = suite[0]
    assert ipc(suite, "run", "--impl", "fake.toml", "--report", "out").returncode == 1
    proc = ipc(suite, "report", "out", "-o", "merged.html")
    assert proc.returncode == 1
    assert (work / "merged.html").read_text().startswith("<!DOCTYPE html>")


def test_help_documents_the_exit_status():
    proc = subprocess.run([sys.executable, "-m", "ipc_conformance.conformance.cli", "run", "--help"],
                          capture_output=True, text=True)
    assert proc.returncode == 0
    assert "exit status:" in proc.stdout and "UNEXPECTED-PASS" in proc.stdout
    assert "3  a manifest is invalid" in proc.stdout
