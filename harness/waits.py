"""Bounded, event-driven waits. Nothing here sleeps: each wait blocks on a
descriptor (a pidfd, a socket, a pipe) or a condition, with a deadline, and
on timeout raises ``WaitTimeout`` carrying what was seen."""
import os
import select
import time

from .errors import HarnessError


class WaitTimeout(HarnessError, TimeoutError):
    """A wait passed its deadline (the case is TIMEOUT). ``seen`` says what
    was observed, and ``diagnostics`` (when set) describes the stuck
    processes."""
    kind = "TIMEOUT"

    def __init__(self, message: str, *, seen=None, diagnostics=None):
        super().__init__(message)
        self.seen = seen
        self.diagnostics = diagnostics


class Deadline:
    def __init__(self, timeout: float):
        self.timeout = timeout
        self.end = time.monotonic() + timeout

    def left(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.end


def wait_readable(fd: int, timeout: float) -> bool:
    """True when ``fd`` became readable within ``timeout`` seconds."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    deadline = Deadline(timeout)
    while True:
        if poller.poll(deadline.left() * 1000):
            return True
        if deadline.expired():
            return False


def wait_pid_exit(pid: int, timeout: float) -> bool:
    """True when process ``pid`` exited (or was already gone) within
    ``timeout``; it is not reaped here."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return wait_readable(pidfd, timeout)
    finally:
        os.close(pidfd)
