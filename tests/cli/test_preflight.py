"""Executables resolve in a way that cannot mislead.

A bare command name in a manifest is looked up beside the interpreter first
(the same environment's console scripts, venv activated or not), then on
PATH. And before a run (and a smoke test) the shell is started once, staged
as the cases stage it: a shell that is re-executed under another argv0 by a
wrapper (a version manager's shim, here a fake one: a bash script that
execs the real ref-shell with `exec -a`) stops the run with exit status 3
and a message naming the wrapper, instead of ~30 FAILs."""
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ipc_conformance.harness.manifest import find_command, load_manifest

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "conformance" / "manifests" / "reference.toml"
BIN = Path(sys.executable).parent           # un-resolved: where our console scripts are


def _script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _wrapper(folder: Path, name: str) -> Path:
    """A shim: runs the real ref-shell under another argv0, as pyenv's and
    similar launchers do (for a script, the kernel then passes the real
    path to the interpreter: dirname(argv0) is no longer the staging dir)."""
    folder.mkdir(exist_ok=True)
    return _script(folder / name, "#!/usr/bin/env bash\n"
                                  f'exec -a /opt/shims/ref-shell "{BIN / "ref-shell"}" "$@"\n')


def _manifest(tmp_path: Path, shell: str) -> Path:
    text = REFERENCE.read_text().replace('shell = "ref-shell"', f'shell = "{shell}"')
    text = text.replace('"../../reference_impl/schemas"', f'"{REPO / "reference_impl" / "schemas"}"')
    path = tmp_path / "wrapped.toml"
    path.write_text(text)
    return path


def _env(shim_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("IPC_PROCESS_REGISTRY", "PYTEST_ADDOPTS")}
    env["PATH"] = f"{shim_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_a_bare_name_is_found_beside_the_interpreter_first(tmp_path, monkeypatch):
    venv_bin, other = tmp_path / "venv" / "bin", tmp_path / "other"
    venv_bin.mkdir(parents=True)
    other.mkdir()
    (venv_bin / "python3").symlink_to(sys.executable)    # a venv's python: a symlink
    mine = _script(venv_bin / "some-tool", "#!/bin/sh\n")
    _script(other / "some-tool", "#!/bin/sh\n")
    _script(other / "only-on-path", "#!/bin/sh\n")
    monkeypatch.setattr(sys, "executable", str(venv_bin / "python3"))
    monkeypatch.setenv("PATH", str(other))
    assert find_command("some-tool") == str(mine)        # not PATH's, not the resolved python's
    assert find_command("only-on-path") == str(other / "only-on-path")
    assert find_command("nowhere-at-all") is None


def test_the_manifest_prefers_the_interpreters_scripts_to_a_shim_on_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{_wrapper(tmp_path / 'shims', 'ref-shell').parent}"
                               f"{os.pathsep}{os.environ['PATH']}")
    assert load_manifest(REFERENCE).executables["shell"] == str(BIN / "ref-shell")


@pytest.mark.parametrize("command", ["run", "smoke"])
def test_a_shell_behind_a_wrapper_stops_the_run_with_status_3(tmp_path, command):
    shims = tmp_path / "shims"
    wrapper = _wrapper(shims, "wrapped-ref-shell")
    manifest = _manifest(tmp_path, "wrapped-ref-shell")
    report = tmp_path / "report"
    argv = [sys.executable, "-m", "ipc_conformance.conformance.cli", command, "--impl", str(manifest)]
    if command == "run":
        argv += ["--report", str(report), "--case", "SPAWN-001", "--case", "SPAWN-004"]
    proc = subprocess.run(argv, cwd=tmp_path, env=_env(shims), capture_output=True, text=True,
                          timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 3, out
    assert "does not see the argv0" in proc.stderr, out
    assert str(wrapper) in proc.stderr and "wrapper script" in proc.stderr, out
    assert "exec -a /opt/shims/ref-shell" in proc.stderr, out          # what it re-executes
    assert "absolute path" in proc.stderr and "activate" in proc.stderr, out
    assert "-m pytest" not in proc.stdout, out                         # nothing ran
    for result in report.glob("*.json") if report.exists() else []:
        assert not [c for c in json.loads(result.read_text())["cases"] if c["kind"] == "FAIL"]


def test_with_the_shim_first_on_path_a_bare_name_still_runs(tmp_path):
    shims = _wrapper(tmp_path / "shims", "ref-shell").parent
    report = tmp_path / "report"
    proc = subprocess.run([sys.executable, "-m", "ipc_conformance.conformance.cli", "run", "--impl", str(REFERENCE),
                           "--report", str(report), "--case", "SPAWN-001"],
                          cwd=tmp_path, env=_env(shims), capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    run = json.loads((report / "reference.json").read_text())
    assert [c["kind"] for c in run["cases"]] == ["PASS"], out
