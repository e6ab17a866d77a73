"""SPAWN: the parent role, through the implementation's shell spawning the
harness's probe child (or the implementation's own node) by name."""
import os
import signal

import psutil

from ipc_conformance.conformance.case import case
from ipc_conformance.harness.files import write_file
from ipc_conformance.harness.verifiers import (assert_answer, assert_equal, assert_error,
                                               assert_exits, assert_gone, assert_not_zombie,
                                               assert_ok, assert_reaped)


@case("SPAWN-002", "REQ-SPAWN-1", roles=("shell",))
def test_child_argv_is_exact(shell):
    """The spawned child's argv is exactly [dirname(argv0)/NAME, "-ipcfd", N]."""
    sh = shell()
    obj, pid = sh.spawn("probe-child")
    rec = sh.probe_records(1)[0]
    assert rec["pid"] == pid
    assert len(rec["argv"]) == 3 and rec["argv"][1] == "-ipcfd", rec["argv"]
    assert rec["argv"][2].isdigit()
    assert rec["argv"][2] in rec["fds"], "argv names a descriptor the child does not hold"


@case("SPAWN-003", "REQ-SPAWN-1", roles=("shell",))
def test_child_is_found_next_to_argv0(shell):
    """The child executed is dirname(argv0 of the shell)/NAME, not one on PATH."""
    sh = shell(probe_names=("probe-child", "other-probe"))
    sh.spawn("other-probe")
    rec = sh.probe_records(1)[0]
    assert rec["argv"][0] == os.path.join(sh.exe_dir, "other-probe")


@case("SPAWN-004", "REQ-SPAWN-2", roles=("shell",), smoke=True)
def test_destroy_reaps_with_status_zero(shell):
    """Destroying a spawned child's Init makes it exit 0; the shell reports it reaped with status 0."""
    sh = shell()
    obj, pid = sh.spawn()
    assert_ok(sh.command(f"probe {obj}"))
    a = sh.command(f"destroy {obj}")
    assert_ok(a)
    assert_reaped(a.typed_events, obj, pid, 0)
    assert_gone(pid, what="after destroy")


@case("SPAWN-005", "REQ-SPAWN-3", roles=("shell",))
def test_no_zombie_after_destroy(shell):
    """After destroy the child's pid no longer exists at all (reaped, not a zombie)."""
    sh = shell()
    obj, pid = sh.spawn()
    sh.command(f"destroy {obj}")
    assert_not_zombie(pid, "after destroy")


@case("SPAWN-006", "REQ-SPAWN-4", roles=("shell",), conditions=("repeated",))
def test_sequential_spawns(shell):
    """Five children spawned one after another each answer and each is reaped with status 0."""
    sh = shell()
    for _ in range(5):
        obj, pid = sh.spawn()
        assert_ok(sh.command(f"probe {obj}"))
        a = sh.command(f"destroy {obj}")
        assert_reaped(a.typed_events, obj, pid, 0)


@case("SPAWN-007", "REQ-SPAWN-4", roles=("shell",), conditions=("concurrent",))
def test_children_held_at_once_are_independent(shell):
    """Of four children held at once, destroying one leaves the other three answering."""
    sh = shell()
    kids = [sh.spawn() for _ in range(4)]
    a = sh.command(f"destroy {kids[1][0]}")
    assert_reaped(a.typed_events, kids[1][0], kids[1][1], 0)
    for obj, pid in kids[:1] + kids[2:]:
        assert_ok(sh.command(f"probe {obj}"))
        assert psutil.pid_exists(pid)


def _exec_failure(sh, name):
    a = sh.command(f"spawn {name}")
    if not a.ok:
        assert name in a.result, f"the error does not name the executable: {a.result}"
        return "error"
    obj, pid = a.words[2], int(a.words[3].partition("=")[2])
    d = sh.command(f"destroy {obj}")
    assert_reaped(d.typed_events, obj, pid, 127)
    return "127"


@case("SPAWN-008", "REQ-SPAWN-5", roles=("shell",))
def test_missing_child(shell, procs, evidence):
    """Spawning a missing executable is an error naming it (or a child reaped with 127); nothing is left."""
    sh = shell()
    evidence.record("how", _exec_failure(sh, "no-such-child"))
    assert not procs.leftovers()
    assert_ok(sh.command("pid"))


@case("SPAWN-009", "REQ-SPAWN-5", roles=("shell",))
def test_non_executable_child(shell, procs, evidence):
    """Spawning a file without execute permission is an error (or status 127); nothing is left."""
    sh = shell()
    path = os.path.join(sh.exe_dir, "not-executable")
    write_file(path, "#!/bin/sh\nexit 0\n")        # made without execute permission
    os.chmod(path, 0o644)
    evidence.record("how", _exec_failure(sh, "not-executable"))
    assert not procs.leftovers()


@case("SPAWN-010", "REQ-SPAWN-10", roles=("shell",), conditions=("peer-dies",))
def test_killed_child_is_noticed_and_reaped(shell):
    """A spawned child killed with SIGKILL: the shell reports the disconnect and the reaping (status -9)."""
    sh = shell()
    obj, pid = sh.spawn()
    assert_ok(sh.command(f"probe {obj}"))
    os.kill(pid, signal.SIGKILL)
    sh.expect_disconnected(obj, 10)
    sh.expect_reaped(obj, pid, -9, 10)
    assert_gone(pid)


