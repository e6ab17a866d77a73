"""SHUT: the end of a connection, as each side sees it: close, half-close,
a peer that dies with calls in flight, a proxy used after its destruction,
and writes to a peer that is gone (never a SIGPIPE death)."""
import concurrent.futures
import os
import signal
import socket
import time

from ipc_conformance.conformance.case import case
from ipc_conformance.harness.capnp_peer import Client
from ipc_conformance.harness.shell_events import Reaped, reaped_of
from ipc_conformance.harness.verifiers import (assert_answer, assert_contains, assert_equal,
                                               assert_error, assert_exits, assert_ok)
from ipc_conformance.harness.waits import WaitTimeout

SIGPIPE_STATUS = -signal.SIGPIPE


BACKGROUND_BOUND = 15


def _background(sh, line, timeout=BACKGROUND_BOUND):
    """Send ``line`` to the shell on a thread; the future gives its Answer,
    or the command's WaitTimeout once its own bound passed (wait on the
    future longer than that, so that a hang is always reported as the
    harness's TIMEOUT, never as the future's plain TimeoutError).
    The case must not talk to the shell until the future is done."""
    pool = concurrent.futures.ThreadPoolExecutor(1)
    future = pool.submit(sh.command, line, timeout)
    pool.shutdown(wait=False)
    return future


@case("SHUT-001", "REQ-SHUT-1", roles=("child",))
def test_close_is_eof_child_exits_zero(child, evidence):
    """The parent's end closing reaches the child as EOF: it exits 0 within 5 s."""
    c = child()
    c.ping()
    started = time.monotonic()
    c.close()
    status = c.wait_exit(timeout=5)
    evidence.record("exit_after_s", round(time.monotonic() - started, 3))
    assert_equal(status, 0, "the child's exit status once its parent's end closed")


@case("SHUT-002", "REQ-SHUT-1", roles=("listener",), needs=("events",))
def test_client_close_seen_by_listener(listener, impl):
    """A client closing its connection is seen by the listener as that connection's end, promptly."""
    ln = listener()
    client = ln.connect()
    client.probe()
    ln.wait_line(impl.events["accepted"], 10)
    start = ln.line_count()
    client.close()
    ln.wait_line(impl.events["closed"], 5, start=start)
    ln.assert_alive()


@case("SHUT-003", "REQ-SHUT-2", roles=("child",))
def test_half_close_ends_child_cleanly(child, evidence):
    """shutdown(SHUT_WR) of the parent's end ends the child's connection: it exits, not by a signal (0 expected)."""
    c = child()
    c.ping()
    c.sock.shutdown(socket.SHUT_WR)
    status = c.wait_exit(timeout=10)
    assert status >= 0, f"the child died of signal {-status} after a half-close"
    if status != 0:
        evidence.non_strict(f"the child exited {status} after a half-close, not 0")


@case("SHUT-004", "REQ-SHUT-2", roles=("listener",), needs=("events",))
def test_half_close_on_listener(listener, impl, peer, schemas):
    """A client's half-close ends its connection at the listener, which goes on serving other clients."""
    ln = listener()
    sock = ln.raw_connect()
    half = peer.run(Client(schemas).connect_sock, sock)
    try:
        peer.run(half.probe)
        start = ln.line_count()
        sock.shutdown(socket.SHUT_WR)
        ln.wait_line(impl.events["closed"], 10, start=start)
        other = ln.connect()
        assert_contains(other.probe(), "probe", "a probe of another client after a half-close")
        ln.assert_alive()
    finally:
        peer.run(half.close)
        sock.close()


