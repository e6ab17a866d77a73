"""One namespace: the distribution installs a single import name,
ipc_conformance, and no test material; installed from its wheel into a fresh
virtual environment that is never activated, it passes a handful of cases of
every area against the reference, run from a folder outside the checkout."""
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ("conformance", "harness", "reference_impl", "bench")
# A few cases of each area, the shell and the listener roles among them.
CASES = ["SPAWN-004", "FD-001", "SHUT-001", "CLEAN-001", "LISTEN-001", "ADDR-001",
         "SIG-001", "CLI-001", "FAULT-005", "PROTO-001"]


def _listed_packages() -> set[str]:
    with open(REPO / "pyproject.toml", "rb") as f:
        return set(tomllib.load(f)["tool"]["setuptools"]["packages"])


def test_every_package_folder_is_listed():
    listed = _listed_packages()
    for top in FOLDERS:
        for d in [REPO / top, *(p for p in (REPO / top).rglob("*") if p.is_dir())]:
            if d.name == "__pycache__" or not any(d.glob("*.py")) and not any(
                    d.glob("*.capnp")) and not any(d.glob("*.toml")) and not any(d.glob("*.sh")):
                continue
            name = "ipc_conformance." + ".".join(d.relative_to(REPO).parts)
            assert name in listed, f"{d.relative_to(REPO)} is not installed ({name})"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--quiet", "-w", str(out), str(REPO)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (path,) = out.glob("ipc_conformance-*.whl")
    return path


def test_the_wheel_has_one_import_name_and_no_test_material(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"ipc_conformance"}, tops
    assert not [n for n in names if "/fixtures/" in n or n.startswith("tests/")]
    assert "ipc_conformance/docs/spec.md" in names            # requirement texts and layers
    assert "ipc_conformance/conformance/manifests/reference.toml" in names
    assert any(n.startswith("ipc_conformance/conformance/cases/test_") for n in names)
    for program in (REPO / "harness" / "programs").iterdir():   # helper programs, as files
        if program.is_file():
            assert f"ipc_conformance/harness/programs/{program.name}" in names, program.name


def test_installed_into_a_venv_never_activated_it_passes(wheel, tmp_path):
    venv = tmp_path / "v"
    # The dependencies (pycapnp, psutil, pexpect, pytest and plugins) come
    # from this interpreter's site-packages; the project itself only from
    # the wheel.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=120)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    str(wheel)], check=True, timeout=300, capture_output=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")
           and not k.startswith("IPC_")}
    where = subprocess.run([str(py), "-c", "import ipc_conformance; print(ipc_conformance.__file__)"],
                           cwd=outside, env=env, capture_output=True, text=True, timeout=60)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr   # the venv's copy
    argv = [str(venv / "bin" / "ipc-conformance"), "run", "-n", "2", "--report", "out"]
    for case_id in CASES:
        argv += ["--case", case_id]
    proc = subprocess.run(argv, cwd=outside, env=env, capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, out
    assert f"selected {len(CASES)}, executed {len(CASES)}: PASS {len(CASES)}" in proc.stdout, out
    assert str(venv) in (outside / "out" / "reference.json").read_text()   # its own ref-shell
