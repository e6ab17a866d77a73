"""Spawning a child connected by a socketpair, as ``ipc::Process::spawn``.

Both ends are created close-on-exec (atomically, SOCK_CLOEXEC), so a spawn
running at the same time on another thread can never inherit them. The fork
and exec are CPython's C ``fork_exec`` (subprocess with no preexec_fn): no
Python code, allocation or lock runs between fork and exec; it closes every
descriptor >= 3 but the child's end (up to RLIMIT_NOFILE) and clears
close-on-exec on that end alone. An exec failure comes back to the parent
through subprocess's error pipe, so spawn raises at once, naming the
executable, and the failed child is already reaped.
"""
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field

from ..errors import SpawnError


@dataclass
class SpawnedChild:
    pid: int
    argv: list[str]
    sock: socket.socket            # the parent's end, close-on-exec
    popen: subprocess.Popen
    _pidfd: int | None = field(default=None, repr=False)

    def pidfd(self) -> int:
        """A descriptor that becomes readable when the child exits."""
        if self._pidfd is None:
            self._pidfd = os.pidfd_open(self.pid)
        return self._pidfd

    def reap(self) -> int:
        """Wait for the child (blocking) and return its status, negative for a signal."""
        status = self.popen.wait()
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        return status


def child_path(exe_name: str, argv0: str) -> str:
    return os.path.join(os.path.dirname(argv0), exe_name)


def spawn(exe_name: str, argv0: str | None = None) -> SpawnedChild:
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    path = child_path(exe_name, argv0 or sys.argv[0])
    argv = [path, "-ipcfd", str(child_end.fileno())]
    try:
        popen = subprocess.Popen(argv, pass_fds=(child_end.fileno(),), close_fds=True)
    except OSError as e:
        parent_end.close()
        raise SpawnError(e.errno, f"Failed to spawn '{path}': {e.strerror}", path) from None
    finally:
        child_end.close()
    return SpawnedChild(popen.pid, argv, parent_end, popen)
