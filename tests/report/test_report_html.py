"""The HTML report and the JSON helpers on synthetic runs."""
import html
import json
import re

import pytest

from ipc_conformance.conformance.report import html_report
from ipc_conformance.conformance import outcome
from ipc_conformance.conformance.report import json_report as jr


def rec(case_id, kind, statement="", message="", evidence=None, **extra):
    r = {"id": case_id, "key": case_id, "requirement": "REQ-" + case_id.split("-")[0] + "-1",
         "requirement_text": f"The text of the requirement behind {case_id}.",
         "statement": statement or f"statement of {case_id}", "area": case_id.split("-")[0],
         "kind": kind, "duration": 0.25, "message": message,
         "nodeid": f"conformance/cases/test_x.py::test_{case_id.lower()}",
         "evidence": evidence or {}, "executed": True}
    r.update(extra)
    return r


def make_run(name, cases, *, kind="implementation", selected=None, executed=None, **impl):
    implementation = {"name": name, "manifest": f"conformance/manifests/{name}.toml", "kind": kind}
    implementation.update(impl)
    return {"format": 1, "implementation": implementation,
            "started": "2025-01-01T00:00:00+00:00", "duration": 3.5,
            "selected": len(cases) if selected is None else selected,
            "executed": len(cases) if executed is None else executed,
            "run": {"seed": 42, "repeat": 1, "workers": 2},
            "cases": cases, "summary": jr.tally(cases)}


FAIL_EVIDENCE = {
    "transcript": "ipc> spawn probe-child\nok 4242\nipc> destroy 4242\n<probe-child> exited 1 <&>",
    "process_tree": [{"pid": 4242, "ppid": 100, "name": "probe-child", "status": "zombie"}],
    "fd_tables": {"4242": {"0": "/dev/null", "1": "pipe:[1]", "2": "pipe:[2]", "7": "socket:[99]"}},
    "exit_status": 1,
}


@pytest.fixture
def two_runs():
    reference = make_run("reference", [
        rec("SPAWN-001", "PASS", "A spawned child answers."),
        rec("SPAWN-002", "PASS", "The child exits 0 on EOF."),
        rec("FD-001", "PASS", "The child holds exactly 0, 1, 2 and its socket."),
        rec("LISTEN-001", "NON-STRICT", message="wording differs"),
    ])
    cpp = make_run("cpp", [
        rec("SPAWN-001", "PASS"),
        rec("SPAWN-002", "FAIL", message="the child exited 1, not 0", evidence=FAIL_EVIDENCE,
            process_verdict={"exit_status": 1, "shutdown_to_exit": 0.02, "zombies": 1,
                             "orphans": 0, "leaked_fds": 0}),
        rec("FD-001", "UNIMPLEMENTED", message="UNIMPLEMENTED: the manifest offers no [roles.shell]"),
        rec("LISTEN-001", "EXPECTED-FAIL", message="expected (known); saw FAIL: x",
            expectation={"result": "fail", "reason": "known"}),
    ])
    return [reference, cpp]


