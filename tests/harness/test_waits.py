"""harness/waits.py and the line waits of harness/processes.py: bounded,
and a timeout says what was seen."""
import os
import subprocess
import sys
import time

import pytest

from ipc_conformance.harness.processes import ProcessTracker
from ipc_conformance.harness.waits import Deadline, WaitTimeout, wait_pid_exit, wait_readable


def test_deadline():
    d = Deadline(0.05)
    assert not d.expired() and 0 < d.left() <= 0.05
    time.sleep(0.06)
    assert d.expired() and d.left() == 0.0


def test_wait_readable_times_out_then_sees_data():
    r, w = os.pipe()
    try:
        started = time.monotonic()
        assert wait_readable(r, 0.1) is False
        assert 0.09 <= time.monotonic() - started < 2
        os.write(w, b"x")
        assert wait_readable(r, 5) is True
    finally:
        os.close(r)
        os.close(w)


def test_wait_pid_exit():
    p = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                         stdin=subprocess.PIPE)
    try:
        assert wait_pid_exit(p.pid, 0.1) is False
        p.stdin.close()
        assert wait_pid_exit(p.pid, 10) is True           # exited, not yet reaped
    finally:
        p.wait(10)
    assert wait_pid_exit(p.pid, 0.1) is True              # reaped: gone


@pytest.fixture
def procs():
    tracker = ProcessTracker()
    yield tracker
    assert not tracker.teardown()


def test_a_line_that_never_comes_names_what_was_seen(procs):
    t = procs.start([sys.executable, "-c",
                     "import sys, time; print('hello', flush=True); "
                     "print('oops', file=sys.stderr, flush=True); sys.stdin.read()"],
                    stdin=subprocess.PIPE, label="talker")
    t.wait_line("^hello$", 10)
    with pytest.raises(WaitTimeout) as e:
        t.wait_line("^goodbye$", 0.2)
    assert "talker" in str(e.value) and "'^goodbye$'" in str(e.value)
    assert "within 0.2s" in str(e.value)
    assert e.value.seen["stdout"] == ["hello"]
    t.stderr.wait("oops", 5)
    assert e.value.diagnostics["pid"] == t.pid             # where it is stuck
    t.popen.stdin.close()
    assert t.wait_exit(10) == 0


def test_a_closed_stream_ends_the_wait_at_once(procs):
    t = procs.start([sys.executable, "-c", "print('only line')"], label="brief")
    started = time.monotonic()
    with pytest.raises(WaitTimeout, match="closed its output"):
        t.wait_line("^never$", 10)
    assert time.monotonic() - started < 5


def test_an_exit_that_never_comes_is_diagnosed(procs):
    t = procs.start([sys.executable, "-c", "import sys; sys.stdin.read()"],
                    stdin=subprocess.PIPE, label="sitter")
    with pytest.raises(WaitTimeout) as e:
        t.wait_exit(0.2)
    assert f"sitter (pid {t.pid}) did not exit within 0.2s" in str(e.value)
    assert e.value.diagnostics["status"] in ("sleeping", "running", "disk-sleep")
    assert "wchan" in e.value.diagnostics or "fds" in e.value.diagnostics
    t.popen.stdin.close()
    assert t.wait_exit(10) == 0
