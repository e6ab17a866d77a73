"""FD: which descriptors cross exec. The census is the probe child's record
of /proc/self/fd taken before it does anything; descriptors are matched
across processes by the kernel object (the socket inode), never by number."""
import os
import re
import resource

from ipc_conformance.conformance.case import case
from ipc_conformance.harness.fd_table import fd_table, socket_inode
from ipc_conformance.harness.shell_events import Reaped
from ipc_conformance.harness.unix_sockets import listening_inode, peer_inodes
from ipc_conformance.harness.files import assert_file, stale_socket, write_file
from ipc_conformance.harness.verifiers import (assert_answer, assert_error, assert_exact_fds,
                                               assert_fds_absent, assert_fds_at_most, assert_ok,
                                               assert_parent_end_cloexec, assert_reaped,
                                               assert_running, count_fds)

_SOCKET = re.compile(r"^socket:\[(\d+)\]$")


def _census(rec) -> dict[int, str]:
    """fd number -> target, of what the probe child held at exec."""
    return {int(k): v["target"] for k, v in rec["fds"].items()}


def _child_socket(rec) -> int:
    """The inode of the socket the child was told about in argv."""
    target = rec["fds"].get(rec["argv"][2], {}).get("target", "")
    m = _SOCKET.match(target)
    assert m, f"argv names fd {rec['argv'][2]}, which is {target or 'not open'} in the child"
    return int(m.group(1))


def _assert_exact(rec):
    """Exactly 0, 1, 2 and the socket named in argv; nothing else."""
    assert_exact_fds(rec, {0, 1, 2, int(rec["argv"][2])})


def _shell_end(sh, rec):
    """The shell's descriptor holding the other end of the child's socket."""
    peer = peer_inodes().get(_child_socket(rec))
    assert peer is not None, f"the child's socket has no connected peer: {rec['fds']}"
    ends = [e for e in fd_table(sh.pid).values() if e.inode == peer]
    assert ends, f"the shell (pid {sh.pid}) holds no end of the child's socket"
    return ends[0]


def _spawn_concurrent(sh, count, name="probe-child"):
    """`spawn-concurrent`; [(id, pid)] in the order the lines came."""
    a = sh.command(f"spawn-concurrent {count} {name}", timeout=30)
    assert_answer(a, f"ok spawned-concurrent {count}")
    kids = []
    for line in a.data:
        m = re.fullmatch(r"spawned (\d+) pid=(\d+)", line)
        assert m, f"unexpected line in the answer: {line!r}"
        kids.append((int(m.group(1)), int(m.group(2))))
        sh.adopt(kids[-1][1], f"spawned {name}")
    assert len(kids) == count, a.data
    assert len({k[0] for k in kids}) == count and len({k[1] for k in kids}) == count, kids
    return kids


def _fd_count(pid) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _assert_no_growth(sh, evidence, attempt, times=10):
    """Run ``attempt(i)`` once (lazy set-up is no leak), then ``times`` more:
    the shell's descriptor count must not have grown."""
    attempt(0)
    before = count_fds(sh.pid)
    for i in range(times):
        attempt(i)
    evidence.record("shell_fds", {"before": before, "after": _fd_count(sh.pid)})
    assert_fds_at_most(sh.pid, before, f"the shell's descriptors after {times} more attempts")


@case("FD-001", "REQ-FD-1", roles=("shell",))
def test_child_inherits_exactly_four(shell, evidence):
    """A spawned child holds exactly 0, 1, 2 and its own socket at exec, the peer of the shell's end."""
    sh = shell()
    obj, pid = sh.spawn()
    rec = sh.probe_records(1)[0]
    evidence.record("census", _census(rec))
    _assert_exact(rec)
    _shell_end(sh, rec)


@case("FD-002", "REQ-FD-2", roles=("shell",))
def test_parent_end_is_cloexec(shell, evidence):
    """The shell's end of a spawned child's socketpair is close-on-exec."""
    sh = shell()
    sh.spawn()
    rec = sh.probe_records(1)[0]
    evidence.record("shell_end", _shell_end(sh, rec).brief())
    assert_parent_end_cloexec(sh.pid, rec)


