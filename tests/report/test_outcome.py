"""The outcome model (conformance.outcome): kinds, typed records that
round-trip run files exactly, the JSON Schema of a run file, and how
exceptions become kinds (conformance.records.classify_exception)."""
import json

import jsonschema
import pytest

from ipc_conformance.conformance import outcome
from ipc_conformance.conformance.case import REPO_ROOT
from ipc_conformance.conformance.outcome import CaseRecord, Kind, Run
from ipc_conformance.conformance.records import classify_exception
from ipc_conformance.harness.errors import HarnessError, Leak
from ipc_conformance.harness.processes import ImplementationCrashed
from ipc_conformance.harness.waits import WaitTimeout

from test_report_plugin import FLAKY, run

SCHEMA = json.loads((REPO_ROOT / "conformance" / "report" / "run.schema.json").read_text())


def test_kinds_are_their_strings_in_report_order():
    assert Kind.FAIL == "FAIL" and f"{Kind.NOT_CLAIMED}" == "NOT-CLAIMED"
    assert json.dumps({"k": Kind.UNEXPECTED_PASS}) == '{"k": "UNEXPECTED-PASS"}'
    assert outcome.KINDS[0] is Kind.FAIL and outcome.KINDS[-1] is Kind.PASS
    assert len(set(outcome.KINDS)) == 11
    assert SCHEMA["$defs"]["kind"]["enum"] == [str(k) for k in outcome.KINDS]
    assert outcome.BAD_KINDS.isdisjoint(outcome.PASSING_KINDS)
    assert outcome.CATCHING_KINDS < outcome.BAD_KINDS
    assert outcome.kind_of("SOMETHING-NEW") == "SOMETHING-NEW"    # a newer file still reads


def test_real_run_files_match_the_schema_and_round_trip(fake_suite, monkeypatch, tmp_path):
    """Every kind, expectations, observed kinds, process verdicts, repeats
    and FLAKY, as the plugin writes them."""
    monkeypatch.setenv("COUNTER_DIR", str(tmp_path))
    fake_suite.makepyfile(test_flaky=FLAKY)
    _result, data = run(fake_suite, "test_cases.py", "test_flaky.py", "--ipc-repeat", "2")
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(data, SCHEMA)
    typed = Run.from_json(data)
    assert typed.to_json() == data
    assert list(typed.to_json()) == list(data)                    # the same key order
    for rec, raw in zip(typed.cases, data["cases"]):
        assert list(rec.to_json()) == list(raw)
    assert {r.kind for r in typed.cases} >= {Kind.FLAKY, Kind.EXPECTED_FAIL, Kind.CRASH}
    assert all(isinstance(r.kind, Kind) for r in typed.cases)
    assert Run.from_json(typed.to_json()) == typed


def test_unknown_keys_and_absent_fields_are_kept():
    raw = {"id": "X-1", "kind": "PASS", "evidence": {}, "future_field": [1, 2]}
    rec = CaseRecord.from_json(raw)
    assert rec.to_json() == raw and rec.extra == {"future_field": [1, 2]}
    assert rec.kind is Kind.PASS and rec.message == "" and not rec.has("message")
    changed = rec.replace(kind=Kind.FLAKY, message="m")
    assert changed.to_json() == {**raw, "kind": "FLAKY", "message": "m"}


def test_a_bad_run_file_is_refused_by_the_schema():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"format": 1, "implementation": {"name": "x", "manifest": "m"},
                             "cases": [{"id": "X-1", "key": "X-1", "kind": "GREEN",
                                        "duration": 0, "message": "", "nodeid": "n",
                                        "evidence": {}}]}, SCHEMA)


def _classify(exc):
    with pytest.raises(BaseException) as info:
        raise exc
    return classify_exception(info)[0]


def _raise_in_module(module_name):
    """A TimeoutError raised by code whose module is ``module_name`` (the
    file name says nothing: only the module counts)."""
    scope = {"__name__": module_name}
    exec(compile("def f():\n    raise TimeoutError('socket timed out')\n",
                 "/somewhere/harness/not_really.py", "exec"), scope)
    with pytest.raises(TimeoutError) as info:
        scope["f"]()
    return classify_exception(info)[0]


def test_harness_exceptions_carry_their_kind():
    assert _classify(WaitTimeout("no prompt")) is Kind.TIMEOUT
    assert _classify(ImplementationCrashed("SIGSEGV")) is Kind.CRASH
    assert _classify(Leak("pid 1 left")) is Kind.FAIL

    class Custom(HarnessError):
        kind = "CRASH"
    assert _classify(Custom("x")) is Kind.CRASH
    assert _classify(AssertionError("no")) is Kind.FAIL

    class WaitTimeout2(Exception):           # a name alone means nothing
        pass
    assert _classify(WaitTimeout2("x")) is Kind.FAIL


def test_a_timeout_error_is_timeout_only_through_the_harness():
    assert _raise_in_module("ipc_conformance.harness.roles") is Kind.TIMEOUT
    assert _raise_in_module("test_my_cases") is Kind.FAIL
    assert _classify(TimeoutError("the case's own")) is Kind.FAIL
