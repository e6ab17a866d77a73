"""A Python parent (reference_impl.Ipc) spawning the C++ child: the spawn
contract (dirname(argv0)/NAME -ipcfd N), the wire protocol with upstream's
schema IDs, and the lifecycle (close -> EOF -> exit 0 -> reaped)."""
import os

import psutil

from ipc_conformance.reference_impl import Ipc


def _parent_argv0(stage):
    # The Python parent's argv0 is a name in the staging directory, so that
    # spawn_process("cpp-node") runs the symlink placed next to it.
    return os.path.join(stage, "py-parent")


def test_cpp_child_answers_probe_and_echo_then_exits_zero(cpp, stage, procs, link):
    link(cpp.node, "cpp-node")
    with Ipc("py-parent", argv0=_parent_argv0(stage)) as ipc:
        init = ipc.spawn_process("cpp-node")
        procs.adopt(init.pid, "cpp-node")
        name = init.probe("interop")
        path, flag, fd = psutil.Process(init.pid).cmdline()   # it answered: it has exec'd
        assert (path, flag) == (os.path.join(stage, "cpp-node"), "-ipcfd") and fd.isdigit(), (path, flag, fd)
        assert "interop" in name and str(init.pid) in name, name
        echo = init.make_echo()
        for text in ("hello", "", "h\u00e9llo \u2014 \u65e5\u672c", "x" * 100_000):
            assert echo.echo(text) == text
        echo.destroy()
        pid = init.pid
        init.close()
        assert init.exit_status == 0
        assert not psutil.pid_exists(pid), f"cpp-node pid {pid} still exists after close"


def test_cleanups_run_once_in_order_after_the_close(cpp, stage, procs, link):
    link(cpp.node, "cpp-node")
    ran = []
    with Ipc("py-parent", argv0=_parent_argv0(stage)) as ipc:
        init = ipc.spawn_process("cpp-node")
        procs.adopt(init.pid, "cpp-node")
        ipc.add_cleanup(init, lambda: ran.append(("a", init.exit_status)))
        ipc.add_cleanup(init, lambda: ran.append(("b", init.exit_status)))
        assert ran == []
        init.close()
    # The spawn's own reaping cleanup runs first, so both see the status.
    assert ran == [("a", 0), ("b", 0)]


def test_several_cpp_children_are_independent(cpp, stage, procs, link):
    link(cpp.node, "cpp-node")
    with Ipc("py-parent", argv0=_parent_argv0(stage)) as ipc:
        inits = [ipc.spawn_process("cpp-node") for _ in range(4)]
        for init in inits:
            procs.adopt(init.pid, "cpp-node")
        assert len({init.pid for init in inits}) == 4
        inits[1].close()
        assert inits[1].exit_status == 0
        for init in (inits[0], inits[2], inits[3]):
            assert "probe" in init.probe()
            assert init.make_echo().echo(str(init.pid)) == str(init.pid)
        for init in (inits[0], inits[2], inits[3]):
            init.close()
            assert init.exit_status == 0
