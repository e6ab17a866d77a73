"""Fixtures for the reference implementation's own tests: a staging
directory that plays ``dirname(argv0)``, and a fd-recording child."""
import os
import shutil
import stat
import sys
import tempfile

import psutil
import pytest

# The probe records the descriptors it inherited before it opens anything,
# then becomes a reference node serving Init on -ipcfd.
PROBE = """#!{python}
import os, sys
fds = {{}}
for name in os.listdir("/proc/self/fd"):
    try:
        fds[name] = os.readlink("/proc/self/fd/" + name)
    except OSError:
        pass
record = os.environ.get("IPC_TEST_RECORD_DIR")
if record:
    tmp = os.path.join(record, f".{{os.getpid()}}")
    with open(tmp, "w") as f:
        for fd, target in sorted(fds.items()):
            f.write(f"{{fd}} {{target}}\\n")
    os.rename(tmp, os.path.join(record, str(os.getpid())))
from ipc_conformance.reference_impl.cli.node import main
sys.exit(main())
"""


@pytest.fixture
def stage(monkeypatch):
    """A short temporary directory holding a probe child named ``probe``;
    ``argv0`` points into it so spawn_process("probe") finds the probe."""
    path = tempfile.mkdtemp(dir="/tmp", prefix="ipcr-")
    records = os.path.join(path, "records")
    os.mkdir(records)
    probe = os.path.join(path, "probe")
    with open(probe, "w") as f:
        f.write(PROBE.format(python=sys.executable))
    os.chmod(probe, os.stat(probe).st_mode | stat.S_IXUSR)
    monkeypatch.setenv("IPC_TEST_RECORD_DIR", records)
    before = {p.pid for p in psutil.Process().children(recursive=True)}

    class Stage:
        dir = path
        argv0 = os.path.join(path, "parent")
        record_dir = records

        def record(self, pid):
            """The probe's record; call after the child answered a call,
            which it does only after writing the record."""
            with open(os.path.join(records, str(pid))) as f:
                return dict(line.split(" ", 1) for line in f.read().splitlines())

    yield Stage()
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    for p in left:
        p.kill()
    psutil.wait_procs(left, timeout=5)
    shutil.rmtree(path, ignore_errors=True)
    assert not left, f"processes left behind: {[(p.pid, p.name()) for p in left]}"
