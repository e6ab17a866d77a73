"""harness/files.py's checks on what a case expects on disk: they fail
naming the path and what was there, and pass only when it holds."""
import os

import pytest

from ipc_conformance.harness.files import assert_file, assert_no_file


def test_no_file_passes_where_nothing_is(tmp_path):
    assert_no_file(str(tmp_path / "gone.sock"))


def test_no_file_fails_on_a_dangling_symlink(tmp_path):
    link = tmp_path / "left.sock"
    os.symlink(tmp_path / "nowhere", link)
    with pytest.raises(AssertionError, match=r"nothing at .*left\.sock \(after the stop\), seen a file"):
        assert_no_file(str(link), "after the stop")


def test_file_tells_a_socket_from_a_regular_file(tmp_path):
    path = tmp_path / "plain"
    path.write_text("x")
    assert_file(str(path), "regular")
    with pytest.raises(AssertionError, match="another kind of file"):
        assert_file(str(path), "socket")
