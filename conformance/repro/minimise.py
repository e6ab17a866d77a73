"""Delta debugging over a reproducer's steps: the smallest set of steps
whose script still fails the same way against the failing implementation.

Why: a maintainer reading a bug report should see only what the failure
depends on. A case does more than its failing check needs (setup for other
checks, checks that passed), and which of that matters is found by trying:
Zeller's ddmin, each trial a run of the generated script with some steps
left out. A trial reproduces when the script exits 1 with the same failure
(its message with numbers and the trial's folder masked: they differ
between runs). The failing
step itself is never dropped. ddmin's trials are bounded (``budget``): past
it the smallest reproducing set found so far is kept, and then each step
left is tried dropped alone, so that no single step in the result can go.
"""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from . import writer


def failure_of(proc: subprocess.CompletedProcess) -> str | None:
    """The failure a script run reported (its FAIL line, numbers masked), or
    None when it passed or did not end with a FAIL line."""
    if proc.returncode != 1:
        return None
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("FAIL ")]
    if not lines:
        return None
    # What differs from run to run: the trial's folder, pids, ports, counts of bytes.
    return re.sub(r"\d+", "N", re.sub(r"/tmp/[^/\s'\"]+", "/tmp/X", lines[-1]))


def run_script(text: str, schema_dir, timeout: float = 120, options=(),
               name: str = "repro.py") -> subprocess.CompletedProcess:
    """Run a script's text once, written as ``name`` (the name it was rendered
    for: its schema folder is named after it) in a folder of its own."""
    with tempfile.TemporaryDirectory(prefix="ipc-ddmin-") as tmp:
        path = writer.write_script(text, Path(tmp) / name, schema_dir)
        try:
            return subprocess.run([sys.executable, str(path), *options], cwd=tmp,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess([], 124, "", "timeout")


def ddmin(units: list[int], reproduces, budget: int = 40) -> list[int]:
    """The ddmin algorithm: a 1-minimal subset of ``units`` for which
    ``reproduces(subset)`` holds (within ``budget`` trials)."""
    trials = {"n": 0}
    cache: dict[tuple, bool] = {}

    def test(subset):
        key = tuple(subset)
        if key not in cache:
            if trials["n"] >= budget:
                return False
            trials["n"] += 1
            cache[key] = reproduces(subset)
        return cache[key]

    current, n = list(units), 2
    while len(current) >= 2:
        size = len(current) // n
        chunks = [current[i * size:(i + 1) * size] if i < n - 1 else current[i * size:]
                  for i in range(n)]
        for chunk in chunks:                          # a chunk alone
            if test(chunk):
                current, n = chunk, 2
                break
        else:
            for chunk in chunks:                      # everything but a chunk
                rest = [u for u in current if u not in chunk]
                if n > 2 and test(rest):
                    current, n = rest, max(n - 1, 2)
                    break
            else:
                if n >= len(current):
                    break
                n = min(len(current), n * 2)
    if len(current) == 1 and test([]):
        current = []
    return current


def drop_one_at_a_time(kept: list[int], reproduces) -> list[int]:
    """``kept`` with every step dropped whose drop alone still reproduces: one
    trial per step, the last first.

    Why: ddmin within its budget can stop before its result is 1-minimal
    (a second listener kept beside the one the failing check reads), and a
    maintainer reads every step left. The last first: dropping a later step
    leaves the state the earlier ones run in as it was."""
    for unit in reversed(list(kept)):
        trial = [u for u in kept if u != unit]
        if reproduces(trial):
            kept = trial
    return kept


def minimal_drop(render, count: int, out, schema_dir, *, log=print, budget: int = 24,
                 checks=(), control=None, keep=()) -> list[int]:
    """The steps (indices 0..count-1; the last is the failing one) to drop.
    ``render(drop)`` gives the script without those steps. ``checks``: the
    indices of checks that held; the first trial drops them all at once (a
    check sets nothing up, so that trial usually reproduces and ddmin then
    starts from far fewer steps). ``control(text)``: options that point the
    script at a right implementation (the reference's programs); a trial
    counts only if the script still passes with them, so that minimising
    never drops the set-up that makes the check mean something (without the
    file at the bind path, "listen answers an error" fails everywhere).
    ``keep``: steps never dropped, the waits that order what follows (a child
    started before its /proc is read): without one a script still fails most
    times, but by luck of timing, which ddmin cannot see."""
    name = Path(out).name if out else "repro.py"

    def run(text, options=()):
        return run_script(text, schema_dir, options=options, name=name)
    original = None
    for _ in range(3):              # a loaded machine can hide a race once or twice
        original = failure_of(run(render(())))
        if original is not None:
            break
    if original is None:
        log("the full reproducer does not fail: nothing dropped")
        return []
    last = count - 1
    optional = [i for i in range(last) if i not in set(keep)]
    droppable = set(optional)

    def passes_control(text, tries=1):
        return any(run(text, options=control(text)).returncode == 0
                   for _ in range(tries))
    if control is not None and not passes_control(render(()), tries=2):
        log("the full reproducer does not pass the control: minimised without it")
        control = None

    accepted = []                   # the step sets that reproduced, smaller and smaller

    def reproduces(kept):
        text = render(sorted(droppable - set(kept)))
        if failure_of(run(text)) != original:
            return False
        if control is None or passes_control(text):
            accepted.append(list(kept))
            return True
        return False
    tried: dict[tuple, bool] = {}

    def reproduces_once(kept):      # ddmin and the single drops share what was tried
        key = tuple(sorted(kept))
        if key not in tried:
            tried[key] = reproduces(kept)
        return tried[key]
    without_checks = [i for i in optional if i not in set(checks)]
    if len(without_checks) < len(optional) and reproduces_once(without_checks):
        optional, budget = without_checks, budget - 1
    kept = ddmin(optional, reproduces_once, budget) if optional else []
    kept = drop_one_at_a_time(kept, reproduces_once)
    drop = sorted(droppable - set(kept))
    if drop and control is not None:
        # A trial passed the control once; a set-up that only sometimes makes the
        # check hold on a right implementation (a probe that waited for an accept,
        # dropped) passes once by luck. Keep the smallest set found on the way
        # that passes twice in a row (of the last five).
        candidates = ([kept] + [k for k in reversed(accepted) if k != kept])[:5]
        drop = next((d for d in (sorted(droppable - set(k)) for k in candidates)
                     if all(run(render(d), options=control(render(d))).returncode == 0
                            for _ in range(2))), [])
        if not drop:
            log("no minimised reproducer passes the control twice in a row: nothing dropped")
            return []
    log(f"minimised: {len(drop)} of {count} steps dropped")
    return drop
