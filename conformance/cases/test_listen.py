"""LISTEN: the listener role (the implementation's node started with
-ipcbind) serving many clients, its connection limit held in the kernel
backlog, and the shell's listen / disconnect-incoming / destroy commands.

The limit is observed where it lives: a client past the limit has finished
connect() (the kernel queued it) but sits in the listening socket's accept
queue, which iproute2's ``ss`` reports (harness.unix_sockets.backlog)."""
import asyncio
import os
import re
import signal
import sys

import capnp

from ipc_conformance.conformance.case import case
from ipc_conformance.harness.files import assert_no_file
from ipc_conformance.harness import programs
from ipc_conformance.harness.capnp_peer import Client, SuiteServer, kj_type
from ipc_conformance.harness.probes import Probes, probe_all
from ipc_conformance.harness.roles import SuiteClients
from ipc_conformance.harness.shell_events import Disconnected
from ipc_conformance.harness.unix_sockets import backlog
from ipc_conformance.harness.verifiers import (assert_answer, assert_backlog, assert_contains,
                                               assert_equal, assert_ok)
from ipc_conformance.harness.waits import WaitTimeout


# ---------------------------------------------------------------- helpers

def _probe_all(peer, handles, timeout=10):
    """Probe every client at once (one gather on the peer loop); each answer
    names the probe thread."""
    names = probe_all(peer, handles, timeout=timeout)
    for name in names:
        assert_contains(name, "probe", "a probe of every client at once")
    return names


def _sync(node, client):
    """A round trip through the listener's loop: anything it had to do with
    an earlier event (an accept it could make) has had its turn."""
    assert_contains(client.round_trip(), "probe", "a round trip on an active client")
    node.assert_alive()


def _round_trip(suite, client, what):
    """The same for the shell's listener, through one of the suite's clients
    it serves: a connect it might accept past its limit has had its turn
    before the accept queue is counted (without it, a slow accept reads as
    a limit kept)."""
    assert_contains(suite.probe(client, orders=True), "probe",
                    f"{what}: a round trip on an active client")


def _assert_waiting(node, expected, active):
    """``expected`` clients sit in the accept queue after a round trip on an
    active client, so the listener has had its chance to accept them."""
    _sync(node, active)
    waiting = backlog(node.path)
    why = ("the listener accepted past its limit" if waiting < expected
           else "the listener left clients waiting below its limit")
    assert_backlog(node.path, expected, why if waiting != expected else "")


def _answered_after(client, what, timeout=10):
    try:
        name = client.probe(timeout=timeout)
    except WaitTimeout:
        raise AssertionError(f"the queued client got no answer within {timeout}s {what}") from None
    assert_contains(name, "probe", f"the queued client's answer {what}")


def _disconnected(peer, client, timeout=10) -> str:
    """The kj error type of a call on ``client`` ('DISCONNECTED' when its
    connection was dropped); None when the call was answered."""
    async def call():
        try:
            await client.probe()
        except capnp.KjException as e:
            return kj_type(e)
        return None
    return peer.run(call, timeout=timeout)


# A client in a process of its own, so that it can be SIGKILLed mid-session
# (harness/programs/doomed_client.py): it connects, answers the probe once,
# prints the thread name, then holds the connection (with its capabilities)
# until it is killed.


# ---------------------------------------------------------------- many clients

@case("LISTEN-002", "REQ-LISTEN-1", roles=("listener",), needs=("libmultiprocess",),
      conditions=("concurrent",))
def test_twenty_concurrent_clients(listener, peer, short_tmp):
    """Twenty clients connected at once (limit raised to 32) are all answered, concurrently."""
    node = listener(address=f"unix:{short_tmp}/many.sock:max-connections=32")
    clients = [node.connect() for _ in range(20)]
    names = _probe_all(peer, clients)
    assert len(names) == 20, names
    assert_backlog(node.path, 0)
    node.assert_alive()


