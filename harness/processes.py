"""Starting, watching, reaping and killing the processes of one case.

Every process a case starts goes through a ``ProcessTracker``. Each is put in
a session of its own, so teardown can kill its whole group; the test process
is made a child subreaper, so anything they orphan becomes our child and
cannot escape the leak check. Output is read on threads into line buffers so
a case waits for a line on a condition, never by sleeping."""
import ctypes
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import psutil

from . import trace
from .errors import HarnessError
from .fd_table import fd_table
# The run's registry: every process group started here is written down, so
# the run kills it even if this worker dies first (REGISTRY_ENV and
# kill_registered are re-exported for the plugin).
from .registry import REGISTRY_ENV, kill_registered, register_started  # noqa: F401
from .waits import Deadline, WaitTimeout, blocked, wait_pid_exit, wait_readable

PR_SET_CHILD_SUBREAPER = 36
# Seconds an orphan gets to exit at the case's end before it counts as left
# behind: its parent was just killed and it has yet to see the EOF. How fast
# a child must exit is the business of the cases that time it (SHUT-*).
ORPHAN_GRACE = 5.0
_subreaper_set = False


def become_subreaper():
    """Orphans of our descendants are re-parented to us, so we see (and reap) them."""
    global _subreaper_set
    if not _subreaper_set:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
        _subreaper_set = True


class ImplementationCrashed(HarnessError, AssertionError):
    """A process of the implementation died of a signal it should not have
    (the case is CRASH)."""
    kind = "CRASH"

    def __init__(self, message, *, stderr=None):
        super().__init__(message)
        self.stderr = stderr


class LineBuffer:
    """Lines of a pipe, gathered on a thread; ``wait`` blocks on a condition."""

    def __init__(self, stream, name: str):
        self.name = name
        self.lines: list[str] = []
        self.closed = False
        self._cv = threading.Condition()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream):
        try:
            for raw in iter(stream.readline, b""):
                with self._cv:
                    self.lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                    self._cv.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self._cv:
                self.closed = True
                self._cv.notify_all()

    def wait(self, pattern, timeout: float, *, start: int = 0) -> re.Match | None:
        """The first line at index >= ``start`` matching ``pattern``, or None
        when the deadline passes or the pipe closes without one."""
        rx = re.compile(pattern)
        deadline = Deadline(timeout)
        with self._cv:
            i = start
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    if m:
                        return m
                    i += 1
                if self.closed or deadline.expired():
                    return None
                with blocked():
                    self._cv.wait(deadline.left())

    def text(self) -> str:
        with self._cv:
            return "\n".join(self.lines)

    def tail(self, n: int = 20) -> list[str]:
        with self._cv:
            return self.lines[-n:]

    def join(self, timeout: float = 5):
        self._thread.join(timeout)


