'''The text of standalone reproducers: a preamble of small helpers (filled
with the manifest's values by ``writer``), the blocks of helpers a case needs
(``_CAPNP``: a pycapnp client of Init; ``_SHELL``: the shell on a pty and the
children staged beside it; ``_LISTENER``), one ``scenario()`` per supported
case, and a footer that turns the outcome into a message and an exit status.

The scripts import only the standard library, pexpect, psutil and pycapnp:
they must run where the conformance suite is not installed.
'''
from dataclasses import dataclass

PREAMBLE = '''#!/usr/bin/env python3
"""Reproducer of conformance case $case_id ($requirement) against $implementation.

The case: $statement
The requirement: $requirement_text

Written by `ipc-conformance repro $case_id --write`. It needs only pexpect,
psutil and pycapnp, and the implementation's executables named in CONFIG.
Exit status 0: the behaviour is right. 1: it is not; the last line says what
was expected and what was seen.
"""
import asyncio
import functools
import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile

CASE = "$case_id"
TIMEOUT = 10.0
CONFIG = json.loads(r"""
$config
""")


class Failed(Exception):
    """The implementation did not do what the case requires."""

    def __init__(self, expected, saw):
        super().__init__(f"expected {expected}; saw {saw}")
        self.expected, self.saw = expected, saw


def fail(expected, saw):
    raise Failed(expected, saw)


def describe(status):
    if status is not None and status < 0:
        return f"killed by {signal.Signals(-status).name} (status {status})"
    return f"exit status {status}"


def argv_of(role, **values):
    """The manifest's argv of a role, with this run's values filled in."""
    out = []
    for arg in CONFIG["argv"][role]:
        for key, value in values.items():
            arg = arg.replace("{" + key + "}", str(value))
        out.append(arg)
    return out
'''

FOOTER = '''

def main():
    try:
        scenario()
    except Failed as e:
        print(f"FAIL {CASE} against {CONFIG['implementation']}: {e}", flush=True)
        return 1
    print(f"PASS {CASE} against {CONFIG['implementation']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

# asyncio and pycapnp: a client of the implementation's Init over a socket.
_CAPNP = '''

async def within(awaitable, what, timeout=TIMEOUT):
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except asyncio.TimeoutError:
        fail(what, f"nothing within {timeout:g}s")


@functools.lru_cache(maxsize=None)
def init_interface():
    import capnp
    folder = CONFIG["schema_dir"]
    module = capnp.load(os.path.join(folder, CONFIG["init_schema"]), imports=[folder])
    return getattr(module, CONFIG["init_interface"])


class Client:
    """A Cap'n Proto client of the implementation's Init over one socket."""

    @classmethod
    async def connect(cls, sock):
        import capnp
        self = cls()
        sock.setblocking(False)
        self.stream = await capnp.AsyncIoStream.create_connection(sock=sock)
        self.rpc = capnp.TwoPartyClient(self.stream)
        self.init = self.rpc.bootstrap().cast_as(init_interface())
        return self

    async def probe(self, name="probe"):
        """construct, makeThread(name), getName: what any libmultiprocess Init answers."""
        thread_map = (await self.init.construct()).threadMap
        thread = (await thread_map.makeThread(name)).result
        return (await thread.getName()).result

    def close(self):
        if self.stream is not None:
            self.stream.close()
        self.stream = self.rpc = self.init = None


def run_async(scenario):
    import capnp
    return asyncio.run(capnp.run(scenario()))


async def close_expect_exit_zero(client, proc):
    """Close the parent's end (``client``): the child must exit 0."""
    client.close()
    await within(proc.wait(), "the child's exit once its parent's end closed")
    if proc.returncode != 0:
        fail("exit status 0 once the parent's end closed", describe(proc.returncode))


async def stop(proc):
    """End a process this script started, whatever state it is in."""
    if proc.returncode is None:
        proc.kill()
    await proc.wait()


