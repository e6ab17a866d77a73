"""Named checks the cases repeat, in the manner of psutil's test helpers
(``assert_pid_gone``): each raises AssertionError saying what was expected
and what was seen, so a case reads as its requirement.

Each also records itself in the case's trace (harness.trace) with what it
looked at and what it expected, so a standalone reproducer makes the same
check (conformance.repro)."""
import psutil

from . import trace
from .shell_events import CleanupRan, Reaped
from .waits import wait_pid_exit


def _fail(name, message, **args):
    trace.check(name, False, seen=message, **args)
    raise AssertionError(message)


def _pass(name, **args):
    trace.check(name, True, seen=None, **args)


def zombie(pid: int) -> bool:
    """``pid`` exists as a zombie: exited, and nobody reaped it."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def assert_not_zombie(pid: int, what: str = ""):
    """``pid`` is not a zombie now: gone (reaped) or still running."""
    args = dict(pid=trace.pid(pid), what=what, expected="reaped or running")
    if zombie(pid):
        _fail("not_zombie", f"pid {pid}{' ' + what if what else ''}: expected reaped or "
              "running, seen a zombie (exited, never reaped)", **args)
    _pass("not_zombie", **args)


def assert_no_zombies(pids, what: str = ""):
    """None of ``pids`` is a zombie."""
    found = [pid for pid in pids if zombie(pid)]
    args = dict(pids=[trace.pid(p) for p in pids], what=what, expected="no zombies")
    if found:
        _fail("no_zombies", f"expected no zombies{' ' + what if what else ''}, seen zombies "
              f"{found} of {list(pids)}", **args)
    _pass("no_zombies", **args)


def assert_gone(pid: int, timeout: float = 10, what: str = ""):
    """``pid`` exits within ``timeout`` (pidfd) and is not left a zombie:
    its parent reaped it."""
    label = f"pid {pid}{' ' + what if what else ''}"
    args = dict(pid=trace.pid(pid), timeout=timeout, what=what, expected="exited and reaped")
    if not wait_pid_exit(pid, timeout):
        _fail("gone", f"{label}: expected it to exit within {timeout}s, seen it still "
              "running", **args)
    if zombie(pid):
        _fail("gone", f"{label}: expected it exited and reaped, seen a zombie "
              "(nobody reaped it)", **args)
    _pass("gone", **args)


def assert_exits(pid: int, timeout: float = 10, what: str = ""):
    """``pid`` exits within ``timeout`` (it may be left for its parent to reap)."""
    args = dict(pid=trace.pid(pid), timeout=timeout, what=what, expected="exited")
    if not wait_pid_exit(pid, timeout):
        _fail("exits", f"pid {pid}{' ' + what if what else ''}: expected it to exit "
              f"within {timeout}s, seen it still running", **args)
    _pass("exits", **args)


def assert_reaped(events, obj, pid, status: int = 0):
    """The shell reported ``event reaped <obj> pid=<pid> status=<status>``
    among ``events`` (typed events, harness.shell_events)."""
    wanted = Reaped(int(obj), int(pid), int(status))
    args = dict(events=trace.source_of(events), obj=int(obj), pid=trace.pid(pid),
                status=int(status), expected=str(wanted))
    if wanted not in events:
        of_obj = [e for e in events if isinstance(e, Reaped) and e.id == int(obj)]
        _fail("reaped", f"expected {str(wanted)!r}; seen "
              + (f"{of_obj} for object {obj}" if of_obj
                 else f"no reaping of object {obj} in {list(events)}"), **args)
    _pass("reaped", **args)


def assert_exact_fds(record: dict, expected) -> None:
    """A probe child's record (harness/probe_child.py) lists exactly the
    descriptors ``expected`` at exec: none more, none fewer."""
    held = {int(k): v["target"] for k, v in record["fds"].items()}
    expected = set(expected)
    extra = {fd: t for fd, t in held.items() if fd not in expected}
    missing = sorted(expected - set(held))
    args = dict(record=trace.pid(record["pid"]), fds=sorted(expected),
                expected=f"exactly descriptors {sorted(expected)}")
    if extra:
        _fail("exact_fds", f"child pid {record['pid']}: expected exactly descriptors "
              f"{sorted(expected)}, seen more: {extra}", **args)
    if missing:
        _fail("exact_fds", f"child pid {record['pid']}: expected exactly descriptors "
              f"{sorted(expected)}, seen {missing} missing: {held}", **args)
    _pass("exact_fds", **args)


# -- checks on what a traced step answered ------------------------------------
# A bare ``assert a.ok`` cannot be replayed by a reproducer: it does not say
# which step it looked at. These say so: an Answer names its command's step,
# events lists their source (harness.trace.Sourced), and any other value is
# found as the result of the latest step that gave it.

def _answer_of(answer) -> str | None:
    return getattr(answer, "name", None)


def _step_of(value) -> str | None:
    """The step that gave ``value``, or gave a list holding it (``#N[k]``)."""
    return trace.step_giving(value) or trace.step_giving_item(value)


def assert_ok(answer, what: str = ""):
    """The shell answered ``ok ...``."""
    args = dict(answer=_answer_of(answer), what=what, expected="an ok answer")
    if not answer.ok:
        _fail("answer_ok", f"{what + ': ' if what else ''}expected an ok answer, seen "
              f"{answer.result!r}", **args)
    _pass("answer_ok", **args)


def assert_error(answer, prefix: str = "error", what: str = ""):
    """The shell answered an error (its result line starts with ``prefix``)."""
    args = dict(answer=_answer_of(answer), prefix=prefix, what=what,
                expected=f"an answer starting {prefix!r}")
    if answer.ok or not answer.result.startswith(prefix):
        _fail("answer_prefix", f"{what + ': ' if what else ''}expected an answer starting "
              f"{prefix!r}, seen {answer.result!r}", **args)
    _pass("answer_prefix", **args)


def assert_answer(answer, expected: str, what: str = ""):
    """The shell's result line is exactly ``expected``."""
    args = dict(answer=_answer_of(answer), what=what, expected=expected)
    if answer.result != expected:
        _fail("answer", f"{what + ': ' if what else ''}expected {expected!r}, seen "
              f"{answer.result!r}", **args)
    _pass("answer", **args)


def assert_cleanups(events, tags, what: str = ""):
    """The cleanups that ran among ``events`` are ``tags``, in that order."""
    ran = [e.tag for e in events if isinstance(e, CleanupRan)]
    args = dict(events=trace.source_of(events), tags=list(tags), what=what,
                expected=f"cleanups {list(tags)} in that order")
    if ran != list(tags):
        _fail("cleanups", f"{what + ': ' if what else ''}expected cleanups {list(tags)} to "
              f"run, in that order, seen {ran}", **args)
    _pass("cleanups", **args)


def assert_events(events, expected, what: str = ""):
    """``events`` are exactly ``expected`` (typed events), in that order."""
    want = [str(e) for e in expected]
    args = dict(events=trace.source_of(events), lines=want, what=what,
                expected=f"exactly {want}")
    if [str(e) for e in events] != want:
        _fail("events", f"{what + ': ' if what else ''}expected exactly the events {want}, "
              f"seen {[str(e) for e in events]}", **args)
    _pass("events", **args)


def assert_equal(seen, expected, what: str):
    """``seen`` (what a traced step gave, or an item of it) equals ``expected``."""
    args = dict(of=_step_of(seen), what=what, expected=expected)
    if seen != expected:
        _fail("equal", f"{what}: expected {expected!r}, seen {seen!r}", **args)
    _pass("equal", **args)


def assert_contains(seen, part: str, what: str):
    """``part`` is in ``seen`` (a text a traced step gave, or an item of it: a probe's answer)."""
    args = dict(of=_step_of(seen), what=what, part=part,
                expected=f"a text containing {part!r}")
    if seen is None or part not in seen:
        _fail("contains", f"{what}: expected a text containing {part!r}, seen {seen!r}", **args)
    _pass("contains", **args)


def assert_cleanup_count(events, tag: str, count: int, what: str = ""):
    """Cleanup ``tag`` is reported run exactly ``count`` times among ``events``."""
    ran = events.count(CleanupRan(tag))
    args = dict(events=trace.source_of(events), tag=tag, count=count, what=what,
                expected=f"cleanup {tag} run {count} time(s)")
    if ran != count:
        _fail("cleanup_count", f"{what + ': ' if what else ''}expected cleanup {tag} run "
              f"{count} time(s), seen {ran}: {[str(e) for e in events]}", **args)
    _pass("cleanup_count", **args)


def assert_ids_grow(answers, what: str = "object ids in order of spawn"):
    """The object ids the answers gave (``ok spawned <id> ...``) are positive
    and strictly growing: none given twice."""
    ids = [int(a.words[2]) for a in answers]
    args = dict(answers=[_answer_of(a) for a in answers], what=what,
                expected="positive ids, each greater than the last")
    if not (all(x > 0 for x in ids) and ids == sorted(set(ids))):
        _fail("ids_grow", f"{what}: expected positive ids, each greater than the last, "
              f"seen {ids}", **args)
    _pass("ids_grow", **args)


def assert_backlog(path: str, count: int, why: str = ""):
    """``count`` clients wait in the accept queue of the listener at ``path``
    (the kernel's count, through ``ss``)."""
    from .unix_sockets import backlog
    seen = backlog(path)
    args = dict(path=path, count=count, what=why, expected=f"{count} client(s) in the accept queue")
    if seen != count:
        _fail("backlog", f"{seen} client(s) in the accept queue of {path}, expected {count}"
              + (f": {why}" if why else ""), **args)
    _pass("backlog", **args)


def count_fds(pid: int) -> int:
    """How many descriptors ``pid`` holds now (/proc/PID/fd), traced."""
    import os
    return trace.call("fds.count", lambda: len(os.listdir(f"/proc/{pid}/fd")),
                      pid=trace.pid(pid))


def assert_fds_at_most(pid: int, before: int, what: str):
    """``pid`` holds no more descriptors than ``before`` (a count_fds of it)."""
    import os
    after = len(os.listdir(f"/proc/{pid}/fd"))
    args = dict(pid=trace.pid(pid), of=trace.step_giving(before), what=what,
                expected=f"at most {before} descriptors")
    if after > before:
        _fail("fds_at_most", f"{what}: expected at most {before} descriptors, seen {after}",
              **args)
    _pass("fds_at_most", **args)


def assert_exit_status(tracked, *, expected=None, nonzero=False, what: str = ""):
    """A process the case started (``procs.start``) exited with ``expected``,
    or, with ``nonzero``, with anything but 0 (it must have been waited for)."""
    status = tracked.returncode
    want = "a non-zero exit status" if nonzero else f"exit status {expected}"
    args = dict(on=tracked.trace_name, expected=want, nonzero=nonzero, status=expected, what=what)
    if (status == 0) if nonzero else (status != expected):
        _fail("exit_status", f"{what + ': ' if what else ''}expected {want}, seen {status}", **args)
    _pass("exit_status", **args)


def assert_stderr_contains(tracked, text: str, what: str = ""):
    """A process the case started wrote ``text`` on stderr (read to its end)."""
    if tracked.stderr:
        tracked.stderr.join(5)
    lines = list(tracked.stderr.lines) if tracked.stderr else []
    args = dict(on=tracked.trace_name, text=text, what=what,
                expected=f"{text!r} on stderr")
    if not any(text in line for line in lines):
        _fail("stderr_contains", f"{what + ': ' if what else ''}expected {text!r} on stderr, "
              f"seen {lines[-5:]}", **args)
    _pass("stderr_contains", **args)


def assert_running(pids, what: str = ""):
    """Every one of ``pids`` still exists (has not exited and been reaped)."""
    gone = [pid for pid in pids if not psutil.pid_exists(pid)]
    args = dict(pids=[trace.pid(p) for p in pids], what=what, expected=f"pids {list(pids)} running")
    if gone:
        _fail("running", f"{what + ': ' if what else ''}expected pids {list(pids)} still there, "
              f"seen {gone} gone", **args)
    _pass("running", **args)


def assert_fds_absent(record: dict, fds, target: str | None = None, what: str = "descriptors"):
    """None of ``fds`` is among a probe child's descriptors at exec (only
    those pointing at ``target``, when given)."""
    held = {int(k): v["target"] for k, v in record["fds"].items()}
    found = sorted(fd for fd in fds if fd in held and (target is None or held[fd] == target))
    args = dict(record=trace.pid(record["pid"]), fds=sorted(fds), target=target, what=what,
                expected=f"none of {what} {sorted(fds)} in the child")
    if found:
        _fail("fds_absent", f"child pid {record['pid']}: expected none of {what} {sorted(fds)}, "
              f"seen {found} reached it: { {fd: held[fd] for fd in found} }", **args)
    _pass("fds_absent", **args)


def assert_parent_end_cloexec(shell_pid: int, record: dict):
    """The shell's end of the socketpair a spawned child (a probe record)
    was given is close-on-exec, so no later child of the shell inherits it."""
    from .fd_table import fd_table
    from .unix_sockets import peer_inodes
    target = record["fds"].get(record["argv"][2], {}).get("target", "")
    inode = int(target[len("socket:["):-1]) if target.startswith("socket:[") else None
    peer = peer_inodes().get(inode)
    ends = [e for e in fd_table(shell_pid).values() if peer is not None and e.inode == peer]
    args = dict(shell=trace.pid(shell_pid), record=trace.pid(record["pid"]),
                expected="the shell's end of the child's socketpair close-on-exec")
    if not ends:
        _fail("parent_end_cloexec", f"the shell (pid {shell_pid}) holds no end of the socket "
              f"of child pid {record['pid']} ({target or 'not open'})", **args)
    if not ends[0].cloexec:
        _fail("parent_end_cloexec", f"expected the shell's end of the child's socketpair "
              f"close-on-exec, seen it inheritable: {ends[0].brief()}", **args)
    _pass("parent_end_cloexec", **args)


def assert_not_equal(seen, unwanted, what: str):
    """``seen`` (what a traced step gave, or an item of it) is not ``unwanted``."""
    args = dict(of=_step_of(seen), what=what,
                unwanted=unwanted, expected=f"anything but {unwanted!r}")
    if seen == unwanted:
        _fail("not_equal", f"{what}: expected anything but {unwanted!r}, seen {seen!r}", **args)
    _pass("not_equal", **args)


def signals_not_default(masks_path: str, sigs, what: str = "") -> list[str]:
    """Which of ``sigs`` a child started with ignored or blocked, from the
    ``Sig*`` lines of /proc/PID/status it wrote to ``masks_path``
    (harness/programs/sig_probe.sh): ``["SIGPIPE ignored", ...]``. A soft
    check: recorded in the trace (a reproducer fails on it), never raised
    (the case decides: SIG-007 makes it NON-STRICT)."""
    with open(masks_path) as f:
        masks = dict(line.replace("\t", " ").split(":", 1) for line in f.read().splitlines())
    masks = {k: v.strip() for k, v in masks.items()}
    off = [f"{sig.name} {how}" for sig in sigs for how, key in (("ignored", "SigIgn"),
                                                                  ("blocked", "SigBlk"))
           if int(masks[key], 16) >> (sig - 1) & 1]
    trace.check("signals_default", not off, path=masks_path, sigs=[int(s) for s in sigs],
                what=what, soft=True, expected=f"{[s.name for s in sigs]} neither ignored nor "
                "blocked", seen=off or None)
    return off
