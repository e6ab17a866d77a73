"""spawn(): the child's argv, the parent's end, and exec failures."""
import errno
import json
import os
import shutil
import stat
import sys
import tempfile

import psutil
import pytest

from ipc_conformance.reference_impl.errors import SpawnError
from ipc_conformance.reference_impl.process.spawn import child_path, spawn

ARGV_DUMP = f"""#!{sys.executable} -I
import json, os, sys
print(json.dumps(sys.argv), flush=True)
"""


@pytest.fixture
def d():
    path = tempfile.mkdtemp(dir="/tmp", prefix="ipcs-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _script(path, text, mode=0o755):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def test_child_path_is_next_to_argv0():
    assert child_path("ref-node", "/opt/bin/ref-shell") == "/opt/bin/ref-node"
    assert child_path("x", "rel/dir/parent") == "rel/dir/x"


def test_argv_is_exact_and_the_parents_end_is_close_on_exec(d, capfd):
    _script(f"{d}/child", ARGV_DUMP)
    child = spawn("child", f"{d}/parent")
    try:
        assert not os.get_inheritable(child.sock.fileno())
        assert child.argv == [f"{d}/child", "-ipcfd", child.argv[2]]
        assert child.reap() == 0
    finally:
        child.sock.close()
    printed = json.loads(capfd.readouterr().out.strip().splitlines()[-1])
    assert printed == child.argv


@pytest.mark.parametrize("make,code", [
    (lambda p: None, errno.ENOENT),
    (lambda p: _script(p, "#!/bin/sh\n", mode=0o644), errno.EACCES),
])
def test_exec_failure_raises_naming_the_path_and_leaves_nothing(d, make, code):
    make(f"{d}/child")
    before = set(os.listdir("/proc/self/fd"))
    zombies_before = _zombie_children()
    with pytest.raises(SpawnError) as info:
        spawn("child", f"{d}/parent")
    assert info.value.errno == code
    assert info.value.path == f"{d}/child"
    assert f"{d}/child" in str(info.value)
    assert set(os.listdir("/proc/self/fd")) == before
    assert _zombie_children() <= zombies_before      # the failed child was reaped


def _zombie_children() -> set[int]:
    """Our children that exited unreaped (other tests' debris is compared away)."""
    out = set()
    for p in psutil.Process().children():
        try:
            if p.status() == psutil.STATUS_ZOMBIE:
                out.add(p.pid)
        except psutil.NoSuchProcess:
            pass
    return out
