"""Running pytest under ``ipc-conformance`` so that an interrupt waits for
its cleanup instead of cutting it short.

``subprocess.run`` answers a KeyboardInterrupt by giving the child a quarter
of a second and then SIGKILL: the pytest controller dies in the middle of
its own cleanup and leaves its registry and whatever a worker had not yet
removed. Here the child gets the same signal (a signal sent to the process
group already reached it; one sent to ``ipc-conformance`` alone is passed
on to the controller and its xdist workers) and a grace period to finish;
only after that is it killed, and then the registries of dead runs are
swept (harness/registry.py), so nothing stays behind either way."""
from __future__ import annotations

import signal
import subprocess
import sys

import psutil

from ipc_conformance.conformance import interrupts

GRACE = 10.0      # seconds the run gets to clean up after an interrupt


def _pass_on(proc: subprocess.Popen, sig: int) -> None:
    """Send ``sig`` to the pytest controller and its workers (its direct
    children); implementations are the workers' business."""
    try:
        targets = [psutil.Process(proc.pid)]
        targets += targets[0].children()
    except psutil.NoSuchProcess:
        return
    for p in targets:
        try:
            p.send_signal(sig)
        except psutil.NoSuchProcess:
            pass


def run(cmd: list[str], *, capture: bool = False, grace: float = GRACE,
        env: dict | None = None) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, text=True)``, capturing stdout+stderr if asked;
    on KeyboardInterrupt, the child is interrupted and reaped, then the
    interrupt goes on."""
    proc = subprocess.Popen(cmd, text=True, env=env,
                            stdout=subprocess.PIPE if capture else None,
                            stderr=subprocess.STDOUT if capture else None)
    try:
        out, _ = proc.communicate()
    except KeyboardInterrupt:
        _interrupt(proc, grace)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, None)


def run_many(cmds: list[list[str]], *, at_once: int, on_start=None, on_end=None,
             grace: float = GRACE, env: dict | None = None) -> list[subprocess.CompletedProcess]:
    """Run the commands, at most ``at_once`` at a time, each with its
    stdout+stderr in a file of its own (read back as ``stdout``), so that
    concurrent runs do not interleave their output; ``on_start(i, cmd)``
    and ``on_end(i, completed)`` are called as each starts and ends, in the
    caller's thread. The end of a child is awaited on its pidfd, not polled.
    On KeyboardInterrupt every running child is interrupted and reaped
    (``run``'s rules), then the interrupt goes on."""
    import os
    import select
    import tempfile

    results: list[subprocess.CompletedProcess | None] = [None] * len(cmds)
    running: dict[int, tuple[int, subprocess.Popen, object]] = {}     # pidfd -> (index, proc, file)
    pending = list(range(len(cmds)))
    try:
        while pending or running:
            while pending and len(running) < max(1, at_once):
                i = pending.pop(0)
                out = tempfile.TemporaryFile(mode="w+", prefix="ipc-run-")
                if on_start:
                    on_start(i, cmds[i])
                proc = subprocess.Popen(cmds[i], text=True, stdout=out, stderr=subprocess.STDOUT,
                                        env=env)
                running[os.pidfd_open(proc.pid)] = (i, proc, out)
            ready, _, _ = select.select(list(running), [], [])
            for fd in ready:
                i, proc, out = running.pop(fd)
                os.close(fd)
                proc.wait()
                out.seek(0)
                results[i] = subprocess.CompletedProcess(cmds[i], proc.returncode, out.read(), None)
                out.close()
                if on_end:
                    on_end(i, results[i])
    except KeyboardInterrupt:
        live = [proc for _i, proc, _out in running.values() if proc.poll() is None]
        for proc in live:            # every run hears of it at once, then each gets its grace
            _pass_on(proc, interrupts.first_signal() or signal.SIGINT)
        for proc in live:
            _await_end(proc, grace)
        for fd, (_i, _proc, out) in running.items():
            os.close(fd)
            out.close()
        raise
    return results   # type: ignore[return-value]


def _interrupt(proc: subprocess.Popen, grace: float) -> None:
    if proc.poll() is None:
        _pass_on(proc, interrupts.first_signal() or signal.SIGINT)
        _await_end(proc, grace)


def _await_end(proc: subprocess.Popen, grace: float) -> None:
    """Wait ``grace`` seconds for an interrupted run; then kill it and sweep
    the registries it left."""
    try:
        proc.communicate(timeout=grace)
    except subprocess.TimeoutExpired:
        print(f"ipc-conformance: pytest (pid {proc.pid}) did not end within {grace}s of "
              "the interrupt: killed", file=sys.stderr)
        proc.kill()
        proc.communicate()
        try:
            from ipc_conformance.harness.registry import sweep_dead_runs
            sweep_dead_runs()
        except ImportError:
            pass
