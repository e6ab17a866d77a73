"""Which argv makes a spawned child, and which -ipcfd numbers are valid."""
import pytest

from ipc_conformance.reference_impl.errors import InvalidArgument
from ipc_conformance.reference_impl.process.spawned import check_spawned


@pytest.mark.parametrize("argv,fd", [
    (["node", "-ipcfd", "3"], 3),
    (["node", "-ipcfd", "0"], 0),
    (["node", "-ipcfd", "-1"], -1),
    (["node", "-ipcfd", "2147483647"], 2147483647),
    (["node"], None),
    (["node", "-ipcfd"], None),
    (["node", "-ipcfd", "3", "extra"], None),
    (["node", "-ipcfd=3", "x"], None),
    (["node", "--ipcfd", "3"], None),
    (["node", "-datadir=/x", "-ipcbind=unix"], None),
])
def test_spawned_argv(argv, fd):
    assert check_spawned(argv) == fd


@pytest.mark.parametrize("text", ["x", "", "3x", " 3", "3 ", "+3", "0x10", "2147483648",
                                  "-2147483649", "3.0", "٣"])
def test_invalid_ipcfd_numbers(text):
    with pytest.raises(InvalidArgument) as info:
        check_spawned(["node", "-ipcfd", text])
    assert str(info.value) == f"Invalid -ipcfd number '{text}'"
