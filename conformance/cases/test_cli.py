"""CLI: the two programs of docs/programs.md as a user (or a parent) meets
them: the node's command line (spawned or not, -ipcbind, -ipcconnect) and
the shell's line protocol, driven through a pty with pexpect."""
import os
import re
import signal

from ipc_conformance.conformance.case import case
from ipc_conformance.harness.files import write_file
from ipc_conformance.harness.verifiers import (assert_answer, assert_contains, assert_equal,
                                               assert_exit_status, assert_exits, assert_ids_grow,
                                               assert_not_equal, assert_not_zombie, assert_ok,
                                               assert_reaped, assert_stderr_contains)

BAD_IPCFD = ("abc", "1.5", "", "99999999999", "0x10", " 3")


def _node_prefix(impl) -> list[str]:
    """The argv that starts the node, without its arguments: the child
    template up to its `-ipcfd` (docs/programs.md: `NODE -ipcfd N`)."""
    argv = impl.argv("child", fd="FD")
    assert "-ipcfd" in argv, f"the child argv template {argv} has no -ipcfd: not a node of docs/programs.md"
    return argv[:argv.index("-ipcfd")]


def _run_nodes(procs, argvs, *, cwd=None, pass_fds=(), timeout=10):
    """Run the node once per argv, all at once, each to its end; a list of
    (exit status, stdout lines, non-blank stderr lines) in argv order."""
    started = [procs.start(argv, pass_fds=pass_fds, env=dict(os.environ), cwd=cwd, label="node")
               for argv in argvs]
    results = []
    for t in started:
        status = t.wait_exit(timeout)
        t.stdout.join(5)
        t.stderr.join(5)
        results.append((status, t.lines(), [line for line in t.stderr.lines if line.strip()], t))
    return results


# -- the node: spawned or not ---------------------------------------------

@case("CLI-001", "REQ-CHILD-3", roles=("child",), needs=("ipcfd-argv",))
def test_invalid_ipcfd_numbers(impl, procs, evidence):
    """`-ipcfd` values abc, 1.5, empty, 99999999999, 0x10 and ' 3' each give `Invalid -ipcfd number '<text>'` on stderr and a non-zero exit."""
    runs = _run_nodes(procs, [impl.argv("child", fd=text) for text in BAD_IPCFD])
    for text, (status, out, err, node) in zip(BAD_IPCFD, runs):
        evidence.append("runs", {"ipcfd": text, "status": status, "stdout": out, "stderr": err})
        assert_exit_status(node, nonzero=True, what=f"-ipcfd {text!r}")
        assert_stderr_contains(node, f"Invalid -ipcfd number '{text}'", f"-ipcfd {text!r}")


# The edges of a 32-bit integer: the two just inside parse (the descriptor
# then does not exist, which is REQ-CHILD-5's business), the two just outside
# do not. An off-by-one in the range check shows only here.
IPCFD_INT32_EDGES = (("-2147483648", True), ("2147483647", True),
                     ("2147483648", False), ("-2147483649", False))


@case("CLI-017", "REQ-CHILD-3", roles=("child",), needs=("ipcfd-argv",), conditions=("at-limit",))
def test_ipcfd_at_the_32_bit_bounds(impl, procs, evidence):
    """`-ipcfd` -2147483648 and 2147483647 are 32-bit integers (a non-zero exit, but not `Invalid -ipcfd number`); 2147483648 and -2147483649 are not (`Invalid -ipcfd number '<text>'`)."""
    runs = _run_nodes(procs, [impl.argv("child", fd=text) for text, _ in IPCFD_INT32_EDGES])
    for (text, in_range), run in zip(IPCFD_INT32_EDGES, runs):
        status, out, err = run[:3]
        evidence.append("runs", {"ipcfd": text, "in_range": in_range, "status": status,
                                 "stdout": out, "stderr": err})
        assert_not_equal(status, 0, f"the exit status with -ipcfd {text}")
        invalid = f"Invalid -ipcfd number '{text}'"
        if in_range:
            assert not any("Invalid -ipcfd number" in line for line in err), \
                f"-ipcfd {text} is a 32-bit integer, yet it was rejected as none: {err}"
        else:
            assert any(invalid in line for line in err), f"-ipcfd {text}: no {invalid!r} on stderr: {err}"


@case("CLI-019", "REQ-CHILD-1", roles=("child",), needs=("ipcfd-argv",))
def test_spawned_child_ends_when_served(child, evidence):
    """A spawned child whose parent closed its end ends there (exit 0): it never goes on as a normal run of the node, so it does not write `nothing to do`."""
    c = child()
    c.ping()
    c.close()
    status = c.wait_exit(timeout=10)
    lines = c.stdout_lines(settle=5)
    evidence.record("child_stdout", lines)
    assert_equal(status, 0, "the child's exit status")
    assert "nothing to do" not in lines, \
        f"after serving its parent the child went on as a normal run: its stdout {lines}"


