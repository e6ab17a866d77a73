"""A client written with nothing but pycapnp and the schema files, doing the
sequence of Bitcoin Core's test/functional/interface_ipc.py: bootstrap,
construct, makeThread, makeEcho, echo, destroy.

Usage: upstream_client.py SCHEMA_DIR SOCKET_PATH. Prints "connected" once the
socket is connected, "ready" once construct answered, then answers each
stdin line with "echo <line>" until EOF, then destroys its Echo and exits 0.
"""
import asyncio
import sys

import capnp


async def main(schema_dir, path):
    imports = [schema_dir]
    proxy = capnp.load(f"{schema_dir}/mp/proxy.capnp", imports=imports)
    init_mod = capnp.load(f"{schema_dir}/init.capnp", imports=imports)
    capnp.load(f"{schema_dir}/echo.capnp", imports=imports)
    stream = await capnp.AsyncIoStream.create_unix_connection(path)
    print("connected", flush=True)
    client = capnp.TwoPartyClient(stream)
    init = client.bootstrap().cast_as(init_mod.Init)
    thread_map = (await init.construct()).threadMap
    thread = (await thread_map.makeThread("pythread")).result
    ctx = proxy.Context()
    ctx.thread = thread
    echo = (await init.makeEcho(ctx)).result
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        print("echo " + (await echo.echo(ctx, line.rstrip("\n"))).result, flush=True)
    await echo.destroy(ctx)


if __name__ == "__main__":
    asyncio.run(capnp.run(main(sys.argv[1], sys.argv[2])))
