"""docs/cases.md is the catalogue users read to pick cases and write
expectations; it is generated from the cases themselves and must not drift."""
from pathlib import Path

from ipc_conformance.conformance.case import collect_cases
from ipc_conformance.conformance.cli import cases_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "cases.md"


def test_cases_doc_is_current():
    cases = collect_cases()
    assert DOC.read_text(encoding="utf-8") == cases_markdown(cases), (
        "docs/cases.md is stale: run `ipc-conformance list --markdown > docs/cases.md`")


def test_every_case_is_listed_once_under_its_area():
    text = DOC.read_text(encoding="utf-8")
    for info in collect_cases():
        assert text.count(f"| {info.id} |") == 1, info.id
        assert text.index(f"## {info.area}") < text.index(f"| {info.id} |")
