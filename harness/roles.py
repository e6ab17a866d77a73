"""Handles on an implementation in each of its roles, as cases use them
(docs/writing-cases.md): a child the suite spawned, a listener it started,
a shell it drives. Each keeps its evidence as it goes."""
import glob
import json
import os
import signal
import socket
import struct
import sys

import capnp

from . import programs
from .capnp_peer import Client
from .fd_table import fd_table
from .processes import ImplementationCrashed
from .shell_driver import ShellDriver
from .shell_events import CleanupRan, Disconnected, Event, Reaped, parse_event
from .staging import probe_env, stage_link, stage_probe
from .waits import Deadline, WaitTimeout, wait_pid_exit, wait_readable


class ChildHandle:
    """The implementation's child role, spawned by the suite over a socketpair."""

    def __init__(self, impl, procs, peer, schemas, evidence, *, env=None, connect=True,
                 cwd=None):
        self._peer, self._schemas, self._evidence = peer, schemas, evidence
        parent_end, child_end = socket.socketpair()
        self.sock = parent_end
        argv = impl.argv("child", fd=child_end.fileno())
        self.exe_name = impl.roles["child"].exe_name or os.path.basename(argv[0])
        # cwd: a folder of the case's own, so that whatever a program writes
        # where it runs (libmultiprocess's examples write debug.log) goes
        # with the case's other temporary files.
        self.tracked = procs.start(argv, pass_fds=[child_end.fileno()],
                                   env={**os.environ, **(env or {})}, cwd=cwd, label="child")
        child_end.close()
        self.pid = self.tracked.pid
        self.process = self.tracked.process
        self.client = None
        evidence.append("processes", {"role": "child", "pid": self.pid, "argv": argv})
        if connect:
            self.client = peer.run(Client(schemas).connect_sock, self.sock)

    def probe(self, timeout=10) -> str:
        return self._peer.run(self.client.probe, timeout=timeout)

    def ping(self, timeout=10) -> str:
        """The peer serves (any Init schema): see harness.liveness."""
        return self._peer.run(self.client.ping, timeout=timeout)

    def echo(self, text: str, timeout=10) -> str:
        return self._peer.run(self.client.echo, text, timeout=timeout)

    def call(self, async_fn, timeout=10):
        """Run ``async_fn(client)`` on the peer loop."""
        return self._peer.run(async_fn, self.client, timeout=timeout)

    def close(self):
        """Close the suite's end: the child should see EOF."""
        self.tracked.mark_shutdown()
        if self.client is not None:
            self._peer.run(self.client.close)     # drops its capabilities on the loop
            self.client = None
        self.sock.close()

    def wait_exit(self, timeout=10) -> int:
        status = self.tracked.wait_exit(timeout)
        self._evidence.record("exit_status", status)
        return status

    def fd_table(self):
        return fd_table(self.pid)

    def stdout_lines(self) -> list[str]:
        return self.tracked.lines()

    def stdout_closed(self) -> bool:
        """The child's stdout reached its end (the child, and whatever
        inherited it, closed it)."""
        return self.tracked.stdout.closed

    def stderr_lines(self) -> list[str]:
        return list(self.tracked.stderr.lines) if self.tracked.stderr else []

    def stderr_text(self) -> str:
        return self.tracked.stderr_text()

    def wait_line(self, pattern, timeout=10, start=0):
        """The first stdout line from index ``start`` on matching ``pattern``;
        WaitTimeout names what was seen."""
        return self.tracked.wait_line(pattern, timeout, start=start)

    def exit_status(self):
        """The exit status if the child has exited (it is then reaped), else None."""
        return self.tracked.poll_exit()

    def signal(self, sig):
        self.tracked.signal(sig)


