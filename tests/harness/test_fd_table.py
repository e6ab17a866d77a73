"""harness/fd_table.py on a child started with descriptors of known kinds
and close-on-exec flags."""
import os
import socket
import subprocess
import sys

import pytest

from ipc_conformance.harness.fd_table import (fd_table, holders_of, inherited, socket_inode)

# Opens one descriptor close-on-exec (Python's default) and one inheritable,
# prints their numbers, then waits for its stdin to close.
_CHILD = (
    "import os, sys\n"
    "closing = os.open('/dev/null', os.O_RDONLY)\n"
    "kept = os.open('/dev/null', os.O_RDONLY)\n"
    "os.set_inheritable(kept, True)\n"
    "print(closing, kept, flush=True)\n"
    "sys.stdin.read()\n")


@pytest.fixture
def child():
    ours, theirs = socket.socketpair()
    p = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, pass_fds=(theirs.fileno(),))
    try:
        closing, kept = map(int, p.stdout.readline().split())
        yield p, theirs, closing, kept
    finally:
        p.stdin.close()
        p.wait(10)
        p.stdout.close()
        ours.close()
        theirs.close()


def test_flags_targets_and_kinds(child):
    p, theirs, closing, kept = child
    table = fd_table(p.pid)
    assert table[closing].cloexec and table[closing].target == "/dev/null"
    assert table[closing].kind == "file"
    assert not table[kept].cloexec and table[kept].target == "/dev/null"
    passed = table[theirs.fileno()]               # pass_fds: same number, inheritable
    assert passed.kind == "socket" and not passed.cloexec
    assert passed.inode == socket_inode(theirs)
    assert table[0].kind == "pipe" and table[1].kind == "pipe"
    assert "(cloexec)" in table[closing].brief() and "(cloexec)" not in table[kept].brief()


def test_inherited_is_what_exec_would_pass(child):
    p, theirs, closing, kept = child
    passed_on = inherited(fd_table(p.pid))
    assert kept in passed_on and theirs.fileno() in passed_on
    assert closing not in passed_on


def test_a_socket_is_found_in_every_holder_by_inode(child):
    p, theirs, _, _ = child
    holders = holders_of(socket_inode(theirs))
    assert (p.pid, theirs.fileno()) in holders
    assert (os.getpid(), theirs.fileno()) in holders


def test_own_table_and_a_gone_process():
    r, w = os.pipe()
    try:
        table = fd_table()
        assert table[r].kind == "pipe" and table[r].cloexec       # os.pipe is O_CLOEXEC
        assert table[r].inode == table[w].inode
    finally:
        os.close(r)
        os.close(w)
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait(10)
    with pytest.raises(FileNotFoundError):
        fd_table(p.pid)
