"""harness/processes.py ProcessTracker: what teardown and the verdict say of
an orphan, a zombie, a leaked descriptor and a process still running."""
import os
import socket
import subprocess
import sys
import time

import psutil

from ipc_conformance.harness.fd_table import holders_of, socket_inode
from ipc_conformance.harness.processes import ORPHAN_GRACE, ProcessTracker, describe_status
from ipc_conformance.harness.waits import wait_pid_exit

# Forks a grandchild that holds an inherited socket (argv[1]) and waits; the
# parent prints the grandchild's pid and exits: the grandchild is an orphan,
# re-parented to the suite (the subreaper).
_ORPHANER = (
    "import os, sys, time\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.setsid()\n"
    "    time.sleep(60)\n"
    "    os._exit(0)\n"
    "print(pid, flush=True)\n")
# The same, but the grandchild reads its inherited socket and exits at EOF:
# an orphan that goes once its peer closes (a child whose parent was killed).
_EOF_ORPHANER = _ORPHANER.replace(
    "    time.sleep(60)\n",
    "    import socket\n"
    "    s = socket.socket(fileno=int(sys.argv[1]))\n"
    "    while s.recv(64):\n"
    "        pass\n")
# Forks a child that exits at once and is never waited for: a zombie while
# its parent (which reads stdin) lives.
_ZOMBIE_MAKER = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os._exit(7)\n"
    "print(pid, flush=True)\n"
    "sys.stdin.read()\n")


def test_an_orphan_holding_a_leaked_socket_fails_teardown_and_is_killed():
    tracker = ProcessTracker()
    ours, theirs = socket.socketpair()
    t = tracker.start([sys.executable, "-c", _ORPHANER], pass_fds=(theirs.fileno(),),
                      label="orphaner")
    t.wait_line(r"^\d+$", 10)
    orphan = int(t.lines()[0])
    # Its parent has exited and been reaped: the kernel handed the orphan to
    # the suite (the subreaper) before the parent became reapable.
    assert t.wait_exit(10) == 0
    assert psutil.Process(orphan).ppid() == os.getpid()
    leaked = socket_inode(theirs)
    theirs.close()
    # the leak, seen from the kernel: the orphan still holds the child's socket
    assert [pid for pid, _ in holders_of(leaked)] == [orphan]
    found = tracker.leftovers(grace=0)
    assert len(found) == 1 and f"orphan pid {orphan}" in found[0], found
    started = time.monotonic()
    problems = tracker.teardown()
    # not a timing check: teardown waits out the orphan's grace, then kills
    # it, and must not hang beyond that
    assert time.monotonic() - started < ORPHAN_GRACE + 5
    assert any(f"orphan pid {orphan}" in p for p in problems), problems
    assert not psutil.pid_exists(orphan)                     # killed and reaped
    assert holders_of(leaked) == []
    ours.close()
    assert tracker.verdict()["processes"][0]["exit"] == "status 0"


def test_an_orphan_that_exits_at_eof_within_the_grace_is_no_leftover():
    tracker = ProcessTracker()
    ours, theirs = socket.socketpair()
    t = tracker.start([sys.executable, "-c", _EOF_ORPHANER, str(theirs.fileno())],
                      pass_fds=(theirs.fileno(),), label="orphaner")
    t.wait_line(r"^\d+$", 10)
    orphan = int(t.lines()[0])
    assert t.wait_exit(10) == 0
    theirs.close()
    assert psutil.Process(orphan).status() != psutil.STATUS_ZOMBIE   # still reading
    ours.close()                       # its EOF: it exits a moment later
    assert tracker.leftovers() == []
    assert tracker.teardown() == []
    assert not psutil.pid_exists(orphan)                     # reaped


def test_a_zombie_left_by_a_parent_is_reported_in_the_verdict():
    tracker = ProcessTracker()
    parent = tracker.start([sys.executable, "-c", _ZOMBIE_MAKER], stdin=subprocess.PIPE,
                           label="careless parent")
    parent.wait_line(r"^\d+$", 10)
    zombie = int(parent.lines()[0])
    tracker.adopt(zombie, "spawned child")
    assert wait_pid_exit(zombie, 10)         # its pidfd: exited (and, unreaped, a zombie)
    assert psutil.Process(zombie).status() == psutil.STATUS_ZOMBIE
    assert tracker.fates() == {str(zombie): "spawned child: zombie (not reaped)"}
    problems = tracker.teardown()
    assert problems == [], problems       # a zombie is no orphan: it is the verdict's
    verdict = tracker.verdict()
    assert verdict["spawned"] == {str(zombie): "spawned child: zombie (not reaped)"}
    (proc,) = verdict["processes"]
    assert proc["label"] == "careless parent"
    assert proc["exit"] == "still running at the end of the case: killed by the harness"
    assert not psutil.pid_exists(zombie) and not psutil.pid_exists(parent.pid)


def test_a_clean_exit_is_timed_from_the_shutdown_request():
    tracker = ProcessTracker()
    t = tracker.start([sys.executable, "-c", "import sys; sys.stdin.read()"],
                      stdin=subprocess.PIPE, label="polite")
    tracker.adopt(t.pid, "polite")
    t.mark_shutdown()
    t.popen.stdin.close()
    assert t.wait_exit(10) == 0
    assert tracker.fates() == {str(t.pid): "polite: exited and reaped"}
    assert tracker.teardown() == []
    (proc,) = tracker.verdict()["processes"]
    assert proc["exit"] == "status 0" and proc["exit_after_shutdown_ms"] >= 0


def test_describe_status():
    assert describe_status(None) is None
    assert describe_status(0) == "status 0"
    assert describe_status(-9) == "signal SIGKILL"
    assert describe_status(-200) == "signal 200"
