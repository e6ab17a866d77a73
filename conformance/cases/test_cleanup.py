"""CLEAN: cleanups registered on proxies (the shell's `cleanup`,
`cleanup-fail`, `destroy` and their events), and the server-side cleanup
of Echo.destroy. Each cleanup must run once, in order, at the right moment."""
import os
import signal

from ipc_conformance.conformance.case import case
from ipc_conformance.harness.capnp_peer import SuiteServer
from ipc_conformance.harness.shell_events import CleanupRan, Reaped
from ipc_conformance.harness.verifiers import (assert_answer, assert_cleanup_count,
                                               assert_cleanups, assert_contains, assert_equal,
                                               assert_events, assert_exits, assert_ok,
                                               assert_reaped)


def _ran(sh, tag) -> int:
    """How many times the shell reported cleanup ``tag`` as run, so far."""
    return sh.events().count(CleanupRan(tag))


def _register(sh, obj, *tags, failing=()):
    for tag in tags:
        verb = "cleanup-fail" if tag in failing else "cleanup"
        assert_answer(sh.command(f"{verb} {obj} {tag}"), f"ok cleanup {tag}")


@case("CLEAN-001", "REQ-CLEAN-1", roles=("shell",))
def test_runs_once_on_destroy(shell):
    """A cleanup runs exactly once when its proxy is destroyed, and never again (quit included)."""
    sh = shell()
    obj, pid = sh.spawn()
    _register(sh, obj, "a")
    a = sh.command(f"destroy {obj}")
    assert_ok(a)
    assert CleanupRan("a") in a.typed_events, a.events
    assert_equal(sh.quit(), 0, "the shell's exit status after quit")
    assert _ran(sh, "a") == 1, sh.events()


@case("CLEAN-002", "REQ-CLEAN-1", roles=("shell",), conditions=("peer-dies",))
def test_runs_once_when_connection_dies(shell):
    """A cleanup runs once when the child is SIGKILLed, and not again when the proxy is destroyed afterwards."""
    sh = shell()
    obj, pid = sh.spawn()
    _register(sh, obj, "a")
    os.kill(pid, signal.SIGKILL)
    sh.expect_cleanup("a", 10)
    assert_ok(sh.command(f"destroy {obj}"))
    assert_equal(sh.quit(), 0, "the shell's exit status after quit")
    assert_cleanup_count(sh.events(), "a", 1)


@case("CLEAN-003", "REQ-CLEAN-1", roles=("shell",), needs=("echo",), conditions=("repeated",))
def test_never_while_proxy_lives(shell):
    """Cleanups never run while their proxy lives: 12 probes and echoes report no cleanup; destroy then runs them."""
    sh = shell()
    obj, pid = sh.spawn()
    _register(sh, obj, "a", "b")
    for i in range(6):
        assert_ok(sh.command(f"probe {obj}"))
        assert_answer(sh.command(f"echo {obj} ping{i}"), f"ok echo ping{i}")
    assert_ok(sh.command("list"))
    assert_cleanups(sh.events(), [], "while the proxy lives")
    assert_cleanups(sh.command(f"destroy {obj}").typed_events, ["a", "b"], "on destroy")


@case("CLEAN-004", "REQ-CLEAN-2", roles=("shell",))
def test_run_in_registration_order(shell):
    """Five cleanups run in the order they were registered."""
    sh = shell()
    obj, _ = sh.spawn()
    tags = ["c1", "c2", "c3", "c4", "c5"]
    _register(sh, obj, *tags)
    assert_cleanups(sh.command(f"destroy {obj}").typed_events, tags, "on destroy")


@case("CLEAN-005", "REQ-CLEAN-2", roles=("shell",))
def test_reaped_before_user_cleanups(shell):
    """On destroy the connection closes first, then the child is reaped (status 0), then the user's cleanups run (LB-08)."""
    sh = shell()
    obj, pid = sh.spawn()
    _register(sh, obj, "a", "b")
    d = sh.command(f"destroy {obj}", timeout=15)
    assert_ok(d)
    assert_events(d.typed_events, [Reaped(obj, pid, 0), CleanupRan("a"), CleanupRan("b")],
                  "on destroy")


@case("CLEAN-006", "REQ-CLEAN-3", roles=("shell",))
def test_failing_cleanup_does_not_stop_others(shell):
    """With cleanups a, b (failing), c, d (failing), e, all five run in order on destroy and the shell answers ok."""
    sh = shell()
    obj, pid = sh.spawn()
    _register(sh, obj, "a", "b", "c", "d", "e", failing=("b", "d"))
    d = sh.command(f"destroy {obj}")
    assert_ok(d)
    assert_cleanups(d.typed_events, ["a", "b", "c", "d", "e"], "on destroy")
    assert_reaped(d.typed_events, obj, pid, 0)
    assert_ok(sh.command("pid"))


