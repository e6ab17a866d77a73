"""Many spawn/destroy cycles through the synchronous facade: their rate, and
whether the parent leaks (descriptor count and RSS at the start and the end).

A cycle is ``spawn_process`` then ``close``: the child is started, its
connection closed, and it is reaped, so a cycle costs about one child start.
``cycle_workers`` threads share one ``Ipc`` (it is documented thread-safe),
which both halves the wall time on 2 cores and exercises concurrent spawns.
The cycles are split into ``repeats`` chunks, each one sample of the rate;
after each chunk the floor (``python -c "import capnp"``) runs the same way,
a quarter as many times, so that the rate has a baseline taken under the
same load.
"""
import gc
import subprocess
import sys
import threading
import time

import psutil

from .context import Context


def run(ctx: Context):
    from ipc_conformance.reference_impl import Ipc

    s = ctx.settings
    f = ctx.figure
    w = max(1, s.cycle_workers)
    rate = f("cycles.rate", "cycles", f"spawn/destroy cycles, {w} at a time", "cycles/s",
             baseline="cycles.floor_rate", lower_is_better=False)
    floor_rate = f("cycles.floor_rate", "cycles", f'python -c "import capnp" runs, {w} at a time',
                   "runs/s", impl="floor", lower_is_better=False,
                   note="the floor, run the same way between the chunks of cycles")
    fd0 = f("cycles.fds_start", "cycles", "parent descriptors at the start", "fds")
    fd1 = f("cycles.fds_end", "cycles", f"parent descriptors after {s.cycles} cycles", "fds",
            baseline="cycles.fds_start", target=1.0, target_text="no growth")
    rss0 = f("cycles.rss_start", "cycles", "parent RSS at the start", "MiB")
    rss1 = f("cycles.rss_end", "cycles", f"parent RSS after {s.cycles} cycles", "MiB",
             baseline="cycles.rss_start", target=1.10, target_text="< 10% growth")
    if not ctx.ref.built:
        for fig in (rate, fd0, fd1, rss0, rss1):
            ctx.not_built(fig, ctx.ref)
        return
    me = psutil.Process()
    ipc = Ipc("bench", argv0=ctx.ref.argv0)
    errors = []
    try:
        for _ in range(3):                 # warm-up: imports, first loop allocations
            ipc.spawn_process(ctx.ref.exe_name).close()
        gc.collect()
        fd0.add(me.num_fds())
        rss0.add(me.memory_info().rss / 2**20)
        chunks = max(1, min(s.repeats, s.cycles))
        per_chunk = [s.cycles // chunks + (1 if i < s.cycles % chunks else 0) for i in range(chunks)]
        trace = []
        floor_cmd = [sys.executable, "-c", "import capnp"]
        for count in per_chunk:
            t0 = time.perf_counter()
            _in_threads(lambda: ipc.spawn_process(ctx.ref.exe_name).close(), count, w, errors)
            rate.add(count / (time.perf_counter() - t0))
            trace.append({"fds": me.num_fds(), "rss_mib": round(me.memory_info().rss / 2**20, 2)})
            n_floor = max(w, count // 4)
            t0 = time.perf_counter()
            _in_threads(lambda: subprocess.run(floor_cmd, check=True), n_floor, w, errors)
            floor_rate.add(n_floor / (time.perf_counter() - t0))
        gc.collect()
        fd1.add(me.num_fds())
        rss1.add(me.memory_info().rss / 2**20)
        ctx.extra["cycles"] = {"cycles": s.cycles, "workers": w, "after_each_chunk": trace,
                               "errors": errors[:5], "error_count": len(errors)}
        if errors:
            rate.status = f"failed: {len(errors)} cycles failed, first {errors[0]}"
    finally:
        ipc.close()

def _in_threads(fn, count, workers, errors):
    """Call ``fn()`` ``count`` times, spread over ``workers`` threads."""
    lock = threading.Lock()
    left = [count]

    def worker():
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            try:
                fn()
            except Exception as e:
                errors.append(repr(e))
    threads = [threading.Thread(target=worker, name=f"cycle-{i}") for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