@case("FD-003", "REQ-FD-2", roles=("shell",))
def test_later_child_holds_no_earlier_socket(shell, evidence):
    """A child spawned after another holds neither end of the first child's socketpair."""
    sh = shell()
    first_obj, first_pid = sh.spawn()
    rec1 = sh.probe_records(1)[0]
    first = {_child_socket(rec1), _shell_end(sh, rec1).inode}
    sh.spawn()
    rec2 = [r for r in sh.probe_records(2) if r["pid"] != first_pid][0]
    held = {int(m.group(1)) for t in _census(rec2).values() if (m := _SOCKET.match(t))}
    evidence.record("second_census", _census(rec2))
    assert not held & first, f"the second child holds the first child's socket: {held & first}"
    _assert_exact(rec2)
    a = sh.command(f"destroy {first_obj}")
    assert_reaped(a.typed_events, first_obj, first_pid, 0)


@case("FD-004", "REQ-FD-1", roles=("shell",))
def test_inheritable_bait_not_passed(shell, evidence):
    """Inheritable descriptors the shell got at its own exec (3, 7, 64) never reach its child."""
    bait = (3, 7, 64)
    sh = shell(bait_fds=bait)
    shell_fds = fd_table(sh.pid)
    evidence.record("bait_in_shell", {fd: shell_fds[fd].brief() for fd in bait if fd in shell_fds})
    sh.spawn()
    rec = sh.probe_records(1)[0]
    evidence.record("census", _census(rec))
    assert_fds_absent(rec, bait, target="/dev/null", what="the bait descriptors")
    _assert_exact(rec)


@case("FD-005", "REQ-FD-1", roles=("shell",), conditions=("at-limit",))
def test_bait_below_rlimit_not_passed(shell, evidence):
    """An inheritable descriptor just below the shell's RLIMIT_NOFILE (set to 4096) never reaches its child."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
    high = limit - 1
    sh = shell(bait_fds=(high,), env={"IPC_BAIT_NOFILE": str(limit)})
    with open(f"/proc/{sh.pid}/limits") as f:
        line = next(ln for ln in f if ln.startswith("Max open files"))
    shell_soft = int(line.split()[3])
    evidence.record("rlimit_nofile", {"set": limit, "shell_soft": shell_soft, "bait_fd": high})
    assert high in fd_table(sh.pid), f"the bait fd {high} is not open in the shell"
    sh.spawn()
    rec = sh.probe_records(1)[0]
    assert_fds_absent(rec, [high], what=f"the bait just below RLIMIT_NOFILE {shell_soft}")
    _assert_exact(rec)


@case("FD-006", "REQ-FD-2", roles=("shell",), conditions=("concurrent",))
def test_concurrent_spawns_census(shell, evidence):
    """Six children spawned at the same moment from six threads each hold exactly 0, 1, 2 and their own socket."""
    sh = shell()
    kids = _spawn_concurrent(sh, 6)
    recs = sh.probe_records(6)
    assert {r["pid"] for r in recs} == {pid for _, pid in kids}
    own = {r["pid"]: _child_socket(r) for r in recs}
    assert len(set(own.values())) == 6, f"two children share a socket: {own}"
    evidence.record("censuses", {r["pid"]: _census(r) for r in recs})
    for rec in recs:
        _assert_exact(rec)


@case("FD-007", "REQ-FD-2", roles=("shell",), conditions=("concurrent",))
def test_concurrent_spawns_exit_on_own_destroy(shell):
    """Of children spawned at the same moment, each exits 0 as soon as its own Init is destroyed, the others living on."""
    sh = shell()
    kids = _spawn_concurrent(sh, 4)
    for i, (obj, pid) in enumerate(kids):
        a = sh.command(f"destroy {obj}", timeout=15)
        assert_ok(a)
        assert_reaped(a.typed_events, obj, pid, 0)
        assert_running([p for _, p in kids[i + 1:]], f"the siblings of child {obj} after its destroy")


@case("FD-008", "REQ-FD-3", roles=("shell",))
def test_listening_socket_not_passed(shell, short_tmp, evidence):
    """A socket the shell listens on never reaches a child it spawns afterwards."""
    sh = shell()
    a = sh.command(f"listen unix:{short_tmp}/l.sock")
    assert_ok(a)
    path = a.words[2].partition(":")[2]
    inode = listening_inode(path)
    listener_fd = [e for e in fd_table(sh.pid).values() if e.inode == inode]
    assert listener_fd, f"the shell holds no descriptor of its listener {path}"
    evidence.record("listener_fd", listener_fd[0].brief())
    sh.spawn()
    rec = sh.probe_records(1)[0]
    assert f"socket:[{inode}]" not in _census(rec).values(), \
        f"the listening socket reached the child: {_census(rec)}"
    _assert_exact(rec)


@case("FD-009", "REQ-FD-4", roles=("child",))
def test_child_marks_its_socket_cloexec(child, evidence):
    """A running child has marked its inherited socket close-on-exec."""
    c = child()
    c.ping()
    theirs = peer_inodes().get(socket_inode(c.sock))
    assert theirs is not None, "the suite's socket has no peer"
    ends = [e for e in c.fd_table().values() if e.inode == theirs]
    assert ends, f"the child holds no end of its socket: {c.fd_table()}"
    evidence.record("child_socket", [e.brief() for e in ends])
    assert all(e.cloexec for e in ends), f"inheritable in the child: {[e.brief() for e in ends]}"


@case("FD-010", "REQ-FD-5", roles=("shell",), conditions=("repeated",))
def test_failed_connects_leak_nothing(shell, short_tmp, evidence):
    """Ten failing connects (missing path, refused) leave the shell's descriptor count where it was."""
    sh = shell()
    stale = os.path.join(short_tmp, "stale.sock")
    stale_socket(stale)                        # a socket file nobody listens on: ECONNREFUSED
    targets = [f"unix:{short_tmp}/nonexistent.sock", f"unix:{stale}"]

    def attempt(i):
        assert_error(sh.command(f"connect {targets[i % 2]}"), "error system E")
    attempt(1)                                 # the other kind once too, before counting
    _assert_no_growth(sh, evidence, attempt)