@case("CLEAN-007", "REQ-CLEAN-3", roles=("shell",), conditions=("peer-dies",))
def test_failing_cleanup_on_connection_loss(shell):
    """When the connection dies, a failing first cleanup does not stop the ones after it."""
    sh = shell()
    obj, pid = sh.spawn()
    _register(sh, obj, "x", "y", failing=("x",))
    os.kill(pid, signal.SIGKILL)
    sh.expect_cleanup("x", 10)
    sh.expect_cleanup("y", 10)
    assert_ok(sh.command("pid"))
    assert_cleanups(sh.events(), ["x", "y"])


@case("CLEAN-008", "REQ-CLEAN-5", roles=("shell",))
def test_all_destroy_events_before_ok(shell):
    """Every event of a destroy (reaping, three cleanups) comes before its `ok destroyed` line, none after."""
    sh = shell()
    obj, pid = sh.spawn()
    _register(sh, obj, "p", "q", "r")
    d = sh.command(f"destroy {obj}")
    assert_answer(d, f"ok destroyed {obj}")
    assert_reaped(d.typed_events, obj, pid, 0)
    assert_cleanups(d.typed_events, ["p", "q", "r"], "on destroy")
    after = sh.command("pid")
    assert_events(after.typed_events, [], "after 'ok destroyed'")
    assert_equal(sh.quit(), 0, "the shell's exit status after quit")
    assert len(sh.events()) == 4, sh.events()


@case("CLEAN-009", "REQ-CLEAN-4", roles=("listener",), needs=("events", "echo"))
def test_echo_destroy_cleans_up_before_reply(listener, impl, evidence):
    """Echo.destroy's server-side cleanup (the `Echo destroyed` line) is written before the reply reaches the client."""
    ln = listener()
    client = ln.connect()
    assert_equal(client.echo("before"), "before", "an echo")
    start = ln.line_count()
    client.call(lambda c: c.destroy_echo())
    # Freeze the listener the moment the reply is here: a line written
    # before the reply is in the pipe already and still arrives; one it
    # would write after the reply cannot be written any more.
    os.kill(ln.pid, signal.SIGSTOP)
    try:
        m = ln.line_within(impl.events["echo_destroyed"], 10, start=start)
    finally:
        os.kill(ln.pid, signal.SIGCONT)
    evidence.record("listener_lines", ln.stdout_lines()[start:])
    assert m is not None, "the Echo destroyed line was not written before destroy replied"
    assert_contains(client.probe(), "probe", "a probe after Echo.destroy")


@case("CLEAN-010", "REQ-CLEAN-1", roles=("shell", "listener"), conditions=("combined",))
def test_cleanups_on_connected_proxy(shell, listener):
    """Cleanups on a connected (not spawned) proxy run once, in order, on destroy; the listener goes on serving."""
    ln = listener()
    sh = shell()
    obj = sh.connect(ln.address)
    _register(sh, obj, "a", "b")
    assert_ok(sh.command(f"probe {obj}"))
    assert_cleanups(sh.events(), [])
    d = sh.command(f"destroy {obj}")
    assert_ok(d)
    assert_cleanups(d.typed_events, ["a", "b"], "on destroy")
    assert_contains(ln.connect().probe(), "probe", "a new client's probe")
    assert_equal(sh.quit(), 0, "the shell's exit status after quit")
    assert _ran(sh, "a") == 1 and _ran(sh, "b") == 1, sh.events()


@case("CLEAN-011", "REQ-CLEAN-1", roles=("shell",), conditions=("peer-dies", "combined"))
def test_connected_proxy_server_goes_away(shell, peer, schemas, short_tmp):
    """When the suite's own server closes a shell's connection, its cleanups run once; destroy afterwards runs none."""
    server = peer.run(SuiteServer(schemas, os.path.join(short_tmp, "suite.sock")).start)
    try:
        sh = shell()
        obj = sh.connect(f"unix:{server.path}")
        _register(sh, obj, "a", "b")
        assert_ok(sh.command(f"probe {obj}"))
        assert server.open == 1
        peer.run(server.close)
        sh.expect_disconnected(obj, 10)
        sh.expect_cleanup("b", 10)
        d = sh.command(f"destroy {obj}")
        assert_ok(d)
        assert_events(d.typed_events, [])
        assert_cleanups(sh.events(), ["a", "b"])
    finally:
        peer.run(server.close)