class Tracked:
    """One process started by the tracker."""

    def __init__(self, popen: subprocess.Popen, label: str):
        self.popen = popen
        self.pid = popen.pid
        self.label = label
        self.argv = list(popen.args)
        self.process = psutil.Process(popen.pid)
        self.pidfd = os.pidfd_open(popen.pid)
        self.stdout = LineBuffer(popen.stdout, "stdout") if popen.stdout else None
        self.stderr = LineBuffer(popen.stderr, "stderr") if popen.stderr else None
        self.returncode = None
        self.role = process_role(label)
        self.started_at = time.monotonic()
        self.cpu_s = None            # user+system, reaped children included, read at the exit
        self.shutdown_at = None      # when the case closed its end or signalled it
        self.exited_at = None        # when a wait saw it exit (pidfd)
        self.killed_at_teardown = False

    def mark_shutdown(self):
        """The case asked it to end (closed the connection, sent a signal):
        the verdict reports how long the exit took from here."""
        if self.shutdown_at is None:
            self.shutdown_at = time.monotonic()

    def lines(self) -> list[str]:
        return list(self.stdout.lines) if self.stdout else []

    def stderr_text(self) -> str:
        return self.stderr.text() if self.stderr else ""

    def seen(self) -> dict:
        return {"stdout": self.stdout.tail() if self.stdout else [],
                "stderr": self.stderr.tail() if self.stderr else []}

    def poll_exit(self):
        """The exit status if the process has exited (it is then reaped), else None."""
        if self.returncode is None and wait_readable(self.pidfd, 0):
            self.sample_cpu()
            self.returncode = self.popen.wait()
            self.exited_at = self.exited_at or time.monotonic()
        return self.returncode

    trace_name = None

    def wait_exit(self, timeout: float) -> int:
        """Wait for the exit (pidfd) and reap; negative status = killed by that signal."""
        if self.trace_name:
            return trace.call("proc.wait_exit", self._wait_exit, timeout, on=self.trace_name,
                              timeout=timeout)
        return self._wait_exit(timeout)

    def _wait_exit(self, timeout: float) -> int:
        if self.returncode is None:
            if not wait_readable(self.pidfd, timeout):
                diag = diagnose(self.pid)
                raise WaitTimeout(
                    f"{self.label} (pid {self.pid}) did not exit within {timeout}s: "
                    f"state {diag.get('status')}, blocked in {diag.get('wchan')}",
                    seen=self.seen(), diagnostics=diag)
            self.exited_at = time.monotonic()
            self.sample_cpu()
            self.returncode = self.popen.wait()
        return self.returncode

    def sample_cpu(self):
        """Its CPU time (user + system, with the children it reaped), read
        from /proc while it is a zombie or still running: one read, no
        process started (conformance.timing sums these per case)."""
        try:
            t = self.process.cpu_times()
            self.cpu_s = t.user + t.system + t.children_user + t.children_system
        except (psutil.NoSuchProcess, psutil.AccessDenied, OSError):
            pass

    def timing(self) -> dict:
        """CPU and wall time (start to exit) of the process, for time_breakdown."""
        end = self.exited_at
        return {"pid": self.pid, "label": self.label, "role": self.role,
                "cpu_s": None if self.cpu_s is None else round(self.cpu_s, 3),
                "wall_s": None if end is None else round(end - self.started_at, 3)}

    def wait_line(self, pattern, timeout: float, *, stream: str = "stdout", start: int = 0) -> re.Match:
        if self.trace_name:
            return trace.call("proc.wait_line", self._wait_line, pattern, timeout, stream, start,
                              on=self.trace_name, pattern=pattern, timeout=timeout,
                              stream=stream, start=start, result=lambda m: m and m.group(0))
        return self._wait_line(pattern, timeout, stream, start)

    def _wait_line(self, pattern, timeout, stream, start) -> re.Match:
        buf = self.stdout if stream == "stdout" else self.stderr
        m = buf.wait(pattern, timeout, start=start)
        if m is None:
            why = "closed its output" if buf.closed else f"did not print it within {timeout}s"
            raise WaitTimeout(f"{self.label} (pid {self.pid}) {why}: expected a {stream} line "
                              f"matching {pattern!r}", seen=self.seen(),
                              diagnostics=None if buf.closed else diagnose(self.pid))
        return m

    def signal(self, sig):
        if self.trace_name:
            trace.record("proc.signal", on=self.trace_name, sig=int(sig))
        if self.returncode is None:
            self.mark_shutdown()
            try:
                self.popen.send_signal(sig)
            except ProcessLookupError:
                pass

    def verdict(self) -> dict:
        """How the process ended, for the report: its exit (status or
        signal), whether the harness had to kill it, and the time from the
        case's shutdown request to the exit."""
        out = {"pid": self.pid, "label": self.label, "argv": self.argv,
               "exit_status": self.returncode, "exit": describe_status(self.returncode)}
        if self.killed_at_teardown:
            out["exit"] = "still running at the end of the case: killed by the harness"
        if self.shutdown_at is not None and self.exited_at is not None \
                and not self.killed_at_teardown:
            out["exit_after_shutdown_ms"] = round((self.exited_at - self.shutdown_at) * 1000, 1)
        out.update({k: v for k, v in self.timing().items() if k in ("role", "cpu_s", "wall_s")})
        return out


# Labels of processes the harness starts for its own ends (helper clients,
# probe children): everything else a case starts is the implementation's.
HELPER_WORDS = ("probe", "client", "helper")


