"""The native probe child (fixtures/cpp/src/probe.c++) against the Python one
(harness/probe_child.py): started with the same inherited descriptors,
environment, cwd and signal state, their census records must be the same
field by field, and every mode must behave the same."""
import asyncio
import json
import os
import signal
import socket
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from ipc_conformance.harness import staging
from ipc_conformance.harness.capnp_peer import Client, PeerLoop, load_schemas

pytestmark = pytest.mark.skipif(not os.access(staging.NATIVE_PROBE, os.X_OK),
                                reason=f"{staging.NATIVE_PROBE} not built (bash ci/build-cpp.sh)")

KINDS = ("python", "native")
SCHEMAS = Path(staging.HARNESS_ROOT) / "reference_impl" / "schemas"


def _stage(tmp_path, kind, monkeypatch):
    exe_dir = tmp_path / kind
    exe_dir.mkdir()
    (exe_dir / "records").mkdir()
    monkeypatch.setenv("IPC_PROBE", kind)
    path = staging.stage_probe(str(exe_dir), "probe-child", SimpleNamespace(schema_dir=str(SCHEMAS)))
    assert os.path.islink(path) == (kind == "native")
    return path, str(exe_dir / "records")


def _start(path, records, env, fds, *, mode="serve", args=None, preexec=None, cwd=None, **popen):
    full_env = {**staging.probe_env(records, str(SCHEMAS), mode=mode), **env}
    argv = [path, *(args if args is not None else ["-ipcfd", str(fds[0])])]
    return subprocess.Popen(argv, env=full_env, pass_fds=fds, preexec_fn=preexec, cwd=cwd, **popen)


def _record(records, pid):
    with open(os.path.join(records, f"{pid}.json")) as f:
        return json.load(f)


def _wait_file(path, timeout=10):
    """Until ``path`` exists: inotify on its folder (harness.waits.DirWatch),
    set up before the first look."""
    from ipc_conformance.harness.waits import DirWatch
    from ipc_conformance.harness.waits import Deadline
    deadline = Deadline(timeout)
    with DirWatch(os.path.dirname(path)) as watch:
        while not os.path.exists(path):
            assert not deadline.expired(), f"{path} never appeared within {timeout}s"
            watch.wait(deadline.left())


def _block_and_ignore():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
    signal.signal(signal.SIGINT, signal.SIG_IGN)


