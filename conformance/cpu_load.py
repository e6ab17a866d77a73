"""CPU load for ``ipc-conformance run --repeat N --cpu-load K``: K busy
processes spinning while the cases run, so that races which only show on a
starved machine (a child scheduled late, a close that lands before an
accept) get their chance, and FLAKY cases show up before a user's CI finds
them. The spinners live in a process group of their own, which is killed
and reaped when the run ends, however it ends."""
import contextlib
import os
import signal
import subprocess
import sys

_SPIN = "while True: pass"


@contextlib.contextmanager
def cpu_load(count: int):
    """Keep ``count`` busy processes running for the duration of the block."""
    if count <= 0:
        yield []
        return
    procs = []
    try:
        first = subprocess.Popen([sys.executable, "-c", _SPIN], process_group=0)
        procs.append(first)
        for _ in range(count - 1):
            procs.append(subprocess.Popen([sys.executable, "-c", _SPIN],
                                          process_group=first.pid))
        print(f"cpu load: {count} busy process(es), group {first.pid}", flush=True)
        yield procs
    finally:
        if procs:
            try:
                os.killpg(procs[0].pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in procs:
            p.wait()