@case("LISTEN-003", "REQ-LISTEN-2", roles=("listener",), needs=("libmultiprocess", "echo"))
def test_client_leaving_mid_session(listener, peer):
    """A client that leaves holding an Echo does not disturb the others, which keep answering."""
    node = listener()
    clients = [node.connect() for _ in range(4)]
    _probe_all(peer, clients)
    assert_equal(clients[1].echo("held"), "held", "an echo on the held client")
    clients[1].close()
    for c in clients[:1] + clients[2:]:
        assert node.answered(lambda: c.echo("still here"), "a remaining client") == "still here"
    assert_contains(node.answered(lambda: node.connect().probe(), "a new client"), "probe", 'a probe')
    node.assert_alive()


@case("LISTEN-004", "REQ-LISTEN-2", roles=("listener",), needs=("libmultiprocess",),
      conditions=("peer-dies", "concurrent"))
def test_client_killed_mid_session(listener, procs, impl, peer):
    """A client process SIGKILLed mid-session does not disturb the listener or the other clients."""
    node = listener()
    before = [node.connect() for _ in range(2)]
    _probe_all(peer, before)
    p = impl.protocol
    doomed = procs.start([sys.executable, "-c", programs.text("doomed_client.py"), p.schema_dir, p.init_schema,
                          p.init_interface, node.path], label="doomed client")
    doomed.wait_line("doomed", 20)
    doomed.signal(signal.SIGKILL)
    assert_equal(doomed.wait_exit(10), -signal.SIGKILL, "the killed client's exit status")
    node.answered(lambda: _probe_all(peer, before + [node.connect()]), "the clients after the kill")
    node.assert_alive()


# ---------------------------------------------------------------- the limit

@case("LISTEN-005", "REQ-LISTEN-3", roles=("listener",), needs=("libmultiprocess",),
      conditions=("at-limit",))
def test_limit_holds_the_excess_in_the_backlog(listener, short_tmp):
    """With max-connections=2 the third client waits in the kernel backlog and is served when one leaves."""
    node = listener(address=f"unix:{short_tmp}/lim.sock:max-connections=2")
    a, b = node.connect(), node.connect()
    assert_contains(a.probe(), "probe", 'a probe')
    assert_contains(b.probe(), "probe", 'a probe')
    third = node.connect()           # returns once the kernel queued it
    _assert_waiting(node, 1, a)
    b.close()
    _answered_after(third, "after an active client left")
    _assert_waiting(node, 0, a)


@case("LISTEN-006", "REQ-LISTEN-4", roles=("listener",), needs=("libmultiprocess",),
      conditions=("at-limit",))
def test_default_limit_is_sixteen(listener, peer):
    """Without options the listener serves 16 clients; the 17th waits in the backlog until one leaves."""
    node = listener()
    clients = [node.connect() for _ in range(16)]
    _probe_all(peer, clients)
    seventeenth = node.connect()
    _assert_waiting(node, 1, clients[0])
    clients[5].close()
    _answered_after(seventeenth, "after one of 16 clients left")


@case("LISTEN-007", "REQ-LISTEN-5", roles=("listener",), needs=("libmultiprocess",))
def test_max_connections_zero(listener, peer, schemas, short_tmp, evidence):
    """max-connections=0: what it means is recorded (no limit, refused, or another reading)."""
    node = listener(address=f"unix:{short_tmp}/zero.sock:max-connections=0", wait_ready=False)
    role = node.impl.roles["listener"]
    ready = node.line_within(role.ready_pattern, 20)
    if ready is None:
        status = node.wait_exit(10)
        evidence.record("stderr", node.stderr_text()[-400:])
        evidence.informational(f"max-connections=0 refused at bind (exit status {status})")
        return
    node.path = (ready.groupdict().get("address") or "").partition(":")[2] or f"{short_tmp}/zero.sock"
    queue_full = False
    for _ in range(20):
        try:
            sock = node.raw_connect(timeout=2)
        except WaitTimeout:
            queue_full = True       # nothing is accepted at all: the queue filled up
            break
        node.clients.append(peer.run(Client(schemas).connect_sock, sock))

    async def count_served():
        tasks = [asyncio.ensure_future(c.probe()) for c in node.clients]
        done, pending = await asyncio.wait(tasks, timeout=5)
        for t in pending:
            t.cancel()
        return sum(1 for t in done if not t.exception() and "probe" in t.result())
    served = peer.run(count_served, timeout=10)
    waiting = backlog(node.path)
    evidence.record("zero_limit", {"connected": len(node.clients), "served": served,
                                   "waiting_in_backlog": waiting, "queue_full": queue_full})
    meaning = "no limit" if served == 20 and waiting == 0 else \
        f"a limit: {served} of {len(node.clients)} connected clients served, {waiting} waiting"
    evidence.informational(f"max-connections=0 means {meaning}")
    node.assert_alive()