def test_matrix_evidence_and_tally(two_runs):
    page = html_report.render(two_runs)
    # one self-contained page
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page
    # the matrix: cases down (grouped by area), implementations across
    matrix = page[page.index("id='matrix'"):]
    assert re.search(r"<th class='col'>reference</th><th class='col'>cpp</th>", matrix)
    assert matrix.index(">SPAWN <") < matrix.index(">FD <") < matrix.index(">LISTEN <")
    for case_id in ("SPAWN-001", "SPAWN-002", "FD-001", "LISTEN-001"):
        assert f"<td class='id'>{case_id}</td>" in matrix
    assert "The child exits 0 on EOF." in matrix
    # the failing cell stands out and opens its evidence
    cell = re.search(r"<td class='cell bad' id='c1-SPAWN-002'.*?</details></td>", page, re.S).group(0)
    assert "background:#d32f2f" in cell
    assert "<details><summary>FAIL</summary>" in cell
    assert "the child exited 1, not 0" in cell
    assert "The text of the requirement behind SPAWN-002." in cell
    assert html.escape("<probe-child> exited 1 <&>") in cell            # transcript, escaped
    assert "<h4>transcript</h4><pre>" in cell
    assert "socket:[99]" in cell                                         # fd table
    assert "<td>zombie</td>" in cell                                     # process tree as a table
    assert "<h4>process verdict</h4>" in cell and "shutdown_to_exit" in cell
    assert "<probe-child>" not in page                                   # nothing unescaped
    # the passing cell of the other column is not "bad"
    assert "id='c0-SPAWN-002'" in page and "class='cell bad' id='c0-SPAWN-002'" not in page
    # the problems list links to the failing cell
    assert "href='#c1-SPAWN-002'" in page
    # summary: tally per implementation
    summary = page[page.index("id='summary'"):page.index("id='problems'")]
    rows = re.findall(r"<tr><td><b>(\w+)</b>.*?</tr>", summary, re.S)
    assert rows == ["reference", "cpp"]
    cpp_row = re.search(r"<tr><td><b>cpp</b>.*?</tr>", summary, re.S).group(0)
    counts = [int(n) for n in re.findall(r"<td class='num(?: zero)?'>(\d+)</td>", cpp_row)]
    # selected, executed, then one count per kind in KINDS order
    assert counts[:2] == [4, 4]
    assert dict(zip(outcome.KINDS, counts[2:])) == {**jr.empty_summary(), "FAIL": 1, "PASS": 1,
                                                "UNIMPLEMENTED": 1, "EXPECTED-FAIL": 1}
    assert "FAILED (exit 1)" in cpp_row
    assert "passed (exit 0)" in summary
    assert "unexpected failures" in page


def test_write_is_atomic_and_reports_errors(two_runs, tmp_path):
    out = html_report.write(two_runs, tmp_path / "r" / "report.html")
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError):
        html_report.write(two_runs, tmp_path / "file" / "report.html")


def test_mutant_matrix_and_score():
    runs = [
        make_run("reference", [rec("SPAWN-001", "PASS"), rec("SPAWN-002", "PASS")]),
        make_run("zombie", [rec("SPAWN-001", "PASS"), rec("SPAWN-002", "FAIL", message="zombie")],
                 kind="mutant", bug="the child is never reaped", expected_catchers=["SPAWN-002"]),
        make_run("no-eof", [rec("SPAWN-001", "PASS"), rec("SPAWN-002", "PASS")],
                 kind="mutant", bug="the child does not exit on EOF",
                 expected_catchers=["SPAWN-002"]),
    ]
    mm = jr.mutant_matrix(runs)
    assert mm["total"] == 2 and mm["caught"] == 1 and mm["score"] == 0.5
    zombie, no_eof = mm["mutants"]
    assert zombie["caught_by"] == ["SPAWN-002"] and not zombie["missed_expected"]
    assert not no_eof["caught"] and no_eof["missed_expected"] == ["SPAWN-002"]
    page = html_report.render(runs)
    section = page[page.index("id='mutants'"):page.index("id='matrix'")]
    assert "Mutation score: <b>50%</b>" in section
    assert "the child is never reaped" in section and "NOT CAUGHT" in section
    assert jr.mutant_matrix(runs[:1]) is None
    assert "id='mutants'" not in html_report.render(runs[:1])
    # The headline judges the implementations; mutants appear through their score.
    head = page[:page.index("id='summary'")]
    assert "nothing failed unexpectedly" in head and "mutants: 1 of 2 caught" in head
    failing_ref = [make_run("reference", [rec("SPAWN-001", "FAIL")])] + runs[1:]
    assert "unexpected failures" in html_report.render(failing_ref)[:page.index("id='summary'")]


def test_incomplete_run_is_flagged():
    run = make_run("cpp", [rec("SPAWN-001", "PASS")], selected=3, executed=1)
    page = html_report.render([run])
    assert "only 1 of 3 selected cases finished" in page
    assert "INCOMPLETE (exit 2)" in page


