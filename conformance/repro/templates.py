'''The text of standalone reproducers: a preamble of small helpers (filled
with the manifest's values by ``writer``), one ``scenario()`` per supported
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


def fail(expected, saw):
    raise Failed(f"expected {expected}; saw {saw}")


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


async def stop(proc):
    """End a process this script started, whatever state it is in."""
    if proc.returncode is None:
        proc.kill()
    await proc.wait()

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


def ask(shell, line):
    """Send a command and return its result line (ok ... or error ...)."""
    import pexpect
    result = None
    try:
        if line is not None:
            shell.sendline(line)
            shell.expect(r"(?m)^((?:ok|error)\\b[^\\r\\n]*)\\r?\\n")
            result = shell.match.group(1)
        shell.expect_exact(CONFIG["prompt"])
    except pexpect.TIMEOUT:
        fail(f"an answer to {line!r}", f"none within {TIMEOUT:g}s (output: {shell.before[-300:]!r})")
    except pexpect.EOF:
        fail(f"an answer to {line!r}", f"the shell exited (output: {shell.before[-300:]!r})")
    return result


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
    import pexpect
    import psutil
    tmp = tempfile.mkdtemp(prefix="repro-")
    shell = None
    try:
        argv = stage_shell(tmp)
        shell = pexpect.spawn(argv[0], argv[1:], cwd=tmp, encoding="utf-8", echo=False,
                              timeout=TIMEOUT)
        ask(shell, None)
        answer = ask(shell, f"spawn {CONFIG['node_name']}")
        m = re.match(r"ok spawned (\\d+) pid=(\\d+)", answer)
        if m is None:
            fail("'ok spawned <id> pid=<pid>'", repr(answer))
        obj, pid = m.group(1), int(m.group(2))
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

    "SIG-001": Template(("child",), '''

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
        client.close()
        client = None
        await within(proc.wait(), "the child's exit once its parent's end closed")
        if proc.returncode != 0:
            fail("exit status 0 once the parent's end closed", describe(proc.returncode))
    finally:
        if client is not None:
            client.close()
        await stop(proc)
'''),

    "LISTEN-002": Template(("listener",), _LISTENER + '''

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
}
