"""examples/github-actions.yml works: its shell steps (the ``run:`` blocks),
run in order with bash as GitHub runs them, in a scratch workspace, install
the suite from a checkout of this project into a venv that is never
activated, run it against the reference (the workflow's own environment
variables replace the user's placeholders: the manifest, the source, a
handful of cases) and leave the files its upload steps name. No GitHub
needed. To stay small the venv shares this interpreter's packages and pip
installs no dependencies (it only fetches the build backend, setuptools and
wheel, from its configured index)."""
import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML: pip install -e '.[test]'")

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "examples" / "github-actions.yml"
CASES = "--case SPAWN-001 --case LISTEN-001"


def _job():
    doc = yaml.safe_load(WORKFLOW.read_text())
    (job,) = doc["jobs"].values()
    return job


def _checkout(dest: Path) -> Path:
    """This project's files as a checkout has them (tracked and new, not ignored)."""
    names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, names):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def test_the_steps_are_shell_and_uploads_always_run():
    steps = _job()["steps"]
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert len(uploads) == 2 and all(s.get("if") == "always()" for s in uploads), uploads
    runs = [s["run"] for s in steps if "run" in s]
    assert runs and not any("${{" in r for r in runs), "run: blocks must use $VAR, not ${{ }}"
    assert any("ipc-conformance run" in r and "-n 2" in r for r in runs)


def test_the_workflow_runs_against_the_reference(tmp_path):
    job = _job()
    source = _checkout(tmp_path / "ipc-conformance")
    workspace = tmp_path / "workspace"            # the user's repository
    workspace.mkdir()
    bin_dir = tmp_path / "bin"                    # what setup-python puts on PATH
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "IPC_"))}
    env.update({k: str(v) for k, v in job["env"].items()})
    env.update({
        "PATH": f"{bin_dir}{os.pathsep}{env['PATH']}",
        "IPC_CONFORMANCE_SOURCE": str(source),
        "IPC_MANIFEST": str(source / "conformance" / "manifests" / "reference.toml"),
        "IPC_RUN_ARGS": CASES,
        "IPC_VENV_OPTIONS": "--system-site-packages --without-pip",
        # The dependencies are this interpreter's (--system-site-packages);
        # pip still fetches the build backend through its configured index.
        "PIP_NO_DEPS": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    })
    for step in job["steps"]:
        if "run" not in step:
            continue
        script = tmp_path / "step.sh"
        script.write_text(step["run"])
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                              cwd=workspace, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, (f"step {step.get('name')!r}: exit status {proc.returncode}\n"
                                      f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    assert (workspace / ".ipc-venv" / "bin" / "ref-shell").exists()   # the venv's own scripts
    for step in job["steps"]:
        if not str(step.get("uses", "")).startswith("actions/upload-artifact"):
            continue
        for pattern in str(step["with"]["path"]).split("\n"):
            pattern = re.sub(r"\$\{\{\s*env\.(\w+)\s*\}\}", lambda m: env[m.group(1)],
                             pattern.strip())
            if pattern:
                assert glob.glob(str(workspace / pattern)), f"{step['name']}: nothing at {pattern}"