@case("CLI-002", "REQ-CHILD-5", roles=("child",), needs=("ipcfd-argv",))
def test_ipcfd_not_a_socket(impl, procs, evidence):
    """`-ipcfd` naming a closed descriptor, or an open one that is no socket (stdin, a file), is a one-line error and a non-zero exit, no hang."""
    with open(os.devnull, "rb") as f:
        fd = f.fileno()
        os.set_inheritable(fd, True)
        texts = ("57", "0", str(fd))            # closed; stdin (/dev/null); a file
        runs = _run_nodes(procs, [impl.argv("child", fd=text) for text in texts], pass_fds=(fd,))
        for text, (status, out, err, _) in zip(texts, runs):
            evidence.append("runs", {"ipcfd": text, "status": status, "stdout": out, "stderr": err})
            assert_not_equal(status, 0, f"the exit status with -ipcfd {text}")
            assert len(err) == 1, f"-ipcfd {text}: expected one error line on stderr, got {err}"


@case("CLI-003", "REQ-CHILD-2", roles=("child",), needs=("ipcfd-argv",))
def test_argv_that_is_not_spawned(impl, procs, short_tmp, evidence):
    """`NODE -ipcfd`, `NODE -ipcfd 3 extra` and `NODE 3 -ipcfd` are normal runs: `nothing to do`, exit 0."""
    prefix = _node_prefix(impl)
    argss = (["-ipcfd"], ["-ipcfd", "3", "extra"], ["3", "-ipcfd"])
    runs = _run_nodes(procs, [prefix + args for args in argss], cwd=short_tmp)
    for args, (status, out, err, _) in zip(argss, runs):
        evidence.append("runs", {"args": args, "status": status, "stdout": out, "stderr": err})
        assert status == 0, f"{args}: exit status {status}, stderr {err}"
        assert not any("Invalid -ipcfd" in line for line in err), f"{args} taken as spawned: {err}"
        if "nothing to do" not in out:
            evidence.non_strict(f"{args}: no 'nothing to do' line: {out}")


@case("CLI-004", "REQ-CLI-5", roles=("child",), needs=("ipcfd-argv",))
def test_node_with_nothing_to_do(impl, procs, short_tmp, evidence):
    """The node without -ipcfd, -ipcbind or -ipcconnect writes `nothing to do` and exits 0."""
    [(status, out, err, _)] = _run_nodes(procs, [_node_prefix(impl) + [f"-datadir={short_tmp}"]],
                                      cwd=short_tmp)
    evidence.record("run", {"status": status, "stdout": out, "stderr": err})
    assert status == 0, f"exit status {status}, stderr {err}"
    assert out == ["nothing to do"], out


@case("CLI-005", "REQ-CLI-4", roles=("listener",))
def test_listening_line_names_full_path(listener, short_tmp, evidence):
    """A relative -ipcbind path is announced as `listening on unix:<datadir>/<path>`, and that socket accepts."""
    node = listener(address="unix:rel.sock")
    full = os.path.join(short_tmp, "rel.sock")
    lines = node.stdout_lines()
    evidence.record("stdout", lines)
    assert f"listening on unix:{full}" in lines, lines
    node.raw_connect().close()


@case("CLI-006", "REQ-CLI-4", roles=("listener",))
def test_bind_error(listener, short_tmp, evidence):
    """A bind under a regular file gives `Error: <message>` on stderr and exit 1, and no `listening on` line."""
    blocker = os.path.join(short_tmp, "plain-file")
    write_file(blocker, "not a directory\n")
    node = listener(address=f"unix:{blocker}/s.sock", wait_ready=False)
    status = node.wait_exit(10)
    err = [l for l in node.stderr_lines(settle=5) if l.strip()]
    evidence.record("run", {"status": status, "stdout": node.stdout_lines(), "stderr": err})
    assert_not_equal(status, 0, "the exit status of a bind under a regular file")
    assert err, "nothing on stderr"
    assert not any(l.startswith("listening on") for l in node.stdout_lines())
    if status != 1 or not err[0].startswith("Error: "):
        evidence.non_strict(f"exit {status}, stderr {err[0]!r}: docs/programs.md says `Error: ...`, exit 1")


def _connector(impl, procs, short_tmp, address):
    argv = _node_prefix(impl) + [f"-datadir={short_tmp}", f"-ipcconnect={address}"]
    return procs.start(argv, env=dict(os.environ), cwd=short_tmp, label="connector")


