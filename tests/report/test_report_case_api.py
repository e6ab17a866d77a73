"""conformance.case: the decorator's checks, the registry and the
requirement texts of docs/spec.md."""
import textwrap

import pytest

from ipc_conformance.conformance.case import (CaseDefinitionError, case, case_info, collect_cases, explain,
                              parse_requirements)


def test_decorator_marks_and_describes():
    @case("SPAWN-003", "REQ-SPAWN-4", roles=("child",), needs=("echo",), smoke=True)
    def test_x():
        """Closing the parent's end makes the child exit 0.

        More detail that is not the statement."""

    marks = {m.name: m for m in test_x.pytestmark}
    assert marks["ipc_case"].kwargs == {"id": "SPAWN-003", "requirement": "REQ-SPAWN-4",
                                        "roles": ("child",), "needs": ("echo",), "smoke": True,
                                        "conditions": ("normal",)}
    assert "smoke" in marks
    info = case_info(test_x)
    assert info.statement == "Closing the parent's end makes the child exit 0."
    assert info.area == "SPAWN" and info.file.endswith("test_report_case_api.py")
    assert info.line > 0


@pytest.mark.parametrize("args, fragment", [
    (("spawn-003", "REQ-SPAWN-1"), "invalid case ID 'spawn-003'"),
    (("SPAWN-3", "REQ-SPAWN-1"), "invalid case ID 'SPAWN-3'"),
    (("SPAWN-0031", "REQ-SPAWN-1"), "invalid case ID 'SPAWN-0031'"),
    (("SPAWN-003", "REQ-spawn-1"), "SPAWN-003: invalid requirement ID 'REQ-spawn-1'"),
    (("SPAWN-003", "SPAWN-1"), "invalid requirement ID 'SPAWN-1'"),
])
def test_bad_ids_name_themselves(args, fragment):
    with pytest.raises(CaseDefinitionError) as e:
        case(*args)
    assert fragment in str(e.value)


def test_bad_roles_and_needs():
    with pytest.raises(CaseDefinitionError, match=r"roles must be a tuple.*\('child',\)"):
        case("SPAWN-001", "REQ-SPAWN-1", roles="child")
    with pytest.raises(CaseDefinitionError, match="unknown need 'ehco'"):
        case("SPAWN-001", "REQ-SPAWN-1", needs=("ehco",))


def test_conditions_are_checked_and_carried():
    @case("SPAWN-001", "REQ-SPAWN-1", conditions=("peer-dies", "repeated"))
    def test_y():
        """A statement."""
    assert case_info(test_y).conditions == ("peer-dies", "repeated")
    assert test_y.pytestmark[0].kwargs["conditions"] == ("peer-dies", "repeated")
    with pytest.raises(CaseDefinitionError, match="unknown condition 'peer-died'"):
        case("SPAWN-001", "REQ-SPAWN-1", conditions=("peer-died",))
    with pytest.raises(CaseDefinitionError, match=r"conditions must be a tuple"):
        case("SPAWN-001", "REQ-SPAWN-1", conditions="repeated")
    with pytest.raises(CaseDefinitionError, match="conditions is empty"):
        case("SPAWN-001", "REQ-SPAWN-1", conditions=())


def test_parse_requirements():
    text = textwrap.dedent("""\
        # Spec

        ## SPAWN

        - **REQ-SPAWN-1** The parent makes a socketpair and passes one end
          as `-ipcfd N`;
          the other end stays close-on-exec.
        - **REQ-SPAWN-2**: A missing child exits 127.
        - not a requirement
        - **REQ-SPAWN-3** Ends at a blank line.

          A later paragraph, not part of it.
        * **REQ-FD-10** Star bullets count too.
        """)
    reqs = parse_requirements(text)
    assert reqs == {
        "REQ-SPAWN-1": "The parent makes a socketpair and passes one end as `-ipcfd N`; "
                       "the other end stays close-on-exec.",
        "REQ-SPAWN-2": "A missing child exits 127.",
        "REQ-SPAWN-3": "Ends at a blank line.",
        "REQ-FD-10": "Star bullets count too.",
    }


def test_registry_and_explain(tmp_path):
    (tmp_path / "test_spawn.py").write_text(textwrap.dedent('''\
        from ipc_conformance.conformance.case import case

        @case("SPAWN-002", "REQ-SPAWN-2", roles=("child",))
        def test_b():
            """Second."""

        @case("SPAWN-001", "REQ-SPAWN-1")
        def test_a():
            """First."""

        def test_not_a_case():
            pass

        class TestGroup:
            @case("FD-001", "REQ-FD-1", needs=("libmultiprocess",))
            def test_c(self):
                """In a class."""
        '''))
    cases = collect_cases(tmp_path)
    assert [c.id for c in cases] == ["SPAWN-001", "SPAWN-002", "FD-001"]
    text = explain(cases[1], {"REQ-SPAWN-2": "A missing child exits 127 " * 5})
    lines = text.splitlines()
    assert lines[0] == "SPAWN-002: Second."
    assert lines[1] == "requirement: REQ-SPAWN-2 (layer: ?)"   # the fake spec names no layer
    assert lines[2].startswith("    A missing child exits 127")
    assert "roles: child" in text and "needs: (none)" in text
    assert "test_spawn.py:3 (test_b)" in text
    assert "(not found in docs/spec.md)" in explain(cases[0], {})


def test_registry_rejects_duplicate_ids(tmp_path):
    body = 'from conformance.case import case\n\n@case("SPAWN-001", "REQ-SPAWN-1")\ndef test_{n}():\n    """x"""\n'
    (tmp_path / "test_a.py").write_text(body.format(n="a"))
    (tmp_path / "test_b.py").write_text(body.format(n="b"))
    with pytest.raises(CaseDefinitionError, match="duplicate case ID SPAWN-001"):
        collect_cases(tmp_path)
