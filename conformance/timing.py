"""Where a case's time goes: the ``time_breakdown`` of its evidence.

Cheap by construction: a few clock reads at the start and end of the case
(``start``/``breakdown``), the CPU times the process tracker read from /proc
when each of its processes ended (harness.processes), and the blocked time
of the harness's waits (harness.waits.WAIT_CLOCK). No process is started.

The figures (seconds):

- ``duration_s``: the case's duration (setup + call + teardown);
- ``waiting_s``: wall time blocked in the harness's waits (a pidfd, a pipe,
  a line, the shell's answer, a peer call's answer, inotify), i.e. waiting on
  the implementation or a helper to do something;
- ``harness_python_s``: the rest of the duration: the harness's own Python
  (fixtures, spawning, checks, evidence), preemption included;
- ``harness_cpu_s``: CPU of the test process (all its threads) during the case;
- ``implementation_cpu_s`` / ``implementation_wall_s``: CPU (user + system,
  with the children each reaped) and start-to-exit wall of the
  implementation's processes; the shell, started through pexpect, is counted
  as the rest of ``children_cpu_s`` (it and whatever it reaped itself,
  probe children included);
- ``helper_cpu_s`` / ``helper_wall_s``: the same for the processes the
  harness starts for itself (helper clients, probe children still readable
  at teardown);
- ``children_cpu_s``: all the CPU of the processes that ended in the case
  (getrusage RUSAGE_CHILDREN), the check on the two above.

Process CPU overlaps ``waiting_s`` in wall time (the implementation works
while the harness waits); the CPU figures say what each side costs the
machine, the wall figures where the case's duration goes.
"""
from __future__ import annotations

import resource
import time

from ipc_conformance.harness.waits import WAIT_CLOCK

TIMINGS_KEY = "_process_timings"    # the procs fixture's tracker.timings(), popped here


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def start() -> tuple[float, float, float]:
    """The clocks at the start of a case."""
    return (WAIT_CLOCK.total(), time.process_time(), _children_cpu())


def breakdown(started, duration: float, processes=None) -> dict:
    """The case's time_breakdown from ``start()``'s clocks, its duration and
    the tracker's per-process timings (None: the case started none)."""
    wait0, cpu0, kids0 = started
    waiting = max(0.0, WAIT_CLOCK.total() - wait0)
    children = max(0.0, _children_cpu() - kids0)
    sums = {"implementation": [0.0, 0.0], "harness-helper": [0.0, 0.0]}
    sampled = 0.0
    has_unsampled_impl = False
    for p in processes or ():
        role = sums.setdefault(p.get("role") or "implementation", [0.0, 0.0])
        if p.get("cpu_s") is not None:
            role[0] += p["cpu_s"]
            sampled += p["cpu_s"]
        elif p.get("role") != "harness-helper":
            has_unsampled_impl = True
        if p.get("wall_s") is not None:
            role[1] += p["wall_s"]
    rest = max(0.0, children - sampled)
    if has_unsampled_impl:         # the shell: its CPU is the rest of the children's
        sums["implementation"][0] += rest
        rest = 0.0
    out = {
        "duration_s": round(duration, 4),
        "waiting_s": round(min(waiting, duration), 4),
        "harness_python_s": round(max(0.0, duration - waiting), 4),
        "harness_cpu_s": round(max(0.0, time.process_time() - cpu0), 4),
        "implementation_cpu_s": round(sums["implementation"][0], 3),
        "implementation_wall_s": round(sums["implementation"][1], 3),
        "helper_cpu_s": round(sums["harness-helper"][0], 3),
        "helper_wall_s": round(sums["harness-helper"][1], 3),
        "children_cpu_s": round(children, 3),
    }
    if rest > 0.0:
        out["unattributed_cpu_s"] = round(rest, 3)
    if processes:
        out["processes"] = [{k: v for k, v in p.items() if v is not None} for p in processes]
    return out


FIELDS = ("duration_s", "waiting_s", "harness_python_s", "harness_cpu_s", "implementation_cpu_s",
          "implementation_wall_s", "helper_cpu_s", "helper_wall_s", "children_cpu_s")


def total(breakdowns) -> dict:
    """The sum of each figure over cases (bench, report)."""
    out = {k: 0.0 for k in FIELDS}
    n = 0
    for b in breakdowns:
        if not isinstance(b, dict):
            continue
        n += 1
        for k in FIELDS:
            out[k] += float(b.get(k) or 0.0)
    out = {k: round(v, 3) for k, v in out.items()}
    out["cases"] = n
    return out
