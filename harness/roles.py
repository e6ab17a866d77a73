"""Handles on an implementation in each of its roles, as cases use them
(docs/writing-cases.md): a child the suite spawned, a listener it started,
a shell it drives (harness/shell_handle.py, re-exported here). Each keeps its
evidence as it goes."""
import os
import signal
import socket
import struct

import capnp

from . import trace
from .capnp_peer import Client
from .fd_table import fd_table
from .processes import ImplementationCrashed
from .traced_socket import TracedSocket
from .waits import DirWatch, WaitTimeout, wait_pid_exit  # noqa: F401 (DirWatch re-exported)


class ChildHandle:
    """The implementation's child role, spawned by the suite over a socketpair."""

    def __init__(self, impl, procs, peer, schemas, evidence, *, env=None, connect=True,
                 cwd=None):
        self._peer, self._schemas, self._evidence = peer, schemas, evidence
        parent_end, child_end = socket.socketpair()
        # The suite's end is traced (as ``child1.sock``) so that what a case
        # writes on it or half-closes reaches its reproducer; the handle's own
        # close below is not a step of the case's (``child.close`` is).
        self.sock = TracedSocket(parent_end.family, parent_end.type, fileno=parent_end.detach())
        argv = impl.argv("child", fd=child_end.fileno())
        self.exe_name = impl.roles["child"].exe_name or os.path.basename(argv[0])
        # cwd: a folder of the case's own, so that whatever a program writes
        # where it runs (libmultiprocess's examples write debug.log) goes
        # with the case's other temporary files.
        self.tracked = procs.start(argv, pass_fds=[child_end.fileno()],
                                   env={**os.environ, **(env or {})}, cwd=cwd, label="child",
                                   traced=False)
        child_end.close()
        self.pid = self.tracked.pid
        self.process = self.tracked.process
        self.client = None
        evidence.append("processes", {"role": "child", "pid": self.pid, "argv": argv})
        self.name = trace.name("child")
        self.sock.trace_name = f"{self.name}.sock" if self.name else None
        trace.root("tmp", cwd)
        trace.record("child.start", on=self.name, pid=trace.pid(self.pid), env=env or {},
                     connect=connect, argv=argv)
        if connect:
            self.client = peer.run(Client(schemas).connect_sock, self.sock)

    def probe(self, timeout=10) -> str:
        return self._call("probe", timeout)

    def _call(self, what, timeout, *args):
        fn = getattr(self.client, what)
        return trace.call(f"child.{what}", lambda: self._peer.run(fn, *args, timeout=timeout),
                          on=self.name, args=list(args), timeout=timeout)

    def ping(self, timeout=10) -> str:
        """The peer serves (any Init schema): see harness.liveness."""
        return self._call("ping", timeout)

    def echo(self, text: str, timeout=10) -> str:
        return self._call("echo", timeout, text)

    def echo_after_destroy(self, timeout=10) -> tuple[str, str]:
        """A call on an Echo after its destroy (harness.capnp_peer.Client)."""
        return self._call("echo_after_destroy", timeout)

    def call(self, async_fn, timeout=10):
        """Run ``async_fn(client)`` on the peer loop."""
        trace.record("child.call", on=self.name, fn=getattr(async_fn, "__qualname__", "?"))
        return self._peer.run(async_fn, self.client, timeout=timeout)

    def close(self):
        """Close the suite's end: the child should see EOF."""
        trace.record("child.close", on=self.name)
        self.tracked.mark_shutdown()
        if self.client is not None:
            self._peer.run(self.client.close)     # drops its capabilities on the loop
            self.client = None
        socket.socket.close(self.sock)

    def wait_exit(self, timeout=10) -> int:
        status = trace.call("child.wait_exit", self.tracked.wait_exit, timeout, on=self.name,
                            timeout=timeout)
        self._evidence.record("exit_status", status)
        return status

    def fd_table(self):
        return fd_table(self.pid)

    def stdout_lines(self, settle=None) -> list[str]:
        """stdout's lines; with ``settle``, first wait up to that long for
        the stream's end (after the exit: everything written is in)."""
        if settle is not None:
            self.tracked.stdout.join(settle)
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
        return trace.call("child.wait_line",
                          lambda: self.tracked.wait_line(pattern, timeout, start=start),
                          result=lambda m: m.group(0), on=self.name, pattern=pattern,
                          timeout=timeout, start=start)

    def exit_status(self):
        """The exit status if the child has exited (it is then reaped), else None."""
        return trace.call("child.exit_status", self.tracked.poll_exit, on=self.name)

    def signal(self, sig):
        trace.record("child.signal", on=self.name, sig=int(sig))
        self.tracked.signal(sig)


