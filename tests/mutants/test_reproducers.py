"""Standalone reproducers (`ipc-conformance repro CASE --write FILE`): for
three mutants, the written script, run on its own with a clean environment,
fails with a message naming the bug, and passes against the reference."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.mutants import MUTANTS_DIR
from harness.processes import ProcessTracker

REFERENCE = Path(__file__).resolve().parents[2] / "conformance" / "manifests" / "reference.toml"
CHOSEN = [  # (case, mutant, what the failure message must say)
    ("SPAWN-005", "zombie-child", "zombie"),
    ("SIG-001", "sigint-kills-child", "SIGINT killed the child"),
    ("LISTEN-002", "listener-single-client", "the listener stopped accepting"),
]


def _write(case_id: str, manifest: Path, out: Path) -> str:
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "repro", case_id,
                           "--impl", str(manifest), "--write", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out.read_text()


def _run_alone(script: Path, workdir: Path) -> subprocess.CompletedProcess:
    """As from a clean shell: no PYTHONPATH, no virtualenv variables, only an
    interpreter that has pexpect, psutil and pycapnp on PATH. A script shows
    a mutant's bug, so it may leave that bug's debris (the zombie-child's
    unreaped child): whatever of it is re-parented to this process (a child
    subreaper once the harness ran here) is killed and reaped afterwards."""
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(workdir),
           "LANG": "C.UTF-8"}
    tracker = ProcessTracker()
    try:
        return subprocess.run(["python3", str(script)], cwd=workdir, env=env,
                              capture_output=True, text=True, timeout=120)
    finally:
        tracker.teardown()


@pytest.mark.parametrize("case_id,mutant,bug", CHOSEN)
def test_reproducer_shows_the_bug_and_passes_the_reference(tmp_path, case_id, mutant, bug):
    bad = tmp_path / f"{mutant}.py"
    good = tmp_path / "reference.py"
    text = _write(case_id, MUTANTS_DIR / mutant / "manifest.toml", bad)
    _write(case_id, REFERENCE, good)
    imports = set(re.findall(r"^\s*(?:import|from)\s+(\w+)", text, re.M))
    assert not imports & {"harness", "reference_impl", "conformance", "fixtures"}, imports
    assert imports <= {"asyncio", "functools", "json", "os", "re", "shutil", "signal", "socket",
                       "sys", "tempfile", "threading", "capnp", "pexpect", "psutil"}, imports

    failed = _run_alone(bad, tmp_path)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    last = failed.stdout.strip().splitlines()[-1]
    assert last.startswith(f"FAIL {case_id} against {mutant}: expected "), last
    assert bug in last, last

    passed = _run_alone(good, tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.strip().splitlines()[-1] == f"PASS {case_id} against reference"


def test_unsupported_case_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "repro", "SPAWN-004",
                           "--impl", str(REFERENCE), "--write", str(tmp_path / "x.py")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "no standalone reproducer for SPAWN-004" in proc.stderr
    for case_id, _, _ in CHOSEN:
        assert case_id in proc.stderr
    assert not (tmp_path / "x.py").exists()