@case("LISTEN-008", "REQ-LISTEN-10", roles=("listener",), needs=("libmultiprocess",),
      conditions=("at-limit", "repeated"))
def test_accepts_again_after_being_at_the_limit(listener, short_tmp):
    """After being full three times over, the listener still serves new clients up to its limit, no more."""
    node = listener(address=f"unix:{short_tmp}/again.sock:max-connections=2")
    for round_ in range(3):
        a, b = node.connect(), node.connect()
        assert_contains(a.probe(), "probe", f"round {round_}")
        assert_contains(b.probe(), "probe", f"round {round_}")
        extra = node.connect()
        _assert_waiting(node, 1, a)
        a.close()
        _answered_after(extra, f"in round {round_}")
        b.close()
        extra.close()
    last = node.connect()
    assert_contains(last.probe(), "probe", 'a probe')


@case("LISTEN-009", "REQ-LISTEN-6", roles=("listener",), needs=("libmultiprocess",),
      conditions=("at-limit", "peer-dies"))
def test_client_gone_before_accept(listener, short_tmp):
    """At capacity, a queued client that closes before being accepted does not stop the listener."""
    node = listener(address=f"unix:{short_tmp}/gone.sock:max-connections=1")
    active = node.connect()
    assert_contains(active.probe(), "probe", 'a probe')
    quitter = node.raw_connect()
    quitter.sendall(b"\0" * 8)          # something unread, then gone
    quitter.close()
    waiter = node.connect()
    _assert_waiting(node, 2, active)
    active.close()
    node.answered(lambda: _answered_after(waiter, "after a queued client had already left"),
              "the queued client")
    waiter.close()
    assert_contains(node.answered(lambda: node.connect().probe(), "a new client"), "probe", 'a probe')
    node.assert_alive()


# ---------------------------------------------------------------- the shell

def _shell_listening(sh, path):
    assert_answer(sh.command(f"listen unix:{path}"), f"ok listening unix:{path}")


@case("LISTEN-010", "REQ-LISTEN-7", roles=("shell",), needs=("libmultiprocess",))
def test_disconnect_incoming_drops_clients(shell, peer, schemas, short_tmp):
    """disconnect-incoming answers the count of dropped clients, and each client sees its connection end."""
    sh = shell()
    path = f"{short_tmp}/shl.sock"
    _shell_listening(sh, path)
    suite = SuiteClients(peer, schemas)
    try:
        clients = [suite.connect(path) for _ in range(3)]
        for c in clients:
            assert_contains(suite.probe(c), "probe", 'a probe')
        a = sh.command("disconnect-incoming")
        assert_answer(a, "ok disconnected 3")
        for c in clients:
            kind = _disconnected(peer, c)
            assert kind == "DISCONNECTED", f"a dropped client's call ended with {kind!r}"
    finally:
        suite.close()


@case("LISTEN-011", "REQ-LISTEN-7", roles=("shell",), needs=("libmultiprocess",),
      conditions=("combined",))