class ListenerHandle:
    def __init__(self, impl, procs, peer, schemas, evidence, *, address, datadir,
                 extra_args=(), timeout=20, wait_ready=True):
        self._peer, self._schemas, self._evidence = peer, schemas, evidence
        self.impl, self.datadir, self.requested = impl, datadir, address
        role = impl.roles["listener"]
        argv = impl.argv("listener", address=address, datadir=datadir) + list(extra_args)
        self.tracked = procs.start(argv, env=dict(os.environ), label="listener", cwd=datadir)
        self.pid = self.tracked.pid
        self.address = self.path = None
        self.clients = []
        evidence.append("processes", {"role": "listener", "pid": self.pid, "argv": argv})
        if wait_ready:
            m = self.tracked.wait_line(role.ready_pattern, timeout)
            self.address = m.groupdict().get("address") or address
            self.path = self.address.partition(":")[2]

    def connect(self):
        """A pycapnp client on a fresh connection (Init bootstrapped, nothing called)."""
        client = self._peer.run(Client(self._schemas).connect_sock, self.raw_connect())
        self.clients.append(client)
        return ClientHandle(self._peer, client)

    def raw_connect(self, timeout=10) -> socket.socket:
        """A blocking connect, bounded: a unix connect waits while the
        listener's accept queue is full, at most SO_SNDTIMEO (Linux), so a
        listener that stopped accepting is a WaitTimeout, never a hang."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        bound = struct.pack("ll", int(timeout), 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, bound)
        try:
            s.connect(self.path)
        except BlockingIOError:
            s.close()
            raise WaitTimeout(f"connect to {self.path} waited {timeout}s: the accept queue "
                              "stayed full (the listener does not accept)") from None
        except BaseException:
            s.close()
            raise
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 0, 0))
        return s

    def wait_line(self, pattern, timeout=10, start=0):
        return self.tracked.wait_line(pattern, timeout, start=start)

    def line_within(self, pattern, timeout=10, start=0, stream="stdout"):
        """The first ``stream`` line from index ``start`` on matching
        ``pattern``, or None when the deadline passes or the stream closes
        without one (``wait_line`` raises instead)."""
        buf = self.tracked.stdout if stream == "stdout" else self.tracked.stderr
        return buf.wait(pattern, timeout, start=start)

    def line_count(self):
        return len(self.tracked.lines())

    def stdout_lines(self) -> list[str]:
        return self.tracked.lines()

    def stderr_lines(self, settle=None) -> list[str]:
        """stderr's lines; with ``settle``, first wait up to that long for
        the stream's end (after the exit: everything written is in)."""
        if settle is not None:
            self.tracked.stderr.join(settle)
        return list(self.tracked.stderr.lines)

    def stderr_text(self) -> str:
        return self.tracked.stderr_text()

    def wait_exit(self, timeout=10) -> int:
        """Wait for the listener to end by itself (pidfd) and reap it."""
        return self.tracked.wait_exit(timeout)

    def exit_status(self):
        """The exit status if the listener has exited (it is then reaped), else None."""
        return self.tracked.poll_exit()

    def stop(self, sig=signal.SIGTERM, timeout=10) -> int:
        self.tracked.signal(sig)
        status = self.tracked.wait_exit(timeout)
        self._evidence.record("listener_exit_status", status)
        return status

    def signal(self, sig):                 # after stop(): its default names the module
        self.tracked.signal(sig)

    def num_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def alive(self) -> bool:
        return self.tracked.poll_exit() is None

    def assert_alive(self):
        """Fail when the listener is no longer running: CRASH for a signal."""
        status = self.tracked.poll_exit()
        if status is None:
            return
        if status < 0:
            raise ImplementationCrashed(f"the listener died of signal {-status}",
                                        stderr=self.tracked.stderr_text())
        raise AssertionError(f"the listener exited with status {status}: "
                             f"{self.tracked.stderr_text()[-400:]}")

    def answered(self, fn, what):
        """``fn()``'s answer; when it fails and the listener is dying, the
        listener's fate (CRASH for a signal) is the verdict, not the client's error."""
        try:
            return fn()
        except (capnp.KjException, WaitTimeout, OSError) as e:
            if wait_pid_exit(self.pid, 5):
                self.assert_alive()
            if isinstance(e, WaitTimeout):
                raise
            raise AssertionError(f"{what}: {type(e).__name__}: {e}") from None


class SuiteClients:
    """pycapnp clients of the suite on sockets it connected itself (for the
    shell's listener, which has no ListenerHandle); closed at the end."""

    def __init__(self, peer, schemas):
        self.peer, self.schemas, self.clients = peer, schemas, []

    def connect(self, path) -> Client:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        client = self.peer.run(Client(self.schemas).connect_sock, s)
        self.clients.append(client)
        return client

    def probe(self, client, timeout=10):
        return self.peer.run(client.probe, timeout=timeout)

    def close(self):
        for client in self.clients:
            try:
                self.peer.run(client.close)
            except Exception:
                pass
        self.clients.clear()


