"""The suite's own Cap'n Proto side: a loop thread, client helpers and a
small server of its own (independent of any implementation under test).

pycapnp needs its KJ loop on the thread that created an object, and an
object destroyed on another thread aborts the process. So every capability
lives and dies on the ``PeerLoop`` thread: cases hand it async functions,
and handles keep their capabilities inside the loop's objects."""
import asyncio
import concurrent.futures
import functools
import os
import socket
import threading
from dataclasses import dataclass

import capnp

from . import liveness, trace
from .waits import WaitTimeout, blocked


@dataclass(frozen=True)
class Schemas:
    """The implementation's schemas as pycapnp modules."""
    init: object           # the module holding the Init interface
    init_interface: object
    proxy: object | None
    echo: object | None


@functools.lru_cache(maxsize=None)
def _load(path: str, schema_dir: str):
    # Upstream-style schemas import "/capnp/c++.capnp" for their C++
    # annotations; pycapnp ships that file, so its package's parent is an
    # import root too (without it, pycapnp aborts the whole process).
    bundled = os.path.dirname(os.path.dirname(os.path.abspath(capnp.__file__)))
    return capnp.load(path, imports=[schema_dir, bundled])


def load_schemas(protocol) -> Schemas:
    d = protocol.schema_dir
    init = _load(os.path.join(d, protocol.init_schema), d)
    proxy = _load(os.path.join(d, protocol.proxy_schema), d) if protocol.libmultiprocess else None
    echo = _load(os.path.join(d, protocol.echo_schema), d) if protocol.echo else None
    return Schemas(init, getattr(init, protocol.init_interface), proxy, echo)


def kj_type(exc) -> str | None:
    """'DISCONNECTED', 'FAILED', ... for a pycapnp error; never read its text."""
    return getattr(exc, "type", None) if isinstance(exc, capnp.KjException) else None