class ListenerHandle:
    def __init__(self, impl, procs, peer, schemas, evidence, *, address, datadir,
                 extra_args=(), timeout=20, wait_ready=True):
        self._peer, self._schemas, self._evidence = peer, schemas, evidence
        self.impl, self.datadir, self.requested = impl, datadir, address
        role = impl.roles["listener"]
        argv = impl.argv("listener", address=address, datadir=datadir) + list(extra_args)
        self.tracked = procs.start(argv, env=dict(os.environ), label="listener", cwd=datadir,
                                   traced=False)
        self.pid = self.tracked.pid
        self.address = self.path = None
        self.clients = []
        evidence.append("processes", {"role": "listener", "pid": self.pid, "argv": argv})
        self.name = trace.name("node")
        trace.root("tmp", datadir)
        step = trace.record("listener.start", on=self.name, pid=trace.pid(self.pid),
                            address=address, datadir=datadir, extra_args=list(extra_args),
                            wait_ready=wait_ready, argv=argv)
        if wait_ready:
            m = self.tracked.wait_line(role.ready_pattern, timeout)
            self.address = m.groupdict().get("address") or address
            self.path = self.address.partition(":")[2]
            if step is not None:
                step["result"] = {"address": self.address}

    def connect(self):
        """A pycapnp client on a fresh connection (Init bootstrapped, nothing called)."""
        name = trace.name("client")
        sock = trace.call("listener.connect", self._raw_connect, 10, on=self.name, out=name,
                          result=lambda s: None)
        client = self._peer.run(Client(self._schemas).connect_sock, sock)
        self.clients.append(client)
        return ClientHandle(self._peer, client, name)

    def client_on(self, sock) -> "ClientHandle":
        """A pycapnp client on a socket the case connected itself (``raw_connect``)."""
        name = trace.name("client")
        trace.record("client.on_socket", on=getattr(sock, "trace_name", None), out=name)
        sock.trace_name = None               # its close is now the client's
        client = self._peer.run(Client(self._schemas).connect_sock, sock)
        self.clients.append(client)
        return ClientHandle(self._peer, client, name)

    def raw_connect(self, timeout=10) -> socket.socket:
        """A blocking connect, bounded: a unix connect waits while the
        listener's accept queue is full, at most SO_SNDTIMEO (Linux), so a
        listener that stopped accepting is a WaitTimeout, never a hang."""
        name = trace.name("sock")
        s = trace.call("listener.raw_connect", self._raw_connect, timeout, on=self.name,
                       out=name, timeout=timeout, result=lambda s: None)
        s.trace_name = name
        return s

    def _raw_connect(self, timeout=10) -> socket.socket:
        s = TracedSocket(socket.AF_UNIX, socket.SOCK_STREAM)
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
        return trace.call("listener.wait_line",
                          lambda: self.tracked.wait_line(pattern, timeout, start=start),
                          result=lambda m: m.group(0), on=self.name, pattern=pattern,
                          timeout=timeout, start=start)

    def line_within(self, pattern, timeout=10, start=0, stream="stdout"):
        """The first ``stream`` line from index ``start`` on matching
        ``pattern``, or None when the deadline passes or the stream closes
        without one (``wait_line`` raises instead)."""
        buf = self.tracked.stdout if stream == "stdout" else self.tracked.stderr
        return trace.call("listener.line_within", lambda: buf.wait(pattern, timeout, start=start),
                          result=lambda m: m and m.group(0), on=self.name, pattern=pattern,
                          timeout=timeout, start=start, stream=stream)

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
        return trace.call("listener.wait_exit", self.tracked.wait_exit, timeout, on=self.name,
                          timeout=timeout)

    def exit_status(self):
        """The exit status if the listener has exited (it is then reaped), else None."""
        return trace.call("listener.exit_status", self.tracked.poll_exit, on=self.name)

    def stop(self, sig=signal.SIGTERM, timeout=10) -> int:
        trace.record("listener.signal", on=self.name, sig=int(sig))
        self.tracked.signal(sig)
        status = trace.call("listener.wait_exit", self.tracked.wait_exit, timeout, on=self.name,
                            timeout=timeout)
        self._evidence.record("listener_exit_status", status)
        return status

    def signal(self, sig):                 # after stop(): its default names the module
        trace.record("listener.signal", on=self.name, sig=int(sig))
        self.tracked.signal(sig)

    def num_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def alive(self) -> bool:
        return self.tracked.poll_exit() is None

    def assert_alive(self):
        """Fail when the listener is no longer running: CRASH for a signal."""
        status = self.tracked.poll_exit()
        trace.check("alive", status is None, on=self.name, expected="the listener still running",
                    seen=None if status is None else f"exit status {status}")
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
        name = trace.name("client")
        trace.call("suite.connect", s.connect, path, path=path, out=name, result=lambda _: None)
        client = self.peer.run(Client(self.schemas).connect_sock, s)
        client.trace_name = name
        self.clients.append(client)
        return client

    def probe(self, client, timeout=10, orders=False):
        """A probe on one of the suite's clients; ``orders``: as
        ClientHandle.round_trip says."""
        return trace.call("client.probe", self.peer.run, client.probe, timeout=timeout,
                          on=getattr(client, "trace_name", None), **_orders(orders))

    def close(self):
        trace.record("suite.close_all")
        for client in self.clients:
            try:
                self.peer.run(client.close)
            except Exception:
                pass
        self.clients.clear()