def test_disconnect_incoming_keeps_outgoing(shell, peer, schemas, short_tmp):
    """disconnect-incoming keeps the shell's spawned child and its outgoing connection."""
    sh = shell()
    path = f"{short_tmp}/shk.sock"
    _shell_listening(sh, path)
    server = peer.run(SuiteServer(schemas, f"{short_tmp}/out.sock").start)
    suite = SuiteClients(peer, schemas)
    try:
        kid, pid = sh.spawn()
        out = sh.connect(f"unix:{short_tmp}/out.sock")
        client = suite.connect(path)
        assert_contains(suite.probe(client), "probe", 'a probe')
        a = sh.command("disconnect-incoming")
        assert_answer(a, "ok disconnected 1")
        assert not any(isinstance(e, Disconnected) for e in a.typed_events), a.events
        assert_ok(sh.command(f"probe {kid}"), "a probe of the spawned child")
        assert_ok(sh.command(f"probe {out}"), "a probe on the outgoing connection")
        assert server.open == 1, f"the suite's server sees {server.open} open connections"
        lst = sh.command("list")
        assert lst.result == "ok list 2" and all("state=live" in d for d in lst.data), lst.data
    finally:
        suite.close()
        peer.run(server.close)


@case("LISTEN-012", "REQ-LISTEN-7", roles=("shell",), needs=("libmultiprocess",),
      conditions=("repeated",))
def test_listener_accepts_after_disconnect_incoming(shell, peer, schemas, short_tmp):
    """After disconnect-incoming the shell's listener goes on accepting and serving new clients."""
    sh = shell()
    path = f"{short_tmp}/sha.sock"
    _shell_listening(sh, path)
    suite = SuiteClients(peer, schemas)
    try:
        first = suite.connect(path)
        assert_contains(suite.probe(first), "probe", 'a probe')
        assert_answer(sh.command("disconnect-incoming"), "ok disconnected 1")
        fresh = [suite.connect(path) for _ in range(2)]
        for c in fresh:
            assert_contains(suite.probe(c), "probe", 'a probe')
        assert_answer(sh.command("disconnect-incoming"), "ok disconnected 2")
    finally:
        suite.close()


@case("LISTEN-013", "REQ-LISTEN-8", roles=("shell", "listener"), needs=("libmultiprocess",),
      conditions=("combined",))
def test_destroying_a_connected_init_leaves_the_listener(shell, listener):
    """The shell connects to a listening node and destroys that Init: the node goes on serving the others."""
    node = listener()
    other = node.connect()
    assert_contains(other.probe(), "probe", 'a probe')
    sh = shell()
    obj = sh.connect(node.address)
    assert_ok(sh.command(f"probe {obj}"))
    d = sh.command(f"destroy {obj}")
    assert_answer(d, f"ok destroyed {obj}")
    assert_contains(node.answered(other.probe, "the other client after the destroy"), "probe", 'a probe')
    assert_ok(sh.command(f"probe {sh.connect(node.address)}"))
    node.assert_alive()


def _stop_with_clients(listener, sig):
    node = listener()
    clients = [node.connect() for _ in range(3)]
    for c in clients:
        assert_contains(c.probe(), "probe", 'a probe')
    status = node.stop(sig, timeout=10)
    assert_equal(status, 0, f"the listener's exit status on {sig.name}")
    assert_no_file(node.path, "the socket file, after the listener stopped")


@case("LISTEN-014", "REQ-LISTEN-9", roles=("listener",), needs=("libmultiprocess",))
def test_sigterm_with_clients(listener):
    """SIGTERM to a listener with three clients connected: exit 0, socket file removed."""
    _stop_with_clients(listener, signal.SIGTERM)


@case("LISTEN-015", "REQ-LISTEN-9", roles=("listener",), needs=("libmultiprocess",))
def test_sigint_with_clients(listener):
    """SIGINT to a listener with three clients connected: exit 0, socket file removed."""
    _stop_with_clients(listener, signal.SIGINT)