def test_merge_runs_keeps_parametrized_cases_apart_and_labels_unique():
    a = make_run("impl", [rec("ADDR-001", "PASS", key="ADDR-001[unix]", param="unix"),
                          rec("ADDR-001", "FAIL", key="ADDR-001[unix:rel]", param="unix:rel")])
    b = make_run("impl", [rec("ADDR-001", "PASS", key="ADDR-001[unix]", param="unix")])
    matrix = jr.merge_runs([a, b])
    assert matrix["columns"] == ["impl", "impl (2)"]
    assert [r["key"] for r in matrix["rows"]] == ["ADDR-001[unix:rel]", "ADDR-001[unix]"] or \
        [r["key"] for r in matrix["rows"]] == ["ADDR-001[unix]", "ADDR-001[unix:rel]"]
    rel = next(r for r in matrix["rows"] if r["key"] == "ADDR-001[unix:rel]")
    assert rel["cells"][0].kind == "FAIL" and rel["cells"][1] is None
    page = html_report.render([a, b])
    assert "class='cell none'" in page


def test_combine_repeats():
    same = jr.combine_repeats([rec("SIG-001", "PASS"), rec("SIG-001", "PASS")])
    assert same.kind == "PASS" and len(same.repeats) == 2 and same.duration == 0.5
    flaky = jr.combine_repeats([rec("SIG-001", "PASS"),
                                rec("SIG-001", "FAIL", message="boom", evidence={"x": 1})])
    assert flaky.kind == outcome.Kind.FLAKY
    assert flaky.evidence == {"x": 1}
    assert flaky.message == "results differ over 2 runs: PASS, FAIL; boom"
    assert flaky.to_json()["repeats"][1] == {"kind": "FAIL", "duration": 0.25, "message": "boom"}


def test_combine_repeats_of_an_intermittent_expectation():
    """Repeats that pass in some runs and fail as expected in others are
    what an intermittent expectation declares: EXPECTED-FAIL, not FLAKY.
    A FAIL among them, or the same mix without the mark, stays FLAKY."""
    note = {"result": "fail", "reason": "a use after free", "intermittent": True}
    mixed = [rec("FD-011", "PASS", expectation=note),
             rec("FD-011", "EXPECTED-FAIL", message="expected (...)", expectation=note),
             rec("FD-011", "PASS", expectation=note)]
    combined = jr.combine_repeats(mixed)
    assert combined.kind == outcome.Kind.EXPECTED_FAIL
    assert combined.message.startswith("the expected failure showed in 1 of 3 runs")
    assert jr.combine_repeats(mixed + [rec("FD-011", "FAIL", expectation=note)]).kind == outcome.Kind.FLAKY
    plain = {"result": "fail", "reason": "a use after free"}
    assert jr.combine_repeats([rec("FD-011", "PASS", expectation=plain),
                               rec("FD-011", "EXPECTED-FAIL", expectation=plain)]).kind == outcome.Kind.FLAKY


def test_load_run_errors(tmp_path):
    (tmp_path / "bad.json").write_text("{")
    (tmp_path / "other.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(jr.ReportError, match="not JSON"):
        jr.load_run(tmp_path / "bad.json")
    with pytest.raises(jr.ReportError, match="not a conformance run"):
        jr.load_run(tmp_path / "other.json")
    with pytest.raises(jr.ReportError, match="cannot read"):
        jr.load_run(tmp_path / "missing.json")
    run = make_run("x", [rec("SPAWN-001", "PASS")])
    jr.write_run(run, tmp_path / "x.json")
    assert jr.find_runs(tmp_path) == [tmp_path / "x.json"]
    assert jr.load_run(tmp_path / "x.json")["cases"][0]["id"] == "SPAWN-001"


def test_json_default_handles_odd_values(tmp_path):
    run = make_run("x", [rec("SPAWN-001", "PASS", evidence={
        "bytes": b"\xffabc", "set": {3, 1}, "path": tmp_path, "obj": object()})])
    jr.write_run(run, tmp_path / "x.json")
    ev = jr.load_run(tmp_path / "x.json")["cases"][0]["evidence"]
    assert ev["bytes"] == "\\xffabc" and ev["set"] == [1, 3] and ev["path"] == str(tmp_path)
    assert ev["obj"].startswith("<object object")
