"""bench --suite-baseline (bench/baseline.py): an earlier checkout's runs
timed beside this one's. A directory that is not a checkout stops the bench
before any measurement; an implementation the baseline has no manifest or no
build for is named, never timed; a run of the baseline imports the
baseline's own package (here: this checkout, run as its own baseline)."""
import subprocess
import sys

import pytest

from ipc_conformance.bench import baseline
from ipc_conformance.conformance.case import REPO_ROOT


def test_a_directory_that_is_not_a_checkout_stops_the_bench(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ipc_conformance.bench", "--only", "suite",
                           "--suite-baseline", str(tmp_path), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"--suite-baseline {tmp_path}: not a checkout of ipc-conformance" in proc.stderr
    assert not (tmp_path / "out" / "bench.json").exists()


def _checkout(tmp_path, manifest_text=None):
    (tmp_path / "ipc_conformance").mkdir()
    (tmp_path / "ipc_conformance" / "__init__.py").write_text("")
    manifests = tmp_path / "conformance" / "manifests"
    manifests.mkdir(parents=True)
    if manifest_text is not None:
        (manifests / "cpp.toml").write_text(manifest_text)
    return tmp_path


def test_an_implementation_the_baseline_cannot_run_is_named(tmp_path):
    checkout = _checkout(tmp_path, '[executables]\nnode = "../../build/cpp-node"\n')
    baseline.check_checkout(checkout)
    assert baseline.unbuilt(checkout, "libmultiprocess") == \
        "the baseline has no manifest libmultiprocess.toml"
    why = baseline.unbuilt(checkout, "cpp")
    assert why.startswith("the baseline cannot run its node: ") and "build/cpp-node does not exist" in why
    manifests = checkout / "conformance" / "manifests"
    (manifests / "reference.toml").write_text('[executables]\nnode = "ref-node"\n'
                                              'shell = "{python}"\n')
    assert baseline.unbuilt(checkout, "reference") is None      # found as an installed command
    (manifests / "reference.toml").write_text('[executables]\nnode = "no-such-ref-node"\n')
    assert baseline.unbuilt(checkout, "reference").startswith(
        "the baseline cannot run its node: 'no-such-ref-node' is neither next to ")
    (checkout / "build").mkdir()
    (checkout / "build" / "cpp-node").write_text("")
    assert "is not executable" in baseline.unbuilt(checkout, "cpp")
    (checkout / "build" / "cpp-node").chmod(0o755)
    assert baseline.unbuilt(checkout, "cpp") is None


@pytest.mark.timeout(300)
def test_a_baseline_run_times_the_checkouts_own_suite():
    wall, facts = baseline.run_once(REPO_ROOT, "reference", smoke=True)
    assert facts["exit_status"] == 0, facts
    assert facts["cases"] > 0 and set(facts["kinds"]) <= {"PASS", "INFORMATIONAL", "NON-STRICT"}, facts
    assert wall > facts["case_seconds"] / 2 > 0


def test_the_suite_family_times_the_baseline_beside_each_implementation(tmp_path, monkeypatch):
    """bench/suite.py's wiring: one task per implementation the baseline can
    run, whose figure is divided by this checkout's figure for the same
    implementation; one it cannot run gets a row saying why and no task."""
    from ipc_conformance.bench import suite
    from ipc_conformance.bench.context import Context, Settings
    checkout = _checkout(tmp_path, '[executables]\nnode = "../../build/cpp-node"\n')
    (checkout / "conformance" / "manifests" / "reference.toml").write_text(
        '[executables]\nshell = "{python}"\n')
    ctx = Context(settings=Settings(suite_baseline=str(checkout)), ref=None)
    current = {name: ctx.figure(f"suite.{name}.n2", "suite", name, "s") for name in ("reference", "cpp")}
    timed = []
    monkeypatch.setattr(baseline, "run_once",
                        lambda where, name, smoke: timed.append((where, name, smoke)) or (12.5, {"cases": 3}))
    tasks, figs, runs = {}, {}, []
    suite._add_baseline(ctx, tasks, figs, runs, "full suite", figs_by_impl=current)
    assert sorted(tasks) == ["baseline.reference"]
    assert ctx.figures["suite.baseline.cpp.n2"].status.startswith("the baseline cannot run its node")
    tasks["baseline.reference"]()
    fig = ctx.figures["suite.baseline.reference.n2"]
    assert fig.samples == [12.5] and fig.baseline == "suite.reference.n2"
    assert timed == [(checkout.resolve(), "reference", False)]
    assert runs[0]["manifest"] == "baseline:reference" and runs[0]["cases"] == 3
