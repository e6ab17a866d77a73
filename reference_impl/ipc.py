"""AsyncIpc: the reference ``interfaces::Ipc``, on asyncio and pycapnp.

Every method runs on the thread of the asyncio loop that pycapnp drives
(``capnp.run``); ``sync.Ipc`` is the facade for callers on other threads.
"""
import asyncio
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass, field

import capnp

from .errors import InvalidArgument, IpcSystemError
from .process import address as addresses
from .process import spawn as spawning
from .process import spawned, unix_socket
from .protocol.connection import Connection
from .protocol.listener import Listener
from .protocol.proxy import InitProxy
from .protocol.servers import InitServer

log = logging.getLogger("reference_impl.ipc")

# connect_address("auto") treats these as "nobody is listening": return None.
_AUTO_OFFLINE = {2, 20, 111}   # ENOENT, ENOTDIR, ECONNREFUSED
NODE_EXE_NAME = "ref-node"


@dataclass
class IpcContext:
    """Process-wide state: who we are, and what we hold."""
    exe_name: str
    datadir: str
    argv0: str
    listeners: list = field(default_factory=list)
    proxies: list = field(default_factory=list)
    parent: Connection | None = None


class AsyncIpc:
    def __init__(self, exe_name: str, *, argv0: str | None = None, datadir: str | None = None,
                 node_exe_name: str = NODE_EXE_NAME, init_factory=InitServer):
        self._context = IpcContext(exe_name=exe_name, datadir=os.path.abspath(datadir or "."),
                                   argv0=argv0 or sys.argv[0])
        self._node_exe_name = node_exe_name
        self._init_factory = init_factory

    def context(self) -> IpcContext:
        return self._context

    # -- parent side ------------------------------------------------------
    async def spawn_process(self, exe_name: str) -> InitProxy:
        """Spawn ``dirname(argv0)/exe_name -ipcfd N`` and return its Init proxy;
        destroying the proxy closes the connection and reaps the child."""
        return await self._adopt_child(exe_name, spawning.spawn(exe_name, self._context.argv0))

    async def spawn_concurrent(self, exe_name: str, count: int) -> list[InitProxy]:
        """Spawn ``exe_name`` ``count`` times at once, each spawn on a thread of
        its own released together by a barrier (a test of descriptor hygiene:
        no child may inherit a sibling's socket). The proxies come in the order
        the spawns finished; if any spawn fails, the others are closed and
        reaped and the first error is raised."""
        loop = asyncio.get_running_loop()
        barrier = threading.Barrier(count)
        done = []                       # (child or exception), in finishing order
        lock = threading.Lock()

        def one():
            try:
                barrier.wait(30)
                result = spawning.spawn(exe_name, self._context.argv0)
            except BaseException as e:  # noqa: BLE001 -- handed to the loop
                result = e
            with lock:
                done.append(result)

        threads = [threading.Thread(target=one, name=f"spawn-{i}", daemon=True)
                   for i in range(count)]
        for t in threads:
            t.start()
        await loop.run_in_executor(None, lambda: [t.join() for t in threads])
        errors = [r for r in done if isinstance(r, BaseException)]
        children = [r for r in done if not isinstance(r, BaseException)]
        if errors:
            for child in children:
                child.sock.close()
                await _reap(child)
            raise errors[0]
        proxies = []
        try:
            for child in children:
                proxies.append(await self._adopt_child(exe_name, child))
        except BaseException:
            for child in children[len(proxies) + 1:]:
                child.sock.close()
                await _reap(child)
            for proxy in proxies:
                await proxy.aclose()
            raise
        return proxies

    async def _adopt_child(self, exe_name: str, child) -> InitProxy:
        """Connect to a child just spawned and hold its Init proxy, whose
        first cleanup reaps the child."""
        try:
            conn = await Connection.connect(child.sock, label=f"{exe_name} pid {child.pid}")
        except BaseException:
            child.sock.close()
            await _reap(child)
            raise
        proxy = InitProxy(conn, pid=child.pid, label=f"{exe_name} pid {child.pid}")

        async def reap():
            status = await _reap(child)
            log.debug("%s pid %d exited with status %d", exe_name, child.pid, status)
            proxy.exit_status = status

        proxy.exit_status = None
        proxy.add_cleanup(reap)
        self._hold(proxy)
        return proxy

    async def connect_address(self, address: str) -> InitProxy | None:
        """Connect to a listening process; ``""``/``"0"`` give None, and so does
        ``"auto"`` when nobody listens at the default node socket."""
        if address in ("", "0"):
            return None
        auto = address == "auto"
        try:
            target = addresses.parse_address("unix" if auto else address, self._context.datadir,
                                             self._node_exe_name, allow_options=False)
            sock = unix_socket.connect_unix(target.path)
        except InvalidArgument as e:
            if auto and "exceeded maximum socket path length" in str(e):
                return None
            raise
        except IpcSystemError as e:
            if auto and e.errno in _AUTO_OFFLINE:
                return None
            raise
        sock.setblocking(False)
        conn = await Connection.connect(sock, label=str(target))
        proxy = InitProxy(conn, label=str(target))
        proxy.address = str(target)
        self._hold(proxy)
        return proxy

    def _hold(self, proxy: InitProxy):
        held = self._context.proxies
        held.append(proxy)
        proxy.add_cleanup(lambda: held.remove(proxy) if proxy in held else None)

    def add_cleanup(self, proxy: InitProxy, fn):
        proxy.add_cleanup(fn)

    # -- listening --------------------------------------------------------
    async def listen_address(self, address: str) -> Listener:
        """Listen on ``address`` (options allowed) and serve our Init to every client."""
        target = addresses.parse_address(address, self._context.datadir, self._context.exe_name,
                                         allow_options=True)
        sock = unix_socket.bind_unix(target.path)
        limit = target.max_connections
        if limit is None:
            limit = addresses.DEFAULT_MAX_CONNECTIONS
        listener = Listener(sock, target, self._init_factory, max_connections=limit)
        self._context.listeners.append(listener)
        log.debug("listening on %s", target)
        return listener

    def disconnect_incoming(self) -> int:
        """Drop every accepted connection; the parent's connection stays."""
        return sum(listener.disconnect_all() for listener in self._context.listeners)

    # -- child side -------------------------------------------------------
    async def serve_parent(self, fd: int) -> None:
        """Serve Init on the descriptor inherited from the parent until it closes."""
        os.set_inheritable(fd, False)     # our own children must never hold it
        import socket
        sock = socket.socket(fileno=fd)   # adopts the number; fromfd would dup it
        sock.setblocking(False)
        conn = await Connection.serve(sock, self._init_factory(), label="parent", incoming=False)
        self._context.parent = conn
        await conn.wait_disconnected()

    async def aclose(self):
        """Destroy every held proxy (reaping spawned children) and close listeners."""
        for listener in list(self._context.listeners):
            listener.close(disconnect=True)
        self._context.listeners.clear()
        for proxy in list(self._context.proxies):
            await proxy.aclose()