class PeerLoop:
    """A daemon thread running an asyncio loop under ``capnp.run``."""

    def __init__(self, name="peer"):
        self._ready = threading.Event()
        self.loop = None
        self._stop = None
        self._error = None
        self._thread = threading.Thread(target=self._main_thread, name=name, daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise WaitTimeout("the pycapnp peer loop did not start within 30s")
        if self._error:
            raise self._error

    def _main_thread(self):
        async def main():
            self.loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await self._stop.wait()
        try:
            asyncio.run(capnp.run(main()))
        except BaseException as e:
            self._error = e
            self._ready.set()

    def run(self, fn, *args, timeout: float = 10):
        """Run ``await fn(*args)`` on the loop; WaitTimeout past ``timeout``."""
        async def call():
            return await fn(*args)
        future = asyncio.run_coroutine_threadsafe(call(), self.loop)
        try:
            with blocked():
                return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            name = getattr(fn, "__qualname__", repr(fn))
            raise WaitTimeout(f"the call {name} got no answer within {timeout}s") from None

    def close(self):
        if self.loop is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:
                pass
        self._thread.join(10)


class Client:
    """A connection to an implementation: stream, RPC client, bootstrap Init.
    Lives on the PeerLoop thread; use it only from functions run there."""

    def __init__(self, schemas: Schemas):
        self.schemas = schemas
        self.stream = self.rpc = self.init = None
        self._ctx = None
        self._echo = None

    async def connect_sock(self, sock: socket.socket):
        sock.setblocking(False)
        self.stream = await capnp.AsyncIoStream.create_connection(sock=sock)
        self.rpc = capnp.TwoPartyClient(self.stream)
        self.init = self.rpc.bootstrap().cast_as(self.schemas.init_interface)
        return self

    async def probe(self, name="probe") -> str:
        """construct, makeThread(name), getName: answers from any
        libmultiprocess-style Init."""
        thread_map = (await self.init.construct()).threadMap
        thread = (await thread_map.makeThread(name)).result
        return (await thread.getName()).result

    async def ping(self) -> str:
        """Proof that the peer serves: the probe for a libmultiprocess-style
        Init, an answered unknown call for any other (harness.liveness)."""
        if self.schemas.proxy is not None:
            return await self.probe()
        return await liveness.ping(self.init)

    async def context(self):
        if self._ctx is None:
            thread_map = (await self.init.construct()).threadMap
            thread = (await thread_map.makeThread("suite")).result
            ctx = self.schemas.proxy.Context.new_message()
            ctx.thread = thread
            self._ctx = ctx
        return self._ctx

    async def echo(self, text: str) -> str:
        ctx = await self.context()
        if self._echo is None:
            self._echo = (await self.init.makeEcho(ctx)).result
        return (await self._echo.echo(ctx, text)).result

    async def echo_after_destroy(self) -> tuple[str, str]:
        """A fresh Echo, one call, Echo.destroy, then a call on the destroyed
        Echo: ("answered", text), or the kj error type and its first line."""
        ctx = await self.context()
        echo = (await self.init.makeEcho(ctx)).result
        if (await echo.echo(ctx, "before")).result != "before":
            return "wrong answer before destroy", ""
        await echo.destroy(ctx)
        try:
            return "answered", (await echo.echo(ctx, "after")).result
        except capnp.KjException as e:
            return kj_type(e), str(e).splitlines()[0][:300]

    async def destroy_echo(self):
        ctx = await self.context()
        echo, self._echo = self._echo, None
        await echo.destroy(ctx)

    async def close(self):
        """Close the stream (the only thing that closes a pycapnp connection)
        and drop every capability here, on the loop thread."""
        if self.stream is not None:
            self.stream.close()
        self.stream = self.rpc = self.init = self._ctx = self._echo = None


# -- the suite's own server ------------------------------------------------

def suite_servers(schemas: Schemas):
    """Server classes for the libmultiprocess-style Init of ``schemas``,
    built per schema set because pycapnp classes belong to a loaded schema."""
    proxy, echo_mod = schemas.proxy, schemas.echo

    class Thread(proxy.Thread.Server):
        def __init__(self, name):
            self.name = name

        async def getName(self, **_):
            return self.name

    class ThreadMap(proxy.ThreadMap.Server):
        async def makeThread(self, name, **_):
            return Thread(f"{name} (pid {os.getpid()})")

        async def makePool(self, count, **_):
            return None

    class SuiteInit(schemas.init_interface.Server):
        async def construct(self, threadMap, **_):
            return ThreadMap()

        if echo_mod is not None:
            async def makeEcho(self, context, **_):
                return Echo()

    if echo_mod is not None:
        class Echo(echo_mod.Echo.Server):
            async def echo(self, context, echo, **_):
                return echo

            async def destroy(self, context, **_):
                return None
    return SuiteInit


class SuiteServer:
    """A unix listener the suite runs, for an implementation's shell to
    connect to. Counts what it accepted and what is still connected."""

    def __init__(self, schemas: Schemas, path: str):
        trace.record("suite.serve", path=path)
        self.path = path
        self._init_cls = suite_servers(schemas)
        self.accepted = 0
        self.open = 0
        self._server = None
        self._conns = []

    async def start(self):
        async def on_conn(stream):
            self.accepted += 1
            self.open += 1
            server = capnp.TwoPartyServer(stream, bootstrap=self._init_cls())
            self._conns.append(server)
            try:
                await server.on_disconnect()
            except Exception:
                pass
            finally:
                self.open -= 1
                self._conns.remove(server)
        self._server = await capnp.AsyncIoStream.create_unix_server(on_conn, self.path)
        return self

    async def drop_connections(self) -> int:
        """Close every accepted connection (the listener goes on); how many."""
        conns = list(self._conns)
        for server in conns:
            try:
                server.close()
            except Exception:
                pass
        return len(conns)

    async def close(self):
        if self._server is not None:
            self._server.close()
            self._server = None
        for server in list(self._conns):
            try:
                server.close()
            except Exception:
                pass
        self._conns.clear()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
