"""FAULT: bad input and load. Bytes that are not Cap'n Proto, a frame cut
short, a header claiming gigabytes, a client that says nothing, a thousand
connect/disconnect cycles, hundreds of calls in flight, and a client leaving
with calls in flight. The process under attack must end only the offending
connection (a spawned child: exit cleanly) and go on serving everybody else.

Frames are written by hand: a Cap'n Proto stream message starts with a
little-endian uint32 "segment count - 1", then one uint32 size (in 8-byte
words) per segment, padded to 8 bytes, then the segments."""
import asyncio
import random
import socket
import struct

from ipc_conformance.conformance.case import case
from ipc_conformance.harness.capnp_peer import kj_type
from ipc_conformance.harness.processes import ImplementationCrashed
from ipc_conformance.harness.verifiers import assert_contains, assert_equal
from ipc_conformance.harness.waits import Deadline

# Text first ("GET " read as a segment count is 542 million), then noise.
GARBAGE = (b"GET / HTTP/1.1\r\nHost: ipc\r\n\r\n"
           + bytes(random.Random(7).getrandbits(8) for _ in range(4096)))
# One segment of 16 words announced, 40 bytes of it sent.
TRUNCATED = struct.pack("<II", 0, 16) + b"\x00" * 40
# One segment of 2**30 words (8 GiB) announced; nothing follows.
OVERSIZED = struct.pack("<II", 0, 1 << 30) + b"\x00" * 64


def _probed(node, client, what):
    assert_contains(node.answered(client.probe, what), "probe", f"{what}: its thread name")


def _attack_listener(listener, payload, *, half_close=False):
    """A client connected before and one after the bad connection both get
    answers, and the bad connection is ended by the listener."""
    node = listener()
    before = node.connect()
    assert_contains(before.probe(), "probe", 'a probe')
    bad = node.raw_connect()
    try:
        bad.sendall(payload)
        if half_close:
            bad.shutdown(socket.SHUT_WR)
        ended = bad.ended_by_peer()
        node.assert_alive()
        assert_equal(ended, True, "the bad connection ended by the listener within 10s")
    finally:
        bad.close()
    _probed(node, before, "the client connected before")
    _probed(node, node.answered(node.connect, "a new client's connect"), "a new client")
    node.assert_alive()


@case("FAULT-001", "REQ-FAULT-1", roles=("listener",), needs=("libmultiprocess",))
def test_listener_garbage(listener):
    """Garbage bytes on one connection end that connection; the listener serves the others."""
    _attack_listener(listener, GARBAGE)


@case("FAULT-002", "REQ-FAULT-1", roles=("listener",), needs=("libmultiprocess",))
def test_listener_truncated_frame(listener):
    """A frame cut short, then EOF, ends that connection; the listener serves the others."""
    _attack_listener(listener, TRUNCATED, half_close=True)


@case("FAULT-003", "REQ-FAULT-1", roles=("listener",), needs=("libmultiprocess",))
def test_listener_oversized_message(listener):
    """A header claiming an 8 GiB message ends that connection at once; the listener serves the others."""
    _attack_listener(listener, OVERSIZED)


@case("FAULT-004", "REQ-FAULT-2", roles=("listener",), needs=("libmultiprocess",))
def test_silent_clients_block_nobody(listener):
    """Clients that connect and say nothing (before and during a session) do not block the others."""
    node = listener()
    silent = [node.raw_connect() for _ in range(3)]
    try:
        first = node.connect()
        _probed(node, first, "a client behind three silent ones")
        silent += [node.raw_connect() for _ in range(3)]
        _probed(node, first, "a client while three more silent ones joined")
        _probed(node, node.connect(), "a new client among six silent ones")
    finally:
        for s in silent:
            s.close()
    node.assert_alive()


def _attack_child(child, evidence, payload, *, half_close=False):
    """Write ``payload`` on the suite's end; the child must leave by itself
    (no crash signal, no hang). Its status is recorded."""
    c = child(connect=False)
    try:
        c.sock.sendall(payload)
        if half_close:
            c.sock.shutdown(socket.SHUT_WR)
        status = c.wait_exit(10)
    finally:
        c.sock.close()
    if status < 0:
        raise ImplementationCrashed(f"the child died of signal {-status} after bad input",
                                    stderr=c.stderr_text())
    return status


@case("FAULT-005", "REQ-FAULT-1", roles=("child",))
def test_child_garbage(child, evidence):
    """A spawned child sent garbage by its parent exits by itself, cleanly (no signal, no hang)."""
    status = _attack_child(child, evidence, GARBAGE)
    evidence.record("garbage_exit_status", status)


