"""The native probe child (harness.staging, the default since it saves an
interpreter start per probe) changes no verdict: every case gets the same
kind with the Python probe (the suite as it was) and with the native one,

- against each implementation, the whole suite;
- against each mutant, the cases that catch it (its ``expected_catchers``:
  the verdicts a mutant can change; the full suite against all thirty
  mutants twice would take about twenty minutes).

Compared from the runs' JSON records, case by case. An expectation marked
``intermittent`` in a manifest (a race upstream loses only sometimes) may
come out EXPECTED-FAIL in one run and PASS in the other; that is the only
difference allowed, and it is named in the manifest with its reason."""
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ipc_conformance.conformance.mutants import mutant_manifests
from ipc_conformance.harness import staging
from ipc_conformance.harness.manifest import load_manifest

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "conformance" / "manifests"
BUILT = {"cpp": REPO / "fixtures" / "cpp" / "build" / "cpp-node",
         "libmultiprocess": REPO / "build" / "libmultiprocess" / "bin" / "mp-node"}

pytestmark = pytest.mark.skipif(
    not os.access(staging.NATIVE_PROBE, os.X_OK) and os.environ.get("CI") != "true",
    reason=f"{staging.NATIVE_PROBE} not built (bash ci/build-cpp.sh)")


def _run(manifest: Path, probe: str, report: str, case_ids=(), workers=None) -> dict:
    cmd = [sys.executable, "-m", "ipc_conformance.conformance.cli", "run", "--impl", str(manifest),
           "--report", report, "--timeout", "60"]
    if workers:
        cmd += ["-n", str(workers)]
    for cid in case_ids:
        cmd += ["--case", cid]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=REPO,
                          env={**os.environ, "IPC_PROBE": probe})
    found = list(Path(report).glob("*.json"))
    assert len(found) == 1, f"{manifest} with the {probe} probe wrote no run: " \
                            f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
    run = json.loads(found[0].read_text())
    assert run["run"]["probe"] == probe, (manifest, run["run"])
    assert run["executed"] == run["selected"], (manifest, probe, run["summary"])
    return run


def _differences(manifest: Path, python: dict, native: dict) -> list[str]:
    intermittent = {cid for cid, e in load_manifest(manifest).expectations.items()
                    if e.intermittent}
    a = {c["key"]: c for c in python["cases"]}
    b = {c["key"]: c for c in native["cases"]}
    out = [f"{manifest.parent.name}/{manifest.name}: {k} only with one probe"
           for k in sorted(a.keys() ^ b.keys())]
    for key in sorted(a.keys() & b.keys()):
        ka, kb = a[key]["kind"], b[key]["kind"]
        if ka == kb or (a[key]["id"] in intermittent and {ka, kb} <= {"EXPECTED-FAIL", "PASS"}):
            continue
        out.append(f"{manifest.parent.name}/{manifest.name}: {key}: python probe {ka} "
                   f"({a[key].get('message', '')[:200]}), native probe {kb} "
                   f"({b[key].get('message', '')[:200]})")
    return out


@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", ["reference", "cpp", "libmultiprocess"])
def test_whole_suite_same_verdicts(name, tmp_path):
    if name in BUILT and not BUILT[name].exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not built")
        pytest.skip(f"{name} is not built")
    manifest = MANIFESTS / f"{name}.toml"
    python = _run(manifest, "python", str(tmp_path / "python"), workers=2)
    native = _run(manifest, "native", str(tmp_path / "native"), workers=2)
    assert len(python["cases"]) == len(native["cases"]) > 100
    diffs = _differences(manifest, python, native)
    assert not diffs, "\n".join(diffs)


@pytest.mark.timeout(900)
def test_catching_cases_same_verdicts_against_every_mutant(tmp_path):
    manifests = mutant_manifests()

    def both(path):
        catchers = load_manifest(path).implementation.get("expected_catchers") or []
        runs = {probe: _run(path, probe, tempfile.mkdtemp(dir=tmp_path), catchers)
                for probe in ("python", "native")}
        return path, runs

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(both, manifests))
    diffs = [d for path, runs in results for d in _differences(path, runs["python"], runs["native"])]
    assert len(results) == len(manifests) >= 30
    assert not diffs, "\n".join(diffs)
