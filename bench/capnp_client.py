"""A bare pycapnp client of a node's Init: the floor a client built straight
on pycapnp pays, with nothing of the reference implementation in its path.
Every coroutine here runs on a ``LoopThread``."""
from __future__ import annotations

import socket

import capnp

from .programs import SCHEMA_DIR

_loaded = None


def schemas():
    global _loaded
    if _loaded is None:
        imports = [str(SCHEMA_DIR)]
        _loaded = (capnp.load(str(SCHEMA_DIR / "mp" / "proxy.capnp"), imports=imports),
                   capnp.load(str(SCHEMA_DIR / "init.capnp"), imports=imports),
                   capnp.load(str(SCHEMA_DIR / "echo.capnp"), imports=imports))
    return _loaded


class BareEcho:
    """One two-party connection to a node, holding an Echo and its Context."""

    def __init__(self, stream, client, echo, ctx):
        self._stream = stream
        self._client = client
        # The bound method, looked up once, and keyword fields below: the
        # request-building path the reference's EchoProxy takes
        # (reference_impl/protocol/proxy.py), so that the facade is compared
        # with pycapnp used as well, not with its slow paths.
        self._echo = echo.echo
        self._ctx = ctx

    @classmethod
    async def open(cls, sock: socket.socket, thread_name: str = "bench") -> "BareEcho":
        proxy, init, _ = schemas()
        sock.setblocking(False)
        stream = await capnp.AsyncIoStream.create_connection(sock=sock)
        client = capnp.TwoPartyClient(stream)
        cap = client.bootstrap().cast_as(init.Init)
        thread_map = (await cap.construct()).threadMap
        thread = (await thread_map.makeThread(thread_name)).result
        ctx = proxy.Context.new_message()
        ctx.thread = thread
        echo = (await cap.makeEcho(ctx)).result
        return cls(stream, client, echo, ctx)

    @classmethod
    async def connect(cls, path: str, thread_name: str = "bench") -> "BareEcho":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            sock.connect(path)     # blocking: waits for room in the listener's backlog
        except BaseException:
            sock.close()
            raise
        return await cls.open(sock, thread_name)

    async def echo(self, text: str) -> str:
        return (await self._echo(context=self._ctx, echo=text)).result

    def close(self):
        """Close the stream (the only thing that closes a pycapnp connection)."""
        self._echo = self._ctx = None
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        self._client = None
