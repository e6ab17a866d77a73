"""Echo round trips and pipelined echo throughput.

Round trip, one call at a time, per call:
- the raw floor: 32 bytes ping-pong on a socketpair between two Python
  processes (no Cap'n Proto at all);
- bare pycapnp: a pycapnp client and a bare pycapnp child (bare_echo_child),
  the floor of any Python Cap'n Proto peer;
- bare pycapnp client against a ref-node child: the reference's server side;
- the reference through its asyncio API (``AsyncIpc``, on the loop) and
  through its synchronous facade (``Ipc``, from another thread: the thread
  hop is part of what a facade user pays);
- each compiled node (cpp-node, mp-node) as a spawned child, called by the
  bare pycapnp client.

Pipelined: ``in_flight`` calls started at once and awaited together.
Every repeat of every figure is one batch; the batches are interleaved.
"""
import asyncio
import socket
import subprocess
import threading
import time

import psutil

from .capnp_client import BareEcho
from .context import Context
from .loop import LoopThread
from .programs import python_child
from .stats import warm

TEXT = "x" * 32


def run(ctx: Context):
    from ipc_conformance.reference_impl import AsyncIpc, Ipc

    s = ctx.settings
    n, m = s.batch, s.in_flight
    f = ctx.figure
    raw = f("echo.raw", "echo", "raw socketpair ping-pong, 2 Python processes (floor)", "us",
            impl="floor")
    bare = f("echo.bare", "echo", "bare pycapnp two-party echo", "us", impl="pycapnp",
             baseline="echo.raw")
    bref = f("echo.bare_ref", "echo", "bare pycapnp client, ref-node child (server cost)", "us",
             baseline="echo.bare")
    hop = f("echo.hop", "echo", "thread hop to a plain asyncio loop and back (facade floor)",
            "us", impl="floor")
    sync = f("echo.sync", "echo", "reference sync facade (Ipc) echo", "us",
             baseline="echo.bare", target=1.2, target_text="<= 1.2x bare pycapnp")
    aio = f("echo.async", "echo", "reference asyncio API (AsyncIpc) echo", "us",
            baseline="echo.bare")
    pbare = f("pipe.bare", "pipelined", f"bare pycapnp, {m} calls in flight", "calls/s",
              impl="pycapnp", lower_is_better=False)
    paio = f("pipe.async", "pipelined", f"reference asyncio API, {m} calls in flight", "calls/s",
             baseline="pipe.bare", lower_is_better=False)
    natives = {}      # task name -> its figure, for each compiled node
    for impl in ctx.natives:
        natives[impl.name] = f(f"echo.{impl.name}", "echo", f"{impl.program} child, bare pycapnp client",
                               "us", impl=impl.name, baseline="echo.bare")
        natives[f"pipe.{impl.name}"] = f(f"pipe.{impl.name}", "pipelined",
                                         f"{impl.program} child, bare pycapnp, {m} in flight",
                                         "calls/s", impl=impl.name, baseline="pipe.bare",
                                         lower_is_better=False)

    loop = LoopThread()
    cleanups = [loop.close]
    tasks = {}
    try:
        # raw floor
        parent, child = socket.socketpair()
        pp = python_child("pingpong_child", str(child.fileno()), pass_fds=(child.fileno(),))
        child.close()
        cleanups.append(lambda: _end(pp, parent))
        msg = TEXT.encode()

        def raw_once():
            t0 = time.perf_counter()
            for _ in range(n):
                parent.sendall(msg)
                got = 0
                while got < len(msg):
                    got += len(parent.recv(4096))
            raw.add((time.perf_counter() - t0) / n * 1e6)
        tasks["raw"] = raw_once

        # bare pycapnp
        bsock, child = socket.socketpair()
        bp = python_child("bare_echo_child", str(child.fileno()), pass_fds=(child.fileno(),))
        child.close()
        b = loop.run(BareEcho.open, bsock)
        cleanups.append(lambda: (loop.run(_close, b), _end(bp)))
        tasks["bare"] = lambda: bare.add(loop.run(_batch, b.echo, n))
        tasks["pipe.bare"] = lambda: pbare.add(loop.run(_pipelined, b.echo, m))

        # reference, asyncio API
        aipc = loop.run(_make_async_ipc, AsyncIpc, ctx.ref.argv0)
        cleanups.append(lambda: loop.run(aipc.aclose))
        aproxy = loop.run(aipc.spawn_process, ctx.ref.exe_name)
        aecho = loop.run(aproxy.make_echo)
        tasks["async"] = lambda: aio.add(loop.run(_batch, aecho.echo, n))
        tasks["pipe.async"] = lambda: paio.add(loop.run(_pipelined, aecho.echo, m))

        # bare client, reference child: the reference's server side alone
        r, rp = _bare_client(loop, cleanups, lambda fd: [ctx.ref.node, "-ipcfd", str(fd)])
        tasks["bare_ref"] = lambda: bref.add(loop.run(_batch, r.echo, n))

        # the thread hop alone: what any synchronous facade over an event
        # loop on another thread pays per call, with no Cap'n Proto at all
        hop_loop = asyncio.new_event_loop()
        hop_thread = threading.Thread(target=hop_loop.run_forever, daemon=True)
        hop_thread.start()
        cleanups.append(lambda: (hop_loop.call_soon_threadsafe(hop_loop.stop),
                                 hop_thread.join(5)))

        def hop_once():
            t0 = time.perf_counter()
            for _ in range(n):
                _hop(hop_loop)
            hop.add((time.perf_counter() - t0) / n * 1e6)
        tasks["hop"] = hop_once

        # reference, synchronous facade
        ipc = Ipc("bench", argv0=ctx.ref.argv0)
        cleanups.append(ipc.close)
        sinit = ipc.spawn_process(ctx.ref.exe_name)
        secho = sinit.make_echo()

        def sync_once():
            t0 = time.perf_counter()
            for _ in range(n):
                secho.echo(TEXT)
            sync.add((time.perf_counter() - t0) / n * 1e6)
        tasks["sync"] = sync_once

        # each compiled node as a child
        pids = {"raw": pp.pid, "bare": bp.pid, "bare_ref": rp.pid, "async": aproxy.pid,
                "sync": sinit.pid}
        for impl in ctx.natives:
            if not impl.built:
                ctx.not_built(natives[impl.name], impl)
                ctx.not_built(natives[f"pipe.{impl.name}"], impl)
                continue
            try:
                c, proc = _bare_client(loop, cleanups,
                                       lambda fd, impl=impl: impl.manifest.argv("child", fd=fd))
            except Exception as e:     # one node that does not start must not stop the others
                ctx.log(f"echo {impl.name}: {e!r}")
                natives[impl.name].status = natives[f"pipe.{impl.name}"].status = f"failed: {e}"
                continue
            tasks[impl.name] = _adder(natives[impl.name], loop, _batch, c.echo, n)
            tasks[f"pipe.{impl.name}"] = _adder(natives[f"pipe.{impl.name}"], loop, _pipelined,
                                                c.echo, m)
            pids[impl.name] = proc.pid

        figs = {"hop": hop, "raw": raw, "bare": bare, "bare_ref": bref, "sync": sync, "async": aio,
                "pipe.bare": pbare, "pipe.async": paio, **natives}
        # CPU per call (this process, every thread, plus the child): what the
        # calls cost in work, which a loaded machine disturbs much less than
        # wall time
        for name, pid in pids.items():
            wall = figs[name]
            cpu_fig = f(f"{wall.id}.cpu", "echo cpu", f"{wall.label}: CPU, both processes", "us",
                        impl=wall.impl, baseline=None if name in ("raw", "bare") else "echo.bare.cpu")
            figs[name] = [wall, cpu_fig]
            tasks[name] = _with_cpu(tasks[name], cpu_fig, pid, n)
        warm(ctx, tasks, figs)
        ctx.interleave(tasks, figs)
    finally:
        for fn in reversed(cleanups):
            try:
                fn()
            except Exception as e:     # one failed teardown must not hide the others
                ctx.log(f"echo teardown: {e!r}")