def process_role(label: str) -> str:
    """"harness-helper" for a helper's label, else "implementation"."""
    low = (label or "").lower()
    return "harness-helper" if any(w in low for w in HELPER_WORDS) else "implementation"


def _fd_paths(fds) -> dict:
    """What each passed descriptor that is a file opens (``{5: "/dev/null"}``),
    so a reproducer can open the same file at the same number."""
    out = {}
    for fd in fds:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("/"):
            out[str(fd)] = target
    return out


class ProcessTracker:
    def __init__(self):
        become_subreaper()
        self.tracked: list[Tracked] = []
        self.adopted: dict[int, str] = {}
        self.owned: dict[int, str] = {}
        self.owned_at: dict[int, float] = {}
        self.adopted_cpu: dict[int, float] = {}
        self._fates: dict = {}
        self._before = {p.pid for p in psutil.Process().children(recursive=True)}

    def start(self, argv, *, pass_fds=(), env=None, cwd=None, new_session=True,
              stdin=subprocess.DEVNULL, label=None, capture=True, traced=True) -> Tracked:
        """Start ``argv``; ``traced``: the start is a step of the case's trace
        (harness.trace; the handles trace their own starts instead)."""
        pipe = subprocess.PIPE if capture else None
        name = trace.name("proc") if traced else None
        if name:
            changed = {k: v for k, v in (env or {}).items() if os.environ.get(k) != v}
            trace.record("proc.start", out=name, argv=list(argv), pass_fds=list(pass_fds),
                         env=changed, cwd=cwd, label=label, fd_paths=_fd_paths(pass_fds))
        popen = subprocess.Popen(argv, pass_fds=tuple(pass_fds), env=env, cwd=cwd,
                                 start_new_session=new_session, stdin=stdin,
                                 stdout=pipe, stderr=pipe)
        tracked = Tracked(popen, label or os.path.basename(argv[0]))
        tracked.trace_name = name
        if name:
            trace.pid(popen.pid)
        self.tracked.append(tracked)
        if new_session:
            register_started(popen.pid)
        return tracked

    def own(self, pid: int, label: str):
        """A process the suite started by other means (pexpect): ours to keep,
        and its process group is killed at teardown."""
        self.owned[pid] = label
        self.owned_at[pid] = time.monotonic()
        register_started(pid)

    def adopt(self, pid: int, label: str):
        """Watch a process the implementation started (a spawned child)."""
        self.adopted[pid] = label

    def new_processes(self) -> list[psutil.Process]:
        """Descendants of ours that appeared during the case (zombies included)."""
        return [p for p in psutil.Process().children(recursive=True) if p.pid not in self._before]

    def leftovers(self, grace: float = ORPHAN_GRACE) -> list[str]:
        """Live processes that outlived their parent and are not ours to keep:
        orphans re-parented to us that the case did not start itself, and
        still running ``grace`` seconds on."""
        started = {t.pid for t in self.tracked} | set(self.owned)
        orphans = []
        for p in self.new_processes():
            try:
                if p.ppid() == os.getpid() and p.pid not in started:
                    orphans.append(p)
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
        # An orphan's parent just died (the shell killed at the case's end):
        # it sees EOF on its connection and exits, a moment later. It leaks
        # only if it is still running after the grace (a pidfd wait, not
        # reaped here, so fates() still tells how it ended).
        deadline = Deadline(grace)
        for p in orphans:
            wait_pid_exit(p.pid, deadline.left())
        out = []
        for p in orphans:
            try:
                status = p.status()
                if status == psutil.STATUS_ZOMBIE:
                    continue          # exited after its parent: nothing leaks
                label = self.adopted.get(p.pid, "")
                out.append(f"orphan pid {p.pid} {label} ({status}): {' '.join(p.cmdline())}")
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
        return out

    def fates(self) -> dict:
        """What became of each process the implementation spawned, as the
        case left it: reaped by its parent, a zombie, or still running."""
        out = {}
        for pid, label in self.adopted.items():
            try:
                p = psutil.Process(pid)
                try:     # still readable (running, zombie, orphan): its CPU so far
                    t = p.cpu_times()
                    self.adopted_cpu[pid] = t.user + t.system + t.children_user + t.children_system
                except (psutil.AccessDenied, OSError):
                    pass
                state = "zombie (not reaped)" if p.status() == psutil.STATUS_ZOMBIE else (
                    "still running" + (" (orphan: re-parented to the suite)"
                                       if p.ppid() == os.getpid() else ""))
            except psutil.NoSuchProcess:
                state = "exited and reaped"
            out[str(pid)] = f"{label}: {state}"
        return out

    def verdict(self) -> dict:
        return {"processes": [t.verdict() for t in self.tracked], "spawned": self._fates}

    def timings(self) -> list[dict]:
        """Per process of the case: label, role (implementation or
        harness-helper), CPU seconds and wall seconds where known. The
        shell (started through pexpect) and the processes the
        implementation spawned and reaped itself are not here: their CPU is
        in the rest of the case's children time (conformance.timing)."""
        out = [t.timing() for t in self.tracked]
        for pid, label in self.owned.items():
            out.append({"pid": pid, "label": label, "role": process_role(label),
                        "cpu_s": None, "wall_s": None})
        for pid, cpu in self.adopted_cpu.items():
            label = self.adopted.get(pid, "")
            out.append({"pid": pid, "label": label, "role": process_role(label),
                        "cpu_s": round(cpu, 3), "wall_s": None, "adopted": True})
        return out

    def teardown(self) -> list[str]:
        """Describe the orphans, then kill every process group we started,
        every adopted and remaining descendant, and reap them all."""
        problems = self.leftovers()
        self._fates = self.fates()
        for t in self.tracked:
            if t.poll_exit() is None:
                t.killed_at_teardown = True
                _killpg(t.pid)
                t.popen.kill()
                wait_readable(t.pidfd, 5)
                t.exited_at = time.monotonic()
                t.sample_cpu()
                t.returncode = t.popen.wait()
        for pid in self.owned:
            _killpg(pid)
        for p in self.new_processes():
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        with blocked():
            gone, alive = psutil.wait_procs(self.new_processes(), timeout=5)
        for p in gone:
            _reap_quietly(p.pid)
        for p in alive:
            problems.append(f"pid {p.pid} survived SIGKILL")
        for t in self.tracked:
            os.close(t.pidfd)
            for buf in (t.stdout, t.stderr):
                if buf:
                    buf.join(2)
        return problems


