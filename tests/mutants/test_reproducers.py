"""Standalone reproducers (`ipc-conformance repro CASE --write FILE`): for
three mutants, the written script, run on its own with a clean environment,
fails with a message naming the bug, and passes against the reference."""
import subprocess
import sys

import pytest

from ipc_conformance.conformance.mutants import MUTANTS_DIR
from repro_helpers import REFERENCE, assert_standalone, last_line, run_alone, write

CHOSEN = [  # (case, mutant, what the failure message must say)
    ("SPAWN-005", "zombie-child", "zombie"),
    ("SIG-001", "sigint-kills-child", "SIGINT killed the child"),
    ("LISTEN-002", "listener-single-client", "the listener stopped accepting"),
]
# Reproducers of upstream bugs (tests/upstream/test_upstream_reproducers.py).
UPSTREAM = ["FD-005", "SPAWN-014", "FD-011", "SHUT-010", "PROTO-007", "SIG-007"]


@pytest.mark.parametrize("case_id,mutant,bug", CHOSEN)
def test_reproducer_shows_the_bug_and_passes_the_reference(tmp_path, case_id, mutant, bug):
    bad = tmp_path / f"{mutant}.py"
    good = tmp_path / "reference.py"
    assert_standalone(write(case_id, MUTANTS_DIR / mutant / "manifest.toml", bad))
    write(case_id, REFERENCE, good)

    failed = run_alone(bad, tmp_path)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    last = last_line(failed)
    assert last.startswith(f"FAIL {case_id} against {mutant}: expected "), last
    assert bug in last, last

    passed = run_alone(good, tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert last_line(passed) == f"PASS {case_id} against reference"


def test_unsupported_case_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ipc_conformance.conformance.cli", "repro", "SPAWN-004",
                           "--impl", str(REFERENCE), "--write", str(tmp_path / "x.py")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "no standalone reproducer for SPAWN-004" in proc.stderr
    for case_id in [c for c, _, _ in CHOSEN] + UPSTREAM:
        assert case_id in proc.stderr
    assert not (tmp_path / "x.py").exists()
