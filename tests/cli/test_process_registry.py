"""A worker that dies in the middle of a case (pycapnp aborting it, a kill)
never runs its teardown; the processes its case started live on in their own
sessions. The plugin's registry lets the controller kill them at the end of
the run: nothing of ours survives a crashed worker."""
import os
import subprocess
import sys
import textwrap

from pathlib import Path

from ipc_conformance.harness.processes import REGISTRY_ENV
from ipc_conformance.harness.waits import wait_pid_exit

MANIFEST = Path(__file__).resolve().parents[2] / "conformance" / "manifests" / "reference.toml"
DYING_CASE = textwrap.dedent("""
    import os
    from ipc_conformance.harness.processes import ProcessTracker

    def test_worker_dies_before_teardown():
        t = ProcessTracker().start(["sleep", "120"], label="sleeper")
        with open(os.environ["SLEEPER_PID_FILE"], "w") as f:
            f.write(str(t.pid))
        os._exit(3)          # as an abort would: no teardown, no fixture finalizers
""")


def test_processes_of_a_dead_worker_are_killed_at_the_end(tmp_path):
    (tmp_path / "test_dying.py").write_text(DYING_CASE)
    pid_file = tmp_path / "sleeper.pid"
    env = {k: v for k, v in os.environ.items() if k != REGISTRY_ENV}
    env["SLEEPER_PID_FILE"] = str(pid_file)
    env["PYTHONPATH"] = os.pathsep.join([os.getcwd(), env.get("PYTHONPATH", "")])
    # --ipc-impl: a conformance run (the plugin acts only when asked).
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "xdist", "-n", "1", "-q",
                           "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           "--ipc-impl", str(MANIFEST), str(tmp_path / "test_dying.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    out = proc.stdout[-2000:] + proc.stderr[-2000:]
    pid = int(pid_file.read_text())
    assert "crashed" in out, out
    assert "killed 1 process group" in out, out
    assert wait_pid_exit(pid, 10), f"the sleeper (pid {pid}) outlived the run"
    try:
        os.waitpid(pid, os.WNOHANG)       # ours to reap if we are a subreaper
    except ChildProcessError:
        pass
