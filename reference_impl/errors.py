"""The errors of the Ipc layer, by kind rather than by text.

Upstream distinguishes invalid-argument errors (a bad address or option)
from system errors (errno kept); callers such as ``connect_address("auto")``
decide by errno, so the errno must survive.
"""
import errno as _errno
import os


class IpcError(Exception):
    """Base of every error raised by the reference implementation."""


class InvalidArgument(IpcError, ValueError):
    """A bad address, socket option or -ipcfd number."""


class IpcSystemError(IpcError, OSError):
    """A system call failed; ``errno`` says which way."""

    def __init__(self, err: int, message: str | None = None):
        OSError.__init__(self, err, message or os.strerror(err))

    @property
    def errno_name(self) -> str:
        return _errno.errorcode.get(self.errno, str(self.errno))

    def __str__(self):
        return self.strerror


class SpawnError(IpcSystemError):
    """The child could not be executed; ``path`` names it."""

    def __init__(self, err: int, message: str | None = None, path: str | None = None):
        super().__init__(err, message)
        self.path = path


class Disconnected(IpcError):
    """The peer is gone: the call was made after, or interrupted by, a disconnect."""


class ProxyDestroyed(IpcError):
    """The proxy was destroyed here; nothing can be called through it."""


class RemoteError(IpcError):
    """The peer answered with an exception."""
