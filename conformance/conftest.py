"""Fixtures of docs/writing-cases.md. Wiring only: the work is in harness/.

Every fixture cleans up after itself even when the case fails or times out:
processes are killed by process group and reaped, temporary directories and
socket files removed, and orphans or zombies left by the implementation fail
the case that caused them."""
import shutil
import tempfile

import pytest

from ipc_conformance.conformance.timing import TIMINGS_KEY
from ipc_conformance.harness import trace
from ipc_conformance.harness.capnp_peer import PeerLoop, load_schemas
from ipc_conformance.harness.errors import Leak
from ipc_conformance.harness.processes import ProcessTracker
from ipc_conformance.harness.roles import ChildHandle, ListenerHandle
from ipc_conformance.harness.shell_handle import ShellHandle
from ipc_conformance.harness.staging import run_tmpdir


class ProcessLeak(Leak, AssertionError):
    """Processes the implementation left behind (the plugin reports a leak)."""


@pytest.fixture(autouse=True)
def _ipc_trace(evidence):
    """The case's trace (harness.trace): the steps it takes through the
    harness, kept as the evidence ``trace`` (what ``repro --write`` replays)."""
    t = trace.Trace()
    trace.activate(t)
    yield t
    trace.deactivate()
    evidence.record("trace", t.to_json())


@pytest.fixture
def short_tmp():
    """Short (socket paths stay far from 108 bytes, with any xdist worker
    count), under $TMPDIR when that is short, and in the run's registry."""
    path = run_tmpdir("ipc-")
    trace.root("tmp", path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def procs(evidence):
    tracker = ProcessTracker()
    yield tracker
    problems = tracker.teardown()
    evidence.record("process_verdict", {**tracker.verdict(), "leftovers": problems})
    evidence.record(TIMINGS_KEY, tracker.timings())     # conformance.timing: time_breakdown
    if problems:
        raise ProcessLeak("left behind: " + "; ".join(problems))


@pytest.fixture
def peer():
    loop = PeerLoop()
    yield loop
    loop.close()


@pytest.fixture
def schemas(impl):
    return load_schemas(impl.protocol)


@pytest.fixture
def child(impl, procs, peer, schemas, evidence, short_tmp):
    made = []

    def make(env=None, connect=True):
        handle = ChildHandle(impl, procs, peer, schemas, evidence, env=env, connect=connect,
                             cwd=short_tmp)
        made.append(handle)
        return handle
    yield make
    for handle in made:
        if handle.client is not None:
            try:
                handle.close()
            except Exception:
                pass


@pytest.fixture
def listener(impl, procs, peer, schemas, evidence, short_tmp):
    made = []

    def make(address=None, extra_args=(), wait_ready=True, datadir=None):
        handle = ListenerHandle(impl, procs, peer, schemas, evidence,
                                address=address or f"unix:{short_tmp}/s.sock",
                                datadir=datadir or short_tmp, extra_args=extra_args,
                                wait_ready=wait_ready)
        made.append(handle)
        return handle
    yield make
    for handle in made:
        for client in handle.clients:
            try:
                peer.run(client.close)
            except Exception:
                pass
        evidence.append("listener_output", handle.stdout_lines()[-50:])


@pytest.fixture
def shell(impl, procs, evidence, short_tmp):
    made = []

    def make(probe_names=("probe-child",), probe_mode="serve", link_node_as=(), env=None,
             bait_fds=(), tty=True, datadir=None):
        exe_dir = tempfile.mkdtemp(dir=short_tmp, prefix="x")
        handle = ShellHandle(impl, procs, evidence, exe_dir=exe_dir, datadir=datadir or short_tmp,
                             probe_names=probe_names, probe_mode=probe_mode,
                             link_node_as=link_node_as, env=env, bait_fds=bait_fds,
                             tty=tty)
        made.append(handle)
        return handle
    yield make
    for handle in made:
        handle.close()
