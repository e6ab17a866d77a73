"""ref-shell: the line protocol of docs/programs.md section 2.

It drives the parent and connector sides of the reference Ipc so that the
conformance suite can exercise them from outside, exactly as it drives the
shell of any other implementation. Every line it writes is flushed.
"""
import asyncio
import errno
import os
import sys
import threading
from dataclasses import dataclass

import capnp

from ..errors import (Disconnected, InvalidArgument, IpcError, IpcSystemError,
                      ProxyDestroyed, RemoteError)
from ..ipc import AsyncIpc
from . import die_of_sigint, exit_now

PROMPT = "ipc> "


@dataclass
class Held:
    id: int
    kind: str              # "spawned" or "connected"
    proxy: object
    echo: object = None


class UsageError(Exception):
    pass


class NotFound(Exception):
    """No object is held under that id (never was, or destroyed)."""


class Shell:
    def __init__(self, ipc: AsyncIpc, out=sys.stdout):
        self.ipc = ipc
        self.out = out
        self.held: dict[int, Held] = {}
        self._next_id = 1

    def write(self, line: str):
        self.out.write(line + "\n")
        self.out.flush()

    def prompt(self):
        self.out.write(PROMPT)
        self.out.flush()

    async def run(self, lines: "asyncio.Queue[str | None]") -> int:
        while True:
            self.prompt()
            line = await lines.get()
            if line is None:
                line = "quit"
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            if await self.execute(line):
                return 0

    async def execute(self, line: str) -> bool:
        """Run one command and write its answer; True when the shell should end."""
        # Only leading blanks go: `echo ID TEXT` keeps TEXT verbatim, trailing spaces included.
        word, _, rest = line.lstrip().partition(" ")
        handler = getattr(self, "cmd_" + word.replace("-", "_"), None)
        if handler is None:
            self.write(f"error usage: unknown command '{word}'")
            return False
        try:
            answer = await handler(rest)
        except UsageError as e:
            self.write(f"error usage: {e}")
        except NotFound as e:
            self.write(f"error not-found: {e}")
        except InvalidArgument as e:
            self.write(f"error invalid-argument: {e}")
        except (Disconnected, ProxyDestroyed) as e:
            self.write(f"error disconnected: {e}")
        except IpcSystemError as e:
            self.write(f"error system {e.errno_name}: {e}")
        except OSError as e:
            name = errno.errorcode.get(e.errno or 0, "EIO")
            self.write(f"error system {name}: {e.strerror or e}")
        except (RemoteError, IpcError, capnp.KjException) as e:
            self.write(f"error failed: {e}")
        else:
            self.write(answer)
            return word == "quit"
        return False

    # -- helpers ----------------------------------------------------------
    def _hold(self, kind: str, proxy) -> Held:
        held = Held(self._next_id, kind, proxy)
        self._next_id += 1
        self.held[held.id] = held

        def lost():
            if not proxy.destroyed:
                self.write(f"event disconnected {held.id}")
        proxy.connection.on_disconnect(lost)
        return held

    def _get(self, text: str) -> Held:
        try:
            key = int(text)
        except ValueError:
            raise UsageError(f"'{text}' is not an object id") from None
        held = self.held.get(key)
        if held is None:
            raise NotFound(f"no object {text}")
        return held

    @staticmethod
    def _one_arg(rest: str, what: str) -> str:
        arg = rest.strip()
        if not arg or " " in arg:
            raise UsageError(f"expected one {what}")
        return "" if arg == '""' else arg

    # -- commands ---------------------------------------------------------
    async def cmd_spawn(self, rest):
        name = self._one_arg(rest, "executable name")
        proxy = await self.ipc.spawn_process(name)
        held = self._hold("spawned", proxy)
        proxy.add_cleanup(lambda: self.write(
            f"event reaped {held.id} pid={proxy.pid} status={proxy.exit_status}"))
        return f"ok spawned {held.id} pid={proxy.pid}"

    async def cmd_spawn_concurrent(self, rest):
        parts = rest.split()
        if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) < 1:
            raise UsageError("expected a count (1 or more) and an executable name")
        count, name = int(parts[0]), parts[1]
        for proxy in await self.ipc.spawn_concurrent(name, count):
            self._adopt_spawned(proxy)
        return f"ok spawned-concurrent {count}"

    def _adopt_spawned(self, proxy) -> Held:
        """Hold a spawned child's proxy, report it (a `spawned` line) and
        register the event of its reaping."""
        held = self._hold("spawned", proxy)
        proxy.add_cleanup(lambda: self.write(
            f"event reaped {held.id} pid={proxy.pid} status={proxy.exit_status}"))
        self.write(f"spawned {held.id} pid={proxy.pid}")
        return held

    async def cmd_connect(self, rest):
        proxy = await self.ipc.connect_address(self._one_arg(rest, "address"))
        if proxy is None:
            return "ok null"
        held = self._hold("connected", proxy)
        return f"ok connected {held.id} address={proxy.address}"

    async def cmd_listen(self, rest):
        listener = await self.ipc.listen_address(self._one_arg(rest, "address"))
        return f"ok listening {listener.address}"

    async def cmd_probe(self, rest):
        held = self._get(self._one_arg(rest, "object id"))
        return f"ok thread {await held.proxy.probe()}"

    async def cmd_echo(self, rest):
        key, _, text = rest.partition(" ")
        held = self._get(key)
        if held.echo is None:
            held.echo = await held.proxy.make_echo()
        return f"ok echo {await held.echo.echo(text)}"

    async def cmd_cleanup(self, rest, *, fail=False):
        parts = rest.split()
        if len(parts) != 2:
            raise UsageError("expected an object id and a tag")
        held, tag = self._get(parts[0]), parts[1]

        def cleanup():
            self.write(f"event cleanup {tag} ran")
            if fail:
                raise RuntimeError(f"cleanup {tag} fails on purpose")
        held.proxy.add_cleanup(cleanup)
        return f"ok cleanup {tag}"

    async def cmd_cleanup_fail(self, rest):
        return await self.cmd_cleanup(rest, fail=True)

    async def cmd_destroy(self, rest):
        held = self._get(self._one_arg(rest, "object id"))
        del self.held[held.id]
        await held.proxy.aclose()
        return f"ok destroyed {held.id}"

    async def cmd_disconnect_incoming(self, rest):
        return f"ok disconnected {self.ipc.disconnect_incoming()}"

    async def cmd_list(self, rest):
        for held in self.held.values():
            pid = held.proxy.pid if held.proxy.pid is not None else "-"
            state = "disconnected" if held.proxy.disconnected else "live"
            self.write(f"held {held.id} {held.kind} pid={pid} state={state}")
        return f"ok list {len(self.held)}"

    async def cmd_pid(self, rest):
        return f"ok pid {os.getpid()}"

    async def cmd_help(self, rest):
        for name in sorted(n[4:].replace("_", "-") for n in dir(self) if n.startswith("cmd_")):
            self.write(f"command {name}")
        return "ok help"

    async def cmd_quit(self, rest):
        for key in list(self.held):
            held = self.held.pop(key)
            await held.proxy.aclose()
        await self.ipc.aclose()
        return "ok bye"


def _stdin_lines(loop) -> "asyncio.Queue[str | None]":
    """Lines of stdin, read on a thread so any kind of stdin works (pipe,
    pty, file) and events can be written while the shell waits."""
    queue: asyncio.Queue = asyncio.Queue()

    def read():
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)
    threading.Thread(target=read, name="stdin", daemon=True).start()
    return queue


def main(argv=None) -> int:
    program = argv is None        # run as a program: exit without finalization
    argv = list(sys.argv if argv is None else argv)
    datadir = "."
    for arg in argv[1:]:
        if arg.startswith("-datadir="):
            datadir = arg.partition("=")[2]
        else:
            print(f"Error: Unknown argument '{arg}'", file=sys.stderr)
            return 1

    async def run():
        ipc = AsyncIpc(os.path.basename(argv[0]), argv0=argv[0], datadir=datadir)
        return await Shell(ipc).run(_stdin_lines(asyncio.get_running_loop()))

    try:
        status = asyncio.run(capnp.run(run()))
    except KeyboardInterrupt:
        if program:
            die_of_sigint()
        raise
    return exit_now(status, program=program)


if __name__ == "__main__":
    sys.exit(main())
