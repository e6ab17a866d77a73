"""A listening node with 1, 16 and 256 concurrent clients.

The node is started with ``-ipcbind=unix:<path>:max-connections=M``, M the
sum of the client counts (273 by default), so that every client of every
client set is served at once rather than queued. M is a number rather than
``max-connections=0`` because "0 means no limit" is this project's own rule
(REQ-LISTEN-5, layer [project]), which the adapter on libmultiprocess does
not claim (there 0 admits no client); a limit (REQ-LISTEN-3) is [library].

Every client is a bare pycapnp connection of this process holding an Echo;
one round of size N makes each of the N clients do ``calls/N`` sequential
echoes, all clients at the same time. Per round:

- cost per call = wall time / calls (the inverse of throughput): flat from 1
  to 256 means the node's work per call does not grow with its clients;
- latency = median of the calls' own round trips, which grows with N since
  N calls wait in line;
- throughput = calls / wall time.

The client sets of every N stay connected for the whole family, and the
rounds of different N are interleaved. Both sides share the 2 cores: the
clients' own pycapnp cost is in every figure alike.
"""
import asyncio
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time

from .capnp_client import BareEcho
from .context import Context
from .loop import LoopThread
from .programs import stop, wait_line
from .stats import warm

TEXT = "x" * 32


def run(ctx: Context):
    ctx.extra["listener"] = {}
    for impl in (ctx.ref, *ctx.natives):
        figs = _figures(ctx, impl)
        if not impl.built:
            for fig in figs.values():
                ctx.not_built(fig, impl)
            continue
        try:
            _run_impl(ctx, impl, figs)
        except Exception as e:
            ctx.log(f"listener {impl.name}: {e!r}")
            for fig in figs.values():
                if not fig.samples:
                    fig.status = f"failed: {e}"


def _figures(ctx, impl):
    figs = {}
    kind = "reference" if impl.name == "reference" else impl.name
    first = ctx.settings.clients[0]
    for n in ctx.settings.clients:
        base = None if n == first else f"listener.{impl.name}.cost.{first}"
        figs[("cost", n)] = ctx.figure(
            f"listener.{impl.name}.cost.{n}", "listener", f"{kind} listener, {n} clients: cost per call",
            "us", impl=impl.name, baseline=base,
            target=2.0 if impl.name == "reference" and n == ctx.settings.clients[-1] and base else None,
            target_text="<= 2x the cost at 1 client" if impl.name == "reference" and base
            and n == ctx.settings.clients[-1] else "")
        base = None if n == first else f"listener.{impl.name}.latency.{first}"
        figs[("latency", n)] = ctx.figure(
            f"listener.{impl.name}.latency.{n}", "listener", f"{kind} listener, {n} clients: median latency",
            "us", impl=impl.name, baseline=base)
        base = None if n == first else f"listener.{impl.name}.tput.{first}"
        figs[("tput", n)] = ctx.figure(
            f"listener.{impl.name}.tput.{n}", "listener", f"{kind} listener, {n} clients: throughput",
            "calls/s", impl=impl.name, baseline=base, lower_is_better=False)
    return figs


def _run_impl(ctx, impl, figs):
    s = ctx.settings
    tmp = tempfile.mkdtemp(prefix="ipcb-", dir="/tmp")
    path = os.path.join(tmp, "bench.sock")
    address = f"unix:{path}:max-connections={sum(s.clients)}"
    proc = subprocess.Popen(impl.listen_argv(tmp, address),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    loop = LoopThread("bench-listener")
    sets = {}
    try:
        wait_line(proc, "listening on")
        drain = threading.Thread(target=_drain, args=(proc.stdout,), daemon=True)
        drain.start()
        for n in s.clients:
            sets[n] = loop.run(_connect_all, path, n)
        served = {n: 0 for n in s.clients}

        def task(n):
            def once():
                k = max(1, s.listener_calls // n)
                wall, lats = loop.run(_round, sets[n], k)
                calls = n * k
                served[n] = max(served[n], len({i for i, _ in lats}))
                figs[("cost", n)].add(wall / calls * 1e6)
                figs[("latency", n)].add(statistics.median(x for _, x in lats) * 1e6)
                figs[("tput", n)].add(calls / wall)
            return once
        tasks = {n: task(n) for n in s.clients}
        by_task = {n: [figs[(k, n)] for k in ("cost", "latency", "tput")] for n in s.clients}
        warm(ctx, tasks, by_task)
        ctx.interleave(tasks, by_task)
        ctx.extra["listener"][impl.name] = {
            "clients_served": served, "node_alive": proc.poll() is None,
            "calls_per_round": s.listener_calls}
    finally:
        for clients in sets.values():
            loop.run(_close_all, clients)
        loop.close()
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def _drain(stream):
    """Keep reading a child's stdout so that its writes never block."""
    try:
        for _ in iter(lambda: stream.read(65536), b""):
            pass
    except (OSError, ValueError):
        pass


async def _connect_all(path, n):
    return [await BareEcho.connect(path, f"client-{i}") for i in range(n)]


async def _close_all(clients):
    for c in clients:
        c.close()


async def _round(clients, k):
    """Every client does ``k`` sequential echoes, all at once: (wall, [(client, latency)])."""
    lats = []

    async def one(i, c):
        for _ in range(k):
            t = time.perf_counter()
            if await c.echo(TEXT) != TEXT:
                raise RuntimeError(f"client {i}: wrong echo")
            lats.append((i, time.perf_counter() - t))
    t0 = time.perf_counter()
    await asyncio.gather(*(one(i, c) for i, c in enumerate(clients)))
    return time.perf_counter() - t0, lats
