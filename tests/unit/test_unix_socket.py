"""Bind and connect rules: stale sockets go, other files stay, symlinks are
never followed, errno survives, and a failed connect leaks nothing."""
import errno
import os
import shutil
import socket
import tempfile

import pytest

from ipc_conformance.reference_impl.errors import IpcSystemError
from ipc_conformance.reference_impl.process.unix_socket import bind_unix, connect_unix


@pytest.fixture
def d():
    path = tempfile.mkdtemp(dir="/tmp", prefix="ipcu-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _stale_socket(path):
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()      # the file stays, nobody listens


def test_stale_socket_is_replaced(d):
    path = f"{d}/s.sock"
    _stale_socket(path)
    with bind_unix(path) as s:
        assert os.path.samestat(os.stat(path), os.stat(path))
        connect_unix(path).close()
        assert s.getsockname() == path


def test_regular_file_is_kept_and_bind_fails_with_eaddrinuse(d):
    path = f"{d}/s.sock"
    with open(path, "w") as f:
        f.write("precious")
    with pytest.raises(IpcSystemError) as info:
        bind_unix(path)
    assert info.value.errno == errno.EADDRINUSE
    assert open(path).read() == "precious"


def test_symlink_to_a_socket_is_neither_followed_nor_removed(d):
    target = f"{d}/target.sock"
    _stale_socket(target)
    link = f"{d}/link.sock"
    os.symlink(target, link)
    with pytest.raises(IpcSystemError) as info:
        bind_unix(link)
    assert info.value.errno == errno.EADDRINUSE
    assert os.path.islink(link) and os.path.exists(target)


def test_parent_directories_are_made(d):
    path = f"{d}/a/b/c/s.sock"
    with bind_unix(path):
        assert os.path.exists(path)


def test_listening_socket_is_close_on_exec_and_non_blocking(d):
    with bind_unix(f"{d}/s.sock") as s:
        assert not os.get_inheritable(s.fileno())
        assert s.getblocking() is False


def _fds():
    return set(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("make,code", [
    (_stale_socket, errno.ECONNREFUSED),
    (lambda path: None, errno.ENOENT),
])
def test_connect_errors_keep_errno_and_leak_no_descriptor(d, make, code):
    path = f"{d}/s.sock"
    make(path)
    before = _fds()
    with pytest.raises(IpcSystemError) as info:
        connect_unix(path)
    assert info.value.errno == code
    assert path in str(info.value)
    assert _fds() == before
