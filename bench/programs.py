"""Where the programs under measurement are, and how to start and stop them.

The reference node is taken from the directory of the running interpreter
(where ``pip install`` put ``ref-node``), not from PATH: on machines with a
version manager PATH holds a shell shim that would add its own start-up cost
to every spawn. The compiled implementations (NATIVE: the C++ node and the
adapter on libmultiprocess) come from their manifests; when their binaries
are missing the figures say "not built".
"""
from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCHEMA_DIR = REPO / "reference_impl" / "schemas"
MANIFESTS = REPO / "conformance" / "manifests"
NATIVE = ("cpp", "libmultiprocess")      # measured beside the reference, in this order
BIN_DIR = Path(sys.executable).parent


@dataclass
class Impl:
    """An implementation's node, and the ``argv0`` whose directory holds it
    (spawn_process runs ``dirname(argv0)/exe_name``)."""
    name: str
    node: str | None
    why_missing: str = ""
    manifest: object = None              # harness.manifest.Manifest, for the listener argv
    program: str = ""                    # what the rows call its node ("cpp-node", "mp-node")
    manifest_path: Path | None = None    # the manifest a conformance run is given

    @property
    def built(self) -> bool:
        return self.node is not None

    @property
    def exe_name(self) -> str:
        return os.path.basename(self.node)

    @property
    def argv0(self) -> str:
        return os.path.join(os.path.dirname(self.node), "bench")

    def listen_argv(self, datadir: str, address: str) -> list[str]:
        if self.manifest is not None and "listener" in self.manifest.roles:
            return self.manifest.argv("listener", datadir=datadir, address=address)
        return [self.node, f"-datadir={datadir}", f"-ipcbind={address}"]


def reference() -> Impl:
    node = BIN_DIR / "ref-node"
    if not os.access(node, os.X_OK):
        found = shutil.which("ref-node")
        if found is None:
            return Impl("reference", None, "ref-node is not installed (pip install -e .)")
        node = Path(found)
    return Impl("reference", str(node))


def from_manifest(name: str) -> Impl:
    """The node of ``conformance/manifests/<name>.toml``, or an Impl saying
    why there is none."""
    path = MANIFESTS / f"{name}.toml"
    missing = dict(name=name, node=None, program=f"{name} node", manifest_path=path)
    if not path.is_file():
        return Impl(**missing, why_missing=f"not built (no conformance/manifests/{name}.toml)")
    try:
        from ipc_conformance.harness.manifest import load_manifest
        manifest = load_manifest(path)
    except Exception as e:       # a manifest being written right now may not load
        return Impl(**missing, why_missing=f"not built (manifest does not load: {e})")
    child = manifest.roles.get("child")
    if child is not None and child.exe_name:
        missing["program"] = child.exe_name
    node = manifest.executables.get("node")
    if node is None:
        return Impl(**missing, why_missing="not built (" + (manifest.missing_executables().get("node")
                                                            or "no node executable") + ")")
    return Impl(**{**missing, "node": node}, manifest=manifest)


def natives() -> list[Impl]:
    """The compiled implementations of NATIVE, built or not."""
    return [from_manifest(name) for name in NATIVE]


def python_child(script: str, *args: str, pass_fds=()) -> subprocess.Popen:
    """A Python helper of this package (bench/<script>.py) as a child process."""
    path = Path(__file__).resolve().parent / f"{script}.py"
    return subprocess.Popen([sys.executable, str(path), *args], pass_fds=pass_fds,
                            close_fds=True)


def wait_line(proc: subprocess.Popen, prefix: str, deadline_s: float = 20.0) -> str:
    """Read ``proc.stdout`` until a line starting with ``prefix``; raise with
    what was seen when the deadline passes or the process ends."""
    seen = []
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    end = time.monotonic() + deadline_s
    try:
        while True:
            left = end - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise TimeoutError(f"no line starting {prefix!r} in {deadline_s} s; saw {seen!r}")
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"process exited ({proc.wait()}) before {prefix!r}; saw {seen!r}")
            line = line.decode(errors="replace").rstrip("\n") if isinstance(line, bytes) else line.rstrip("\n")
            seen.append(line)
            if line.startswith(prefix):
                return line
    finally:
        sel.close()


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop and reap a helper process: SIGTERM, then SIGKILL after ``timeout``."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for f in (proc.stdout, proc.stderr, proc.stdin):
        if f is not None:
            f.close()