@case("FD-011", "REQ-FD-5", roles=("shell",), conditions=("repeated",))
def test_failed_spawns_leak_nothing(shell, procs, evidence):
    """Ten failing spawns of a missing executable leave the shell's descriptor count where it was."""
    sh = shell()

    def fail_once(_):
        a = sh.command("spawn no-such")
        if a.ok:                               # exec failure reported as status 127 instead
            obj = a.words[2]
            d = sh.command(f"destroy {obj}")
            assert any(isinstance(e, Reaped) and e.status == 127 for e in d.typed_events), d.events
    _assert_no_growth(sh, evidence, fail_once)
    assert not procs.leftovers()


@case("FD-012", "REQ-FD-5", roles=("shell", "listener"), conditions=("repeated",))
def test_repeated_connections_do_not_grow(shell, listener, evidence):
    """Ten connect/probe/destroy cycles to a listener leave the shell's descriptor count where it was."""
    ln = listener()
    sh = shell()

    def cycle(_):
        obj = sh.connect(ln.address)
        assert_ok(sh.command(f"probe {obj}"))
        d = sh.command(f"destroy {obj}")
        assert_ok(d)
    _assert_no_growth(sh, evidence, cycle)


@case("FD-013", "REQ-FD-5", roles=("shell",), conditions=("repeated",))
def test_failed_binds_leak_nothing(shell, short_tmp, evidence):
    """Ten failing listens (the path is taken by a regular file) leave the shell's descriptor count where it was."""
    sh = shell()
    taken = os.path.join(short_tmp, "taken")
    write_file(taken, "not a socket\n")

    def attempt(_):
        assert_error(sh.command(f"listen unix:{taken}"))
    _assert_no_growth(sh, evidence, attempt)
    assert_file(taken, "regular", what="the file at the bind path")


# ---------------------------------------------------------------- the fault model (030-049)

from ipc_conformance.harness.exhaustion import exhausted, fd_count  # noqa: E402


def _exhausted_attempts(sh, evidence, line, undo, spares=(0, 1, 2, 3)):
    """``line`` sent with the shell able to make only ``spare`` more
    descriptors, for each spare: with none it must be an error answer;
    whatever the answer, the descriptor count comes back (``undo(answer)``
    destroys what a success made, once the limit is raised again)."""
    base = count_fds(sh.pid)
    outcomes = []
    for spare in spares:
        with exhausted(sh.pid, spare):
            a = sh.command(line, timeout=20)
        outcomes.append((spare, a.result))
        if spare == 0:
            assert_error(a, "error ", f"{line!r} with no descriptor left")
        if a.ok:
            undo(a)
        assert_fds_at_most(sh.pid, base, f"the shell's descriptors after {line!r} with {spare} "
                           f"spare descriptor(s) ({a.result!r})")
    evidence.record("exhausted_answers", outcomes)
    assert sh.alive(), "the shell died"