def _orders(orders: bool) -> dict:
    """The trace field of a round trip made for its order (ClientHandle.round_trip)."""
    return {"orders": True} if orders else {}


class ClientHandle:
    def __init__(self, peer, client, name=None):
        self._peer, self.client, self.name = peer, client, name

    def _call(self, what, timeout, *args, orders=False):
        fn = getattr(self.client, what)
        return trace.call(f"client.{what}", lambda: self._peer.run(fn, *args, timeout=timeout),
                          on=self.name, args=list(args), timeout=timeout, **_orders(orders))

    def probe(self, timeout=10):
        return self._call("probe", timeout)

    def round_trip(self, timeout=10):
        """A probe made for its order, not its answer: once it is answered the
        server has had its turn at what came before (an accept it could
        make, a failed accept it could retry). The trace marks it, and
        minimising a reproducer never drops it (nor the client it is made
        on): without it a script still fails against a buggy implementation
        most times, and passes a right one most times, by luck of timing."""
        return self._call("probe", timeout, orders=True)

    def ping(self, timeout=10) -> str:
        """The peer serves (any Init schema): see harness.liveness."""
        return self._call("ping", timeout)

    def echo(self, text, timeout=10):
        return self._call("echo", timeout, text)

    def call(self, async_fn, timeout=10):
        trace.record("client.call", on=self.name, fn=getattr(async_fn, "__qualname__", "?"))
        return self._peer.run(async_fn, self.client, timeout=timeout)

    def close(self):
        trace.record("client.close", on=self.name)
        if self.client is not None:
            self._peer.run(self.client.close)     # drops its capabilities on the loop
            self.client = None


# harness/programs/bait_exec.py opens inheritable descriptors (bait) at the
# given numbers, then execs the shell with its own argv: a parent holding
# descriptors it did not mean to pass. With IPC_BAIT_NOFILE in the
# environment it first sets the soft RLIMIT_NOFILE to that value, so a case
# knows the limit the shell starts with.


from .shell_handle import ShellHandle  # noqa: E402,F401 (the shell's handle, re-exported)