@case("CLEAN-012", "REQ-CLEAN-1", roles=("shell",), conditions=("combined",))
def test_quit_runs_every_cleanup_once(shell):
    """quit destroys every held proxy (two children): each one's cleanups run once, before `ok bye`, and every child is reaped."""
    sh = shell()
    kids = [sh.spawn() for _ in range(2)]
    for obj, _ in kids:
        _register(sh, obj, f"k{obj}")
    assert_equal(sh.quit(), 0, "the shell's exit status after quit")
    for obj, pid in kids:
        assert_cleanup_count(sh.events(), f"k{obj}", 1)
        assert_reaped(sh.events(), obj, pid, 0)
        assert_exits(pid, 10)


# ---------------------------------------------------------------- the fault model (030-049)

TRIALS = 70   # a race lost 10% of the time passes all 70 with probability 0.9**70 < 0.001


@case("CLEAN-030", "REQ-CLEAN-5", roles=("shell",), conditions=("repeated",))
def test_destroy_events_before_ok_seventy_times(shell, peer, schemas, short_tmp):
    """70 connect/cleanup/destroy trials: each destroy's cleanup event comes before its `ok destroyed`, in the shell's one output stream, and none later.

    The shell writes events and answers to one stream, so the order the suite
    reads is the order of the writes. An implementation that lets a cleanup
    run after it answered loses that race in some trials: with 70 trials, one
    losing 10% of the time is caught with probability 1 - 0.9**70 > 99.9%."""
    server = peer.run(SuiteServer(schemas, os.path.join(short_tmp, "c5.sock")).start)
    try:
        sh = shell()
        for i in range(TRIALS):
            c = sh.command(f"connect unix:{server.path}")
            assert_ok(c, f"trial {i}")
            assert_events(c.typed_events, [], f"trial {i}: connect")
            obj = c.words[2]
            r = sh.command(f"cleanup {obj} t{i}")
            assert_ok(r, f"trial {i}")
            assert_events(r.typed_events, [], f"trial {i}: cleanup")
            d = sh.command(f"destroy {obj}")
            assert_ok(d)
            assert_events(d.typed_events, [CleanupRan(f"t{i}")], f"trial {i}: destroy")
        after = sh.command("pid")
        assert_events(after.typed_events, [], "after the last 'ok destroyed'")
        assert len(sh.events()) == TRIALS, sh.events()[-5:]
    finally:
        peer.run(server.close)


@case("CLEAN-031", "REQ-CLEAN-1", roles=("shell", "listener"), needs=("libmultiprocess",),
      conditions=("combined",))
def test_connected_cleanups_survive_disconnect_incoming(shell, listener, peer, schemas, short_tmp):
    """Cleanups on a connected Init do not run when disconnect-incoming drops the shell's own clients; they run once, in order, on its destroy."""
    from ipc_conformance.harness.roles import SuiteClients
    ln = listener()
    sh = shell()
    path = f"{short_tmp}/in.sock"
    assert_ok(sh.command(f"listen unix:{path}"))
    obj = sh.connect(ln.address)
    for tag in ("a", "b"):
        r = sh.command(f"cleanup {obj} {tag}")
        assert_answer(r, f"ok cleanup {tag}")
    suite = SuiteClients(peer, schemas)
    try:
        for c in [suite.connect(path) for _ in range(2)]:
            assert_contains(suite.probe(c), "probe", 'a probe')
        d = sh.command("disconnect-incoming")
        assert_answer(d, "ok disconnected 2")
        assert_cleanups(d.typed_events, [], "on disconnect-incoming")
        p = sh.command(f"probe {obj}")
        assert_ok(p, f"the connected Init was dropped: {p.result}")
        assert_cleanups(sh.events(), [])
        x = sh.command(f"destroy {obj}")
        assert_cleanups(x.typed_events, ["a", "b"])
        assert_equal(sh.quit(), 0, "the shell's exit status after quit")
        assert_cleanups(sh.events(), ["a", "b"])
    finally:
        suite.close()


@case("CLEAN-050", "REQ-CLEAN-5", roles=("shell",), conditions=("repeated",))
def test_reaped_before_destroyed_every_time(shell, procs, evidence):
    """30 spawn/destroy trials: every time, the child's `event reaped` comes before its `ok destroyed`, never after it."""
    sh = shell()
    late = []
    for trial in range(30):
        obj, pid = sh.spawn()
        d = sh.command(f"destroy {obj}")
        assert_answer(d, f"ok destroyed {obj}")
        if Reaped(obj, pid, 0) not in d.typed_events:
            late.append((trial, obj, d.events))
    evidence.record("late_reaped_events", late)
    assert not late, (f"{len(late)} of 30 destroys answered before their `event reaped`; "
                      f"first: trial {late[0][0]}, object {late[0][1]}, events before the answer "
                      f"{late[0][2]}")
    assert not procs.leftovers()
