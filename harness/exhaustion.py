"""Resource exhaustion inside an implementation, set up from outside, and
the counts that show it recovered: a process's RLIMIT_NOFILE lowered with
prlimit (psutil) so that its next accept, socketpair or socket fails with
EMFILE, then raised back; descriptor counts and the lowest free number read
from /proc. Nothing here sleeps."""
import contextlib
import os
import re

import psutil

from . import trace
from .waits import Deadline


def fd_numbers(pid: int) -> set[int]:
    return {int(n) for n in os.listdir(f"/proc/{pid}/fd")}


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def lowest_free_fd(pid: int) -> int:
    """The number the kernel gives ``pid``'s next new descriptor."""
    used = fd_numbers(pid)
    n = 0
    while n in used:
        n += 1
    return n


@contextlib.contextmanager
def nofile_limit(pid: int, soft: int, *, _spare=None):
    """Set ``pid``'s soft RLIMIT_NOFILE to ``soft`` (the hard limit kept),
    and give it back its own limit at the end, however the block ends.
    With ``soft`` = :func:`lowest_free_fd`, the next descriptor it makes
    fails with EMFILE. Yields the limit it had. Both ends are traced
    (harness.trace), by ``spare`` when :func:`exhausted` set it, since the
    lowest free number differs from run to run."""
    proc = psutil.Process(pid)
    old = proc.rlimit(psutil.RLIMIT_NOFILE)
    if _spare is None:
        trace.record("rlimit.set", pid=trace.pid(pid), soft=soft)
    else:
        trace.record("rlimit.exhaust", pid=trace.pid(pid), spare=_spare)
    proc.rlimit(psutil.RLIMIT_NOFILE, (soft, old[1]))
    try:
        yield old
    finally:
        trace.record("rlimit.restore", pid=trace.pid(pid))
        try:
            proc.rlimit(psutil.RLIMIT_NOFILE, old)
        except psutil.NoSuchProcess:
            pass


@contextlib.contextmanager
def exhausted(pid: int, spare: int = 0):
    """``pid`` can make only ``spare`` more descriptors until the block ends."""
    with nofile_limit(pid, lowest_free_fd(pid) + spare, _spare=spare) as old:
        yield old


def settle_fds(pid: int, target: int, step, timeout: float = 10) -> int:
    """Wait until ``pid`` holds at most ``target`` descriptors; ``step()``
    is called between looks (a round trip through the process's loop, so
    closes it has pending get their turn). The last count is returned; an
    AssertionError names the counts seen when it stays above."""
    deadline = Deadline(timeout)
    seen = []
    while True:
        count = fd_count(pid)
        seen.append(count)
        if count <= target:
            return count
        if deadline.expired():
            raise AssertionError(f"pid {pid} holds {count} descriptors, {target} expected "
                                 f"(counts seen: {seen[:5]} ... {seen[-5:]})")
        step()


_NUMBER = re.compile(r"\d+")


def event_numbers(lines, pattern) -> list[int | None]:
    """For each line matching ``pattern``, the connection number it names
    (the first integer on the line, docs/programs.md), None when it has none."""
    rx = re.compile(pattern)
    out = []
    for line in lines:
        if rx.search(line):
            m = _NUMBER.search(line)
            out.append(int(m.group()) if m else None)
    return out
