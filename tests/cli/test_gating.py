"""Gating that cannot go falsely green: a declared program that is missing
stops the run with its own exit status; an optional manifest says so and
reports its roles UNIMPLEMENTED; NOT-CLAIMED cases run, keep what they
observed and never fail a run, unless the run forbids that kind."""
import json
import subprocess
import sys

from ipc_conformance.conformance.case import REPO_ROOT
from ipc_conformance.conformance import outcome

REFERENCE = REPO_ROOT / "conformance" / "manifests" / "reference.toml"


def write_manifest(tmp_path, *, implementation_extra="", node=None, shell=None):
    text = REFERENCE.read_text().replace(
        "[implementation]\n", f"[implementation]\n{implementation_extra}\n", 1)
    text = text.replace('"../../reference_impl/schemas"',
                        repr(str(REPO_ROOT / "reference_impl" / "schemas")))
    if node:
        text = text.replace('node = "ref-node"', f'node = "{node}"')
    if shell:
        text = text.replace('shell = "ref-shell"', f'shell = "{shell}"')
    path = tmp_path / "m.toml"
    path.write_text(text)
    return path


def run_cli(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "ipc_conformance.conformance.cli", "run", "--report",
                           str(tmp_path / "out"), *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)


def test_a_missing_declared_program_stops_the_run_with_status_4(tmp_path):
    missing = tmp_path / "build" / "my-node"
    manifest = write_manifest(tmp_path, node=str(missing))
    proc = run_cli(tmp_path, "--impl", str(manifest))
    assert proc.returncode == outcome.EXIT_UNRUNNABLE, proc.stdout + proc.stderr
    assert str(missing) in proc.stderr and "does not exist" in proc.stderr
    assert "required = false" in proc.stderr          # says what to do
    assert not (tmp_path / "out").exists()            # no run, so no verdicts at all


def test_a_program_that_fails_at_exec_stops_the_run(tmp_path):
    broken = tmp_path / "my-shell"
    broken.write_text("#!/nonexistent/interpreter\n")
    broken.chmod(0o755)
    proc = run_cli(tmp_path, "--impl", str(write_manifest(tmp_path, shell=str(broken))))
    assert proc.returncode == outcome.EXIT_UNRUNNABLE, proc.stdout + proc.stderr
    assert "cannot be executed" in proc.stderr and str(broken) in proc.stderr


def test_plain_pytest_stops_too(tmp_path):
    manifest = write_manifest(tmp_path, node=str(tmp_path / "nope"))
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance/cases", "-p",
                           "ipc_conformance", "--ipc-impl", str(manifest), "-q",
                           "-p", "no:cacheprovider"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == outcome.EXIT_UNRUNNABLE, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "cannot run" in proc.stdout + proc.stderr


def test_optional_manifest_reports_unimplemented_with_a_note(tmp_path):
    manifest = write_manifest(tmp_path, implementation_extra="required = false",
                              node=str(tmp_path / "not-built"))
    proc = run_cli(tmp_path, "--impl", str(manifest), "--case", "CLI-001",
                   "--case", "SPAWN-001")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "optional programs missing" in proc.stderr
    run = json.loads((tmp_path / "out" / "reference.json").read_text())
    kinds = {r["id"]: (r["kind"], r["message"]) for r in run["cases"]}
    assert kinds["CLI-001"][0] == outcome.Kind.UNIMPLEMENTED      # a node case: the node is missing
    assert "required = false" in kinds["CLI-001"][1]
    assert kinds["SPAWN-001"][0] == outcome.Kind.PASS             # the shell is there and runs


def test_not_claimed_runs_keeps_its_observation_and_can_be_forbidden(tmp_path):
    manifest = write_manifest(tmp_path, implementation_extra='claims = ["library"]')
    args = ["--impl", str(manifest), "--case", "CLI-001", "--case", "PROTO-001"]
    proc = run_cli(tmp_path, *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = json.loads((tmp_path / "out" / "reference.json").read_text())
    recs = {r["id"]: r for r in run["cases"]}
    assert recs["PROTO-001"]["kind"] == outcome.Kind.PASS and recs["PROTO-001"]["layer"] == "library"
    child = recs["CLI-001"]
    assert child["kind"] == outcome.Kind.NOT_CLAIMED and child["layer"] == "bitcoin-ipc"
    assert child["observed_kind"] == outcome.Kind.PASS and "observed PASS" in child["message"]
    assert run["executed"] == 2

    forbidden = run_cli(tmp_path, *args, "--forbid", "NOT-CLAIMED")
    assert forbidden.returncode == outcome.EXIT_FAILED, forbidden.stdout + forbidden.stderr
    assert "NOT-CLAIMED CLI-001" in forbidden.stdout


def test_a_misspelt_probe_choice_stops_the_run_with_status_3(tmp_path, monkeypatch):
    """$IPC_PROBE is set-up: a wrong value must not turn into FAILs."""
    monkeypatch.setenv("IPC_PROBE", "nativ")
    proc = run_cli(tmp_path, "--impl", str(REFERENCE), "--case", "SPAWN-001")
    assert proc.returncode == outcome.EXIT_MANIFEST, proc.stdout + proc.stderr
    assert "IPC_PROBE='nativ'" in proc.stderr and "python, native or auto" in proc.stderr
    assert not (tmp_path / "out").exists()
