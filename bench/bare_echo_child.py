"""The floor of a Python Cap'n Proto child: a bare pycapnp server of the same
schemas (Init, ThreadMap, Thread, Echo) on an inherited socket, with none of
the reference implementation's code. ``python bare_echo_child.py FD``."""
import asyncio
import os
import socket
import sys

import capnp

SCHEMAS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "reference_impl", "schemas")
_proxy = capnp.load(os.path.join(SCHEMAS, "mp", "proxy.capnp"), imports=[SCHEMAS])
_init = capnp.load(os.path.join(SCHEMAS, "init.capnp"), imports=[SCHEMAS])
_echo = capnp.load(os.path.join(SCHEMAS, "echo.capnp"), imports=[SCHEMAS])


class Thread(_proxy.Thread.Server):
    def __init__(self, name):
        self.name = name

    async def getName(self, **_):
        return self.name


class ThreadMap(_proxy.ThreadMap.Server):
    async def makeThread(self, name, **_):
        return Thread(name)


class Echo(_echo.Echo.Server):
    # Served through the context form, as the reference's EchoServer is
    # (reference_impl/protocol/servers.py): the floor uses pycapnp's fast path
    # too, so the ratio to it measures the reference's own layers only.
    async def echo_context(self, context):
        context.results.result = context.params.echo

    async def destroy(self, context, **_):
        return None


class Init(_init.Init.Server):
    def __init__(self):
        self.thread_map = ThreadMap()

    async def construct(self, threadMap, **_):
        return self.thread_map

    async def makeEcho(self, context, **_):
        return Echo()


async def main(fd):
    sock = socket.socket(fileno=fd)
    os.set_inheritable(fd, False)
    stream = await capnp.AsyncIoStream.create_connection(sock=sock)
    server = capnp.TwoPartyServer(stream, bootstrap=Init())
    try:
        await server.on_disconnect()
    except Exception:
        pass


if __name__ == "__main__":
    asyncio.run(capnp.run(main(int(sys.argv[1]))))
