"""What every benchmark family gets: its settings, the implementations, and
the table of figures it adds to."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

from .programs import Impl
from .stats import Figure, interleave


@dataclass
class Settings:
    repeats: int = 15            # rounds per interleaved family
    batch: int = 300             # sequential echo calls per repeat
    in_flight: int = 500         # pipelined calls per repeat
    listener_calls: int = 1024   # calls per listener round, shared among the N clients
    clients: tuple = (1, 16, 256)
    cycles: int = 1000
    cycle_workers: int = 2
    suite: str = "full"          # "full", "smoke" or "none"
    suite_repeats: int = 1
    suite_baseline: str | None = None   # an earlier checkout run beside this one (bench/baseline.py)
    quick: bool = False

    @classmethod
    def quick_settings(cls) -> "Settings":
        return cls(repeats=3, batch=30, in_flight=50, listener_calls=64, cycles=20,
                   suite="smoke", quick=True)


@dataclass
class Context:
    settings: Settings
    ref: Impl
    natives: list = field(default_factory=list)   # [Impl]: programs.NATIVE, built or not
    figures: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)     # family-specific facts for the JSON
    started: float = field(default_factory=time.monotonic)

    def figure(self, id: str, family: str, label: str, unit: str, **kw) -> Figure:
        fig = Figure(id=id, family=family, label=label, unit=unit, **kw)
        self.figures[id] = fig
        return fig

    def log(self, msg: str):
        print(f"[bench {time.monotonic() - self.started:6.1f}s] {msg}", file=sys.stderr, flush=True)

    def not_built(self, fig: Figure, impl: Impl):
        fig.status = impl.why_missing or "not built"

    def interleave(self, tasks: dict, figures: dict, repeats: int | None = None):
        """stats.interleave, then mark the figures of the tasks that failed:
        ``figures`` maps a task name to its figure(s). A figure with samples
        keeps them, with a note; one without is 'failed: ...'."""
        failures = interleave(tasks, self.settings.repeats if repeats is None else repeats)
        for name, exc in failures.items():
            self.log(f"task {name} failed and was dropped: {exc!r}")
            figs = figures.get(name, ())
            for fig in figs if isinstance(figs, (list, tuple)) else (figs,):
                if fig.samples:
                    fig.note = (fig.note + "; " if fig.note else "") + \
                        f"stopped after {len(fig.samples)} repeats: {exc}"
                else:
                    fig.status = f"failed: {exc}"
        return failures
