"""CLEAN: cleanups registered on proxies (the shell's `cleanup`,
`cleanup-fail`, `destroy` and their events), and the server-side cleanup
of Echo.destroy. Each cleanup must run once, in order, at the right moment."""
import os
import signal

from ipc_conformance.conformance.case import case
from ipc_conformance.harness.capnp_peer import SuiteServer
from ipc_conformance.harness.waits import wait_pid_exit


def _ran(sh, tag) -> int:
    """How many times the shell reported cleanup ``tag`` as run, so far."""
    return sh.driver.events.count(f"event cleanup {tag} ran")


def _register(sh, obj, *tags, failing=()):
    for tag in tags:
        verb = "cleanup-fail" if tag in failing else "cleanup"
        a = sh.command(f"{verb} {obj} {tag}")
        assert a.ok and a.result == f"ok cleanup {tag}", a.result


def _cleanup_events(events) -> list[str]:
    return [e.split()[2] for e in events if e.startswith("event cleanup ")]


@case("CLEAN-001", "REQ-CLEAN-1", roles=("shell",))
def test_runs_once_on_destroy(shell):
    """A cleanup runs exactly once when its proxy is destroyed, and never again (quit included)."""
    sh = shell()
    obj, pid = sh.spawn()
    _register(sh, obj, "a")
    a = sh.command(f"destroy {obj}")
    assert a.ok, a.result
    assert "event cleanup a ran" in a.events, a.events
    assert sh.quit() == 0
    assert _ran(sh, "a") == 1, sh.driver.events


@case("CLEAN-002", "REQ-CLEAN-1", roles=("shell",))
def test_runs_once_when_connection_dies(shell):
    """A cleanup runs once when the child is SIGKILLed, and not again when the proxy is destroyed afterwards."""
    sh = shell()
    obj, pid = sh.spawn()
    _register(sh, obj, "a")
    os.kill(pid, signal.SIGKILL)
    sh.expect_event(r"^event cleanup a ran$", 10)
    d = sh.command(f"destroy {obj}")
    assert d.ok, d.result
    assert sh.quit() == 0
    assert _ran(sh, "a") == 1, sh.driver.events


@case("CLEAN-003", "REQ-CLEAN-1", roles=("shell",), needs=("echo",))
def test_never_while_proxy_lives(shell):
    """Cleanups never run while their proxy lives: 12 probes and echoes report no cleanup; destroy then runs them."""
    sh = shell()
    obj, pid = sh.spawn()
    _register(sh, obj, "a", "b")
    for i in range(6):
        assert sh.command(f"probe {obj}").ok
        assert sh.command(f"echo {obj} ping{i}").result == f"ok echo ping{i}"
    assert sh.command("list").ok
    assert not _cleanup_events(sh.driver.events), sh.driver.events
    d = sh.command(f"destroy {obj}")
    assert _cleanup_events(d.events) == ["a", "b"], d.events


@case("CLEAN-004", "REQ-CLEAN-2", roles=("shell",))
def test_run_in_registration_order(shell):
    """Five cleanups run in the order they were registered."""
    sh = shell()
    obj, _ = sh.spawn()
    tags = ["c1", "c2", "c3", "c4", "c5"]
    _register(sh, obj, *tags)
    d = sh.command(f"destroy {obj}")
    assert _cleanup_events(d.events) == tags, d.events


@case("CLEAN-005", "REQ-CLEAN-2", roles=("shell",))
def test_reaped_before_user_cleanups(shell):
    """On destroy the connection closes first, then the child is reaped (status 0), then the user's cleanups run (LB-08)."""
    sh = shell()
    obj, pid = sh.spawn()
    _register(sh, obj, "a", "b")
    d = sh.command(f"destroy {obj}", timeout=15)
    assert d.ok, d.result
    assert d.events == [f"event reaped {obj} pid={pid} status=0",
                        "event cleanup a ran", "event cleanup b ran"], d.events


@case("CLEAN-006", "REQ-CLEAN-3", roles=("shell",))
def test_failing_cleanup_does_not_stop_others(shell):
    """With cleanups a, b (failing), c, d (failing), e, all five run in order on destroy and the shell answers ok."""
    sh = shell()
    obj, pid = sh.spawn()
    _register(sh, obj, "a", "b", "c", "d", "e", failing=("b", "d"))
    d = sh.command(f"destroy {obj}")
    assert d.ok, d.result
    assert _cleanup_events(d.events) == ["a", "b", "c", "d", "e"], d.events
    assert f"event reaped {obj} pid={pid} status=0" in d.events, d.events
    assert sh.command("pid").ok