@case("CLI-007", "REQ-CLI-4", roles=("listener", "child"), needs=("libmultiprocess", "ipcfd-argv"))
def test_ipcconnect_to_listener(impl, listener, procs, short_tmp, evidence):
    """`-ipcconnect=ADDRESS` to a listening node writes `connected to ADDRESS`, stays up, and SIGTERM ends it with 0."""
    node = listener()
    t = _connector(impl, procs, short_tmp, node.address)
    t.wait_line(rf"^connected to {re.escape(node.address)}$", 10)
    if "accepted" in impl.events:
        node.wait_line(impl.events["accepted"], 10)
    assert t.poll_exit() is None, f"the connector exited with {t.poll_exit()}"
    t.signal(signal.SIGTERM)
    assert_equal(t.wait_exit(10), 0, "the program's exit status")
    assert_contains(node.connect().probe(), "probe", "the listener stopped serving")


@case("CLI-008", "REQ-CLI-4", roles=("child",), needs=("ipcfd-argv",))
def test_ipcconnect_zero(impl, procs, short_tmp, evidence):
    """`-ipcconnect=0` and `-ipcconnect=` write `not connected`, stay up, and SIGTERM ends them with 0."""
    for address in ("0", ""):
        t = _connector(impl, procs, short_tmp, address)
        t.wait_line(r"^not connected$", 10)
        assert t.poll_exit() is None, f"-ipcconnect={address}: exited with {t.poll_exit()}"
        t.signal(signal.SIGTERM)
        assert_equal(t.wait_exit(10), 0, "the program's exit status")


# -- the shell ------------------------------------------------------------

def _all_answer(sh, lines, prefix):
    """Each command line is answered with a result line starting ``prefix``."""
    for line in lines:
        a = sh.command(line)
        assert a.result.startswith(prefix), f"{line!r}: {a.result}"


@case("CLI-009", "REQ-CLI-1", roles=("shell",))
def test_prompt_and_pid(shell):
    """The shell flushes its `ipc> ` prompt unbuffered (no PYTHONUNBUFFERED) and `pid` answers `ok pid <its pid>`."""
    sh = shell()                  # the first prompt was already awaited
    a = sh.command("pid")
    assert_answer(a, f"ok pid {sh.pid}")
    assert not a.data, a.data


@case("CLI-010", "REQ-CLI-2", roles=("shell",))
def test_unknown_command(shell):
    """Unknown commands answer `error usage`, and the shell goes on answering."""
    sh = shell()
    _all_answer(sh, ("frobnicate", "frobnicate 1 2", "spawnx probe-child", "PID"), "error usage")
    assert_ok(sh.command("pid"))


@case("CLI-011", "REQ-CLI-2", roles=("shell",))
def test_wrong_arguments(shell):
    """Commands with missing or extra arguments answer `error usage`; the held child still answers."""
    sh = shell()
    obj, pid = sh.spawn()
    _all_answer(sh, ("spawn", "spawn a b", "probe", f"probe {obj} {obj}", "destroy",
                     f"destroy {obj} {obj}", f"cleanup {obj}", f"cleanup {obj} a b", "echo"),
                "error usage")
    assert_ok(sh.command(f"probe {obj}"))
    assert_ok(sh.command("pid"))


@case("CLI-012", "REQ-CLI-2", roles=("shell",))
def test_unknown_id(shell):
    """A command naming an id never held, or already destroyed, answers `error not-found`."""
    sh = shell()
    obj, _ = sh.spawn()
    assert_ok(sh.command(f"destroy {obj}"))
    _all_answer(sh, ("probe 99", "destroy 99", "echo 99 hi", "cleanup 99 tag",
                     f"probe {obj}", f"destroy {obj}", f"cleanup {obj} tag"), "error not-found")
    assert_ok(sh.command("pid"))


@case("CLI-013", "REQ-CLI-1", roles=("shell",))
def test_list_format(shell):
    """`list`: nothing held is `ok list 0`; then one `held <id> spawned pid=<pid> state=<live|disconnected>` line per child."""
    sh = shell()
    a = sh.command("list")
    assert a.result == "ok list 0" and not a.data, (a.result, a.data)
    kids = [sh.spawn() for _ in range(2)]
    a = sh.command("list")
    assert_answer(a, "ok list 2")
    assert a.data == [f"held {o} spawned pid={p} state=live" for o, p in kids], a.data
    os.kill(kids[0][1], signal.SIGKILL)
    sh.expect_disconnected(kids[0][0], 10)
    a = sh.command("list")
    assert a.data == [f"held {kids[0][0]} spawned pid={kids[0][1]} state=disconnected",
                      f"held {kids[1][0]} spawned pid={kids[1][1]} state=live"], a.data


