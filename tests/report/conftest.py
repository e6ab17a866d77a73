"""Fixtures for the report, plugin and CLI tests: a stand-in for
harness.manifest (so these tests do not depend on the real manifest format)
and a small fake suite of cases written with conformance.case.case
(ipc_fake_suite.py). pytester comes from tests/conftest.py."""
import os

import pytest

from ipc_conformance.conformance.runner import MANIFEST_LOADER_ENV
from ipc_fake_suite import CASES, MANIFEST, STANDIN_MODULE, write_standin


@pytest.fixture
def fake_suite(pytester, monkeypatch):
    """pytester's directory with the stand-in manifest loader, a manifest
    (fake.toml) and the cases (test_cases.py)."""
    write_standin(pytester.path)
    monkeypatch.setenv(MANIFEST_LOADER_ENV, STANDIN_MODULE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, [str(pytester.path), os.environ.get("PYTHONPATH", "")])))
    (pytester.path / "fake.toml").write_text(MANIFEST)
    (pytester.path / "test_cases.py").write_text(CASES)
    return pytester


@pytest.fixture
def standin_env(tmp_path):
    """A directory holding the stand-in harness, and an environment whose
    PYTHONPATH starts with it (for running the CLI as a subprocess)."""
    root = tmp_path / "standin"
    write_standin(root)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH", "")]))
    env[MANIFEST_LOADER_ENV] = STANDIN_MODULE
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    return root, env
