"""Connections across languages: Python clients on a C++ listener (cpp-node
-ipcbind, and cpp-shell `listen`), and the C++ client (cpp-shell `connect`,
cpp-node -ipcconnect) on a Python listener (ref-node -ipcbind)."""
import os
import signal

from ipc_conformance.reference_impl import Ipc

TIMEOUT = 10


def _listening(tracked):
    return tracked.wait_line(r"^listening on unix:(?P<path>\S+)$", TIMEOUT).group("path")


def test_python_clients_on_cpp_node_listener(cpp, stage, procs, link):
    node = procs.start([cpp.node, f"-datadir={stage}", "-ipcbind=unix", "-debug=ipc"], cwd=stage,
                       label="cpp-node")
    path = _listening(node)
    assert path == os.path.join(stage, "cpp-node.sock")
    with Ipc("py-client", datadir=stage) as ipc:
        first = ipc.connect_address(f"unix:{path}")
        second = ipc.connect_address(f"unix:{path}")
        node.wait_line(r"^\[ipc\] accepted connection 1$", TIMEOUT)
        node.wait_line(r"^\[ipc\] accepted connection 2$", TIMEOUT)
        assert "one" in first.probe("one") and "two" in second.probe("two")
        echo = first.make_echo()
        assert echo.echo("\u00e9cho") == "\u00e9cho"
        echo.destroy()
        node.wait_line(r"^\[ipc\] Echo destroyed$", TIMEOUT)
        first.close()
        node.wait_line(r"^\[ipc\] connection 1 closed$", TIMEOUT)
        # The other client is unaffected by the first one leaving.
        assert second.make_echo().echo("still here") == "still here"
    node.signal(signal.SIGTERM)
    assert node.wait_exit(TIMEOUT) == 0
    # The exit can be seen before the reader thread has the last lines: wait for them.
    node.wait_line(r"^\[ipc\] connection 2 closed$", TIMEOUT)
    node.wait_line(r"^shutdown complete$", TIMEOUT)
    assert not os.path.exists(path), "cpp-node left its socket file behind"


def test_python_client_on_cpp_shell_listener(cpp, stage, shells, link):
    shell = shells([link(cpp.shell, "cpp-shell"), f"-datadir={stage}"])
    answer = shell.command("listen unix:shell.sock")
    assert answer.result == f"ok listening unix:{stage}/shell.sock", answer.result
    with Ipc("py-client", datadir=stage) as ipc:
        init = ipc.connect_address(f"unix:{stage}/shell.sock")
        assert "from-python" in init.probe("from-python")
        assert shell.command("disconnect-incoming").result == "ok disconnected 1"
        # The shell dropped us: the next call fails instead of hanging.
        try:
            init.probe()
        except Exception as e:      # the reference raises Disconnected
            assert "disconnect" in str(e).lower(), e
        else:
            raise AssertionError("a call after disconnect-incoming succeeded")
        again = ipc.connect_address(f"unix:{stage}/shell.sock")
        assert "again" in again.probe("again")
    assert shell.quit() == 0
    assert not os.path.exists(os.path.join(stage, "shell.sock"))


def test_cpp_shell_client_on_ref_node_listener(cpp, ref_node, stage, procs, shells, link):
    node = procs.start([ref_node, f"-datadir={stage}", "-ipcbind=unix:py.sock", "-debug=ipc"], cwd=stage,
                       label="ref-node")
    path = _listening(node)
    shell = shells([link(cpp.shell, "cpp-shell"), f"-datadir={stage}"])
    answer = shell.command("connect unix:py.sock")
    assert answer.result == f"ok connected 1 address=unix:{path}", answer.result
    probe = shell.command("probe 1")
    assert probe.result.startswith("ok thread probe") and f"pid {node.pid}" in probe.result, probe.result
    assert shell.command("echo 1 from C++ \u2014 to Python").result == "ok echo from C++ \u2014 to Python"
    assert shell.command("destroy 1").result == "ok destroyed 1"
    # Destroying a connected Init closes that connection only.
    assert node.poll_exit() is None
    assert shell.command("connect unix:py.sock").result == f"ok connected 2 address=unix:{path}"
    assert shell.command("probe 2").ok
    node.signal(signal.SIGINT)
    shell.expect_event(r"^event disconnected 2$")
    assert node.wait_exit(TIMEOUT) == 0
    assert shell.command("probe 2").result.startswith("error disconnected:")
    assert shell.quit() == 0


def test_cpp_node_ipcconnect_to_ref_node(cpp, ref_node, stage, procs, link):
    server = procs.start([ref_node, f"-datadir={stage}", "-ipcbind=unix:py.sock", "-debug=ipc"], cwd=stage,
                         label="ref-node")
    path = _listening(server)
    client = procs.start([cpp.node, f"-datadir={stage}", "-ipcconnect=unix:py.sock"], cwd=stage,
                         label="cpp-node")
    client.wait_line(r"^connected to unix:py\.sock$", TIMEOUT)
    server.wait_line(r"^\[ipc\] accepted connection", TIMEOUT)
    client.signal(signal.SIGTERM)
    assert client.wait_exit(TIMEOUT) == 0
    server.wait_line(r"^\[ipc\] connection \d+ closed$", TIMEOUT)
    assert server.poll_exit() is None and os.path.exists(path)
    server.signal(signal.SIGTERM)
    assert server.wait_exit(TIMEOUT) == 0
