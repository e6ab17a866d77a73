"""Spawn of a child to its first answered call, against the floor of any
Python child: ``python -c "import capnp"`` (start the interpreter, load
pycapnp, exit).

The reference is spawned through its synchronous facade, as a user would
(``Ipc.spawn_process`` then ``Init.probe``, which is construct, makeThread and
getName); each compiled node (cpp-node, mp-node) is spawned by the same
facade, which runs ``dirname(argv0)/<node> -ipcfd N``.

Two more start-to-exit figures show what the conformance suite pays per
program it starts: ``ref-node`` run directly, and ``ref-node`` as PATH finds
it, which on a machine with a version manager (pyenv) is a shell shim.
"""
import functools
import shutil
import subprocess
import sys
import time

from .context import Context
from .stats import warm


def run(ctx: Context):
    from ipc_conformance.reference_impl import Ipc

    floor = ctx.figure("spawn.floor", "spawn", 'python -c "import capnp" (floor)', "ms",
                       impl="floor")
    ref = ctx.figure("spawn.ref", "spawn", "reference: spawn to first answered call", "ms",
                     baseline="spawn.floor", target=1.25, target_text="<= 1.25x import floor")
    natives = {impl.name: ctx.figure(f"spawn.{impl.name}", "spawn",
                                     f"{impl.program}: spawn to first answered call", "ms",
                                     impl=impl.name, baseline="spawn.floor")
               for impl in ctx.natives}
    on_path = shutil.which("ref-node")
    run_direct = ctx.figure("spawn.node_direct", "spawn", "ref-node start to exit ('nothing to do'), direct",
                            "ms", baseline="spawn.floor")
    run_path = ctx.figure("spawn.node_path", "spawn", "ref-node start to exit, as found on PATH",
                          "ms", baseline="spawn.node_direct",
                          note=f"PATH gives {on_path}: what a manifest naming 'ref-node' starts")
    tasks = {}

    def floor_once():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import capnp"], check=True)
        floor.add((time.perf_counter() - t0) * 1e3)
    tasks["floor"] = floor_once

    def start_to_exit(argv, fig):
        def once():
            t0 = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
            fig.add((time.perf_counter() - t0) * 1e3)
        return once

    ipcs = []
    if ctx.ref.built:
        tasks["node_direct"] = start_to_exit([ctx.ref.node], run_direct)
    if on_path:
        tasks["node_path"] = start_to_exit([on_path], run_path)
    else:
        run_path.status = "not on PATH"
    figs = {"floor": floor, "ref": ref, "node_direct": run_direct, "node_path": run_path,
            **natives}
    for name, impl in (("ref", ctx.ref), *((i.name, i) for i in ctx.natives)):
        if impl.built:
            ipc = Ipc("bench", argv0=impl.argv0)
            ipcs.append(ipc)
            tasks[name] = functools.partial(_spawn_once, ipc, impl.exe_name, figs[name])
        else:
            ctx.not_built(figs[name], impl)
    try:
        warm(ctx, tasks, figs)         # the page cache, imports: not recorded
        ctx.interleave(tasks, figs)
    finally:
        for ipc in ipcs:
            ipc.close()


def _spawn_once(ipc, exe_name, fig):
    t0 = time.perf_counter()
    init = ipc.spawn_process(exe_name)
    try:
        init.probe()
        fig.add((time.perf_counter() - t0) * 1e3)
    finally:
        init.close()