@case("SHUT-005", "REQ-SHUT-3", roles=("shell",), conditions=("peer-dies",))
def test_call_in_flight_when_child_killed(shell, evidence):
    """A call waiting on a child that is SIGKILLed fails as `error disconnected` within 5 s, not a hang."""
    sh = shell(probe_mode="stall")
    obj, pid = sh.spawn()
    pending = _background(sh, f"probe {obj}")
    sh.wait_mark(pid, "stalled", 10)         # the call has reached the child
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    a = pending.result(BACKGROUND_BOUND + 10)   # the command's own bound decides: TIMEOUT
    evidence.record("answer_after_s", round(time.monotonic() - killed, 3))
    assert_error(a, "error disconnected", "the call in flight when the child was killed")
    assert time.monotonic() - killed < 5, "the answer took more than 5 s"
    # Reaped when the loss is noticed, or at the latest (upstream) by the
    # Init proxy's cleanup when it is destroyed (REQ-SPAWN-6).
    sh.command(f"destroy {obj}")
    sh.expect_reaped(obj, pid, -9, 1)


@case("SHUT-006", "REQ-SHUT-3", roles=("shell",), needs=("echo",),
      conditions=("peer-dies", "repeated"))
def test_echo_in_flight_when_child_killed(shell):
    """An echo call waiting on a child that is SIGKILLed fails as `error disconnected`; the next call fails at once."""
    sh = shell(probe_mode="stall")
    obj, pid = sh.spawn()
    pending = _background(sh, f"echo {obj} hello")
    sh.wait_mark(pid, "stalled", 10)
    os.kill(pid, signal.SIGKILL)
    a = pending.result(BACKGROUND_BOUND + 10)   # the command's own bound decides: TIMEOUT
    assert_error(a, "error disconnected")
    again = sh.command(f"echo {obj} again", timeout=5)
    assert_error(again, "error disconnected")


@case("SHUT-007", "REQ-SHUT-3", roles=("shell", "listener"), conditions=("peer-dies",))
def test_connected_peer_killed(shell, listener):
    """When the listener a shell connected to is SIGKILLed, the shell notices and later calls fail as disconnected at once."""
    ln = listener()
    sh = shell()
    obj = sh.connect(ln.address)
    assert_ok(sh.command(f"probe {obj}"))
    ln.signal(signal.SIGKILL)
    sh.expect_disconnected(obj, 10)
    p = sh.command(f"probe {obj}", timeout=5)
    assert_error(p, "error disconnected")


@case("SHUT-008", "REQ-SHUT-4", roles=("shell",))
def test_destroyed_proxy_gives_clear_error(shell):
    """probe, echo and destroy on an id already destroyed answer `error not-found` at once; the shell goes on."""
    sh = shell()
    obj, pid = sh.spawn()
    assert_ok(sh.command(f"destroy {obj}"))
    for line in (f"probe {obj}", f"echo {obj} hi", f"destroy {obj}", f"cleanup {obj} t"):
        a = sh.command(line, timeout=5)
        assert_error(a, "error not-found", line)
    assert_ok(sh.command("pid"))


async def _flood_then_drop(client, count=200, size=65536):
    """Pipeline ``count`` echo calls of ``size`` bytes, wait for the first
    answer, then close the connection with the rest still being answered."""
    ctx = await client.context()
    echo = (await client.init.makeEcho(ctx)).result
    text = "x" * size
    promises = [echo.echo(ctx, text) for _ in range(count)]
    await promises[0]
    client.stream.close()
    return len(promises)


@case("SHUT-009", "REQ-SHUT-5", roles=("child",), needs=("echo",),
      conditions=("peer-dies", "concurrent"))
def test_child_writing_to_closed_parent(child, evidence):
    """A child still answering 200 pipelined echoes when the parent's end closes exits, not by SIGPIPE."""
    c = child()
    c.call(_flood_then_drop, timeout=20)
    c.close()
    status = c.wait_exit(timeout=10)
    assert status != SIGPIPE_STATUS, "the child was killed by SIGPIPE"
    assert status >= 0, f"the child died of signal {-status}"
    if status != 0:
        evidence.non_strict(f"the child exited {status}")


