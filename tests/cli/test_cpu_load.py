"""--cpu-load: the spinners run while the block runs and none outlives it,
even when the block raises."""
import psutil
import pytest

from ipc_conformance.conformance.cpu_load import cpu_load


def _alive(procs):
    return [p.pid for p in procs if psutil.pid_exists(p.pid)
            and psutil.Process(p.pid).status() != psutil.STATUS_ZOMBIE]


def test_spinners_run_and_are_reaped():
    with cpu_load(3) as procs:
        assert len(_alive(procs)) == 3
        assert len({psutil.Process(p.pid).pid for p in procs}) == 3
    assert all(p.returncode is not None for p in procs)
    assert not _alive(procs)


def test_spinners_are_reaped_when_the_block_fails():
    with pytest.raises(RuntimeError):
        with cpu_load(2) as procs:
            raise RuntimeError("case crashed")
    assert all(p.returncode is not None for p in procs)


def test_zero_is_no_load():
    with cpu_load(0) as procs:
        assert procs == []
