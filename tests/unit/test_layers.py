"""Requirement layers (docs/spec.md) and what a manifest claims: every
requirement names its layer, a manifest's claims and ``required`` are
validated, and the selection rules say NOT-CLAIMED / UNIMPLEMENTED as the
run will."""
import textwrap

import pytest

from ipc_conformance.conformance import case as case_api
from ipc_conformance.conformance import selection
from ipc_conformance.harness import manifest as manifest_api
from ipc_conformance.harness.program_check import exec_problem

REFERENCE = case_api.REPO_ROOT / "conformance" / "manifests" / "reference.toml"


def test_every_requirement_names_exactly_one_layer():
    reqs = case_api.load_requirements()
    assert len(reqs) > 60
    missing = [rid for rid, text in reqs.items() if case_api.requirement_layer(text) is None]
    assert missing == [], f"requirements without a [layer] tag: {missing}"
    counts = {layer: 0 for layer in case_api.LAYERS}
    for text in reqs.values():
        counts[case_api.requirement_layer(text)] += 1
    assert all(counts.values()), counts


def test_every_case_has_a_layer():
    assert [c.id for c in case_api.collect_cases() if c.layer is None] == []


def test_the_two_layer_lists_agree():
    assert manifest_api.LAYERS == case_api.LAYERS


@pytest.mark.parametrize("text, layer", [
    ("... MUST do X. [library]", "library"),
    ("... MUST do X. [bitcoin-ipc; implementation-defined]", "bitcoin-ipc"),
    ("... MUST do X. [project]", "project"),
    ("... MUST do X. [upstream]", None),
    ("[library] in the middle, not at the end", None),
])
def test_requirement_layer_parsing(text, layer):
    assert case_api.requirement_layer(text) == layer


def _manifest(tmp_path, implementation_extra: str):
    text = REFERENCE.read_text().replace(
        '[implementation]\n', f'[implementation]\n{implementation_extra}\n', 1)
    text = text.replace('"../../reference_impl/schemas"',
                        repr(str(REFERENCE.parent.parent.parent / "reference_impl" / "schemas")))
    path = tmp_path / "m.toml"
    path.write_text(text)
    return path


def test_claims_default_to_every_layer_and_can_be_narrowed(tmp_path):
    assert manifest_api.load_manifest(REFERENCE).claims == case_api.LAYERS
    m = manifest_api.load_manifest(_manifest(tmp_path, 'claims = ["library"]'))
    assert m.claims == ("library",)
    assert selection.not_claimed_reason(m, "REQ-PROTO-1") is None
    why = selection.not_claimed_reason(m, "REQ-CHILD-3")
    assert why and "bitcoin-ipc layer" in why and "claims library" in why


@pytest.mark.parametrize("extra, field", [
    ('claims = ["libray"]', "implementation.claims"),
    ('claims = []', "implementation.claims"),
    ('claims = "library"', "implementation.claims"),
    ('required = "no"', "implementation.required"),
])
def test_bad_claims_or_required_name_the_field(tmp_path, extra, field):
    with pytest.raises(manifest_api.ManifestError, match=field.replace(".", r"\.")):
        manifest_api.load_manifest(_manifest(tmp_path, extra))


def test_exec_problem_finds_a_program_that_cannot_exec(tmp_path):
    script = tmp_path / "broken-node"
    script.write_text("#!/nonexistent/interpreter\n")
    script.chmod(0o755)
    assert "cannot be executed" in exec_problem(str(script))
    assert exec_problem("/bin/true") is None


def test_availability_says_what_the_run_does(tmp_path):
    m = manifest_api.load_manifest(_manifest(tmp_path, 'claims = ["library", "bitcoin-ipc"]'))
    cases = {c.id: c for c in case_api.collect_cases()}
    assert selection.availability(m, cases["PROTO-001"]) == "runs"
    project_case = next(c for c in cases.values() if c.layer == "project")
    assert selection.availability(m, project_case).startswith("NOT-CLAIMED: ")


def test_missing_program_of_an_optional_manifest_is_unimplemented_with_the_note(tmp_path):
    text = textwrap.dedent(f"""
        [implementation]
        name = "optional"
        required = false
        [executables]
        node = "{tmp_path}/not-built/node"
        [protocol]
        schema_dir = "{case_api.REPO_ROOT}/reference_impl/schemas"
        init_schema = "init.capnp"
        init_interface = "Init"
        [roles.child]
        argv = ["{{node}}", "-ipcfd", "{{fd}}"]
    """)
    path = tmp_path / "optional.toml"
    path.write_text(text)
    m = manifest_api.load_manifest(path)
    assert selection.check_programs(m) == {"child": m.role_missing_reason("child")}
    reason = selection.unimplemented_reason(m, "SPAWN-999", roles=("child",))
    assert "does not exist" in reason and selection.OPTIONAL_NOTE in reason


def test_an_optional_build_may_also_be_missing_its_schemas(tmp_path):
    text = textwrap.dedent(f"""
        [implementation]
        name = "optional"
        required = {{required}}
        [executables]
        node = "/bin/true"
        [protocol]
        schema_dir = "{tmp_path}/build/schemas"
        init_schema = "init.capnp"
        init_interface = "InitInterface"
        libmultiprocess = false
        [roles.child]
        argv = ["{{{{node}}}}", "{{{{fd}}}}"]
    """)
    path = tmp_path / "m.toml"
    path.write_text(text.format(required="false"))
    m = manifest_api.load_manifest(path)
    assert "is not a directory (not built?)" in m.role_missing_reason("child")
    path.write_text(text.format(required="true"))
    with pytest.raises(manifest_api.ManifestError, match="protocol.schema_dir"):
        manifest_api.load_manifest(path)


def test_an_intermittent_expectation_is_read_and_checked(tmp_path):
    base = REFERENCE.read_text().replace('"../../reference_impl/schemas"',
                                         repr(str(case_api.REPO_ROOT / "reference_impl" / "schemas")))
    for value, ok in (("true", True), ("false", True), ('"yes"', False)):
        path = tmp_path / "m.toml"
        path.write_text(base + f'\n[[expectations]]\ncase = "FD-050"\nresult = "fail"\n'
                               f'reason = "a race"\nintermittent = {value}\n')
        if ok:
            assert manifest_api.load_manifest(path).expectations["FD-050"].intermittent == (value == "true")
        else:
            with pytest.raises(manifest_api.ManifestError, match=r"expectations\[0\]\.intermittent"):
                manifest_api.load_manifest(path)
