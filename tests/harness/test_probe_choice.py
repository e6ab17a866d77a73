"""harness.staging.probe_kind: the native probe by default when it is built
and serves the implementation's schemas, the Python one otherwise; a
misspelt $IPC_PROBE is an error, not a silent fallback."""
import os
from types import SimpleNamespace

import pytest

from ipc_conformance.harness import staging

BUILT = os.access(staging.NATIVE_PROBE, os.X_OK)


@pytest.mark.parametrize("value", [None, "", "auto"])
def test_default_takes_the_native_probe_when_built(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("IPC_PROBE", raising=False)
    else:
        monkeypatch.setenv("IPC_PROBE", value)
    assert staging.probe_kind() == ("native" if BUILT else "python")


def test_python_is_forced(monkeypatch):
    monkeypatch.setenv("IPC_PROBE", "python")
    assert staging.probe_kind() == "python"


def test_other_schemas_get_the_python_probe(monkeypatch, tmp_path):
    monkeypatch.delenv("IPC_PROBE", raising=False)
    other = SimpleNamespace(init_schema="calculator.capnp", init_interface="Init",
                            schema_dir=str(tmp_path), libmultiprocess=True)
    assert staging.probe_kind(other) == "python"


def test_unbuilt_native_probe_falls_back(monkeypatch, tmp_path):
    monkeypatch.delenv("IPC_PROBE", raising=False)
    monkeypatch.setattr(staging, "NATIVE_PROBE", tmp_path / "missing")
    assert staging.probe_kind() == "python"
    monkeypatch.setenv("IPC_PROBE", "native")
    with pytest.raises(FileNotFoundError, match="not built"):
        staging.probe_kind()


def test_misspelt_choice_is_an_error(monkeypatch):
    monkeypatch.setenv("IPC_PROBE", "nativ")
    with pytest.raises(ValueError, match="expected python, native or auto"):
        staging.probe_kind()
