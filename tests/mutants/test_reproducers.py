"""`ipc-conformance repro CASE --impl MUTANT --write FILE` end to end, with
minimising (delta debugging, the default): the written script, run on its
own from a clean environment, fails against the mutant with a message
naming the bug, passes with the reference's programs, says in its header
how many steps minimising dropped, and is shorter than the unminimised one.
Every mutant-catcher pair, full and minimised: tests/repro/test_generated_reproducers.py."""
import re

import pytest

from ipc_conformance.conformance.mutants import MUTANTS_DIR
from repro_helpers import (REFERENCE, assert_standalone, last_line, programs_of, run_alone,
                           write)

CHOSEN = [  # (case, mutant, what the failure message must say, steps at least dropped)
    ("SPAWN-005", "zombie-child", "a zombie", 0),
    ("CLEAN-003", "cleanup-runs-early", "while the proxy lives: cleanups [] in that order", 10),
]


@pytest.mark.timeout(400)
@pytest.mark.parametrize("case_id,mutant,bug,least", CHOSEN)
def test_minimised_reproducer_shows_the_bug_and_passes_the_reference(tmp_path, case_id,
                                                                     mutant, bug, least):
    manifest = MUTANTS_DIR / mutant / "manifest.toml"
    script = tmp_path / f"{mutant}.py"
    text = write(case_id, manifest, script, minimise=True, timeout=360)
    full = write(case_id, manifest, tmp_path / "full.py")
    assert_standalone(text)
    dropped = int(re.search(r"(\d+) dropped by minimising", " ".join(text.split())).group(1))
    assert dropped >= least and len(text.splitlines()) <= len(full.splitlines())

    failed = run_alone(script, tmp_path)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    last = last_line(failed)
    assert last.startswith(f"FAIL {case_id} against {mutant}: expected "), last
    assert bug in last, last

    passed = run_alone(script, tmp_path, programs_of(REFERENCE, text))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert last_line(passed) == f"PASS {case_id} against {mutant}"
