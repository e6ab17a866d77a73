"""The pytest plugin end to end: fake cases run with pytester in a
subprocess (the plugin is loaded by its pytest11 entry point, the harness's
manifest loader is a stand-in, see conftest.py)."""
import json
import random
import re
import xml.etree.ElementTree as ET

from ipc_fake_suite import EXPECTED_KINDS


def run(pytester, *args, json_name="out.json"):
    result = pytester.runpytest_subprocess(
        "--ipc-impl", "fake.toml", "--ipc-json", json_name, "-p", "no:cacheprovider", *args)
    path = pytester.path / json_name
    data = json.loads(path.read_text()) if path.exists() else None
    return result, data


def kinds(data):
    return {c["key"]: c["kind"] for c in data["cases"]}


def by_id(data, case_id):
    return next(c for c in data["cases"] if c["id"] == case_id)


def test_every_kind_and_exit_status(fake_suite):
    result, data = run(fake_suite, "test_cases.py")
    assert result.ret == 1
    assert kinds(data) == EXPECTED_KINDS
    assert data["selected"] == data["executed"] == len(EXPECTED_KINDS)
    assert data["implementation"]["name"] == "fake"
    assert data["implementation"]["manifest"].endswith("fake.toml")
    assert data["implementation"]["description"] == "a stand-in implementation"
    assert data["summary"]["FAIL"] == 3 and data["summary"]["UNIMPLEMENTED"] == 3
    assert sum(data["summary"].values()) == len(EXPECTED_KINDS)
    assert data["exit_status"] == 1
    for key in ("started", "duration", "selected", "executed", "cases", "summary"):
        assert key in data

    rec = by_id(data, "SPAWN-002")
    for field in ("id", "requirement", "requirement_text", "statement", "area", "kind",
                  "duration", "message", "nodeid", "evidence"):
        assert field in rec
    assert rec["requirement"] == "REQ-SPAWN-2"
    assert rec["statement"] == "The child exits 0 on EOF."
    assert rec["area"] == "SPAWN"
    assert rec["message"].startswith("the child exited 1, not 0")
    assert rec["evidence"]["exit_status"] == 1
    assert "<child> exited 1" in rec["evidence"]["transcript"]
    assert "assert status == 0" in rec["evidence"]["traceback"]

    ok = by_id(data, "SPAWN-001")
    assert ok["process_verdict"]["exit_status"] == 0
    assert "process_verdict" not in ok["evidence"]
    assert ok["smoke"] is True

    assert by_id(data, "LISTEN-001")["message"] == \
        "UNIMPLEMENTED: the manifest offers no [roles.listener]"
    assert "makeEcho" in by_id(data, "PROTO-001")["message"]
    assert by_id(data, "CLI-003")["message"] == "UNIMPLEMENTED: the shell has no such command"
    assert by_id(data, "SHUT-001")["message"] == "WaitTimeout: no exit within 5s; saw: nothing"
    assert "SIGSEGV" in by_id(data, "SHUT-002")["message"]
    expected = by_id(data, "SPAWN-004")
    assert "exec failure is reported by the parent" in expected["message"]
    assert expected["observed_kind"] == "FAIL"
    assert expected["expectation"]["result"] == "fail"
    stale = by_id(data, "SPAWN-003")
    assert stale["message"].startswith("stale expectation")
    assert by_id(data, "CLI-001")["message"] == "message wording differs from upstream"
    assert by_id(data, "CLI-002")["evidence"]["max_connections_default"] == 16
    leak = by_id(data, "FAULT-001")
    assert leak["message"].startswith("leak: ProcessLeak")
    assert "pid 4242" in leak["evidence"]["leak"]
    setup = by_id(data, "FAULT-002")
    assert setup["message"] == "setup: RuntimeError: could not stage the shell"
    assert "could not stage the shell" in setup["evidence"]["setup_error"]

    out = result.stdout.str()
    assert "ipc conformance: fake" in out
    assert re.search(r"fake: selected 13, executed 13: FAIL 3, TIMEOUT 1, CRASH 1, "
                     r"UNEXPECTED-PASS 1, EXPECTED-FAIL 1, NON-STRICT 1, INFORMATIONAL 1, "
                     r"UNIMPLEMENTED 3, PASS 1", out)
    for line in ("FAIL SPAWN-002: the child exited 1", "TIMEOUT SHUT-001: WaitTimeout",
                 "CRASH SHUT-002: ImplementationCrashed", "UNEXPECTED-PASS SPAWN-003: stale",
                 "FAIL FAULT-001: leak", "FAIL FAULT-002: setup"):
        assert line in out
    assert "PASS SPAWN-001" not in out


