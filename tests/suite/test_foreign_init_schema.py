"""A `prog <fd>` program serving an Init of another schema (the shape of
libmultiprocess's example programs) is testable by a manifest alone: the
lifecycle cases run and pass against it through the schema-neutral ping, and
every case it cannot take (libmultiprocess probes, the node's command line,
listener, shell) is UNIMPLEMENTED with its reason, never failed."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "fixtures" / "calculator" / "manifest.toml"
# Cases that need only the child role and no libmultiprocess-style Init.
SCHEMA_NEUTRAL = {"SHUT-001", "SHUT-003", "FD-009", "FAULT-005", "FAULT-006",
                  "PROTO-010", "PROTO-011"}


def test_calculator_child_is_tested_without_code_changes(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "ipc_conformance.conformance.cli", "run", "-n", "2", "--impl", str(MANIFEST),
         "--report", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=600)
    run = json.loads((tmp_path / "calculator.json").read_text())
    kinds = {c["id"]: c["kind"] for c in run["cases"]}
    out = proc.stdout[-3000:] + proc.stderr[-1000:]
    assert proc.returncode == 0, out
    assert {cid: kinds.get(cid) for cid in SCHEMA_NEUTRAL} == dict.fromkeys(SCHEMA_NEUTRAL, "PASS"), out
    others = {c["id"]: c["message"] for c in run["cases"] if c["id"] not in SCHEMA_NEUTRAL}
    assert others and all(c_kind == "UNIMPLEMENTED" for cid, c_kind in kinds.items()
                          if cid in others), {cid: kinds[cid] for cid in others
                                              if kinds[cid] != "UNIMPLEMENTED"}
    assert all(msg.startswith("UNIMPLEMENTED: ") and len(msg) > 20 for msg in others.values())


# libmultiprocess's own example programs, built by ci/build-libmultiprocess.sh:
# the same schema-neutral cases pass; they claim the library layer only, so
# the others are NOT-CLAIMED or UNIMPLEMENTED, never failed.
EXAMPLES_BIN = REPO / "build" / "libmultiprocess" / "bin"


@pytest.mark.parametrize("example", ["mpcalculator", "mpprinter"])
def test_upstream_example_programs(example, tmp_path):
    if not (EXAMPLES_BIN / example).exists():
        message = f"{example} is not built (bash ci/build-libmultiprocess.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    proc = subprocess.run(
        [sys.executable, "-m", "ipc_conformance.conformance.cli", "run", "-n", "2", "--impl",
         str(REPO / "conformance" / "manifests" / f"{example}.toml"), "--report", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    out = proc.stdout[-3000:] + proc.stderr[-1000:]
    assert proc.returncode == 0, out
    run = json.loads((tmp_path / f"{example}.json").read_text())
    kinds = {c["id"]: c["kind"] for c in run["cases"]}
    assert {cid: kinds.get(cid) for cid in SCHEMA_NEUTRAL - {"FD-009"}} == \
        dict.fromkeys(SCHEMA_NEUTRAL - {"FD-009"}, "PASS"), out
    assert set(kinds.values()) <= {"PASS", "NOT-CLAIMED", "UNIMPLEMENTED"}, out
    assert not (tmp_path / "debug.log").exists()   # the example's log went to the case's folder
