"""Staging directories: upstream finds a child at ``dirname(argv0)/NAME``,
so the suite links the shell under test into a fresh directory and puts the
probe child beside it. Nothing is written where the implementation lives."""
import importlib.util
import os
import stat
import sys
import tempfile
from pathlib import Path

from .registry import register_dir

PROBE_SOURCE = Path(__file__).with_name("probe_child.py")
import ipc_conformance  # noqa: E402

# What the probe child puts on sys.path to import ipc_conformance (it runs
# without the site module): the folder that holds the package.
HARNESS_ROOT = str(Path(ipc_conformance.__file__).resolve().parent.parent)
# Where pycapnp is installed: the probe runs without the site module.
CAPNP_SITE = str(Path(importlib.util.find_spec("capnp").origin).resolve().parent.parent)


# Socket paths are limited to 108 bytes: a staging folder's path must stay short.
SHORT_ROOT_MAX = 40


def short_tmp_root() -> str:
    """Where run folders go: ``tempfile.gettempdir()`` (so $TMPDIR is
    honoured) when its path is short enough for socket paths, else /tmp."""
    root = tempfile.gettempdir()
    return root if len(root) <= SHORT_ROOT_MAX else "/tmp"


def run_tmpdir(prefix: str = "ipc-") -> str:
    """A fresh, short folder for one case (or the preflight), written into
    the run's registry so that it is removed even if its remover never runs.
    The name is registered before the folder exists, so that a run killed
    at any instant leaves no folder the next run's sweep does not know of."""
    import secrets
    root = short_tmp_root()
    for _ in range(100):
        path = os.path.join(root, prefix + secrets.token_hex(4))
        register_dir(path)
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free folder name {prefix}* in {root} after 100 tries")


# The native probe child (fixtures/cpp/src/probe.c++, built by
# ci/build-cpp.sh): the same census, modes and marks as probe_child.py
# without an interpreter start. It serves the schemas it was compiled with,
# so it stands in for the Python probe only where the implementation's schemas
# are those (the same declarations, comments aside). $IPC_PROBE chooses:
# "native" requires the native one, "python" the Python one, and "auto" (the
# default, also when unset) takes the native one when it is built and fits.
# Both give every case the same verdict, against every implementation and
# mutant (tests/speed/test_probe_verdicts.py); the native one saves an
# interpreter start (100-200 ms) per probe child.
NATIVE_PROBE = Path(HARNESS_ROOT) / "fixtures" / "cpp" / "build" / "probe-child"
NATIVE_SCHEMAS = Path(HARNESS_ROOT) / "fixtures" / "cpp" / "schemas"
_SCHEMA_FILES = ("init.capnp", "echo.capnp", "mp/proxy.capnp")
_fits: dict = {}


def _declarations(path: Path) -> list[str]:
    out = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(" ".join(line.split()))
    return out


def _native_fits(protocol) -> bool:
    """Whether the native probe serves what the Python probe would for
    PROTOCOL (a manifest's [protocol]); None: the suite's default schemas."""
    if protocol is None:
        return True
    if (getattr(protocol, "init_schema", "init.capnp") != "init.capnp"
            or getattr(protocol, "init_interface", "Init") != "Init"
            or not getattr(protocol, "libmultiprocess", True)):
        return False
    if getattr(protocol, "schema_dir", None) is None:
        return True               # the suite's default schemas
    schema_dir = str(protocol.schema_dir)
    if schema_dir not in _fits:
        try:
            _fits[schema_dir] = all(_declarations(Path(schema_dir) / f) == _declarations(NATIVE_SCHEMAS / f)
                                    for f in _SCHEMA_FILES)
        except OSError:
            _fits[schema_dir] = False
    return _fits[schema_dir]


def probe_kind(protocol=None) -> str:
    """"native" or "python": which probe child stage_probe stages."""
    choice = os.environ.get("IPC_PROBE", "")
    if choice == "python":
        return "python"
    built = os.access(NATIVE_PROBE, os.X_OK)
    if choice == "native":
        if not built:
            raise FileNotFoundError(f"IPC_PROBE=native: {NATIVE_PROBE} is not built (bash ci/build-cpp.sh)")
        if not _native_fits(protocol):
            raise ValueError(f"IPC_PROBE=native: the native probe does not serve the schemas of "
                             f"{getattr(protocol, 'schema_dir', protocol)}")
        return "native"
    if choice not in ("", "auto"):
        raise ValueError(f"IPC_PROBE={choice!r}: expected python, native or auto")
    if built and _native_fits(protocol):
        return "native"
    return "python"


def stage_probe(exe_dir: str, name: str, protocol=None) -> str:
    """Write the probe child as ``exe_dir/name``, runnable directly: a
    symlink to the native probe, or the Python probe (probe_kind)."""
    path = os.path.join(exe_dir, name)
    if probe_kind(protocol) == "native":
        os.symlink(NATIVE_PROBE, path)
        return path
    with open(path, "w") as f:
        # -I: no PYTHON* variables, no user site; -S: no site module, so no
        # .pth file of the machine runs (and opens or imports anything)
        # before the census. The probe finds pycapnp through IPC_PROBE_SITE.
        f.write(f"#!{sys.executable} -IS\n")
        f.write(PROBE_SOURCE.read_text())
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def stage_link(exe_dir: str, target: str, name: str | None = None) -> str:
    """A symlink to one of the implementation's programs, inside exe_dir."""
    path = os.path.join(exe_dir, name or os.path.basename(target))
    os.symlink(target, path)
    return path


def probe_env(record_dir: str, schema_dir: str, *, mode: str = "serve", **extra) -> dict:
    env = {"IPC_PROBE_DIR": record_dir, "IPC_PROBE_SCHEMA_DIR": schema_dir,
           "IPC_HARNESS_ROOT": HARNESS_ROOT, "IPC_PROBE_SITE": CAPNP_SITE,
           "IPC_PROBE_MODE": mode}
    env.update({k: str(v) for k, v in extra.items()})
    return env
