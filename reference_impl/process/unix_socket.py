"""Binding and connecting unix stream sockets with upstream's rules.

Bind removes an existing file only when it is a socket (checked with lstat,
so a symlink is never followed or removed); anything else stays and bind
fails with the system error. Errors keep their errno, because callers such
as ``connect_address("auto")`` decide by it.
"""
import os
import socket
import stat

from ..errors import IpcSystemError


def bind_unix(path: str, backlog: int = 5) -> socket.socket:
    """A listening, non-blocking, close-on-exec socket at ``path``."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)     # a stale socket of a previous run
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as e:
        sock.close()
        raise IpcSystemError(e.errno, f"bind {path}: {e.strerror}") from None
    return sock


def connect_unix(path: str) -> socket.socket:
    """A connected socket; on failure the socket is closed and errno kept."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as e:
        sock.close()
        raise IpcSystemError(e.errno, f"connect {path}: {e.strerror}") from None
    return sock
