"""conformance.runner.concurrent_jobs: several implementations run at once
only as far as the usable cores hold their workers."""
import pytest

from ipc_conformance.conformance import runner
from ipc_conformance.conformance.runner import RunOptions, concurrent_jobs


@pytest.mark.parametrize("cores, workers, impls, jobs, expected", [
    (2, 2, 3, None, 1),      # -n 2 on 2 cores: one after another
    (2, None, 3, None, 2),   # one process each: two at once
    (8, 2, 3, None, 3),      # no more than there are implementations
    (8, 2, 1, None, 1),
    (2, 2, 3, 3, 3),         # --jobs says so
    (2, 2, 3, 0, 1),
    (1, 4, 2, None, 1),      # never fewer than one
])
def test_jobs(monkeypatch, cores, workers, impls, jobs, expected):
    monkeypatch.setattr(runner, "usable_cores", lambda: cores)
    assert concurrent_jobs(RunOptions(workers=workers, jobs=jobs), impls) == expected
