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


def stage_probe(exe_dir: str, name: str) -> str:
    """Write the probe child as ``exe_dir/name``, runnable directly."""
    path = os.path.join(exe_dir, name)
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
