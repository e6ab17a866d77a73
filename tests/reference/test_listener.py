"""Issue 2's listener figures: a ref-node listening on a unix socket serves
20 concurrent upstream-style clients; killing one leaves the others working;
max-connections=2 holds the third client in the backlog until one leaves."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

import psutil
import pytest

from ipc_conformance.reference_impl.protocol.schema import SCHEMA_DIR

CLIENT = os.path.join(os.path.dirname(__file__), "upstream_client.py")


class Lines:
    """Reads a pipe on a thread so tests can wait for a line without sleeping."""

    def __init__(self, stream):
        self.lines, self._cv = [], threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            with self._cv:
                self.lines.append(line.rstrip("\n"))
                self._cv.notify_all()
        with self._cv:
            self.lines.append(None)
            self._cv.notify_all()

    def wait(self, pattern, timeout=15):
        rx = re.compile(pattern)
        with self._cv:
            found = self._cv.wait_for(
                lambda: any(line is not None and rx.search(line) for line in self.lines)
                or None in self.lines, timeout)
            for line in self.lines:
                if line is not None and rx.search(line):
                    return line
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s; saw {self.lines}")

    def has(self, pattern):
        with self._cv:
            return any(line is not None and re.search(pattern, line) for line in self.lines)


@pytest.fixture
def node():
    """Start ref-node listening; yields a starter, stops everything after."""
    tmp = tempfile.mkdtemp(dir="/tmp", prefix="ipcl-")
    procs = []

    def start(address_suffix=""):
        path = os.path.join(tmp, "node.sock")
        proc = subprocess.Popen([sys.executable, "-m", "ipc_conformance.reference_impl.cli.node",
                                 f"-datadir={tmp}", f"-ipcbind=unix:{path}{address_suffix}",
                                 "-debug=ipc"],
                                stdout=subprocess.PIPE, text=True, start_new_session=True)
        procs.append(proc)
        out = Lines(proc.stdout)
        out.wait(r"^listening on unix:")
        return proc, out, path

    def client(path):
        proc = subprocess.Popen([sys.executable, CLIENT, str(SCHEMA_DIR), path],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                start_new_session=True)
        procs.append(proc)
        return proc, Lines(proc.stdout)

    start.client = client
    yield start
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    shutil.rmtree(tmp, ignore_errors=True)


def _echo(client, text):
    proc, out = client
    proc.stdin.write(text + "\n")
    proc.stdin.flush()
    out.wait("^echo " + re.escape(text) + "$")


def _backlog(path):
    """Connections waiting in the listening socket's accept queue (ss's Recv-Q)."""
    out = subprocess.run(["ss", "-xlnH"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if path in fields:
            return int(fields[2])
    raise AssertionError(f"{path} not listening: {out}")


def test_twenty_concurrent_clients_and_one_killed(node):
    proc, out, path = node(":max-connections=32")
    clients = [node.client(path) for _ in range(20)]
    for _, lines in clients:
        lines.wait("^ready$")
    for i, c in enumerate(clients):
        _echo(c, f"hello {i}")
    victim = clients.pop(7)
    victim[0].kill()
    victim[0].wait(10)
    out.wait(r"connection \d+ closed")
    for i, c in enumerate(clients):
        _echo(c, f"again {i}")
    for c in clients:
        c[0].stdin.close()
        assert c[0].wait(15) == 0
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    assert not os.path.exists(path), "the node left its socket file"


def test_max_connections_holds_the_third_client_in_the_backlog(node):
    proc, out, path = node(":max-connections=2")
    first, second = node.client(path), node.client(path)
    first[1].wait("^ready$")
    second[1].wait("^ready$")
    third = node.client(path)
    third[1].wait("^connected$")
    # The third waits in the kernel's queue: the node has not accepted it.
    assert _backlog(path) == 1
    assert not out.has("accepted connection 3")
    assert not third[1].has("^ready$")
    first[0].stdin.close()
    assert first[0].wait(15) == 0
    third[1].wait("^ready$")
    _echo(third, "through")
    _echo(second, "still here")
    assert _backlog(path) == 0