@case("SPAWN-011", "REQ-SPAWN-6", roles=("shell",), conditions=("peer-dies",))
def test_call_on_dead_child_fails_at_once(shell):
    """After the child died, a call through its proxy answers an error of class disconnected, not a hang."""
    sh = shell()
    obj, pid = sh.spawn()
    os.kill(pid, signal.SIGKILL)
    sh.expect_disconnected(obj, 10)
    a = sh.command(f"probe {obj}", timeout=10)
    assert_error(a, "error disconnected")


@case("SPAWN-012", "REQ-SPAWN-7", roles=("shell",), conditions=("peer-dies",))
def test_parent_killed_child_exits(shell):
    """When the shell (the parent) is SIGKILLed, its spawned child sees EOF and exits."""
    sh = shell(tty=False)       # no pty: its session leader's death would SIGHUP the child
    obj, pid = sh.spawn()
    assert_ok(sh.command(f"probe {obj}"))
    os.kill(sh.pid, signal.SIGKILL)
    assert_exits(pid, 10, "(the child, once its parent was killed)")
    # The child sees EOF as soon as the dying shell's descriptors close, and
    # can exit before the kernel hands the shell's children to the suite (the
    # subreaper): the shell's own exit (its pidfd) marks that hand-over.
    assert_exits(sh.pid, 10, "(the killed shell)")
    _, status = os.waitpid(pid, 0)      # ours now: the suite is the subreaper
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status


@case("SPAWN-013", "REQ-SPAWN-3", roles=("shell",))
def test_quit_reaps_held_children(shell):
    """quit with two children held destroys both (reaped with status 0) before 'ok bye', then exit 0."""
    sh = shell()
    kids = [sh.spawn() for _ in range(2)]
    assert_equal(sh.quit(), 0, "the shell's exit status after quit")
    for obj, pid in kids:
        assert_reaped(sh.events(), obj, pid, 0)
        assert_gone(pid)


@case("SPAWN-014", "REQ-SPAWN-3", roles=("shell",), conditions=("peer-dies",))
def test_child_that_exits_by_itself(shell, evidence):
    """A child that exits 3 right after starting is reaped with status 3: when noticed or when destroyed, or before a failed spawn is answered."""
    sh = shell(probe_mode="exit-now", env={"IPC_PROBE_EXIT_STATUS": "3"})
    a = sh.command("spawn probe-child")
    if a.ok:
        obj, pid = int(a.words[2]), int(a.words[3].partition("=")[2])
        sh.adopt(pid, "spawned probe-child")
        # Reaped as soon as the loss is noticed, or (upstream) by the Init
        # proxy's cleanup when it is destroyed: seen by the end of `destroy`.
        sh.command(f"destroy {obj}")
        sh.expect_reaped(obj, pid, 3, 1)
        return
    # The spawn failed because the child was gone before it answered. The
    # parent forked it, so the parent must still reap it, before it reports
    # the failure: a zombie now waits for nobody.
    pid = sh.probe_records(1)[0]["pid"]
    evidence.record("spawn_answer", a.result)
    if not psutil.pid_exists(pid):
        return
    assert_not_zombie(pid, f"(the child of the failed spawn, {a.result!r}: nothing reaps it)")
    sh.adopt(pid, "spawned probe-child")
    assert_exits(pid, 10, "(the child of a failed spawn)")


@case("SPAWN-015", "REQ-SPAWN-2", roles=("shell",))
def test_spawn_own_node(shell, impl):
    """The shell spawns the implementation's own node by name; it answers and exits 0 when destroyed."""
    node_name = impl.roles["child"].exe_name if "child" in impl.roles else "node"
    sh = shell(link_node_as=(node_name,))
    obj, pid = sh.spawn(node_name)
    assert_ok(sh.command(f"probe {obj}"))
    a = sh.command(f"destroy {obj}")
    assert_reaped(a.typed_events, obj, pid, 0)


@case("SPAWN-016", "REQ-SPAWN-8", roles=("shell",))
def test_child_environment_and_cwd(shell, evidence):
    """The child starts in the shell's working directory with its environment (recorded, not judged)."""
    sh = shell(env={"IPC_SUITE_MARK": "42"})
    sh.spawn()
    rec = sh.probe_records(1)[0]
    same_cwd = os.path.realpath(rec["cwd"]) == os.path.realpath(sh.datadir)
    evidence.record("child_cwd", rec["cwd"])
    evidence.record("env_passed", rec["env"].get("IPC_SUITE_MARK") == "42")
    evidence.informational(f"cwd inherited: {same_cwd}; environment inherited: "
                           f"{rec['env'].get('IPC_SUITE_MARK') == '42'}")


@case("SPAWN-017", "REQ-SPAWN-4", roles=("shell",))
def test_spawned_children_are_listed(shell):
    """`list` shows each held child with its pid and state live; a destroyed one disappears."""
    sh = shell()
    a_obj, a_pid = sh.spawn()
    b_obj, b_pid = sh.spawn()
    sh.command(f"destroy {a_obj}")
    a = sh.command("list")
    assert_answer(a, "ok list 1")
    assert a.data == [f"held {b_obj} spawned pid={b_pid} state=live"], a.data