async def try_probe(client, timeout=TIMEOUT):
    """None when ``client``'s probe is answered within ``timeout``; else what happened."""
    import capnp
    try:
        name = await asyncio.wait_for(client.probe(), timeout)
    except asyncio.TimeoutError:
        return f"no answer within {timeout:g}s"
    except capnp.KjException as e:
        return f"{e.type}: {(getattr(e, 'description', None) or str(e)).splitlines()[0][:160]}"
    return None if "probe" in name else f"the answer {name!r}"
'''

# Driving the shell (docs/programs.md section 2) through a pty with pexpect.
_SHELL = '''

def stage_shell(tmp):
    """The shell linked into a fresh folder next to the node (under the name
    the shell spawns): children are found at dirname(argv0)/NAME."""
    exe_dir = os.path.join(tmp, "bin")
    os.mkdir(exe_dir)
    shell_exe = CONFIG["executables"]["shell"]
    staged = os.path.join(exe_dir, os.path.basename(shell_exe))
    os.symlink(shell_exe, staged)
    os.symlink(CONFIG["executables"]["node"], os.path.join(exe_dir, CONFIG["node_name"]))
    return [staged if a == shell_exe else a for a in argv_of("shell", datadir=tmp, exe_dir=exe_dir)]


def stage_script(tmp, name, text):
    """An executable child ``name`` beside the staged shell (``spawn NAME`` runs it)."""
    path = os.path.join(tmp, "bin", name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


def open_shell(argv, tmp, **options):
    """The shell on a pty, once it wrote its first prompt."""
    import pexpect
    shell = pexpect.spawn(argv[0], argv[1:], cwd=tmp, encoding="utf-8", echo=False,
                          timeout=TIMEOUT, **options)
    ask(shell, None)
    return shell


EVENTS = []     # every `event ...` line the shell wrote, in order


def ask(shell, line):
    """Send a command and return its result line (ok ... or error ...)."""
    import pexpect
    result = None
    try:
        if line is not None:
            shell.sendline(line)
            shell.expect(r"(?m)^((?:ok|error)\\b[^\\r\\n]*)\\r?\\n")
            EVENTS.extend(re.findall(r"(?m)^event [^\\r\\n]*", shell.before))
            result = shell.match.group(1)
        shell.expect_exact(CONFIG["prompt"])
        EVENTS.extend(re.findall(r"(?m)^event [^\\r\\n]*", shell.before))
    except pexpect.TIMEOUT:
        fail(f"an answer to {line!r}", f"none within {TIMEOUT:g}s: the shell hangs{_output(shell)}")
    except pexpect.EOF:
        fail(f"an answer to {line!r}", f"the shell ended, {shell_end(shell)}{_output(shell)}")
    return result


def shell_end(shell):
    """How the shell ended (once it is gone)."""
    shell.close()
    return describe(-shell.signalstatus if shell.signalstatus else shell.exitstatus)


def _output(shell):
    return f" (output: {shell.before[-300:]!r})" if shell.before.strip() else ""


def spawned(answer):
    """(id, pid) of an 'ok spawned <id> pid=<pid>' answer."""
    m = re.match(r"ok spawned (\\d+) pid=(\\d+)", answer or "")
    if m is None:
        fail("'ok spawned <id> pid=<pid>'", repr(answer))
    return m.group(1), int(m.group(2))


def wait_gone(pid, what):
    """Wait (bounded) until process ``pid`` has ended; fail naming ``what``."""
    import psutil
    try:
        psutil.Process(pid).wait(TIMEOUT)
    except psutil.NoSuchProcess:
        pass
    except psutil.TimeoutExpired:
        fail(f"{what} gone", f"it is still there after {TIMEOUT:g}s")


def close_shell(shell):
    import pexpect
    if shell is None:
        return
    if shell.isalive():
        shell.sendline("quit")
        try:
            shell.expect(pexpect.EOF, timeout=TIMEOUT)
        except pexpect.TIMEOUT:
            pass
    shell.close(force=True)
'''

_LISTENER = '''

async def start_listener(tmp, address):
    """Start the node listening on ``address``; return (process, socket path)
    once it announced it (the manifest's ready pattern)."""
    proc = await asyncio.create_subprocess_exec(
        *argv_of("listener", address=address, datadir=tmp), cwd=tmp,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    pattern = re.compile(CONFIG["ready_pattern"])
    while True:
        line = await within(proc.stdout.readline(), "the listener announcing its socket")
        if not line:
            await proc.wait()
            err = (await proc.stderr.read()).decode(errors="replace")[-300:]
            fail("the listener announcing its socket", f"it ended ({describe(proc.returncode)}): {err!r}")
        m = pattern.search(line.decode(errors="replace"))
        if m:
            found = m.groupdict().get("address") or address
            return proc, found.partition(":")[2]


async def connect_unix(path):
    """A blocking connect (it waits while the listener's backlog is full),
    on a thread of its own so that the wait can be bounded."""
    import threading
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def settle(fn, value):
        try:
            loop.call_soon_threadsafe(lambda: done.done() or fn(value))
        except RuntimeError:        # the loop is gone: this script is ending
            pass

    def work():
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
        except OSError as e:
            sock.close()
            settle(done.set_exception, e)
        else:
            settle(done.set_result, sock)
    threading.Thread(target=work, daemon=True).start()
    try:
        return await done
    except OSError as e:
        fail(f"a connection to {path}", f"connect failed: {e}")


def still_listening(path):
    """Whether a socket still listens at ``path`` (a non-blocking connect is not refused)."""
    import errno
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        return sock.connect_ex(path) not in (errno.ECONNREFUSED, errno.ENOENT)
    finally:
        sock.close()
'''


@dataclass(frozen=True)
class Template:
    roles: tuple
    body: str


CASES = {
    "SPAWN-005": Template(("shell", "child"), _SHELL + '''

def scenario():
    """Spawn the node through the shell, destroy it, then look for its pid:
    the shell must have reaped it (no process, not even a zombie)."""
    import psutil
    tmp = tempfile.mkdtemp(prefix="repro-")
    shell = None
    try:
        shell = open_shell(stage_shell(tmp), tmp)
        obj, pid = spawned(ask(shell, f"spawn {CONFIG['node_name']}"))
        answer = ask(shell, f"destroy {obj}")
        if not answer.startswith("ok"):
            fail(f"'ok destroyed {obj}'", repr(answer))
        try:
            state = psutil.Process(pid).status()
        except psutil.NoSuchProcess:
            return
        if state == psutil.STATUS_ZOMBIE:
            fail(f"the child (pid {pid}) reaped once 'destroy' answered",
                 "it is a zombie: the shell never waited for its child")
        fail(f"the child (pid {pid}) gone once 'destroy' answered", f"it is still there ({state})")
    finally:
        close_shell(shell)
        shutil.rmtree(tmp, ignore_errors=True)
'''),

    "SIG-001": Template(("child",), _CAPNP + '''

def scenario():
    """Spawn the node as a child over a socketpair and send it SIGINT: it must
    note it on stdout, keep answering, and exit 0 once its parent's end closes."""
    run_async(_sigint)


async def _sigint():
    parent_end, child_end = socket.socketpair()
    proc = await asyncio.create_subprocess_exec(
        *argv_of("child", fd=child_end.fileno()), pass_fds=[child_end.fileno()],
        stdout=asyncio.subprocess.PIPE)
    child_end.close()
    client = None
    try:
        client = await Client.connect(parent_end)
        await within(client.probe(), "an answer to the first probe")
        proc.send_signal(signal.SIGINT)
        line = await within(proc.stdout.readline(), "a line on stdout noting the SIGINT")
        if not line:
            await within(proc.wait(), "the child's exit")
            fail("the child to survive SIGINT, note it on stdout and go on serving",
                 f"SIGINT killed the child: {describe(proc.returncode)}")
        try:
            await within(client.probe(), "an answer to a probe after SIGINT")
        except Failed:
            raise
        except Exception as e:
            fail("an answer to a probe after SIGINT", f"the call failed: {e}")
        closing, client = client, None
        await close_expect_exit_zero(closing, proc)
    finally:
        if client is not None:
            client.close()
        await stop(proc)
'''),

    "LISTEN-002": Template(("listener",), _CAPNP + _LISTENER + '''

def scenario():
    """Start the node listening with max-connections=32 and connect twenty
    clients at once: every one of them must be answered."""
    run_async(_twenty)


async def _twenty():
    tmp = tempfile.mkdtemp(prefix="repro-")
    proc, clients = None, []
    try:
        proc, path = await start_listener(tmp, f"unix:{tmp}/many.sock:max-connections=32")
        for n in range(1, 21):
            try:
                sock = await asyncio.wait_for(connect_unix(path), TIMEOUT)
            except asyncio.TimeoutError:
                fail(f"client {n} of 20 to connect",
                     f"its connect blocked for {TIMEOUT:g}s: the listener stopped accepting "
                     f"clients ({n - 1} connected before it)")
            clients.append(await Client.connect(sock))
        calls = [asyncio.ensure_future(c.probe()) for c in clients]
        done, pending = await asyncio.wait(calls, timeout=TIMEOUT)
        for call in pending:
            call.cancel()
        answered = sum(1 for call in done if call.exception() is None)
        if answered < 20:
            fail("all 20 clients answered",
                 f"{answered} of 20 answered within {TIMEOUT:g}s; the listener left the others unserved")
        if proc.returncode is not None:
            fail("the listener still running", describe(proc.returncode))
    finally:
        for client in clients:
            client.close()
        if proc is not None:
            await stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
'''),
    "LISTEN-030": Template(("listener",), _CAPNP + _LISTENER + '''

def lowest_free_fd(pid):
    """The number the kernel gives ``pid``'s next new descriptor."""
    used = {int(n) for n in os.listdir(f"/proc/{pid}/fd")}
    return next(n for n in range(len(used) + 1) if n not in used)


def scenario():
    """Serve one client, lower the listener's RLIMIT_NOFILE (from outside) to
    its lowest free descriptor number so that the accept of a second client
    fails with EMFILE, then raise it back: the waiting client, and a new one,
    must be served."""
    run_async(_emfile)


async def _emfile():
    import psutil
    tmp = tempfile.mkdtemp(prefix="repro-")
    proc, clients = None, []

    async def client():
        clients.append(await Client.connect(await connect_unix(path)))
        return clients[-1]
    try:
        proc, path = await start_listener(tmp, f"unix:{tmp}/ex.sock")
        served = await client()
        problem = await try_probe(served)
        if problem:
            fail("an answer to the first client", problem)
        node = psutil.Process(proc.pid)
        old = node.rlimit(psutil.RLIMIT_NOFILE)
        node.rlimit(psutil.RLIMIT_NOFILE, (lowest_free_fd(proc.pid), old[1]))
        try:
            waiting = await client()            # queued by the kernel; its accept fails
            problem = await try_probe(served)   # the listener had its turn to try
            if problem:
                fail("the served client answered while the accept fails with EMFILE", problem)
        finally:
            if proc.returncode is None:
                node.rlimit(psutil.RLIMIT_NOFILE, old)
        problem = await try_probe(waiting)
        if problem and proc.returncode is None:
            fail("the waiting client served once RLIMIT_NOFILE was raised again",
                 f"{problem}: the listener, still running, never accepted again after "
                 "its accept failed with EMFILE")
        if problem:
            fail("the listener to live through an accept failing with EMFILE", describe(proc.returncode))
        problem = await try_probe(await client())
        if problem:
            fail("a new client served after the exhaustion", problem)
    finally:
        for c in clients:
            c.close()
        if proc is not None:
            await stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
'''),

    "LISTEN-032": Template(("shell",), _CAPNP + _LISTENER + _SHELL + '''

def scenario():
    """The shell listens with max-connections=1; one client is served, a second
    waits in the backlog. disconnect-incoming must drop the served client only:
    the waiting one must then be served."""
    run_async(_drop_at_limit)


async def _drop_at_limit():
    tmp = tempfile.mkdtemp(prefix="repro-")
    path = f"{tmp}/one.sock"
    shell, clients = None, []
    try:
        shell = open_shell(stage_shell(tmp), tmp)
        answer = ask(shell, f"listen unix:{path}:max-connections=1")
        if answer != f"ok listening unix:{path}":
            fail(f"'ok listening unix:{path}'", repr(answer))
        for _ in range(2):
            clients.append(await Client.connect(await connect_unix(path)))
        served, waiting = clients
        problem = await try_probe(served)
        if problem:
            fail("an answer to the first client", problem)
        answer = ask(shell, "disconnect-incoming")
        if answer != "ok disconnected 1":
            fail("'ok disconnected 1' (the served client only)", repr(answer))
        problem = await try_probe(waiting)
        if problem:
            if not still_listening(path):
                problem += "; nothing listens any more: the shell closed its listening socket"
            fail("the client waiting in the backlog served once disconnect-incoming dropped "
                 "the served one", problem)
    finally:
        for c in clients:
            c.close()
        close_shell(shell)
        shutil.rmtree(tmp, ignore_errors=True)
'''),

    "LISTEN-033": Template(("shell",), _CAPNP + _LISTENER + _SHELL + '''

def scenario():
    """Eight rounds with the shell listening at max-connections=2: fill the
    limit, a third client waiting, disconnect-incoming (2 dropped), and the
    waiting client must be served, carried into the next round."""
    run_async(_rounds)


async def _rounds():
    tmp = tempfile.mkdtemp(prefix="repro-")
    path = f"{tmp}/rc.sock"
    shell, clients = None, []

    async def client():
        clients.append(await Client.connect(await connect_unix(path)))
        return clients[-1]
    try:
        shell = open_shell(stage_shell(tmp), tmp)
        answer = ask(shell, f"listen unix:{path}:max-connections=2")
        if answer != f"ok listening unix:{path}":
            fail(f"'ok listening unix:{path}'", repr(answer))
        carried = None                  # the client let in by the last drop
        for n in range(1, 9):
            active = [await client() for _ in range(1 if carried else 2)] + ([carried] if carried else [])
            for c in active:
                problem = await try_probe(c)
                if problem:
                    fail(f"round {n} of 8: the 2 clients within the limit served", problem)
            carried = await client()
            answer = ask(shell, "disconnect-incoming")
            if answer != "ok disconnected 2":
                fail(f"round {n} of 8: 'ok disconnected 2'", repr(answer))
            problem = await try_probe(carried)
            if problem:
                if not still_listening(path):
                    problem += "; nothing listens any more: the shell closed its listening socket"
                fail(f"round {n} of 8: the waiting client served once disconnect-incoming "
                     "dropped the two served ones", problem)
            for c in active:
                c.close()
    finally:
        for c in clients:
            c.close()
        close_shell(shell)
        shutil.rmtree(tmp, ignore_errors=True)
'''),

    "FD-005": Template(("shell", "child"), _SHELL + '''

# Becomes the node once it listed the descriptors it was exec'd with (a shell
# script, so that no interpreter opens or closes anything first).
CENSUS_CHILD = """#!/bin/sh
ls -l /proc/$$/fd > '{out}'
exec "$(dirname "$0")/{node}" "$@"
"""


def scenario():
    """Start the shell with RLIMIT_NOFILE 4096 and inheritable descriptors at
    64 and 4095, then spawn a child that lists its descriptors at exec:
    neither may be among them."""
    import resource
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    limit = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
    high = limit - 1
    baits = (64, high)

    def limit_and_bait():       # in the shell's process, before its exec
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
        for fd in baits:
            os.dup2(os.open("/dev/null", os.O_RDONLY), fd)     # inheritable

    tmp = tempfile.mkdtemp(prefix="repro-")
    out = os.path.join(tmp, "census.txt")
    shell = None
    try:
        argv = stage_shell(tmp)
        stage_script(tmp, "census", CENSUS_CHILD.format(out=out, node=CONFIG["node_name"]))
        shell = open_shell(argv, tmp, preexec_fn=limit_and_bait)
        missing = [fd for fd in baits if not os.path.exists(f"/proc/{shell.pid}/fd/{fd}")]
        if missing:
            fail(f"the bait descriptors {baits} open in the shell", f"{missing} are not")
        obj, pid = spawned(ask(shell, "spawn census"))
        answer = ask(shell, f"probe {obj}")     # the node answers: the census is written
        if not answer.startswith("ok"):
            fail(f"an answer to 'probe {obj}'", repr(answer))
        with open(out) as f:
            held = dict(re.findall(r" (\\d+) -> (.*)", f.read()))
        if str(high) in held and "64" not in held:
            fail(f"fd {high} closed in the child (the shell's RLIMIT_NOFILE is {limit}), as fd 64 is",
                 f"the child inherited fd {high} ({held[str(high)]}): the close loop before exec "
                 f"stops one short of RLIMIT_NOFILE")
        leaked = [fd for fd in baits if str(fd) in held]
        if leaked:
            fail(f"none of the inheritable descriptors {baits} in the child",
                 f"it inherited {leaked}")
    finally:
        close_shell(shell)
        shutil.rmtree(tmp, ignore_errors=True)
'''),

    "SPAWN-014": Template(("shell",), _SHELL + '''

def scenario():
    """Spawn a child that exits 3 at once. If the spawn succeeds, the child
    must be reaped with status 3 by the end of its `destroy`; if it fails,
    the child must not be left a zombie when the failure is answered."""
    import psutil
    tmp = tempfile.mkdtemp(prefix="repro-")
    pid_file = os.path.join(tmp, "quick.pid")
    shell = None
    try:
        argv = stage_shell(tmp)
        stage_script(tmp, "quick", f"#!/bin/sh\\necho $$ > '{pid_file}'\\nexit 3\\n")
        shell = open_shell(argv, tmp)
        answer = ask(shell, "spawn quick")
        if answer.startswith("ok"):
            obj, pid = spawned(answer)
            ask(shell, f"destroy {obj}")
            reaped = f"event reaped {obj} pid={pid} status=3"
            if reaped not in EVENTS:
                fail(f"{reaped!r} by the end of 'destroy {obj}'", f"the events {EVENTS}")
            return
        with open(pid_file) as f:       # written by the child before it exited
            pid = int(f.read())
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                fail(f"the child (pid {pid}) reaped before the failed spawn was answered "
                     f"({answer!r})", "it is a zombie: the shell gave up on the spawn of a child "
                     "that had exited without ever waiting for it")
        except psutil.NoSuchProcess:
            return
        wait_gone(pid, f"the child (pid {pid}) of the failed spawn")
    finally:
        close_shell(shell)
        shutil.rmtree(tmp, ignore_errors=True)
'''),

    "FD-011": Template(("shell",), _SHELL + '''

def fd_count(shell, n):
    """The shell's descriptors, after failing spawn ``n``."""
    try:
        return len(os.listdir(f"/proc/{shell.pid}/fd"))
    except FileNotFoundError:       # it answered, then died
        fail(f"the shell going on after failing spawn {n} of 11", f"the shell ended, {shell_end(shell)}")


def scenario():
    """Spawn a missing executable once (lazy set-up is no leak), count the
    shell's descriptors, spawn it ten times more: each spawn must be answered
    (the shell neither dies nor hangs) and the count must not have grown."""
    tmp = tempfile.mkdtemp(prefix="repro-")
    shell = None
    try:
        shell = open_shell(stage_shell(tmp), tmp)
        for n in range(11):
            try:
                answer = ask(shell, "spawn no-such")
            except Failed as e:
                fail(f"an answer to failing spawn {n + 1} of 11, the shell going on", e.saw)
            if answer.startswith("ok"):         # exec failure reported as status 127 instead
                obj, _ = spawned(answer)
                ask(shell, f"destroy {obj}")
                if not any(re.match(rf"event reaped {obj} pid=\\d+ status=127$", ev) for ev in EVENTS):
                    fail("the child of 'spawn no-such' reaped with status 127", f"the events {EVENTS}")
            if n == 0:
                before = fd_count(shell, 1)
        after = fd_count(shell, 11)
        if after > before:
            fail(f"the shell's descriptor count still {before} after ten failing spawns",
                 f"{after}: each failing spawn leaves descriptors behind")
        close_shell(shell)              # `quit`: it must end cleanly too
        if shell.exitstatus != 0:
            fail("the shell to exit 0 on quit after the failing spawns", shell_end(shell))
    finally:
        close_shell(shell)
        shutil.rmtree(tmp, ignore_errors=True)
'''),

    "SHUT-010": Template(("shell",), _SHELL + '''

# Shuts the read side of its socket (the shell's next write meets EPIPE, where
# SIGPIPE would kill an unprotected shell), then waits for the shell to close.
DEAF_CHILD = """#!{python}
import select, socket, sys, time
sock = socket.socket(fileno=int(sys.argv[2]))   # -ipcfd N
sock.shutdown(socket.SHUT_RD)
open({mark!r}, "w").close()
poller = select.poll()
poller.register(sock, select.POLLHUP)
end = time.monotonic() + 60
while time.monotonic() < end:
    if any(events & select.POLLHUP for _, events in poller.poll(1000)):
        sys.exit(0)
sys.exit(3)
"""


def scenario():
    """Spawn a child that stops reading, then echo a line through it: the
    shell must answer with an error (not die, not hang) and go on answering."""
    import psutil
    import time
    tmp = tempfile.mkdtemp(prefix="repro-")
    mark = os.path.join(tmp, "deaf")
    shell = None
    try:
        argv = stage_shell(tmp)
        stage_script(tmp, "deaf", DEAF_CHILD.format(python=sys.executable, mark=mark))
        shell = open_shell(argv, tmp)
        try:
            answer = ask(shell, "spawn deaf")
        except Failed:
            if not shell.isalive():
                raise
            shell.close(force=True)
            fail("an answer to 'spawn deaf' (the child shuts its read side, then waits)",
                 f"the spawn of a child that stopped reading never returned (nothing within {TIMEOUT:g}s)")
        obj, pid = spawned(answer)
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(mark):
            if time.monotonic() > deadline:
                fail("the child to shut its read side", f"nothing within {TIMEOUT:g}s")
            time.sleep(0.05)
        try:
            answer = ask(shell, f"echo {obj} {'y' * 4096}")
        except Failed as e:
            fail("an error answer to an echo through a child that reads nothing", e.saw)
        if answer.startswith("ok"):
            fail("an error answer to an echo through a child that reads nothing", repr(answer[:60]))
        ask(shell, "pid")
        answer = ask(shell, f"destroy {obj}")
        if not answer.startswith("ok"):
            fail(f"'ok destroyed {obj}'", repr(answer))
        wait_gone(pid, f"the child (pid {pid}) once destroyed")
    finally:
        close_shell(shell)
        shutil.rmtree(tmp, ignore_errors=True)
'''),

    "PROTO-007": Template(("child",), _CAPNP + '''

def scenario():
    """Spawn the node as a child over a socketpair, make an Echo, destroy it
    and call it again: that call must fail cleanly or be ignored, and the
    child must go on answering and exit 0 once its parent's end closes."""
    run_async(_call_after_destroy)


async def _call_after_destroy():
    import capnp
    parent_end, child_end = socket.socketpair()
    proc = await asyncio.create_subprocess_exec(
        *argv_of("child", fd=child_end.fileno()), pass_fds=[child_end.fileno()])
    child_end.close()
    client = None
    try:
        client = await Client.connect(parent_end)
        thread_map = (await within(client.init.construct(), "an answer to construct()")).threadMap
        ctx = {"thread": (await within(thread_map.makeThread("repro"), "a thread")).result}
        echo = (await within(client.init.makeEcho(ctx), "an Echo from makeEcho()")).result
        await within(echo.echo(ctx, "before"), "an answer to echo('before')")
        await within(echo.destroy(ctx), "an answer to Echo.destroy()")
        try:
            await within(echo.echo(ctx, "after"), "an answer to echo() on the destroyed Echo")
        except capnp.KjException as e:
            if e.type == "DISCONNECTED":
                await within(proc.wait(), "the child's exit once the connection dropped")
                fail("a call on a destroyed Echo to fail cleanly or be ignored, the child serving on",
                     f"the connection dropped: the child was {describe(proc.returncode)}")
        try:
            await within(client.probe(), "an answer to a probe after that call")
            fresh = (await within(client.init.makeEcho(ctx), "a new Echo")).result
            await within(fresh.echo(ctx, "fresh"), "an answer from a new Echo")
        except capnp.KjException as e:
            fail("the child to go on answering after the call on a destroyed Echo",
                 f"{e.type}: {str(e).splitlines()[0][:200]}")
        closing, client = client, None
        await close_expect_exit_zero(closing, proc)
    finally:
        if client is not None:
            client.close()
        await stop(proc)
'''),

    "SIG-007": Template(("shell", "child"), _SHELL + '''

# Records the signal masks it was exec'd with, then becomes the node. A shell
# script: an interpreter would change SIGPIPE before any of its code ran.
SIGNALS_CHILD = """#!/bin/sh
while IFS= read -r line; do
  case "$line" in Sig*) echo "$line";; esac
done < /proc/$$/status > '{out}'
exec "$(dirname "$0")/{node}" "$@"
"""


def default_signals():          # in the shell's process, before its exec
    for sig in (signal.SIGPIPE, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, (signal.SIGPIPE, signal.SIGINT))


def scenario():
    """Start the shell with SIGPIPE and SIGINT at their defaults and spawn a
    child that records its signal masks at exec: it should start with both
    neither ignored nor blocked (a SHOULD: the suite reports NON-STRICT)."""
    tmp = tempfile.mkdtemp(prefix="repro-")
    out = os.path.join(tmp, "masks.txt")
    shell = None
    try:
        argv = stage_shell(tmp)
        stage_script(tmp, "sig-probe", SIGNALS_CHILD.format(out=out, node=CONFIG["node_name"]))
        shell = open_shell(argv, tmp, preexec_fn=default_signals)
        obj, pid = spawned(ask(shell, "spawn sig-probe"))
        answer = ask(shell, f"probe {obj}")     # the node answers: the masks are written
        if not answer.startswith("ok"):
            fail(f"an answer to 'probe {obj}'", repr(answer))
        ask(shell, f"destroy {obj}")
        with open(out) as f:
            masks = dict(line.split(":") for line in f.read().splitlines())
        off = [f"{sig.name} {what}" for sig in (signal.SIGPIPE, signal.SIGINT)
               for what, key in (("ignored", "SigIgn"), ("blocked", "SigBlk"))
               if int(masks[key], 16) >> (sig - 1) & 1]
        if off:
            fail("the child to start with SIGPIPE and SIGINT neither ignored nor blocked "
                 "(a SHOULD: the suite reports NON-STRICT)",
                 f"it starts with {', '.join(off)}, though the shell was started with both at "
                 "their defaults: the shell passes its own dispositions on to its children")
    finally:
        close_shell(shell)
        shutil.rmtree(tmp, ignore_errors=True)
'''),
}
