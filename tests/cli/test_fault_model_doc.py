"""docs/fault-model.md is generated from the cases' conditions and the
reasons of conformance/fault_model.py; it must not drift, and a reason must
never sit on a cell a case covers."""
from pathlib import Path

from ipc_conformance.conformance.case import CONDITIONS, collect_cases, load_requirements
from ipc_conformance.conformance.fault_model import (NOT_APPLICABLE, fault_model_markdown,
                                                     matrix, reason_for, stale_reasons)

DOC = Path(__file__).resolve().parents[2] / "docs" / "fault-model.md"


def test_fault_model_doc_is_current():
    assert DOC.read_text(encoding="utf-8") == fault_model_markdown(collect_cases()), (
        "docs/fault-model.md is stale: run `ipc-conformance list --fault-model > docs/fault-model.md`")


def test_reasons_are_honest():
    assert stale_reasons() == []


def test_every_requirement_is_a_row_and_covered_cells_name_their_cases():
    m = matrix()
    assert list(m) == list(load_requirements())
    for info in collect_cases():
        for condition in info.conditions:
            assert info.id in m[info.requirement][condition].cases


def test_most_specific_reason_wins():
    table = {("*", "cpu-load"): "run-level", ("ADDR", "cpu-load"): "static",
             ("REQ-ADDR-1", "cpu-load"): "no-limit"}
    assert reason_for("REQ-ADDR-1", "cpu-load", table) == "no-limit"
    assert reason_for("REQ-ADDR-2", "cpu-load", table) == "static"
    assert reason_for("REQ-FD-1", "cpu-load", table) == "run-level"
    assert reason_for("REQ-FD-1", "normal", table) is None
    assert all(c in CONDITIONS for _, c in NOT_APPLICABLE)