@case("LISTEN-016", "REQ-LISTEN-11", roles=("listener",), needs=("libmultiprocess", "events"))
def test_debug_events_accepted_and_closed(listener, impl):
    """With -debug=ipc the node reports each accepted connection and each closed one."""
    accepted, closed = impl.events.get("accepted"), impl.events.get("closed")
    assert accepted and closed, f"[events] lacks accepted/closed: {impl.events}"
    node = listener()
    start = node.line_count()
    a, b = node.connect(), node.connect()
    assert_contains(a.probe(), "probe", 'a probe')
    assert_contains(b.probe(), "probe", 'a probe')
    _wait_count(node, accepted, 2, start)
    a.close()
    _wait_count(node, closed, 1, start)
    b.close()
    _wait_count(node, closed, 2, start)


def _wait_count(node, pattern, count, start, timeout=10):
    """Wait until ``count`` output lines from index ``start`` on match ``pattern``."""
    rx = re.compile(pattern)
    index = start
    for _ in range(count):
        node.wait_line(pattern, timeout, start=index)      # WaitTimeout names what it saw
        lines = node.stdout_lines()
        index = next(i for i in range(index, len(lines)) if rx.search(lines[i])) + 1


# ---------------------------------------------------------------- the fault model (030-049)

from ipc_conformance.harness.exhaustion import event_numbers, exhausted, settle_fds  # noqa: E402


@case("LISTEN-030", "REQ-LISTEN-2", roles=("listener",), needs=("libmultiprocess",),
      conditions=("exhausted",))
def test_accept_fails_with_emfile_then_recovers(listener, evidence):
    """With its descriptors exhausted (accept fails with EMFILE) the listener lives and serves its client; raised again, it accepts the waiting client and new ones.

    The listener's RLIMIT_NOFILE is lowered from outside to its lowest free
    descriptor number, so the accept of the next client cannot get one."""
    node = listener()
    a = node.connect()
    _sync(node, a)
    base = node.num_fds()
    with exhausted(node.pid):
        waiting = node.connect()          # queued by the kernel; its accept fails
        _sync(node, a)                    # the listener had its turn to try
        evidence.record("while_exhausted", {"backlog": backlog(node.path), "fds": node.num_fds()})
        assert_contains(node.answered(a.probe, "the served client while exhausted"), "probe", 'a probe')
    _answered_after(waiting, "after RLIMIT_NOFILE was raised again")
    fresh = node.connect()
    _answered_after(fresh, "a new client after the exhaustion")
    assert_backlog(node.path, 0)
    fresh.close()
    waiting.close()
    settle_fds(node.pid, base, lambda: _sync(node, a))
    node.assert_alive()


@case("LISTEN-031", "REQ-LISTEN-10", roles=("listener",), needs=("libmultiprocess", "events"),
      conditions=("exhausted", "at-limit"))
def test_at_limit_and_exhausted_then_accepts_again(listener, impl, short_tmp, evidence):
    """At its limit, a client leaving while descriptors are exhausted does not stop the listener: once raised it takes the waiting client, and holds the limit again."""
    node = listener(address=f"unix:{short_tmp}/ex.sock:max-connections=2")
    s, a = node.connect(), node.connect()
    _sync(node, s)
    _sync(node, a)
    waiting = node.connect()
    _assert_waiting(node, 1, s)
    with exhausted(node.pid):
        start = node.line_count()
        a.close()                         # a slot frees: the accept of `waiting` fails
        node.wait_line(impl.events["closed"], 10, start=start)
        _sync(node, s)
        evidence.record("backlog_while_exhausted", backlog(node.path))
    _answered_after(waiting, "after RLIMIT_NOFILE was raised again")
    over = node.connect()
    _assert_waiting(node, 1, s)           # the limit holds again: s and waiting are served
    waiting.close()
    _answered_after(over, "after a client left, past the exhaustion")


@case("LISTEN-032", "REQ-LISTEN-7", roles=("shell",), needs=("libmultiprocess",),
      conditions=("combined", "at-limit"))