class ClientHandle:
    def __init__(self, peer, client):
        self._peer, self.client = peer, client

    def probe(self, timeout=10):
        return self._peer.run(self.client.probe, timeout=timeout)

    def ping(self, timeout=10) -> str:
        """The peer serves (any Init schema): see harness.liveness."""
        return self._peer.run(self.client.ping, timeout=timeout)

    def echo(self, text, timeout=10):
        return self._peer.run(self.client.echo, text, timeout=timeout)

    def call(self, async_fn, timeout=10):
        return self._peer.run(async_fn, self.client, timeout=timeout)

    def close(self):
        if self.client is not None:
            self._peer.run(self.client.close)     # drops its capabilities on the loop
            self.client = None


# harness/programs/bait_exec.py opens inheritable descriptors (bait) at the
# given numbers, then execs the shell with its own argv: a parent holding
# descriptors it did not mean to pass. With IPC_BAIT_NOFILE in the
# environment it first sets the soft RLIMIT_NOFILE to that value, so a case
# knows the limit the shell starts with.


class ShellHandle:
    """The implementation's shell, staged next to the probe child."""

    def __init__(self, impl, procs, evidence, *, exe_dir, datadir, probe_names=("probe-child",),
                 probe_mode="serve", link_node_as=(), env=None, bait_fds=(), tty=True):
        self._evidence, self._procs = evidence, procs
        self.exe_dir, self.datadir = exe_dir, datadir
        self.record_dir = os.path.join(exe_dir, "records")
        os.makedirs(self.record_dir, exist_ok=True)
        for name in probe_names:
            stage_probe(exe_dir, name, impl.protocol)
        for name in link_node_as:              # the implementation's own node, by name
            stage_link(exe_dir, impl.executables["node"], name)
        shell_path = stage_link(exe_dir, impl.executables["shell"])
        full_env = {**os.environ, **probe_env(self.record_dir, impl.protocol.schema_dir,
                                               mode=probe_mode), **(env or {})}
        argv = impl.argv("shell", datadir=datadir)
        argv[0] = shell_path if argv[0] == impl.executables["shell"] else argv[0]
        argv = [shell_path if a == impl.executables["shell"] else a for a in argv]
        if bait_fds:
            argv = [sys.executable, "-c", programs.text("bait_exec.py"),
                    ",".join(map(str, bait_fds)), *argv]
        self.driver = ShellDriver(argv, env=full_env, cwd=datadir,
                                  prompt=impl.roles["shell"].prompt, tty=tty)
        self.pid = self.driver.pid
        procs.own(self.pid, "shell")
        evidence.append("processes", {"role": "shell", "pid": self.pid, "argv": argv})

    @property
    def transcript(self):
        return self.driver.transcript

    def command(self, line, timeout=20):
        return self.driver.command(line, timeout)

    def expect_event(self, pattern, timeout=10):
        return self.driver.expect_event(pattern, timeout)

    # -- typed events (harness.shell_events) --------------------------------

    def events(self) -> list[Event]:
        """Every event the shell wrote so far, typed; ``str()`` of each is its line."""
        return list(self.driver.typed_events)

    def transcript_events(self) -> list[Event]:
        """The events of the whole transcript, typed: also those in output
        read to the shell's end (``drain``, ``wait_end``) without a command.
        A line may follow a prompt (the shell wrote it while waiting for input)."""
        prompt, out = self.driver.prompt, []
        for line in self.transcript.split("\n"):
            while prompt and line.startswith(prompt):
                line = line[len(prompt):]
            if line.startswith("event "):
                out.append(parse_event(line))
        return out

    def expect(self, event: Event, timeout=10) -> Event:
        """Wait for an unread event equal to ``event``; WaitTimeout names it
        and the events seen meanwhile."""
        return self.driver.expect(event, timeout)

    def expect_reaped(self, obj, pid, status=0, timeout=10) -> Event:
        """Wait for ``event reaped <obj> pid=<pid> status=<status>``."""
        return self.expect(Reaped(int(obj), int(pid), int(status)), timeout)

    def expect_disconnected(self, obj, timeout=10) -> Event:
        """Wait for ``event disconnected <obj>``."""
        return self.expect(Disconnected(int(obj)), timeout)

    def expect_cleanup(self, tag, timeout=10) -> Event:
        """Wait for ``event cleanup <tag> ran``."""
        return self.expect(CleanupRan(tag), timeout)

    # -- the shell process ----------------------------------------------------

    def alive(self) -> bool:
        """The shell still runs (one that ended is reaped here)."""
        return self.driver.alive()

    def exit_status(self):
        """The shell's exit status once reaped (negative for a signal), else None."""
        return self.driver.status()

    def send_eof(self):
        """End of input on the shell's stdin."""
        self.driver.send_eof()

    def wait_end(self, timeout=10, after="end of input") -> int:
        """Read the shell's output to its end and reap it: its exit status."""
        return self.driver.wait_end(timeout, after)

    def drain(self, timeout=10):
        """Read the shell's output to its end, if it ends within ``timeout``."""
        self.driver.drain(timeout)

    def spawn(self, name="probe-child", timeout=20) -> tuple[int, int]:
        """Spawn by name; (object id, pid). Fails the case on an error answer."""
        a = self.command(f"spawn {name}", timeout)
        assert a.ok, f"spawn {name} failed: {a.result}"
        obj, pid = a.words[2], int(a.words[3].partition("=")[2])
        self.adopt(pid, f"spawned {name}")
        return int(obj), pid

    def adopt(self, pid: int, label: str):
        """Watch a child the shell spawned: the case's process verdict reports
        its fate, and teardown kills it if the shell left it behind."""
        self._procs.adopt(pid, label)

    def connect(self, address, timeout=20) -> int:
        """``connect ADDRESS``; the object id. Fails the case on an error answer."""
        a = self.command(f"connect {address}", timeout)
        assert a.ok and len(a.words) > 2, f"connect {address} failed: {a.result}"
        return int(a.words[2])

    def probe_records(self, count=1, timeout=10) -> list[dict]:
        """Records written by probe children, waiting (inotify) until
        ``count`` of them exist."""
        deadline = Deadline(timeout)
        with DirWatch(self.record_dir) as watch:
            while True:
                paths = sorted(glob.glob(os.path.join(self.record_dir, "*.json")))
                if len(paths) >= count:
                    break
                if deadline.expired():
                    raise WaitTimeout(f"{len(paths)} probe records of {count} within {timeout}s",
                                      seen={"records": paths, "transcript": self.transcript[-1500:]})
                watch.wait(deadline.left())
        records = []
        for p in paths:
            with open(p) as f:
                records.append(json.load(f))
        self._evidence.record("probe_records", [_brief_record(r) for r in records])
        return records

    def wait_mark(self, pid: int, what: str, timeout=10):
        """Wait (inotify) until probe child ``pid`` marked that it reached
        ``what`` (``stalled``, ``deaf``: see harness/probe_child.py)."""
        path = os.path.join(self.record_dir, f"{pid}.{what}")
        deadline = Deadline(timeout)
        with DirWatch(self.record_dir) as watch:
            while not os.path.exists(path):
                if deadline.expired():
                    raise WaitTimeout(f"probe child {pid} did not mark {what!r} within {timeout}s",
                                      seen={"transcript": self.transcript[-1500:]})
                watch.wait(deadline.left())

    def quit(self, timeout=30) -> int:
        return self.driver.quit(timeout)

    def close(self):
        self._evidence.record("transcript", self.driver.transcript)
        self.driver.close()


class DirWatch:
    """inotify on a directory: wait() returns when a file was created or
    renamed into it since the last wait (set up before looking, so nothing
    written in between is missed)."""

    def __init__(self, path):
        import ctypes
        self._libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self._libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        IN_CREATE, IN_MOVED_TO = 0x100, 0x80
        if self._libc.inotify_add_watch(self.fd, os.fsencode(path), IN_CREATE | IN_MOVED_TO) < 0:
            os.close(self.fd)
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {path}")

    def wait(self, timeout):
        if wait_readable(self.fd, timeout):
            try:
                os.read(self.fd, 65536)
            except BlockingIOError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        os.close(self.fd)


def _brief_record(r: dict) -> dict:
    return {"pid": r["pid"], "argv": r["argv"], "cwd": r["cwd"],
            "fds": {k: v["target"] + (" cloexec" if v["flags"] & 0o2000000 else "")
                    for k, v in r["fds"].items()},
            "signals": r["signals"], "pgid": r["pgid"], "sid": r["sid"]}