def start_spawned_process(argv: list[str], exe_name: str | None = None, *,
                          init_factory=InitServer) -> tuple[bool, int]:
    """If argv says this is a spawned child, serve the parent until it closes
    and return (True, 0); otherwise return (False, 0) at once.

    Raises InvalidArgument for an invalid -ipcfd number."""
    fd = spawned.check_spawned(argv)
    if fd is None:
        return False, 0
    name = exe_name or os.path.basename(argv[0])
    ipc = AsyncIpc(name, argv0=argv[0], init_factory=init_factory)

    async def main():
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, _sigint_message, name)
        try:
            await ipc.serve_parent(fd)
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            await ipc.aclose()

    asyncio.run(capnp.run(main()))
    return True, 0


def _sigint_message(name: str):
    # Upstream: the parent decides when a spawned child ends.
    sys.stdout.write(f"[{name}] SIGINT received \u2014 waiting for parent to shut down.\n")
    sys.stdout.flush()


async def _reap(child) -> int:
    """Wait for the child's exit without blocking the loop (pidfd), then reap it."""
    loop = asyncio.get_running_loop()
    pidfd = child.pidfd()
    exited = loop.create_future()
    loop.add_reader(pidfd, lambda: exited.done() or exited.set_result(None))
    try:
        await exited
    finally:
        loop.remove_reader(pidfd)
    return child.reap()