@case("CLEAN-007", "REQ-CLEAN-3", roles=("shell",))
def test_failing_cleanup_on_connection_loss(shell):
    """When the connection dies, a failing first cleanup does not stop the ones after it."""
    sh = shell()
    obj, pid = sh.spawn()
    _register(sh, obj, "x", "y", failing=("x",))
    os.kill(pid, signal.SIGKILL)
    sh.expect_event(r"^event cleanup x ran$", 10)
    sh.expect_event(r"^event cleanup y ran$", 10)
    assert sh.command("pid").ok
    assert [t for t in _cleanup_events(sh.driver.events)] == ["x", "y"], sh.driver.events


@case("CLEAN-008", "REQ-CLEAN-5", roles=("shell",))
def test_all_destroy_events_before_ok(shell):
    """Every event of a destroy (reaping, three cleanups) comes before its `ok destroyed` line, none after."""
    sh = shell()
    obj, pid = sh.spawn()
    _register(sh, obj, "p", "q", "r")
    d = sh.command(f"destroy {obj}")
    assert d.ok and d.result == f"ok destroyed {obj}", d.result
    assert f"event reaped {obj} pid={pid} status=0" in d.events, d.events
    assert _cleanup_events(d.events) == ["p", "q", "r"], d.events
    after = sh.command("pid")
    assert not after.events, f"events after 'ok destroyed': {after.events}"
    assert sh.quit() == 0
    assert len(sh.driver.events) == 4, sh.driver.events


@case("CLEAN-009", "REQ-CLEAN-4", roles=("listener",), needs=("events", "echo"))
def test_echo_destroy_cleans_up_before_reply(listener, impl, evidence):
    """Echo.destroy's server-side cleanup (the `Echo destroyed` line) is written before the reply reaches the client."""
    ln = listener()
    client = ln.connect()
    assert client.echo("before") == "before"
    start = ln.line_count()
    client.call(lambda c: c.destroy_echo())
    # Freeze the listener the moment the reply is here: a line written
    # before the reply is in the pipe already and still arrives; one it
    # would write after the reply cannot be written any more.
    os.kill(ln.pid, signal.SIGSTOP)
    try:
        m = ln.tracked.stdout.wait(impl.events["echo_destroyed"], 10, start=start)
    finally:
        os.kill(ln.pid, signal.SIGCONT)
    evidence.record("listener_lines", ln.tracked.lines()[start:])
    assert m is not None, "the Echo destroyed line was not written before destroy replied"
    assert client.probe(), "the listener stopped answering after Echo.destroy"


@case("CLEAN-010", "REQ-CLEAN-1", roles=("shell", "listener"))
def test_cleanups_on_connected_proxy(shell, listener):
    """Cleanups on a connected (not spawned) proxy run once, in order, on destroy; the listener goes on serving."""
    ln = listener()
    sh = shell()
    obj = sh.connect(ln.address)
    _register(sh, obj, "a", "b")
    assert sh.command(f"probe {obj}").ok
    assert not _cleanup_events(sh.driver.events)
    d = sh.command(f"destroy {obj}")
    assert d.ok, d.result
    assert _cleanup_events(d.events) == ["a", "b"], d.events
    assert ln.connect().probe(), "the listener stopped serving"
    assert sh.quit() == 0
    assert _ran(sh, "a") == 1 and _ran(sh, "b") == 1, sh.driver.events


@case("CLEAN-011", "REQ-CLEAN-1", roles=("shell",))
def test_connected_proxy_server_goes_away(shell, peer, schemas, short_tmp):
    """When the suite's own server closes a shell's connection, its cleanups run once; destroy afterwards runs none."""
    server = peer.run(SuiteServer(schemas, os.path.join(short_tmp, "suite.sock")).start)
    try:
        sh = shell()
        obj = sh.connect(f"unix:{server.path}")
        _register(sh, obj, "a", "b")
        assert sh.command(f"probe {obj}").ok
        assert server.open == 1
        peer.run(server.close)
        sh.expect_event(rf"^event disconnected {obj}$", 10)
        sh.expect_event(r"^event cleanup b ran$", 10)
        d = sh.command(f"destroy {obj}")
        assert d.ok, d.result
        assert not d.events, d.events
        assert _cleanup_events(sh.driver.events) == ["a", "b"], sh.driver.events
    finally:
        peer.run(server.close)


@case("CLEAN-012", "REQ-CLEAN-1", roles=("shell",))
def test_quit_runs_every_cleanup_once(shell):
    """quit destroys every held proxy (two children): each one's cleanups run once, before `ok bye`, and every child is reaped."""
    sh = shell()
    kids = [sh.spawn() for _ in range(2)]
    for obj, _ in kids:
        _register(sh, obj, f"k{obj}")
    assert sh.quit() == 0
    for obj, pid in kids:
        assert _ran(sh, f"k{obj}") == 1, sh.driver.events
        assert f"event reaped {obj} pid={pid} status=0" in sh.driver.events, sh.driver.events
        assert wait_pid_exit(pid, 10)