def test_disconnect_incoming_at_the_limit(shell, peer, schemas, short_tmp):
    """With max-connections=1, disconnect-incoming drops the served client only; the one waiting in the backlog is then accepted and served."""
    sh = shell()
    path = f"{short_tmp}/one.sock"
    a = sh.command(f"listen unix:{path}:max-connections=1")
    assert_answer(a, f"ok listening unix:{path}")
    suite = SuiteClients(peer, schemas)
    try:
        served = suite.connect(path)
        assert_contains(suite.probe(served), "probe", 'a probe')
        queued = suite.connect(path)
        _round_trip(suite, served, "after the second connect")
        assert_backlog(path, 1, "the second client was accepted past max-connections=1")
        d = sh.command("disconnect-incoming")
        assert_answer(d, "ok disconnected 1")
        assert _disconnected(peer, served) == "DISCONNECTED"
        assert_contains(suite.probe(queued), "probe", "the waiting client was not served after the drop")
        assert_backlog(path, 0)
        third = suite.connect(path)
        _round_trip(suite, queued, "after the third connect")
        assert_backlog(path, 1, "past the limit after disconnect-incoming")
        assert_answer(sh.command("disconnect-incoming"), "ok disconnected 1")
        assert_contains(suite.probe(third), "probe", 'a probe')
    finally:
        suite.close()


@case("LISTEN-033", "REQ-LISTEN-10", roles=("shell",), needs=("libmultiprocess",),
      conditions=("combined", "at-limit", "repeated"))
def test_reconnects_after_disconnect_incoming_at_the_limit(shell, peer, schemas, short_tmp):
    """Eight rounds of filling max-connections=2 (a third client waiting), disconnect-incoming, and the waiting client served: the limit holds each round."""
    sh = shell()
    path = f"{short_tmp}/rc.sock"
    assert_ok(sh.command(f"listen unix:{path}:max-connections=2"))
    suite = SuiteClients(peer, schemas)
    try:
        carried = None                    # the client let in by the last drop
        for round_ in range(8):
            fill = [suite.connect(path) for _ in range(1 if carried else 2)]
            active = fill + ([carried] if carried else [])
            for c in active:
                assert_contains(suite.probe(c), "probe", f"round {round_}")
            carried = suite.connect(path)
            _round_trip(suite, active[0], f"round {round_}")
            assert_backlog(path, 1, f"round {round_}: {backlog(path)} waiting, 1 expected")
            assert_answer(sh.command("disconnect-incoming"), "ok disconnected 2", f"round {round_}")
            assert_contains(suite.probe(carried), "probe", f"round {round_}: the waiting client")
        assert_answer(sh.command("disconnect-incoming"), "ok disconnected 1")
    finally:
        suite.close()


@case("LISTEN-034", "REQ-LISTEN-3", roles=("listener",), needs=("libmultiprocess",),
      conditions=("concurrent", "at-limit"))
