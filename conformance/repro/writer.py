"""Filling a reproducer template from a manifest and writing it.

Everything the script needs from the manifest goes into one JSON block at
its top (absolute executable paths, each role's argv with only the per-run
placeholders ``{fd}``, ``{address}`` and ``{datadir}`` left, schema files),
so the written file runs anywhere those executables and schemas exist.
"""
from __future__ import annotations

import json
import os
import stat
import string
from pathlib import Path

from . import templates

# Placeholders each run of the script fills itself.
_RUNTIME = {"fd": "{fd}", "address": "{address}", "datadir": "{datadir}"}


class ReproUnsupported(Exception):
    """No standalone reproducer can be written for this case (or manifest)."""


def supported_cases() -> list[str]:
    return sorted(templates.CASES)


def _config(manifest, roles) -> dict:
    missing = [r for r in roles if not manifest.has_role(r)]
    if missing:
        raise ReproUnsupported(f"the manifest {manifest.path} offers no usable role "
                               f"{', '.join(missing)}: " + "; ".join(
                                   manifest.role_missing_reason(r) for r in missing))
    proto = manifest.protocol
    argv = {}
    for role in roles:
        values = {**_RUNTIME, "exe_dir": "{exe_dir}"}
        argv[role] = manifest.argv(role, **values)
    child = manifest.roles.get("child")
    listener = manifest.roles.get("listener")
    shell = manifest.roles.get("shell")
    return {
        "implementation": manifest.name,
        "executables": {k: v for k, v in manifest.executables.items() if v},
        "argv": argv,
        "schema_dir": proto.schema_dir,
        "init_schema": proto.init_schema,
        "init_interface": proto.init_interface,
        "node_name": (child.exe_name if child and child.exe_name
                      else os.path.basename(manifest.executables.get("node") or "node")),
        "ready_pattern": listener.ready_pattern if listener else None,
        "prompt": shell.prompt if shell else None,
    }


def render_reproducer(info, manifest, *, requirement_text: str = "") -> str:
    """The reproducer of case ``info`` (a CaseInfo) for ``manifest``."""
    template = templates.CASES.get(info.id)
    if template is None:
        raise ReproUnsupported(f"no standalone reproducer for {info.id}; cases with one: "
                               f"{', '.join(supported_cases())}")
    config = _config(manifest, template.roles)
    head = string.Template(templates.PREAMBLE).substitute(
        case_id=info.id, requirement=info.requirement, statement=info.statement,
        requirement_text=requirement_text or "(see docs/spec.md)",
        implementation=manifest.name,
        config=json.dumps(config, indent=1, ensure_ascii=True))
    return head + template.body + templates.FOOTER


def write_reproducer(info, manifest, out, *, requirement_text: str = "") -> Path:
    """Write the reproducer to ``out`` (executable); returns its path."""
    text = render_reproducer(info, manifest, requirement_text=requirement_text)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.chmod(out.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return out