@case("SHUT-010", "REQ-SHUT-5", roles=("shell",), needs=("echo",), conditions=("peer-dies",))
def test_shell_writing_to_deaf_child(shell, evidence):
    """The shell writing to a child that shut its read side gets an error answer, not a SIGPIPE death."""
    sh = shell(probe_mode="deaf")
    obj, pid = sh.spawn()
    sh.wait_mark(pid, "deaf", 10)
    try:
        a = sh.command(f"echo {obj} {'y' * 4096}", timeout=10)
    except WaitTimeout:
        if not sh.alive():
            raise AssertionError(f"the shell died writing to the deaf child: status "
                                 f"{sh.exit_status()} (SIGPIPE is {SIGPIPE_STATUS})") from None
        raise
    evidence.record("answer", a.result[:200])
    assert_error(a, "error", "an echo to a child that reads nothing")
    assert_ok(sh.command("pid"), "the shell answering after it")
    assert_equal(sh.alive(), True, "the shell alive after writing to the deaf child")
    assert_ok(sh.command(f"destroy {obj}", timeout=15), "destroy")
    assert_exits(pid, 10, "(the child)")


@case("SHUT-011", "REQ-SHUT-6", roles=("child",), needs=("echo",))
def test_close_with_objects_outstanding(child):
    """A parent closing while it holds an Echo and threads of the child makes the child release them and exit 0."""
    c = child()

    async def hold_objects(client):
        ctx = await client.context()                     # a thread made
        thread_map = (await client.init.construct()).threadMap
        extra = [(await thread_map.makeThread(f"t{i}")).result for i in range(5)]
        echo = (await client.init.makeEcho(ctx)).result
        assert (await echo.echo(ctx, "held")).result == "held"
        client._held = (extra, echo)                     # kept until close
    c.call(hold_objects)
    c.close()
    assert_equal(c.wait_exit(timeout=10), 0, "the child's exit status")


@case("SHUT-012", "REQ-SHUT-5", roles=("shell",), conditions=("peer-dies",))
def test_destroy_after_child_already_gone(shell):
    """Destroying the proxy of a child that was just SIGKILLed answers `ok destroyed` with the child reaped (-9); the shell goes on."""
    sh = shell()
    obj, pid = sh.spawn()
    assert_ok(sh.command(f"probe {obj}"))
    os.kill(pid, signal.SIGKILL)
    assert_exits(pid, 10, "(the child)")
    a = sh.command(f"destroy {obj}", timeout=15)
    assert_ok(a)
    reaped = reaped_of(sh.events(), obj)
    assert reaped == [Reaped(obj, pid, -9)], reaped
    assert_ok(sh.command("pid"))


# ---------------------------------------------------------------- the fault model (030-049)

from ipc_conformance.harness.capnp_peer import SuiteServer  # noqa: E402

TRIALS = 70   # a race lost 10% of the time passes all 70 with probability 0.9**70 < 0.001


@case("SHUT-030", "REQ-SHUT-3", roles=("shell",), conditions=("peer-dies", "repeated"))
def test_call_after_server_drop_fails_at_once_seventy_times(shell, peer, schemas, short_tmp):
    """70 trials: the suite's server drops the shell's connection, and the very next probe answers `error disconnected` at once, whether or not the shell noticed yet.

    The probe is sent right after the server's close returned (the kernel
    has the EOF queued), racing the shell's own discovery of it; both orders
    must give the disconnected error within 5 s. 70 trials catch an order
    that goes wrong 10% of the time with probability 1 - 0.9**70 > 99.9%."""
    server = peer.run(SuiteServer(schemas, os.path.join(short_tmp, "s3.sock")).start)
    try:
        sh = shell()
        for i in range(TRIALS):
            obj = sh.connect(f"unix:{server.path}")
            assert_ok(sh.command(f"probe {obj}"), f"trial {i}")
            assert peer.run(server.drop_connections) == 1, f"trial {i}"
            p = sh.command(f"probe {obj}", timeout=5)
            # a bare assert on purpose: the drop above is the suite's own server's
            # (peer.run), which a reproducer does not replay, so it must not check this
            assert not p.ok and p.result.startswith("error disconnected"), f"trial {i}: {p.result}"
            d = sh.command(f"destroy {obj}")
            assert_ok(d, f"trial {i}: {d.result}")
    finally:
        peer.run(server.close)