@case("FAULT-006", "REQ-FAULT-1", roles=("child",))
def test_child_truncated_and_oversized(child, evidence):
    """A spawned child sent a truncated frame (then EOF), or an 8 GiB header, exits cleanly."""
    evidence.record("truncated_exit_status",
                    _attack_child(child, evidence, TRUNCATED, half_close=True))
    evidence.record("oversized_exit_status", _attack_child(child, evidence, OVERSIZED))


def _settle(node, sentinel, target, timeout=10):
    """Wait until the listener holds at most ``target`` descriptors; each
    step is a round trip through its loop, so pending closes get their turn."""
    deadline = Deadline(timeout)
    seen = []
    while True:
        count = node.num_fds()
        seen.append(count)
        if count <= target:
            return count
        if deadline.expired():
            raise AssertionError(f"the listener holds {count} descriptors, {target} before the "
                                 f"cycles (counts seen: {seen[:5]} ... {seen[-5:]})")
        _probed(node, sentinel, "the sentinel client")


@case("FAULT-007", "REQ-FAULT-3", roles=("listener",), needs=("libmultiprocess",),
      conditions=("repeated",))
def test_thousand_cycles_leak_no_descriptor(listener, evidence):
    """1,000 raw connect/close cycles and a few real clients leave the listener's descriptor count where it was."""
    node = listener()
    sentinel = node.connect()
    for _ in range(3):                       # warm up whatever is made on first use
        warm = node.connect()
        assert_contains(warm.probe(), "probe", 'a probe')
        warm.close()
    assert_contains(sentinel.probe(), "probe", 'a probe')
    baseline = _settle(node, sentinel, node.num_fds())
    for i in range(1000):
        s = node.answered(node.raw_connect, f"connect number {i + 1}")
        if i % 3 == 0:
            s.sendall(b"\0" * 8)             # half a header, then gone
        s.close()
    for _ in range(5):
        c = node.connect()
        _probed(node, c, "a real client after the cycles")
        c.close()
    peak = node.num_fds()
    after = _settle(node, sentinel, baseline)
    evidence.record("fds", {"baseline": baseline, "right_after": peak, "settled": after})
    node.assert_alive()


@case("FAULT-008", "REQ-FAULT-4", roles=("listener",), needs=("libmultiprocess", "echo"),
      conditions=("concurrent",))
def test_five_hundred_calls_in_flight(listener):
    """500 echo calls pipelined on one connection without waiting are all answered, each with its own text."""
    node = listener()
    client = node.connect()

    async def pipeline(c):
        ctx = await c.context()
        echo = (await c.init.makeEcho(ctx)).result

        async def one(i):
            return (await echo.echo(ctx, f"call {i}")).result
        return await asyncio.gather(*(one(i) for i in range(500)))
    answers = node.answered(lambda: client.call(pipeline, timeout=30), "the pipelined calls")
    wrong = [(i, a) for i, a in enumerate(answers) if a != f"call {i}"]
    assert not wrong, f"{len(wrong)} answers wrong, e.g. {wrong[:3]}"
    node.assert_alive()


@case("FAULT-009", "REQ-FAULT-5", roles=("listener",), needs=("libmultiprocess", "echo"),
      conditions=("peer-dies", "concurrent"))
def test_client_leaves_with_calls_in_flight(listener, evidence):
    """A client that closes with hundreds of calls in flight does not crash the listener."""
    node = listener()
    other = node.connect()
    assert_contains(other.probe(), "probe", 'a probe')
    leaver = node.connect()

    async def provoke(c):
        ctx = await c.context()
        echo = (await c.init.makeEcho(ctx)).result

        async def one(i):
            return (await echo.echo(ctx, "x" * 2048 + str(i))).result
        tasks = [asyncio.ensure_future(one(i)) for i in range(400)]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        answered_before = sum(t.done() for t in tasks)
        await c.close()                      # leave while the rest are in flight
        done, pending = await asyncio.wait(tasks, timeout=10)
        for t in pending:
            t.cancel()
        kinds = {}
        for t in done:
            exc = None if t.cancelled() else t.exception()
            key = "answered" if exc is None else (kj_type(exc) or type(exc).__name__)
            kinds[key] = kinds.get(key, 0) + 1
        return answered_before, kinds, len(pending)
    answered_before, kinds, hung = node.answered(lambda: leaver.call(provoke, timeout=30),
                                             "the calls of the leaving client")
    evidence.record("calls", {"answered_before_close": answered_before, "outcomes": kinds,
                              "unresolved_after_10s": hung})
    assert answered_before < 400, "every call was answered before the close: nothing was in flight"
    node.assert_alive()
    _probed(node, other, "another client")
    _probed(node, node.connect(), "a new client")
    node.assert_alive()