def describe_status(status) -> str | None:
    """'status 0', 'signal SIGKILL' (from a negative status), None if unknown."""
    if status is None:
        return None
    if status < 0:
        try:
            return f"signal {signal.Signals(-status).name}"
        except ValueError:
            return f"signal {-status}"
    return f"status {status}"


def _killpg(pid: int):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _reap_quietly(pid: int):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def family(pid: int) -> list[psutil.Process]:
    """The process and its descendants ([] once it is gone)."""
    try:
        root = psutil.Process(pid)
        return [root] + root.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def tree(pid: int) -> list[dict]:
    """The process and its descendants, for evidence."""
    out = []
    for p in family(pid):
        try:
            with p.oneshot():
                status = p.status()
                cmd = " ".join(p.cmdline()) if status != psutil.STATUS_ZOMBIE else "(zombie)"
                out.append({"pid": p.pid, "ppid": p.ppid(), "status": status, "cmdline": cmd})
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            out.append({"pid": p.pid, "status": "zombie-or-gone"})
    return out


def diagnose(pid: int) -> dict:
    """Where a stuck process is: state, wait channel, kernel stack,
    descriptors and, for Python, its stack through py-spy when present."""
    out = {"pid": pid}
    try:
        out["status"] = psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        out["status"] = "gone"
        return out
    for key, name in (("wchan", "wchan"), ("stack", "stack")):
        try:
            with open(f"/proc/{pid}/{name}") as f:
                out[key] = f.read().strip()
        except OSError:
            pass
    try:
        out["fds"] = [e.brief() for e in fd_table(pid).values()]
    except OSError:
        pass
    out["tree"] = tree(pid)
    spy = shutil.which("py-spy")
    if spy:
        try:
            out["py_stack"] = subprocess.run([spy, "dump", "--pid", str(pid)], capture_output=True,
                                             text=True, timeout=10).stdout
        except (subprocess.TimeoutExpired, OSError):
            pass
    return out
