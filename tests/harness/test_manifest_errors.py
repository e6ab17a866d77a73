"""harness/manifest.py: every malformed field is a ManifestError naming the
file and the field (a manifest is written by hand)."""
import shutil
import sys
from pathlib import Path

import pytest

from ipc_conformance.harness.manifest import ManifestError, load_manifest

# Executables are this interpreter: they exist and are executable.
BASE = {
    "implementation": '[implementation]\nname = "t"\n',
    "executables": f'[executables]\nnode = "{sys.executable}"\nshell = "{sys.executable}"\n',
    "protocol": ('[protocol]\nschema_dir = "schemas"\ninit_schema = "init.capnp"\n'
                 'init_interface = "Init"\nlibmultiprocess = true\n'),
    "roles": ('[roles.child]\nargv = ["{node}", "-ipcfd", "{fd}"]\n'
              '[roles.listener]\nargv = ["{node}", "-ipcbind={address}"]\nready = "line"\n'
              '[roles.shell]\nargv = ["{shell}"]\n'),
    "expectations": ('[[expectations]]\ncase = "SPAWN-004"\nresult = "fail"\n'
                     'reason = "known"\n'),
}


def _write(tmp_path, **replace) -> Path:
    (tmp_path / "schemas" / "mp").mkdir(parents=True, exist_ok=True)
    (tmp_path / "schemas" / "init.capnp").write_text("# init\n")
    (tmp_path / "schemas" / "mp" / "proxy.capnp").write_text("# proxy\n")
    parts = {**BASE, **replace}
    path = tmp_path / "m.toml"
    path.write_text("".join(v for v in parts.values() if v))
    return path


def test_the_base_manifest_loads(tmp_path):
    m = load_manifest(_write(tmp_path))
    assert m.name == "t" and set(m.roles) == {"child", "listener", "shell"}
    assert m.expectations["SPAWN-004"].result == "fail"
    assert m.claims == ("library", "bitcoin-ipc", "project") and m.required is True


@pytest.mark.parametrize("replace, field", [
    ({"implementation": "[implementation]\n"}, "implementation.name: missing"),
    ({"implementation": None}, "[implementation]: missing"),
    ({"implementation": "[implementation]\nname = 3\n"}, "implementation.name: expected str"),
    ({"implementation": '[implementation]\nname = "t"\nclaims = ["kernel"]\n'},
     "implementation.claims"),
    ({"implementation": '[implementation]\nname = "t"\nclaims = []\n'}, "implementation.claims"),
    ({"implementation": '[implementation]\nname = "t"\nrequired = "no"\n'},
     "implementation.required"),
    ({"executables": "[executables]\nnode = 1\n"}, "executables.node"),
    ({"protocol": None}, "[protocol]: missing"),
    ({"protocol": '[protocol]\nschema_dir = "schemas"\ninit_interface = "Init"\n'},
     "protocol.init_schema: missing"),
    ({"protocol": ('[protocol]\nschema_dir = "nowhere"\ninit_schema = "init.capnp"\n'
                   'init_interface = "Init"\n')}, "protocol.schema_dir"),
    ({"protocol": ('[protocol]\nschema_dir = "schemas"\ninit_schema = "gone.capnp"\n'
                   'init_interface = "Init"\n')}, "protocol.init_schema"),
    ({"protocol": ('[protocol]\nschema_dir = "schemas"\ninit_schema = "init.capnp"\n'
                   'init_interface = "Init"\necho = true\n')}, "protocol.echo_schema"),
    ({"roles": '[roles.parent]\nargv = ["{shell}"]\n'}, "roles.parent: unknown role"),
    ({"roles": '[roles.shell]\n'}, "roles.shell.argv: missing"),
    ({"roles": '[roles.shell]\nargv = "{shell}"\n'}, "roles.shell.argv: expected list"),
    ({"roles": '[roles.shell]\nargv = []\n'}, "roles.shell.argv: a list of strings"),
    ({"roles": '[roles.shell]\nargv = ["{shell}", 3]\n'}, "roles.shell.argv: a list of strings"),
    ({"roles": '[roles.listener]\nargv = ["{node}"]\nready = "banner"\n'},
     "roles.listener.ready"),
    ({"expectations": '[[expectations]]\ncase = "X-001"\nresult = "pass"\nreason = "r"\n'},
     "expectations[0].result"),
    ({"expectations": '[[expectations]]\ncase = "X-001"\nresult = "fail"\n'},
     "expectations[0].reason: missing"),
    ({"expectations": '[[expectations]]\nresult = "fail"\nreason = "r"\n'},
     "expectations[0].case: missing"),
])
def test_each_bad_field_is_named(tmp_path, replace, field):
    path = _write(tmp_path, **replace)
    with pytest.raises(ManifestError) as e:
        load_manifest(path)
    assert str(path) in str(e.value), e.value
    assert field in str(e.value), e.value


def test_not_toml(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text("[implementation\nname = ")
    with pytest.raises(ManifestError, match="not valid TOML"):
        load_manifest(path)


def test_unknown_placeholder_is_named_when_used(tmp_path):
    m = load_manifest(_write(tmp_path, roles='[roles.shell]\nargv = ["{shell}", "{nope}"]\n'))
    with pytest.raises(ManifestError, match=r"roles\.shell\.argv: unknown placeholder 'nope'"):
        m.argv("shell")


def test_missing_program_makes_its_roles_unrunnable(tmp_path):
    m = load_manifest(_write(tmp_path, executables='[executables]\nnode = "./no-node"\n'
                                                   f'shell = "{sys.executable}"\n'))
    reasons = m.unrunnable_roles()
    assert set(reasons) == {"child", "listener"}, reasons
    assert "no-node does not exist" in reasons["child"]
    assert m.has_role("shell")


def test_optional_build_without_schemas_is_unimplemented_not_an_error(tmp_path):
    path = _write(tmp_path, implementation='[implementation]\nname = "t"\nrequired = false\n')
    shutil.rmtree(tmp_path / "schemas")
    m = load_manifest(path)
    assert m.required is False
    assert all("schema_dir" in r for r in m.unrunnable_roles().values()), m.unrunnable_roles()
    assert set(m.unrunnable_roles()) == {"child", "listener", "shell"}
