"""Bounded, event-driven waits. Nothing here sleeps: each wait blocks on a
descriptor (a pidfd, a socket, a pipe) or a condition, with a deadline, and
on timeout raises ``WaitTimeout`` carrying what was seen."""
import contextlib
import os
import select
import threading
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


class _WaitClock:
    """Wall time spent blocked in the harness's waits, summed over the
    process's life: the union of the blocked intervals (a wait inside a wait,
    or two threads waiting at once, count once). A case reads it before and
    after (conformance.timing) and calls the difference its time waiting on
    events."""

    def __init__(self):
        self._lock = threading.Lock()
        self._depth = 0
        self._since = 0.0
        self._total = 0.0

    def enter(self):
        with self._lock:
            if self._depth == 0:
                self._since = time.monotonic()
            self._depth += 1

    def leave(self):
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                self._total += time.monotonic() - self._since

    def total(self) -> float:
        with self._lock:
            if self._depth:
                return self._total + (time.monotonic() - self._since)
            return self._total


WAIT_CLOCK = _WaitClock()


@contextlib.contextmanager
def blocked():
    """Count the enclosed time as waiting on an event (WAIT_CLOCK)."""
    WAIT_CLOCK.enter()
    try:
        yield
    finally:
        WAIT_CLOCK.leave()


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
    with blocked():
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


class DirWatch:
    """inotify on a directory: wait() returns when a file was created or
    renamed into it since the last wait (set up before looking, so nothing
    written in between is missed)."""

    def __init__(self, path):
        import ctypes
        self._libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self._libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        IN_CREATE, IN_MOVED_TO = 0x100, 0x80
        if self._libc.inotify_add_watch(self.fd, os.fsencode(path), IN_CREATE | IN_MOVED_TO) < 0:
            os.close(self.fd)
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {path}")

    def wait(self, timeout):
        if wait_readable(self.fd, timeout):
            try:
                os.read(self.fd, 65536)
            except BlockingIOError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        os.close(self.fd)
