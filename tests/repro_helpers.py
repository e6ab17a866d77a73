"""Writing a standalone reproducer (`ipc-conformance repro CASE --write`) and
running it on its own, as from a clean shell: shared by the reproducer tests
(tests/mutants, tests/upstream)."""
import re
import subprocess
import sys
from pathlib import Path

from ipc_conformance.harness.processes import ProcessTracker

MANIFESTS = Path(__file__).resolve().parents[1] / "conformance" / "manifests"
REFERENCE = MANIFESTS / "reference.toml"
_PROJECT = {"ipc_conformance", "harness", "reference_impl", "conformance", "fixtures", "tests"}


def write(case_id: str, manifest: Path, out: Path, *, minimise: bool = False,
          timeout: float = 120) -> str:
    """Write the reproducer of ``case_id`` for ``manifest`` to ``out`` (the
    command runs the case, then generates the script from its trace; not
    minimised unless asked, for speed); its text."""
    cmd = [sys.executable, "-m", "ipc_conformance.conformance.cli", "repro", case_id,
           "--impl", str(manifest), "--write", str(out)]
    proc = subprocess.run(cmd + ([] if minimise else ["--no-minimise"]),
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out.read_text()


def programs_of(manifest: Path, script_text: str) -> list[str]:
    """``manifest``'s programs as the script's options (``--node P``, ``--shell P``):
    the ones the script takes."""
    from ipc_conformance.harness.manifest import load_manifest
    wanted = re.search(r"^PROGRAMS = (.*)$", script_text, re.M).group(1)
    return [a for name, path in load_manifest(manifest).executables.items()
            if path and f'"{name}"' in wanted for a in (f"--{name}", path)]


def run_with(script: Path, workdir: Path, options) -> subprocess.CompletedProcess:
    """``run_alone`` with the script's options (other programs than its defaults)."""
    return run_alone(script, workdir, options)


def assert_standalone(text: str):
    """The script imports the standard library, pexpect, psutil and pycapnp
    only: nothing of this project."""
    imports = set(re.findall(r"^\s*(?:import|from)\s+(\w+)", text, re.M))
    assert not imports & _PROJECT, imports
    assert imports <= set(sys.stdlib_module_names) | {"capnp", "pexpect", "psutil"}, imports


def run_alone(script: Path, workdir: Path, options=(), timeout: float = 120
              ) -> subprocess.CompletedProcess:
    """As from a clean shell: no PYTHONPATH, no virtualenv variables, only an
    interpreter that has pexpect, psutil and pycapnp on PATH. A script shows
    a bug, so it may leave that bug's debris (an unreaped child, the child of
    a shell it had to kill): whatever of it is re-parented to this process (a
    child subreaper once the harness ran here) is killed and reaped afterwards."""
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(workdir),
           "LANG": "C.UTF-8"}
    tracker = ProcessTracker()
    try:
        return subprocess.run(["python3", str(script), *options], cwd=workdir, env=env,
                              capture_output=True, text=True, timeout=timeout)
    finally:
        tracker.teardown()


def last_line(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stdout.strip().splitlines()
    return lines[-1] if lines else f"(no output; stderr: {proc.stderr[-500:]!r})"
