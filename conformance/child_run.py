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


def run(cmd: list[str], *, capture: bool = False, grace: float = GRACE) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, text=True)``, capturing stdout+stderr if asked;
    on KeyboardInterrupt, the child is interrupted and reaped, then the
    interrupt goes on."""
    proc = subprocess.Popen(cmd, text=True,
                            stdout=subprocess.PIPE if capture else None,
                            stderr=subprocess.STDOUT if capture else None)
    try:
        out, _ = proc.communicate()
    except KeyboardInterrupt:
        _interrupt(proc, grace)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, None)


def _interrupt(proc: subprocess.Popen, grace: float) -> None:
    if proc.poll() is None:
        _pass_on(proc, interrupts.first_signal() or signal.SIGINT)
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