def test_excused_kinds_exit_zero(fake_suite):
    result, data = run(fake_suite, "test_cases.py", "-k",
                       "test_pass or missing_role or expected_failure or non_strict"
                       " or informational or unimplemented or needs_echo")
    assert result.ret == 0
    assert set(kinds(data).values()) == {"PASS", "UNIMPLEMENTED", "EXPECTED-FAIL",
                                         "NON-STRICT", "INFORMATIONAL"}
    result.assert_outcomes(passed=3, skipped=3, xfailed=1, deselected=6)
    assert data["exit_status"] == 0


def test_unexpected_pass_alone_fails_the_run(fake_suite):
    result, data = run(fake_suite, "test_cases.py", "--ipc-case", "SPAWN-003")
    assert kinds(data) == {"SPAWN-003": "UNEXPECTED-PASS"}
    assert result.ret == 1
    assert data["selected"] == data["executed"] == 1
    assert data["run"]["only"] == ["SPAWN-003"]


def test_xdist_collects_records_on_the_controller(fake_suite):
    result, data = run(fake_suite, "test_cases.py", "-n", "2")
    assert result.ret == 1
    assert kinds(data) == EXPECTED_KINDS
    assert data["selected"] == data["executed"] == len(EXPECTED_KINDS)
    assert data["run"]["workers"] == 2
    assert by_id(data, "SPAWN-002")["evidence"]["exit_status"] == 1
    assert result.stdout.str().count("ipc conformance: fake") == 1


FLAKY = '''
import os
from pathlib import Path
from ipc_conformance.conformance.case import case


def _count(name):
    p = Path(os.environ["COUNTER_DIR"]) / name
    n = int(p.read_text()) if p.exists() else 0
    p.write_text(str(n + 1))
    return n


@case("SIG-001", "REQ-SIG-1")
def test_flaky():
    """Fails every other run."""
    assert _count("flaky") % 2 == 0


@case("SIG-002", "REQ-SIG-2")
def test_steady():
    """Always passes."""


@case("SIG-003", "REQ-SIG-3")
def test_wording_flaky(evidence):
    """Passes, but not always with the same wording."""
    if _count("wording") % 2:
        evidence.non_strict("other wording")
'''


def test_repeat_reports_flaky(fake_suite, monkeypatch, tmp_path):
    monkeypatch.setenv("COUNTER_DIR", str(tmp_path))
    fake_suite.makepyfile(test_flaky=FLAKY)
    result, data = run(fake_suite, "test_flaky.py", "--ipc-repeat", "3")
    assert result.ret == 1
    assert kinds(data) == {"SIG-001": "FLAKY", "SIG-002": "PASS", "SIG-003": "FLAKY"}
    flaky = by_id(data, "SIG-001")
    assert [r["kind"] for r in flaky["repeats"]] == ["PASS", "FAIL", "PASS"]
    assert flaky["message"].startswith("results differ over 3 runs: PASS, FAIL, PASS")
    assert data["selected"] == data["executed"] == 3
    assert data["run"]["repeat"] == 3


def test_flaky_without_a_failure_still_fails(fake_suite, monkeypatch, tmp_path):
    monkeypatch.setenv("COUNTER_DIR", str(tmp_path))
    fake_suite.makepyfile(test_flaky=FLAKY)
    result, data = run(fake_suite, "test_flaky.py", "--ipc-repeat", "2", "--ipc-case", "SIG-003")
    assert kinds(data) == {"SIG-003": "FLAKY"}
    result.assert_outcomes(passed=2)     # pytest saw two passes ...
    assert result.ret == 1               # ... the plugin's contract still fails the run


def _collected(result):
    return [line for line in result.stdout.lines if "::" in line]


def test_random_order_with_a_seed(fake_suite):
    plain = fake_suite.runpytest_subprocess("test_cases.py", "--ipc-impl", "fake.toml",
                                            "--collect-only", "-q")
    first = fake_suite.runpytest_subprocess("test_cases.py", "--ipc-impl", "fake.toml",
                                            "--collect-only", "-q", "--ipc-seed", "7")
    second = fake_suite.runpytest_subprocess("test_cases.py", "--ipc-impl", "fake.toml",
                                             "--collect-only", "-q", "--ipc-seed", "7")
    order = _collected(plain)
    assert len(order) == len(EXPECTED_KINDS)
    shuffled = list(order)
    random.Random(7).shuffle(shuffled)
    assert _collected(first) == _collected(second) == shuffled != order


def test_random_order_prints_its_seed_and_works_with_xdist(fake_suite):
    result, data = run(fake_suite, "test_cases.py", "--ipc-random-order", "-n", "2")
    seed = data["run"]["seed"]
    assert isinstance(seed, int)
    assert f"random order seed {seed} (same order again: --ipc-seed {seed})" in result.stdout.str()
    assert kinds(data) == EXPECTED_KINDS


DIES = '''
import os
from ipc_conformance.conformance.case import case


@case("SIG-001", "REQ-SIG-1")
def test_ok():
    """Passes."""


@case("SIG-002", "REQ-SIG-2")
def test_dies():
    """Kills its xdist worker."""
    os._exit(3)
'''


