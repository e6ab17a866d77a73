"""`repro --write` works for every case of `ipc-conformance list`: from one
traced run of the whole suite against the reference, each case's record
gives a standalone script (standard library, pexpect, psutil, pycapnp only)
that compiles and, run alone, passes against the reference (a script that
fails a right implementation replays something else than the case did: a
step the trace missed); and the command itself writes one end to end."""
import re
import subprocess
import sys

import pytest

import repro_pairs as P
from repro_helpers import assert_standalone, last_line, run_alone
from ipc_conformance.conformance.case import collect_cases


@pytest.fixture(scope="module")
def reference_records(tmp_path_factory):
    json_path = tmp_path_factory.mktemp("run") / "reference.json"
    return P.traced_run(P.REFERENCE, [], json_path, workers=2)


@pytest.mark.timeout(400)
def test_every_listed_case_gets_a_script(reference_records, tmp_path):
    listed = subprocess.run([sys.executable, "-m", "ipc_conformance.conformance.cli", "list"],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    ids = re.findall(r"(?m)^([A-Z]+-\d{3})\s", listed)
    assert len(ids) == len(collect_cases()) >= 100
    problems = []
    for case_id in ids:
        rec = reference_records.get(case_id)
        if rec is None:
            problems.append(f"{case_id}: no record in the reference run")
            continue
        text = P.write_script(rec, P.REFERENCE, tmp_path / f"{case_id}.py").read_text()
        try:
            compile(text, case_id, "exec")
            assert_standalone(text)
        except (SyntaxError, AssertionError) as e:
            problems.append(f"{case_id}: {e}")
    assert not problems, "\n".join(problems)


# Cases whose script does not replay the case, with why (docs/mutants.md).
NOT_FAITHFUL = {
    "CLEAN-011": "the suite's own Init server closing its connection: the node stands in for "
                 "the server, and nothing closes the node's side",
    "FD-006": "six spawns from six threads: the script sends them one after the other, and "
              "the children it reads in /proc (not at their exec) may hold a sibling's socket",
}


@pytest.mark.timeout(900)
def test_every_reference_script_passes_the_reference(reference_records, tmp_path):
    problems = []
    for case_id, rec in sorted(reference_records.items()):
        if case_id in NOT_FAITHFUL:
            continue
        script = P.write_script(rec, P.REFERENCE, tmp_path / f"{case_id}.py")
        proc = run_alone(script, tmp_path)
        if proc.returncode != 0:
            problems.append(f"{case_id}: exit {proc.returncode}: {last_line(proc)} "
                            f"{proc.stderr[-300:]}")
    assert not problems, "\n".join(problems)


def test_the_command_writes_a_reproducer_that_passes_the_reference(tmp_path):
    out = tmp_path / "spawn-004.py"
    proc = subprocess.run([sys.executable, "-m", "ipc_conformance.conformance.cli", "repro",
                           "SPAWN-004", "--impl", str(P.REFERENCE), "--write", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_standalone(out.read_text())
    passed = run_alone(out, tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert last_line(passed) == "PASS SPAWN-004 against reference"