_BASE = {"PATH": "/usr/bin:/bin", "IPC_SUITE_MARK": "42", "X_TEXT": "caf\u00e9 \u2603 \U0001F600 \"q\" \\ \t\x7f"}
VARIANTS = {
    "utf8-locale": ({**_BASE, "LANG": "C.UTF-8"}, None),
    "c-locale": (dict(_BASE), None),                # the interpreter coerces LC_CTYPE
    "lc-all-c": ({**_BASE, "LC_ALL": "C"}, None),   # it does not
    "signals": ({**_BASE, "LANG": "C.UTF-8"}, _block_and_ignore),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_census_records_match(tmp_path, monkeypatch, variant):
    env, preexec = VARIANTS[variant]
    env = {k.encode(): v.encode("utf-8", "surrogatepass") for k, v in env.items()}
    env[b"X_BYTES"] = b"\xff\xfe ok \xc3"          # not UTF-8: surrogateescape
    ours, theirs = socket.socketpair()
    r, w = os.pipe()
    os.set_inheritable(w, True)
    extra = os.open("/dev/null", os.O_RDONLY | os.O_NONBLOCK)   # inherited with other flags
    kept = os.open("/dev/null", os.O_RDONLY)                    # close-on-exec: never seen
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    records = {}
    try:
        for kind in KINDS:
            path, rec_dir = _stage(tmp_path, kind, monkeypatch)
            fds = (theirs.fileno(), w, extra)
            p = _start(path, rec_dir, env, fds, mode="exit-now", preexec=preexec, cwd=str(cwd),
                       stdin=subprocess.DEVNULL)
            assert p.wait(20) == 0
            records[kind] = (path, p.pid, _record(rec_dir, p.pid))
    finally:
        for fd in (r, w, extra, kept):
            os.close(fd)
        ours.close()
        theirs.close()
    # The environment each was given: probe_env's fields with the test's own.
    (py_path, py_pid, py), (nat_path, nat_pid, nat) = records["python"], records["native"]
    assert set(py) == set(nat)
    assert (py["pid"], nat["pid"]) == (py_pid, nat_pid)
    assert py["ppid"] == nat["ppid"] == os.getpid()
    assert (py["pgid"], py["sid"]) == (nat["pgid"], nat["sid"]) == (os.getpgid(0), os.getsid(0))
    assert (py["argv"][0], nat["argv"][0]) == (py_path, nat_path)
    assert py["argv"][1:] == nat["argv"][1:]
    assert py["cwd"] == nat["cwd"] == str(cwd)
    py_env = {k: v for k, v in py["env"].items() if k not in ("IPC_PROBE_DIR",)}
    nat_env = {k: v for k, v in nat["env"].items() if k not in ("IPC_PROBE_DIR",)}
    assert py_env == nat_env
    assert py["env"]["X_BYTES"] == "\udcff\udcfe ok \udcc3"
    assert py["fds"] == nat["fds"]
    assert str(kept) not in nat["fds"] and str(extra) in nat["fds"]
    assert py["signals"] == nat["signals"]


def _serve_pair(tmp_path, monkeypatch, kind, mode, env=None):
    path, rec_dir = _stage(tmp_path, kind, monkeypatch)
    ours, theirs = socket.socketpair()
    p = _start(path, rec_dir, env or {}, (theirs.fileno(),), mode=mode,
               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    theirs.close()
    return p, ours, rec_dir


@pytest.fixture
def peer():
    loop = PeerLoop("probe-test")
    yield loop
    loop.close()


def _client(peer, sock):
    schemas = load_schemas(SimpleNamespace(schema_dir=str(SCHEMAS), init_schema="init.capnp",
                                           init_interface="Init", libmultiprocess=True,
                                           proxy_schema="mp/proxy.capnp", echo=True,
                                           echo_schema="echo.capnp"))
    return peer.run(Client(schemas).connect_sock, sock)


@pytest.mark.parametrize("kind", KINDS)
def test_serve_answers_then_exits_at_eof(tmp_path, monkeypatch, peer, kind):
    p, ours, rec_dir = _serve_pair(tmp_path, monkeypatch, kind, "serve")
    client = _client(peer, ours)
    assert peer.run(client.probe, "suite") == f"suite (pid {p.pid})"
    assert peer.run(client.echo, "hi") == "hi"
    peer.run(client.destroy_echo)
    assert peer.run(client.echo, "again") == "again"    # the suite's Echo answers after destroy
    p.send_signal(signal.SIGINT)
    assert peer.run(client.probe, "after") == f"after (pid {p.pid})"
    peer.run(client.close)
    assert p.wait(20) == 0
    out = p.stdout.read().decode()
    assert out == "[probe-child] SIGINT received \u2014 waiting for parent to shut down.\n"
    assert os.path.exists(os.path.join(rec_dir, f"{p.pid}.json"))


@pytest.mark.parametrize("kind", KINDS)
def test_ignore_eof_keeps_running(tmp_path, monkeypatch, peer, kind):
    p, ours, _ = _serve_pair(tmp_path, monkeypatch, kind, "ignore-eof")
    client = _client(peer, ours)
    assert peer.run(client.probe, "x") == f"x (pid {p.pid})"
    peer.run(client.close)
    with pytest.raises(subprocess.TimeoutExpired):
        p.wait(0.5)
    p.kill()
    p.wait(10)


@pytest.mark.parametrize("kind", KINDS)
def test_stall_marks_and_never_answers(tmp_path, monkeypatch, peer, kind):
    p, ours, rec_dir = _serve_pair(tmp_path, monkeypatch, kind, "stall")
    client = _client(peer, ours)
    mark = os.path.join(rec_dir, f"{p.pid}.stalled")

    async def stalled(client):
        # The call stays in flight on the loop until the connection closes.
        call = asyncio.ensure_future(client.probe("x"))
        for _ in range(1000):
            if os.path.exists(mark) or call.done():
                break
            await asyncio.sleep(0.01)
        answered = call.done()
        await client.close()
        try:
            await call
        except Exception:
            pass
        return answered
    assert peer.run(stalled, client, timeout=20) is False
    assert os.path.exists(mark)
    assert p.wait(20) == 0


@pytest.mark.parametrize("kind", KINDS)
def test_deaf_shuts_read_side_and_waits_for_close(tmp_path, monkeypatch, kind):
    p, ours, rec_dir = _serve_pair(tmp_path, monkeypatch, kind, "deaf")
    _wait_file(os.path.join(rec_dir, f"{p.pid}.deaf"))
    with pytest.raises(subprocess.TimeoutExpired):
        p.wait(0.2)
    ours.close()
    assert p.wait(20) == 0


@pytest.mark.parametrize("kind", KINDS)
def test_exit_now_status_and_usage(tmp_path, monkeypatch, kind):
    path, rec_dir = _stage(tmp_path, kind, monkeypatch)
    p = _start(path, rec_dir, {"IPC_PROBE_EXIT_STATUS": "3"}, (), mode="exit-now", args=[])
    assert p.wait(20) == 3
    p = _start(path, rec_dir, {}, (), mode="serve", args=["x", "y"], stderr=subprocess.PIPE)
    assert p.wait(20) == 2
    assert p.stderr.read().decode() == "probe child: expected '-ipcfd N', got ['x', 'y']\n"
    assert os.path.exists(os.path.join(rec_dir, f"{p.pid}.json"))