@case("CLI-014", "REQ-CLI-1", roles=("shell",))
def test_ids_never_reused(shell):
    """Object ids grow with each spawn; the id of a destroyed object is not given again."""
    sh = shell()
    a, b = sh.command("spawn probe-child"), sh.command("spawn probe-child")
    assert_ok(sh.command(f"destroy {b.words[2]}"))      # the newest id is free again...
    c = sh.command("spawn probe-child")                 # ...and must not come back
    for answer in (a, b, c):
        assert_ok(answer, "spawn probe-child")
        sh.adopt(int(answer.words[3].partition("=")[2]), "spawned probe-child")
    assert_ids_grow([a, b, c])


@case("CLI-015", "REQ-CLI-3", roles=("shell",))
def test_eof_is_quit(shell, evidence):
    """End of input on stdin with two children held: both reaped with status 0, then the shell exits 0."""
    sh = shell()
    kids = [sh.spawn() for _ in range(2)]
    sh.send_eof()
    status = sh.wait_end(10, after="end of input")
    evidence.record("shell_status", status)
    for obj, pid in kids:
        assert_reaped(sh.transcript_events(), obj, pid, 0)
        assert_exits(pid, 10, f"(child {obj})")
        assert_not_zombie(pid, f"(child {obj})")
    assert_equal(status, 0, "the shell's exit status at end of input")


def _one_concurrent_child_reaped(sh, answer, name, status):
    """``answer`` to `spawn-concurrent 1 NAME` is `ok spawned-concurrent 1`
    with exactly one `spawned ID pid=PID` line; destroying that child reaps
    it with ``status``."""
    assert_answer(answer, "ok spawned-concurrent 1", f"spawn-concurrent 1 {name}")
    assert_equal(len(answer.data), 1, f"`spawned` lines of spawn-concurrent 1 {name}")
    m = re.fullmatch(r"spawned (\d+) pid=(\d+)", answer.data[0])
    assert m, f"unexpected line in the answer: {answer.data[0]!r}"
    obj, pid = int(m.group(1)), int(m.group(2))
    sh.adopt(pid, f"spawned {name}")
    d = sh.command(f"destroy {obj}", timeout=15)
    assert_ok(d, f"destroy {obj}")
    assert_reaped(d.typed_events, obj, pid, status)


@case("CLI-018", "REQ-CLI-1", roles=("shell",), conditions=("at-limit",))
def test_spawn_concurrent_count_bounds(shell):
    """`spawn-concurrent 1 NAME`, the smallest count, spawns one child (one `spawned` line, `ok spawned-concurrent 1`, and destroying it reaps it); a count of 0 is `error usage`."""
    sh = shell()
    a = sh.command("spawn-concurrent 0 probe-child", timeout=30)
    assert a.result.startswith("error usage"), f"spawn-concurrent 0: {a.result!r}"
    assert not a.data, f"spawn-concurrent 0 spawned: {a.data}"
    _one_concurrent_child_reaped(sh, sh.command("spawn-concurrent 1 probe-child", timeout=30),
                                 "probe-child", 0)


@case("CLI-020", "REQ-CLI-2", roles=("shell",))
def test_spawn_concurrent_one_missing_program(shell, procs):
    """`spawn-concurrent 1 NAME` of a program that does not exist leaves the shell answering: an `error` answer that spawns nothing, or (REQ-SPAWN-5's other form) one child that is reaped with status 127 when destroyed."""
    sh = shell()
    a = sh.command("spawn-concurrent 1 no-such-program", timeout=30)
    if a.ok:
        _one_concurrent_child_reaped(sh, a, "no-such-program", 127)
    else:
        assert a.result.startswith("error"), f"spawn-concurrent 1 no-such-program: {a.result!r}"
        assert not a.data, f"a failed spawn-concurrent reported children: {a.data}"
    a = sh.command("list")
    assert_answer(a, "ok list 0", f"after the spawn-concurrent of a missing program: {a.result!r} {a.data}")
    assert not procs.leftovers()


@case("CLI-016", "REQ-CLI-1", roles=("shell",), needs=("echo",))
def test_echo_text_verbatim(shell, evidence):
    """`echo ID TEXT` returns TEXT verbatim: empty, with inner and trailing spaces, and non-ASCII."""
    sh = shell()
    obj, _ = sh.spawn()
    a = sh.command(f"echo {obj}")
    if a.result == "ok echo":
        evidence.non_strict("empty echo answered `ok echo` without the separating space")
    else:
        assert_answer(a, "ok echo ")
    for text in ("a  b   c", "  leading and trailing  ", "caf\u00e9 \u2014 \u65e5\u672c \u2713"):
        a = sh.command(f"echo {obj} {text}")
        assert_answer(a, f"ok echo {text}", f"sent {text!r}, got {a.result!r}")