def _spawns_exhausted(sh, procs, evidence, *, spares, rounds):
    """FD-030 and FD-050: spawns with ``spares`` descriptors left answer an
    error and leak nothing (``rounds`` times); with the limit raised again a
    spawn works, answers and is reaped, and nothing is left over."""
    obj, pid = sh.spawn()                     # lazy set-up is no leak
    assert_ok(sh.command(f"destroy {obj}"))

    def undo(a):
        kid, kid_pid = a.words[2], int(a.words[3].partition("=")[2])
        sh.adopt(kid_pid, "spawned under a low limit")
        assert_ok(sh.command(f"destroy {kid}", timeout=20))
    for _ in range(rounds):
        _exhausted_attempts(sh, evidence, "spawn probe-child", undo, spares=spares)
    obj, pid = sh.spawn()
    assert_ok(sh.command(f"probe {obj}"))
    d = sh.command(f"destroy {obj}")
    assert_reaped(d.typed_events, obj, pid, 0)
    assert not procs.leftovers()


@case("FD-030", "REQ-FD-5", roles=("shell",), conditions=("exhausted",))
def test_spawn_with_descriptors_exhausted(shell, procs, evidence):
    """A spawn with the shell's descriptors exhausted (0 or 1 spare: no socketpair) answers an error and leaks nothing; raised again, spawning works."""
    # Spares 0 and 1: the socketpair itself cannot be made. With more, the
    # fork happens and the child inherits the low limit, so it dies before it
    # answers: that is SPAWN-014's condition, not this one.
    _spawns_exhausted(shell(), procs, evidence, spares=(0, 1), rounds=1)


@case("FD-031", "REQ-FD-5", roles=("shell", "listener"), conditions=("exhausted",))
def test_connect_with_descriptors_exhausted(shell, listener, evidence):
    """A connect with the shell's descriptors exhausted (0 to 3 spare) answers an error and leaks nothing; raised again, connecting works."""
    ln = listener()
    sh = shell()
    obj = sh.connect(ln.address)
    assert_ok(sh.command(f"destroy {obj}"))

    def undo(a):
        assert_ok(sh.command(f"destroy {a.words[2]}"))
    _exhausted_attempts(sh, evidence, f"connect {ln.address}", undo)
    obj = sh.connect(ln.address)
    assert_ok(sh.command(f"probe {obj}"))
    assert_ok(sh.command(f"destroy {obj}"))


@case("FD-032", "REQ-FD-5", roles=("shell", "listener"), conditions=("repeated",))
def test_hundred_fifty_connections_stable(shell, listener, evidence):
    """150 connect/destroy cycles: the shell's and the listener's descriptor counts come back, and every id is new (never reused)."""
    ln = listener()
    sh = shell()
    first = sh.connect(ln.address)
    assert_ok(sh.command(f"destroy {first}"))
    shell_base, node_base = fd_count(sh.pid), ln.num_fds()
    ids = []
    for _ in range(150):
        obj = sh.connect(ln.address)
        ids.append(obj)
        d = sh.command(f"destroy {obj}")
        assert_ok(d)
    assert ids == list(range(first + 1, first + 151)), \
        f"ids not given in order once each: {ids[:10]} ... {ids[-5:]}"
    shell_after = fd_count(sh.pid)
    sentinel = ln.connect()
    from ipc_conformance.harness.exhaustion import settle_fds
    node_after = settle_fds(ln.pid, node_base + 1, lambda: sentinel.ping())
    evidence.record("fds", {"shell": [shell_base, shell_after], "listener": [node_base, node_after]})
    assert shell_after <= shell_base, f"the shell's descriptors grew from {shell_base} to {shell_after}"


@case("FD-050", "REQ-FD-5", roles=("shell",), conditions=("exhausted",))
def test_spawn_failing_after_socketpair_leaks_nothing(shell, procs, evidence):
    """A spawn that gets its socketpair but then runs out of descriptors (2 or 3 spare: no room left to fork and exec) answers an error and leaves the shell's descriptor count where it was."""
    # Two spare make the socketpair; what the spawn needs next (an exec
    # status pipe, a pidfd, a fork) then fails for want of descriptors, on
    # the error path that must close the parent's end it already holds.
    _spawns_exhausted(shell(), procs, evidence, spares=(2, 3), rounds=3)
