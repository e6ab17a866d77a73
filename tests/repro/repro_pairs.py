"""The (mutant, catching case) pairs of fixtures/mutants and the generated
reproducer of each, for tests/repro: one traced run per mutant of its
catching cases, a script per pair from that run's records."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from ipc_conformance.conformance import repro
from ipc_conformance.conformance.case import CASES_DIR, REPO_ROOT, collect_cases, load_requirements
from ipc_conformance.conformance.outcome import as_run
from ipc_conformance.conformance.runner import pytest_command
from ipc_conformance.harness.manifest import load_manifest

MUTANTS = REPO_ROOT / "fixtures" / "mutants"
REFERENCE = REPO_ROOT / "conformance" / "manifests" / "reference.toml"


def pairs() -> list[tuple[str, str]]:
    out = []
    for path in sorted(MUTANTS.glob("*/manifest.toml")):
        impl = tomllib.loads(path.read_text())["implementation"]
        out += [(path.parent.name, case) for case in impl.get("expected_catchers", [])]
    return out


def traced_run(manifest: Path, case_ids, json_path: Path, workers=None):
    """One pytest run of ``case_ids`` against ``manifest``: its records by case id."""
    cmd = pytest_command(manifest, cases_dir=CASES_DIR, json_path=json_path,
                         case_ids=list(case_ids), workers=workers)
    subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    run = as_run(json.loads(json_path.read_text()))
    return {rec.id: rec for rec in run.cases}


def write_script(rec, manifest: Path, out: Path) -> Path:
    infos = {c.id: c for c in collect_cases()}
    m = load_manifest(manifest)
    text = repro.script_from_record(rec, infos[rec.id], m, out,
                                    requirement_text=load_requirements().get(
                                        infos[rec.id].requirement, ""))
    return repro.writer.write_script(text, out, m.protocol.schema_dir)


def write_minimised(rec, manifest: Path, out: Path) -> Path:
    """The script ``repro --write`` writes by default (minimised against
    ``manifest``), from the record of a run already made."""
    infos = {c.id: c for c in collect_cases()}
    return repro.reproduce(infos[rec.id], load_manifest(manifest), manifest, out,
                           cases_dir=CASES_DIR, log=lambda *_: None, rec=rec,
                           requirement_text=load_requirements().get(infos[rec.id].requirement, ""))


def reference_programs() -> list[str]:
    m = load_manifest(REFERENCE)
    return [a for k, v in m.executables.items() if v for a in (f"--{k}", v)]


def failing_expectation(rec) -> str | None:
    """What the trace's failing step expected (numbers masked), to find in
    the script's message; None when the run failed by raising."""
    steps = (rec.evidence or {}).get("trace", {}).get("steps", [])
    i = repro.generate.failing_index(steps)
    if i is None or steps[i].get("op") != "check":
        return None
    return re.sub(r"\d+", "N", str(steps[i].get("expected")))
