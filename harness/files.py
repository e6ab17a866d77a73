"""The case's own file-system set-up and checks, traced: files, folders,
symlinks and sockets a case puts where the implementation will bind or
connect, and what it expects of them afterwards.

Why here and not ``open``/``os`` in the case: a reproducer (conformance.repro)
must lay out the same files and make the same checks, and it learns both
from the trace (harness.trace), which records these calls with their paths
and contents.
"""
import os
import socket
import stat

from . import trace


def write_file(path: str, text: str) -> None:
    trace.record("fs.write", path=path, text=text)
    with open(path, "w") as f:
        f.write(text)


def make_dir(path: str) -> None:
    trace.record("fs.mkdir", path=path)
    os.mkdir(path)


def remove_dir(path: str) -> None:
    """An empty folder removed (its path then free for a file, say)."""
    trace.record("fs.rmdir", path=path)
    os.rmdir(path)


def symlink(target: str, link: str) -> None:
    trace.record("fs.symlink", target=target, link=link)
    os.symlink(target, link)


def stale_socket(path: str) -> None:
    """A socket file nobody listens on: bound, then closed (connect: ECONNREFUSED)."""
    trace.record("fs.stale_socket", path=path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()


def listening_socket(path: str, backlog: int = 1) -> socket.socket:
    """A socket of the suite's own listening at ``path`` (the caller closes it)."""
    trace.record("fs.listen", path=path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(backlog)
    return s


_KINDS = {"regular": stat.S_ISREG, "socket": stat.S_ISSOCK, "symlink": stat.S_ISLNK,
          "directory": stat.S_ISDIR}


def assert_file(path: str, kind: str, *, content: str | None = None, link_to: str | None = None,
                what: str = ""):
    """``path`` exists (not followed if a symlink) as a ``kind`` file; with
    ``content``, holding exactly that; with ``link_to``, a symlink to that."""
    label = what or path
    expected = f"{label} a {kind} file" + (f" holding {content!r}" if content is not None else "") \
        + (f" linking to {link_to}" if link_to else "")
    args = dict(path=path, kind=kind, content=content, link_to=link_to, what=what,
                expected=expected)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return _fail(f"expected {expected}, seen it missing", args)
    if not _KINDS[kind](mode):
        return _fail(f"expected {expected}, seen another kind of file (mode {oct(mode)})", args)
    if content is not None:
        with open(path) as f:
            held = f.read()
        if held != content:
            return _fail(f"expected {expected}, seen it holding {held!r}", args)
    if link_to is not None and os.readlink(path) != link_to:
        return _fail(f"expected {expected}, seen it linking to {os.readlink(path)}", args)
    trace.check("file", True, seen=None, **args)


def assert_no_file(path: str, what: str = ""):
    """Nothing at ``path``, not even a dangling symlink: what a failed or
    stopped listener must leave where its socket was."""
    expected = f"nothing at {path}" + (f" ({what})" if what else "")
    args = dict(path=path, what=what, expected=expected)
    if os.path.lexists(path):
        _fail(f"expected {expected}, seen a file there (mode {oct(os.lstat(path).st_mode)})",
              args, check="no_file")
    trace.check("no_file", True, seen=None, **args)


def _fail(message, args, check="file"):
    trace.check(check, False, seen=message, **args)
    raise AssertionError(message)