def _hop(loop):
    """One call from this thread to a coroutine on ``loop`` and back, the
    way reference_impl.sync does it (a task whose coroutine releases a plain
    lock as it ends)."""
    done = threading.Lock()
    done.acquire()
    outcome = []

    async def run():
        try:
            outcome.append(await _nothing())
        finally:
            done.release()
    loop.call_soon_threadsafe(lambda: asyncio.ensure_future(run()))
    done.acquire()
    return outcome[0]


async def _nothing():
    return None


def _with_cpu(task, fig, pid, calls):
    """``task`` that also records the CPU time per call of this process (all
    threads) and of the child ``pid``; the child's is in clock ticks."""
    child = psutil.Process(pid)

    def cpu():
        t = child.cpu_times()
        return time.process_time() + t.user + t.system

    def go():
        c0 = cpu()
        task()
        fig.add((cpu() - c0) / calls * 1e6)
    return go


def _bare_client(loop, cleanups, argv_for_fd):
    """A child given one end of a socketpair (``argv_for_fd(fd)``) and a bare
    pycapnp client on the other: (client, process); their teardown is added
    to ``cleanups``."""
    sock, child = socket.socketpair()
    proc = subprocess.Popen(argv_for_fd(child.fileno()), pass_fds=(child.fileno(),), close_fds=True)
    child.close()
    try:
        client = loop.run(BareEcho.open, sock)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    cleanups.append(lambda: (loop.run(_close, client), _end(proc)))
    return client, proc


def _adder(fig, loop, coro, *args):
    """A task adding ``coro(*args)``'s result, run on ``loop``, to ``fig``."""
    return lambda: fig.add(loop.run(coro, *args))


async def _make_async_ipc(cls, argv0):
    return cls("bench", argv0=argv0)


async def _batch(echo, n: int) -> float:
    """Microseconds per call of ``n`` sequential calls."""
    t0 = time.perf_counter()
    for _ in range(n):
        await echo(TEXT)
    return (time.perf_counter() - t0) / n * 1e6


async def _pipelined(echo, m: int) -> float:
    """Calls per second with ``m`` calls in flight at once."""
    t0 = time.perf_counter()
    results = await asyncio.gather(*(echo(TEXT) for _ in range(m)))
    elapsed = time.perf_counter() - t0
    if len(results) != m or results[0] != TEXT:
        raise RuntimeError(f"pipelined echo answered {len(results)} calls, first {results[:1]!r}")
    return m / elapsed


async def _close(client):
    client.close()


def _end(proc, sock=None):
    """Reap a child that sees EOF: we close ``sock`` if it is still ours (a
    socket handed to pycapnp is closed with its stream, on the loop)."""
    if sock is not None:
        sock.close()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
