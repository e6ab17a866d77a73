"""Issue 2's spawn figures: sequential and concurrent spawns through the
synchronous facade; each child inherits exactly 0, 1, 2 and its socket and
exits 0 when its Init is destroyed; nothing is left behind."""
import os
import threading

import psutil
import pytest

from ipc_conformance.reference_impl import Ipc
from ipc_conformance.reference_impl.errors import SpawnError


def _inherited_ok(stage, init):
    record = stage.record(init.pid)
    assert set(record) == {"0", "1", "2", record_key_of_socket(record)}, record
    return record


def record_key_of_socket(record):
    sockets = [fd for fd, target in record.items() if target.startswith("socket:")
               and fd not in ("0", "1", "2")]
    assert len(sockets) == 1, f"expected one inherited socket, got {record}"
    return sockets[0]


def test_fifty_sequential_spawns_exit_zero_and_are_reaped(stage):
    with Ipc("parent", argv0=stage.argv0) as ipc:
        for _ in range(50):
            init = ipc.spawn_process("probe")
            assert "probe" in init.probe()
            pid = init.pid
            _inherited_ok(stage, init)
            init.close()
            assert init.exit_status == 0
            assert not psutil.pid_exists(pid) or psutil.Process(pid).status() != psutil.STATUS_ZOMBIE


def test_eight_concurrent_spawns_from_threads_while_holding_inheritable_fds(stage):
    # Inheritable descriptors of the parent, one right below RLIMIT_NOFILE.
    bait_r, bait_w = os.pipe()
    os.set_inheritable(bait_r, True)
    soft, _ = __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE)
    high = os.dup2(bait_w, soft - 1, inheritable=True)
    try:
        with Ipc("parent", argv0=stage.argv0) as ipc:
            inits, errors = [], []
            barrier = threading.Barrier(8)

            def spawn_one():
                try:
                    barrier.wait(10)
                    inits.append(ipc.spawn_process("probe"))
                except Exception as e:   # reported below
                    errors.append(e)
            threads = [threading.Thread(target=spawn_one) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert not errors, errors
            assert len(inits) == 8
            socket_targets = {}
            for init in inits:
                assert init.probe()
                record = _inherited_ok(stage, init)
                socket_targets[init.pid] = record[record_key_of_socket(record)]
            # No child holds another child's socket: every inode is distinct.
            assert len(set(socket_targets.values())) == 8
            for init in inits:
                init.close()
                assert init.exit_status == 0
    finally:
        for fd in (bait_r, bait_w, high):
            os.close(fd)


def _zombie_children():
    return {p.pid for p in psutil.Process().children() if p.status() == psutil.STATUS_ZOMBIE}


def test_missing_child_is_a_clear_error_and_leaves_nothing(stage):
    # Zombies an earlier test of this worker left are not this Ipc's.
    before = _zombie_children()
    with Ipc("parent", argv0=stage.argv0) as ipc:
        with pytest.raises(SpawnError) as info:
            ipc.spawn_process("no-such-child")
        assert info.value.path.endswith("/no-such-child")
        assert "no-such-child" in str(info.value)
    assert not _zombie_children() - before


def test_cleanups_run_once_in_order_after_the_child_exits(stage):
    seen = []
    with Ipc("parent", argv0=stage.argv0) as ipc:
        init = ipc.spawn_process("probe")
        pid = init.pid
        ipc.add_cleanup(init, lambda: seen.append(("a", psutil.pid_exists(pid))))
        ipc.add_cleanup(init, lambda: 1 / 0)     # a failing cleanup stops nothing
        ipc.add_cleanup(init, lambda: seen.append(("b", None)))
        assert seen == []
        init.close()
        init.close()
    # "a" ran after the reap: the pid is gone.
    assert seen == [("a", False), ("b", None)]


def test_cleanups_run_when_the_child_dies(stage):
    ran = threading.Event()
    with Ipc("parent", argv0=stage.argv0) as ipc:
        init = ipc.spawn_process("probe")
        ipc.add_cleanup(init, ran.set)
        psutil.Process(init.pid).kill()
        assert ran.wait(10), "cleanup did not run when the connection died"
        assert init.exit_status == -9
        with pytest.raises(Exception) as info:
            init.probe()
        assert "after disconnect" in str(info.value)


def test_a_dropped_init_is_destroyed_by_the_garbage_collector(stage, caplog):
    """An Init nobody closes still shuts its child down when collected:
    the child exits 0 and is reaped (its status logged), then the later
    cleanups run."""
    import gc
    import logging
    caplog.set_level(logging.DEBUG, logger="reference_impl.ipc")
    reaped = threading.Event()
    with Ipc("parent", argv0=stage.argv0) as ipc:
        init = ipc.spawn_process("probe")
        pid = init.pid
        ipc.add_cleanup(init, reaped.set)       # runs after the spawn's own reaping cleanup
        assert "probe" in init.probe()
        del init
        gc.collect()
        assert reaped.wait(10), "the collected Init's cleanups did not run"
        assert not psutil.pid_exists(pid), f"pid {pid} remains after the collected Init's reap"
    assert f"pid {pid} exited with status 0" in caplog.text, caplog.text


_TEMPORARY_ECHOES = """
import sys
from ipc_conformance.reference_impl import Ipc
with Ipc("parent", argv0=sys.argv[1]) as ipc:
    with ipc.spawn_process("probe") as init:
        for i in range(400):
            assert init.make_echo().echo(str(i)) == str(i)   # each Echo dies at once
"""


def test_temporary_echoes_die_on_the_loop_thread(stage):
    """An Echo handle dropped on the caller's thread hands its pycapnp objects
    to the loop thread to die there; if the last reference were dropped on
    the caller's thread, pycapnp would abort the process. 400 temporaries."""
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", _TEMPORARY_ECHOES, stage.argv0],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
