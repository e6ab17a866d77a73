"""Generated reproducers (`ipc-conformance repro CASE --impl M --write FILE`,
conformance/repro) for every pair of a mutant and one of its
``expected_catchers`` in fixtures/mutants: the script, generated from the
trace of the case's run against the mutant and run alone from a clean
environment (no project on sys.path), exits 1 against the mutant with a
message naming the failing check, and 0 against the reference's programs.

One traced run per mutant (its catching cases), so the whole file stays
within a few minutes on two workers; the scripts are not minimised here
(tests/mutants/test_reproducers.py covers minimising through the command).
"""
import re
import subprocess

import pytest

import repro_pairs as P
from repro_helpers import assert_standalone, last_line, run_alone

PAIRS = P.pairs()
MUTANTS = sorted({m for m, _ in PAIRS})


def test_every_mutant_has_catchers_and_pairs_are_counted():
    assert len(PAIRS) >= 40, PAIRS
    assert len(MUTANTS) == len(list(P.MUTANTS.glob("*/manifest.toml")))


def _options(script_text: str) -> list[str]:
    """The reference's programs, as the script's options (--node, --shell)."""
    wanted = re.search(r"^PROGRAMS = (.*)$", script_text, re.M).group(1)
    ref = P.reference_programs()
    return [a for i in range(0, len(ref), 2) if f'"{ref[i][2:]}"' in wanted for a in ref[i:i + 2]]


@pytest.mark.timeout(400)
@pytest.mark.parametrize("mutant", MUTANTS)
def test_reproducers_of_the_mutant_fail_it_and_pass_the_reference(tmp_path, mutant):
    manifest = P.MUTANTS / mutant / "manifest.toml"
    cases = [c for m, c in PAIRS if m == mutant]
    records = P.traced_run(manifest, cases, tmp_path / "run.json")
    problems = []
    for case_id in cases:
        rec = records.get(case_id)
        assert rec is not None, f"no record of {case_id} against {mutant}"
        script = P.write_script(rec, manifest, tmp_path / f"{case_id}.py")
        text = script.read_text()
        assert_standalone(text)
        bad = run_alone(script, tmp_path)
        good = subprocess.run(["python3", str(script), *_options(text)], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        last = last_line(bad)
        expected = P.failing_expectation(rec)
        if bad.returncode != 1 or not last.startswith(f"FAIL {case_id} against {mutant}: "):
            problems.append(f"{case_id}: against the mutant exit {bad.returncode}: {last}"
                            f"{bad.stderr[-800:]}")
        elif expected is not None and expected not in re.sub(r"\d+", "N", last):
            problems.append(f"{case_id}: the message does not name the failing check "
                            f"({expected!r}): {last}")
        if good.returncode != 0:
            problems.append(f"{case_id}: against the reference exit {good.returncode}: "
                            f"{last_line(good)}{good.stderr[-800:]}")
    assert not problems, "\n".join(problems)
