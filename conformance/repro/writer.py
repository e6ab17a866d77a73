"""Writing a reproducer: the script (conformance.repro.generate) with the
manifest's programs and argv in it, and the schemas it loads beside it.

Everything the script needs from the manifest goes into constants at its
top: absolute program paths (the defaults of its ``--node``/``--shell``
options), each role's argv with only the per-run placeholders left
(``{fd}``, ``{address}``, ``{datadir}`` and the programs), the prompt and the
ready pattern. The schemas are copied into ``<script>.schemas/`` so the
script runs anywhere the programs exist.
"""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

_PLACEHOLDERS = {"fd": "{fd}", "address": "{address}", "datadir": "{datadir}",
                 "node": "{node}", "shell": "{shell}", "exe_dir": "{exe_dir}"}


class ReproUnsupported(Exception):
    """No standalone reproducer can be written for this case (or manifest)."""


def schema_folder(out: Path) -> Path:
    out = Path(out)
    return out.with_name(out.stem + ".schemas")


def config(manifest, out: Path) -> dict:
    """What the script needs from ``manifest``."""
    programs = {k: os.path.abspath(v) for k, v in manifest.executables.items() if v}
    argv = {}
    for role in manifest.roles:
        if manifest.has_role(role):
            argv[role] = manifest.argv(role, **_PLACEHOLDERS)
    shell, listener = manifest.roles.get("shell"), manifest.roles.get("listener")
    proto = manifest.protocol
    return {"programs": programs, "argv": argv,
            "prompt": shell.prompt if shell else None,
            "ready_pattern": listener.ready_pattern if listener else None,
            "schemas": schema_folder(out).name, "schema_dir": proto.schema_dir,
            "init_schema": proto.init_schema, "init_interface": proto.init_interface,
            "proxy_schema": proto.proxy_schema,
            "imports_capnp_schemas": imports_capnp_schemas(proto.schema_dir)}


def imports_capnp_schemas(schema_dir) -> bool:
    """Whether a schema in ``schema_dir`` imports one of Cap'n Proto's own
    (``/capnp/c++.capnp``): the script then puts pycapnp's copies on its
    import path (one line more), as it must for upstream's schemas."""
    if not schema_dir or not os.path.isdir(schema_dir):
        return True
    return any('"/capnp/' in path.read_text(errors="replace")
               for path in Path(schema_dir).rglob("*.capnp"))


def write_script(text: str, out: Path, schema_dir: str | None) -> Path:
    """Write ``text`` to ``out`` (executable) and the schemas beside it."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.chmod(out.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    if schema_dir and "INIT_SCHEMA" in text:
        dest = schema_folder(out)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(schema_dir, dest, ignore=lambda d, names: [
            n for n in names if not (n.endswith(".capnp") or os.path.isdir(os.path.join(d, n)))])
    return out


def program_options(manifest, script_text: str) -> list[str]:
    """``manifest``'s programs as a script's options (``--node P``,
    ``--shell P``): those the script takes (its PROGRAMS)."""
    import re
    wanted = re.search(r"^PROGRAMS = (.*)$", script_text, re.M)
    return [a for name, path in manifest.executables.items()
            if path and wanted and f'"{name}"' in wanted.group(1)
            for a in (f"--{name}", os.path.abspath(path))]
