"""The stand-in for harness.manifest and the fake suite of cases used by the
report, plugin and CLI tests (imported by conftest.py and the tests)."""
from pathlib import Path

# The API the plugin and the CLI use: load_manifest(path) -> object with
# name, path, roles, has_role, role_missing_reason, protocol.libmultiprocess,
# protocol.echo, events, expectations (case -> .case .result .reason).
STANDIN_MANIFEST = '''
import tomllib
from pathlib import Path
from types import SimpleNamespace


class ManifestError(Exception):
    pass


class Manifest:
    def __init__(self, path, data):
        self.path = Path(path)
        impl = data.get("implementation") or {}
        if not isinstance(impl.get("name"), str):
            raise ManifestError("implementation.name: missing (a short name is required)")
        self.name = impl["name"]
        self.roles = dict(data.get("roles") or {})
        proto = data.get("protocol") or {}
        self.protocol = SimpleNamespace(libmultiprocess=proto.get("libmultiprocess", True),
                                        echo=proto.get("echo", True))
        self.events = dict(data.get("events") or {})
        self.expectations = {}
        for e in data.get("expectations") or []:
            if e.get("result") not in ("fail", "non-strict", "unimplemented"):
                raise ManifestError(f"expectations[{e.get('case')}].result: bad value {e.get('result')!r}")
            self.expectations[e["case"]] = SimpleNamespace(case=e["case"], result=e["result"],
                                                           reason=e.get("reason", ""))

    def has_role(self, name):
        return name in self.roles

    def role_missing_reason(self, name):
        return None if name in self.roles else f"the manifest offers no [roles.{name}]"


def load_manifest(path):
    path = Path(path)
    with open(path, "rb") as f:
        try:
            data = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise ManifestError(f"{path}: {e}")
    return Manifest(path, data)
'''

MANIFEST = '''
[implementation]
name = "fake"
description = "a stand-in implementation"

[roles.child]
argv = ["{node}", "-ipcfd", "{fd}"]

[protocol]
libmultiprocess = true
echo = false

[[expectations]]
case = "SPAWN-003"
result = "fail"
reason = "known deviation that has since been fixed"

[[expectations]]
case = "SPAWN-004"
result = "fail"
reason = "exec failure is reported by the parent"

[[expectations]]
case = "CLI-003"
result = "unimplemented"
reason = "the shell has no such command"
'''

CASES = '''
import time

import pytest

from ipc_conformance.conformance.case import case
from ipc_conformance.harness.errors import HarnessError, Leak


class WaitTimeout(HarnessError):      # the plugin reads the kind, not the name
    kind = "TIMEOUT"


class ImplementationCrashed(HarnessError):
    kind = "CRASH"


class ProcessLeak(Leak):
    pass


@pytest.fixture
def leaky():
    yield
    raise ProcessLeak("pid 4242 (fake-node) still running after the case")


@pytest.fixture
def broken_setup():
    raise RuntimeError("could not stage the shell")


@case("SPAWN-001", "REQ-SPAWN-1", roles=("child",), smoke=True)
def test_pass(impl, evidence):
    """A spawned child answers."""
    evidence.record("transcript", "ipc> spawn probe\\nok <child>")
    evidence.record("process_verdict", {"exit_status": 0, "shutdown_to_exit": 0.01,
                                        "zombies": [], "orphans": [], "leaked_fds": []})
    assert impl.name == "fake"


@case("SPAWN-002", "REQ-SPAWN-2", roles=("child",))
def test_fail(evidence):
    """The child exits 0 on EOF."""
    evidence.record("exit_status", 1)
    evidence.record("transcript", "ipc> destroy\\n<child> exited 1")
    status = 1
    assert status == 0, "the child exited 1, not 0"


@case("LISTEN-001", "REQ-LISTEN-1", roles=("listener",), smoke=True)
def test_missing_role():
    """Needs a listener, which the manifest does not offer."""
    raise AssertionError("must not run")


@case("SHUT-001", "REQ-SHUT-1", roles=("child",))
def test_timeout(evidence):
    """A wait passes its deadline."""
    raise WaitTimeout("no exit within 5s; saw: nothing")


@case("SHUT-002", "REQ-SHUT-2")
def test_crash():
    """The implementation dies of a signal."""
    raise ImplementationCrashed("fake-node died of SIGSEGV")


@case("SPAWN-003", "REQ-SPAWN-3")
def test_stale_expectation():
    """Passes although the manifest expects a failure."""


@case("SPAWN-004", "REQ-SPAWN-4")
def test_expected_failure():
    """Fails as the manifest expects."""
    assert False, "status 1, not 127"


@case("CLI-001", "REQ-CLI-1")
def test_non_strict(evidence):
    """Passes with another wording."""
    evidence.non_strict("message wording differs from upstream")


@case("CLI-002", "REQ-CLI-2")
def test_informational(evidence):
    """Records implementation-defined behaviour."""
    evidence.record("max_connections_default", 16)
    evidence.informational("the default is implementation-defined")


@case("CLI-003", "REQ-CLI-3")
def test_expected_unimplemented():
    """The manifest says unimplemented."""
    raise AssertionError("must not run")


@case("PROTO-001", "REQ-PROTO-1", needs=("echo",))
def test_needs_echo():
    """Needs makeEcho, which the manifest switches off."""
    raise AssertionError("must not run")


@case("FAULT-001", "REQ-FAULT-1")
def test_leak(leaky):
    """Passes, but leaves a process behind."""


@case("FAULT-002", "REQ-FAULT-2")
def test_setup_error(broken_setup):
    """The harness cannot set up."""
'''

# What each case of CASES is classified as.
EXPECTED_KINDS = {
    "SPAWN-001": "PASS",
    "SPAWN-002": "FAIL",
    "LISTEN-001": "UNIMPLEMENTED",
    "SHUT-001": "TIMEOUT",
    "SHUT-002": "CRASH",
    "SPAWN-003": "UNEXPECTED-PASS",
    "SPAWN-004": "EXPECTED-FAIL",
    "CLI-001": "NON-STRICT",
    "CLI-002": "INFORMATIONAL",
    "CLI-003": "UNIMPLEMENTED",
    "PROTO-001": "UNIMPLEMENTED",
    "FAULT-001": "FAIL",
    "FAULT-002": "FAIL",
}


STANDIN_MODULE = "ipc_standin_manifest"


def write_standin(root: Path) -> None:
    """The stand-in loader as a module in ``root``; a process with ``root``
    on its path and $IPC_MANIFEST_LOADER set to STANDIN_MODULE uses it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{STANDIN_MODULE}.py").write_text(STANDIN_MANIFEST)
