"""The C++ parent (cpp-shell) spawning the Python child (ref-node staged next
to it): spawn, probe, echo, cleanups and reaping, through the shell protocol."""
import os

import psutil


def _staged_shell(cpp, ref_node, link):
    link(ref_node, "ref-node")
    return link(cpp.shell, "cpp-shell")


def test_cpp_shell_spawns_probes_and_reaps_ref_node(cpp, ref_node, stage, shells, link):
    shell = shells([_staged_shell(cpp, ref_node, link), f"-datadir={stage}"])
    answer = shell.command("spawn ref-node")
    assert answer.ok, answer.result
    _, _, ident, pid_word = answer.words
    pid = int(pid_word.removeprefix("pid="))
    probe = shell.command(f"probe {ident}")
    assert probe.ok and probe.result.startswith("ok thread probe"), probe.result
    # It answered, so it has exec'd: dirname(argv0)/ref-node -ipcfd N (after
    # the interpreter, for a script).
    *_, path, flag, fd = psutil.Process(pid).cmdline()
    assert (path, flag) == (f"{stage}/ref-node", "-ipcfd") and fd.isdigit(), (path, flag, fd)
    assert str(pid) in probe.result, probe.result      # the Python child named itself
    for text in ("hello there", "h\u00e9llo \u2014 ok"):
        echo = shell.command(f"echo {ident} {text}")
        assert echo.result == f"ok echo {text}", echo.result
    assert shell.command(f"cleanup {ident} first").ok
    assert shell.command(f"cleanup-fail {ident} second").ok
    assert shell.command(f"cleanup {ident} third").ok
    destroyed = shell.command(f"destroy {ident}")
    assert destroyed.result == f"ok destroyed {ident}", destroyed.result
    # Close, then the reap (registered first), then the user's cleanups in order.
    assert destroyed.events == [f"event reaped {ident} pid={pid} status=0",
                                "event cleanup first ran", "event cleanup second ran",
                                "event cleanup third ran"], destroyed.events
    assert not psutil.pid_exists(pid)
    assert shell.quit() == 0


def test_killed_python_child_is_noticed_and_reaped(cpp, ref_node, stage, shells, link):
    shell = shells([_staged_shell(cpp, ref_node, link), f"-datadir={stage}"])
    answer = shell.command("spawn ref-node")
    assert answer.ok, answer.result
    ident, pid = answer.words[2], int(answer.words[3].removeprefix("pid="))
    assert shell.command(f"probe {ident}").ok
    os.kill(pid, 9)
    shell.expect_event(f"^event disconnected {ident}$")
    shell.expect_event(f"^event reaped {ident} pid={pid} status=-9$")
    failed = shell.command(f"echo {ident} after")
    assert failed.result.startswith("error disconnected:"), failed.result
    listed = shell.command("list")
    assert listed.data == [f"held {ident} spawned pid={pid} state=disconnected"], listed.data
    assert shell.quit() == 0
