"""Named checks the cases repeat, in the manner of psutil's test helpers
(``assert_pid_gone``): each raises AssertionError saying what was expected
and what was seen, so a case reads as its requirement."""
import psutil

from .shell_events import Reaped
from .waits import wait_pid_exit


def zombie(pid: int) -> bool:
    """``pid`` exists as a zombie: exited, and nobody reaped it."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def assert_not_zombie(pid: int, what: str = ""):
    """``pid`` is not a zombie now: gone (reaped) or still running."""
    if zombie(pid):
        raise AssertionError(f"pid {pid}{' ' + what if what else ''}: expected reaped or "
                             "running, seen a zombie (exited, never reaped)")


def assert_no_zombies(pids, what: str = ""):
    """None of ``pids`` is a zombie."""
    found = [pid for pid in pids if zombie(pid)]
    if found:
        raise AssertionError(f"expected no zombies{' ' + what if what else ''}, seen zombies "
                             f"{found} of {list(pids)}")


def assert_gone(pid: int, timeout: float = 10, what: str = ""):
    """``pid`` exits within ``timeout`` (pidfd) and is not left a zombie:
    its parent reaped it."""
    label = f"pid {pid}{' ' + what if what else ''}"
    if not wait_pid_exit(pid, timeout):
        raise AssertionError(f"{label}: expected it to exit within {timeout}s, seen it still "
                             "running")
    if zombie(pid):
        raise AssertionError(f"{label}: expected it exited and reaped, seen a zombie "
                             "(nobody reaped it)")


def assert_exits(pid: int, timeout: float = 10, what: str = ""):
    """``pid`` exits within ``timeout`` (it may be left for its parent to reap)."""
    if not wait_pid_exit(pid, timeout):
        raise AssertionError(f"pid {pid}{' ' + what if what else ''}: expected it to exit "
                             f"within {timeout}s, seen it still running")


def assert_reaped(events, obj, pid, status: int = 0):
    """The shell reported ``event reaped <obj> pid=<pid> status=<status>``
    among ``events`` (typed events, harness.shell_events)."""
    wanted = Reaped(int(obj), int(pid), int(status))
    if wanted not in events:
        of_obj = [e for e in events if isinstance(e, Reaped) and e.id == int(obj)]
        raise AssertionError(f"expected {str(wanted)!r}; seen "
                             + (f"{of_obj} for object {obj}" if of_obj
                                else f"no reaping of object {obj} in {list(events)}"))


def assert_exact_fds(record: dict, expected) -> None:
    """A probe child's record (harness/probe_child.py) lists exactly the
    descriptors ``expected`` at exec: none more, none fewer."""
    held = {int(k): v["target"] for k, v in record["fds"].items()}
    expected = set(expected)
    extra = {fd: t for fd, t in held.items() if fd not in expected}
    missing = sorted(expected - set(held))
    if extra:
        raise AssertionError(f"child pid {record['pid']}: expected exactly descriptors "
                             f"{sorted(expected)}, seen more: {extra}")
    if missing:
        raise AssertionError(f"child pid {record['pid']}: expected exactly descriptors "
                             f"{sorted(expected)}, seen {missing} missing: {held}")