def test_worker_crash_makes_the_run_incomplete(fake_suite):
    fake_suite.makepyfile(test_dies=DIES)
    result, data = run(fake_suite, "test_dies.py", "-n", "2")
    assert data["selected"] == 2 and data["executed"] == 1
    assert result.ret == 2
    assert data["exit_status"] == 2
    crashed = [c for c in data["cases"] if c["kind"] == "CRASH"]
    assert len(crashed) == 1 and "crashed" in crashed[0]["message"]
    assert "INCOMPLETE: 1 selected case(s) did not finish" in result.stdout.str()


TIMEOUT = '''
import time
import pytest
from ipc_conformance.conformance.case import case


@pytest.mark.timeout(1)
@case("SHUT-009", "REQ-SHUT-9")
def test_hangs():
    """Hangs past pytest-timeout's bound."""
    time.sleep(5)
'''


def test_pytest_timeout_is_timeout(fake_suite):
    fake_suite.makepyfile(test_hang=TIMEOUT)
    result, data = run(fake_suite, "test_hang.py", "-p", "timeout", "--timeout-method", "signal")
    assert kinds(data) == {"SHUT-009": "TIMEOUT"}
    assert result.ret == 1


def test_bad_case_id_is_an_error_naming_it(fake_suite):
    fake_suite.makepyfile(test_bad='''
from ipc_conformance.conformance.case import case

@case("spawn-1", "REQ-SPAWN-1")
def test_x():
    """Bad ID."""
''')
    result = fake_suite.runpytest_subprocess("test_bad.py", "--ipc-impl", "fake.toml")
    assert result.ret != 0
    assert "invalid case ID 'spawn-1'" in result.stdout.str()


def test_silent_for_ordinary_tests(fake_suite):
    fake_suite.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = fake_suite.runpytest_subprocess("test_plain.py", "--ipc-impl", "does-not-exist.toml")
    assert result.ret == 0
    assert "ipc conformance" not in result.stdout.str()


def test_invalid_manifest_is_a_usage_error(fake_suite):
    (fake_suite.path / "bad.toml").write_text("[implementation]\ndescription = 'no name'\n")
    result = fake_suite.runpytest_subprocess("test_cases.py", "--ipc-impl", "bad.toml")
    assert result.ret == 4
    assert "implementation.name" in result.stderr.str()


def test_junit_carries_case_and_kind(fake_suite):
    result, data = run(fake_suite, "test_cases.py", "--junitxml", "out.xml")
    tree = ET.parse(fake_suite.path / "out.xml")
    props = {}
    for tc in tree.iter("testcase"):
        p = {e.get("name"): e.get("value") for e in tc.iter("property")}
        props[p["ipc_case"]] = p["ipc_kind"]
    assert props == EXPECTED_KINDS


def test_show_evidence(fake_suite):
    result = fake_suite.runpytest_subprocess("test_cases.py", "--ipc-impl", "fake.toml",
                                             "--ipc-case", "SPAWN-002", "--ipc-show-evidence")
    out = result.stdout.str()
    assert "SPAWN-002 FAIL" in out
    assert "    <child> exited 1" in out
    assert result.ret == 1


def test_json_not_written_is_status_2(fake_suite):
    (fake_suite.path / "blocker").write_text("a file, not a directory")
    result, _ = run(fake_suite, "test_cases.py", "--ipc-case", "SPAWN-001",
                    json_name="blocker/out.json")
    assert result.ret == 2
    assert "JSON NOT WRITTEN" in result.stdout.str()


PARAM = '''
import pytest
from ipc_conformance.conformance.case import case


@pytest.mark.parametrize("address", ["unix", "unix:rel"])
@case("ADDR-001", "REQ-ADDR-1")
def test_grammar(address):
    """Addresses parse."""
    assert address == "unix"
'''


def test_parametrized_case_with_repeat(fake_suite):
    fake_suite.makepyfile(test_param=PARAM)
    result, data = run(fake_suite, "test_param.py", "--ipc-repeat", "2")
    assert kinds(data) == {"ADDR-001[unix]": "PASS", "ADDR-001[unix:rel]": "FAIL"}
    assert data["selected"] == data["executed"] == 2
    assert all(len(c["repeats"]) == 2 for c in data["cases"])
    assert result.ret == 1


def test_duplicate_case_ids_are_refused(fake_suite):
    fake_suite.makepyfile(test_dup='''
from ipc_conformance.conformance.case import case


@case("SIG-001", "REQ-SIG-1")
def test_a():
    """a"""


@case("SIG-001", "REQ-SIG-1")
def test_b():
    """b"""
''')
    result = fake_suite.runpytest_subprocess("test_dup.py", "--ipc-impl", "fake.toml")
    assert result.ret == 4
    assert "duplicate case ID SIG-001" in result.stderr.str()
