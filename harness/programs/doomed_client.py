
import asyncio, os, socket, sys
import capnp
schema_dir, init_schema, init_iface, path = sys.argv[1:5]
init_mod = capnp.load(os.path.join(schema_dir, init_schema), imports=[schema_dir])
async def main():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.setblocking(False)
    stream = await capnp.AsyncIoStream.create_connection(sock=s)
    rpc = capnp.TwoPartyClient(stream)
    init = rpc.bootstrap().cast_as(getattr(init_mod, init_iface))
    tmap = (await init.construct()).threadMap
    thread = (await tmap.makeThread("doomed")).result
    print((await thread.getName()).result, flush=True)
    await asyncio.get_running_loop().create_future()
asyncio.run(capnp.run(main()))
