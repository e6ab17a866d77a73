"""Figures: repeated samples summarised as a median with its spread, and the
ratio to a baseline measured in the same run.

The machine these run on is shared and noisy, so a figure is never one
measurement: it is the median of N repeats, with the interquartile range and
the min-max beside it. Baselines are measured interleaved with what they are
compared with (A B A B ...), rotating the order every round, so that a burst
of load hits both sides.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field


def quantile(values, q: float) -> float:
    """Linear-interpolated quantile of a non-empty list (q in 0..1)."""
    xs = sorted(values)
    if len(xs) == 1:
        return float(xs[0])
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return float(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo))


@dataclass
class Figure:
    """One measured quantity: its samples (one per repeat) and how it compares."""
    id: str
    family: str
    label: str
    unit: str                       # "ms", "us", "calls/s", "s", "fds", "MiB", ...
    impl: str = "reference"         # "reference", "cpp", "floor", "pycapnp", ...
    samples: list = field(default_factory=list)
    baseline: str | None = None     # id of the figure this one is divided by
    lower_is_better: bool = True
    target: float | None = None     # the ratio must stay <= target (or >= for throughput)
    limit: float | None = None      # or the median itself must stay <= limit (absolute)
    target_text: str = ""
    note: str = ""
    status: str = "measured"        # "measured", "not built", "failed: ..."

    def add(self, value: float):
        self.samples.append(float(value))

    @property
    def ok(self) -> bool:
        return self.status == "measured" and bool(self.samples)

    def summary(self) -> dict:
        if not self.samples:
            return {}
        xs = self.samples
        return {"n": len(xs), "median": statistics.median(xs), "q1": quantile(xs, 0.25),
                "q3": quantile(xs, 0.75), "min": min(xs), "max": max(xs)}


def ratio(fig: Figure, base: Figure | None) -> float | None:
    """median(fig) / median(base), or None when either is missing or zero."""
    if base is None or not fig.ok or not base.ok:
        return None
    b = statistics.median(base.samples)
    return statistics.median(fig.samples) / b if b else None


def verdict(fig: Figure, r: float | None) -> str | None:
    """'met', 'MISSED' or None (no target / nothing to judge)."""
    if fig.limit is not None and fig.ok:
        return "met" if statistics.median(fig.samples) <= fig.limit else "MISSED"
    if fig.target is None or r is None:
        return None
    good = r <= fig.target if fig.lower_is_better else r >= fig.target
    return "met" if good else "MISSED"


def interleave(tasks: dict, repeats: int, *, on_round=None) -> dict:
    """Call every task once per round, ``repeats`` rounds, rotating the order
    each round (A B C, B C A, C A B, ...). A task is ``fn()`` that records its
    own sample in its figure. A task that raises is dropped from the later
    rounds (an implementation being rebuilt under us must not cost the other
    figures); the exceptions are returned, by task name."""
    names = list(tasks)
    failures = {}
    for r in range(repeats):
        live = [n for n in names if n not in failures]
        if not live:
            break
        k = r % len(live)
        for name in live[k:] + live[:k]:
            try:
                tasks[name]()
            except Exception as e:
                failures[name] = e
        if on_round is not None:
            on_round(r)
    return failures


def warm(ctx, tasks: dict, figures: dict) -> None:
    """One unrecorded round of every task (page cache, imports, first
    allocations); a task that fails here is dropped and its figures say why."""
    failed = ctx.interleave(tasks, figures, repeats=1)
    for name in failed:
        tasks.pop(name)
    for name in tasks:
        figs = figures.get(name, ())
        for fig in figs if isinstance(figs, (list, tuple)) else (figs,):
            fig.samples.clear()