def test_limit_plus_one_arrive_at_once(listener, peer, schemas, short_tmp):
    """Five clients connecting at the same moment (a barrier) to max-connections=4: exactly four are served, one waits and is served when one leaves; three rounds."""
    import threading
    node = listener(address=f"unix:{short_tmp}/at.sock:max-connections=4")
    for round_ in range(3):
        barrier = threading.Barrier(5)
        socks, errors = [None] * 5, []

        def arrive(i):
            barrier.wait(10)
            try:
                socks[i] = node.raw_connect()
            except Exception as e:       # reported below
                errors.append(e)
        threads = [threading.Thread(target=arrive, args=(i,)) for i in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert not errors, errors
        clients = [node.client_on(s) for s in socks]
        probes = Probes(peer, clients)
        probes.assert_answered(4, timeout=10, what=f"round {round_}")
        served = probes.served(0)
        served.round_trip()                # the listener had its turn
        assert_backlog(node.path, 1, f"round {round_}: {backlog(node.path)} waiting")
        probes.assert_pending(1, f"round {round_}: the fifth client")
        served.close()
        probes.assert_all_answered(10, f"round {round_}: the fifth client, once one left")
        for c in clients:
            c.close()
        node.clients.clear()
    node.assert_alive()


def _cycle_events(node, impl, evidence, count, connect_all):
    """``connect_all()`` makes ``count`` raw connect/close cycles; every one
    must be reported accepted and closed once, the numbers 1..count."""
    accepted, closed = impl.events.get("accepted"), impl.events.get("closed")
    assert accepted and closed, f"[events] lacks accepted/closed: {impl.events}"
    start = node.line_count()
    connect_all()
    _wait_count(node, closed, count, start, timeout=20)
    lines = node.stdout_lines()[start:]
    acc, clo = event_numbers(lines, accepted), event_numbers(lines, closed)
    evidence.record("event_numbers", {"accepted": acc[:10] + ["..."] + acc[-5:],
                                      "closed_count": len(clo)})
    assert len(acc) == count, f"{len(acc)} accepted lines for {count} connections"
    if None in acc or None in clo:
        evidence.non_strict("the events name no connection number")
        return acc
    assert sorted(acc) == list(range(1, count + 1)), \
        f"accepted numbers are not 1..{count} once each: {acc[:20]}"
    assert sorted(clo) == sorted(acc), "closed numbers differ from the accepted ones"
    return acc


@case("LISTEN-035", "REQ-LISTEN-11", roles=("listener",), needs=("events",),
      conditions=("repeated",))
def test_two_hundred_cycles_numbered_once(listener, impl, evidence):
    """200 clients one after another: each is reported accepted and closed once, numbered 1..200 in order; the listener's descriptor count comes back."""
    node = listener()
    base = node.num_fds()

    def cycles():
        for i in range(200):
            node.answered(node.raw_connect, f"connect number {i + 1}").close()
    acc = _cycle_events(node, impl, evidence, 200, cycles)
    if None not in acc:
        assert acc == list(range(1, 201)), f"accepted out of order: {acc[:20]}"
    sentinel = node.connect()
    settle_fds(node.pid, base + 1, lambda: node.answered(sentinel.ping, "the sentinel"))
    node.assert_alive()


@case("LISTEN-036", "REQ-LISTEN-11", roles=("listener",), needs=("events",),
      conditions=("concurrent", "repeated"))
def test_concurrent_cycles_numbered_once(listener, impl, evidence):
    """160 clients from 8 threads at once (a barrier): each is reported accepted and closed once, the numbers exactly 1..160."""
    import threading
    node = listener(address=None)
    base = node.num_fds()

    def burst():
        barrier = threading.Barrier(8)
        errors = []

        def run():
            barrier.wait(10)
            for _ in range(20):
                try:
                    node.raw_connect().close()
                except Exception as e:
                    errors.append(e)
        threads = [threading.Thread(target=run) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors, errors[:3]
    _cycle_events(node, impl, evidence, 160, burst)
    sentinel = node.connect()
    settle_fds(node.pid, base + 1, lambda: node.answered(sentinel.ping, "the sentinel"))
    node.assert_alive()


@case("LISTEN-037", "REQ-LISTEN-5", roles=("listener",), needs=("libmultiprocess",),
      conditions=("at-limit",))
def test_max_connections_zero_is_no_limit(listener, short_tmp):
    """-ipcbind=...:max-connections=0 accepts and serves 20 clients at once, past the default limit of 16 (0 means no limit; LISTEN-007 records what an implementation does instead)."""
    node = listener(address=f"unix:{short_tmp}/zero.sock:max-connections=0")
    clients = []
    for i in range(20):
        clients.append(node.connect())
        try:
            name = clients[-1].probe(timeout=10)
        except WaitTimeout:
            raise AssertionError(f"client {i + 1} of 20, all still connected, got no answer within 10 s: "
                                 f"max-connections=0 limited the listener") from None
        assert_contains(name, "probe", f"client {i + 1}")
    node.assert_alive()
