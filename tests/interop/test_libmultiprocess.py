"""libmultiprocess (through fixtures/libmultiprocess: mp-node, mp-shell) with
the other implementations: a reference parent with a libmultiprocess child
and the reverse, the C++ implementation with libmultiprocess both ways, and
reference clients on a libmultiprocess listener. Each pair runs upstream's
sequence (construct, makeThread, getName, makeEcho, echo, destroy) and the
lifecycle: destroying the Init closes the connection, the child exits 0 and
is reaped."""
import os
import signal

import psutil

from ipc_conformance.reference_impl import Ipc

TIMEOUT = 10
TEXTS = ("hello", "h\u00e9llo \u2014 \u65e5\u672c")


def _spawn_through_shell(shell, child: str, stage: str):
    """`spawn CHILD`, probe and echo through a shell; then destroy, and check
    the child was the staged program, exited 0 and was reaped."""
    answer = shell.command(f"spawn {child}")
    assert answer.ok, answer.result
    ident, pid = answer.words[2], int(answer.words[3].removeprefix("pid="))
    probe = shell.command(f"probe {ident}")
    assert probe.ok and probe.result.startswith("ok thread "), probe.result
    assert "probe" in probe.result, probe.result
    cmdline = psutil.Process(pid).cmdline()
    assert cmdline[-3:-1] == [f"{stage}/{child}", "-ipcfd"] and cmdline[-1].isdigit(), cmdline
    for text in TEXTS:
        echo = shell.command(f"echo {ident} {text}")
        assert echo.result == f"ok echo {text}", echo.result
    destroyed = shell.command(f"destroy {ident}")
    assert destroyed.result == f"ok destroyed {ident}", destroyed.result
    assert f"event reaped {ident} pid={pid} status=0" in destroyed.events, destroyed.events
    assert not psutil.pid_exists(pid), f"{child} pid {pid} still exists after destroy"


def test_reference_parent_with_libmultiprocess_child(mp, stage, procs, link):
    link(mp.node, "mp-node")
    with Ipc("py-parent", argv0=os.path.join(stage, "py-parent")) as ipc:
        init = ipc.spawn_process("mp-node")
        procs.adopt(init.pid, "mp-node")
        name = init.probe("interop")
        assert "interop" in name, name
        assert psutil.Process(init.pid).cmdline()[:2] == [os.path.join(stage, "mp-node"), "-ipcfd"]
        echo = init.make_echo()
        for text in (*TEXTS, "", "x" * 100_000):
            assert echo.echo(text) == text
        echo.destroy()
        pid = init.pid
        init.close()
        assert init.exit_status == 0
        assert not psutil.pid_exists(pid)


def test_libmultiprocess_parent_with_reference_child(mp, ref_node, stage, shells, link):
    link(ref_node, "ref-node")
    shell = shells([link(mp.shell, "mp-shell"), f"-datadir={stage}"])
    _spawn_through_shell(shell, "ref-node", stage)
    assert shell.quit() == 0


def test_cpp_parent_with_libmultiprocess_child(cpp, mp, stage, shells, link):
    link(mp.node, "mp-node")
    shell = shells([link(cpp.shell, "cpp-shell"), f"-datadir={stage}"])
    _spawn_through_shell(shell, "mp-node", stage)
    assert shell.quit() == 0


def test_libmultiprocess_parent_with_cpp_child(cpp, mp, stage, shells, link):
    link(cpp.node, "cpp-node")
    shell = shells([link(mp.shell, "mp-shell"), f"-datadir={stage}"])
    _spawn_through_shell(shell, "cpp-node", stage)
    assert shell.quit() == 0


def test_reference_clients_on_libmultiprocess_listener(mp, stage, procs):
    node = procs.start([mp.node, f"-datadir={stage}", "-ipcbind=unix", "-debug=ipc"], cwd=stage,
                       label="mp-node")
    path = node.wait_line(r"^listening on unix:(?P<path>\S+)$", TIMEOUT).group("path")
    assert path == os.path.join(stage, "mp-node.sock")
    with Ipc("py-client", datadir=stage) as ipc:
        clients = [ipc.connect_address(f"unix:{path}") for _ in range(3)]
        for n in (1, 2, 3):
            node.wait_line(rf"^\[ipc\] accepted connection {n}$", TIMEOUT)
        for i, client in enumerate(clients):
            assert f"client{i}" in client.probe(f"client{i}")
        echo = clients[0].make_echo()
        assert echo.echo("\u00e9cho") == "\u00e9cho"
        echo.destroy()
        node.wait_line(r"^\[ipc\] Echo destroyed$", TIMEOUT)
        clients[0].close()
        node.wait_line(r"^\[ipc\] connection \d+ closed$", TIMEOUT)
        # The others are unaffected by the first one leaving.
        for client in clients[1:]:
            assert client.make_echo().echo("still here") == "still here"
    node.signal(signal.SIGTERM)
    assert node.wait_exit(TIMEOUT) == 0
    node.wait_line(r"^shutdown complete$", TIMEOUT)
    # Whether the socket file is removed at shutdown is a project-layer rule
    # (REQ-LISTEN-9) that libmultiprocess does not claim: not checked here.
