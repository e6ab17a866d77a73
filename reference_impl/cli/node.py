"""ref-node: a spawned child with ``-ipcfd N``, otherwise a node that listens
(``-ipcbind``) and/or connects (``-ipcconnect``) until SIGINT or SIGTERM."""
import asyncio
import logging
import os
import signal
import sys

import capnp

from ..errors import InvalidArgument, IpcError
from . import exit_now
from ..ipc import AsyncIpc, start_spawned_process


def main(argv=None) -> int:
    program = argv is None        # run as a program: exit without finalization
    argv = list(sys.argv if argv is None else argv)
    exe_name = os.path.basename(argv[0])
    try:
        spawned, status = start_spawned_process(argv, exe_name)
    except (InvalidArgument, OSError) as e:
        print(e if isinstance(e, InvalidArgument) else f"Error: -ipcfd: {e}", file=sys.stderr)
        return 1
    if spawned:
        return exit_now(status, program=program)
    try:
        options = _parse(argv[1:])
    except InvalidArgument as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    if options["debug"]:
        _log_to_stdout()
    if not options["bind"] and options["connect"] is None:
        print("nothing to do", flush=True)
        return 0
    return exit_now(asyncio.run(capnp.run(_run(exe_name, argv[0], options))), program=program)


def _parse(args):
    options = {"datadir": ".", "bind": [], "connect": None, "debug": False}
    for arg in args:
        name, eq, value = arg.partition("=")
        if name == "-datadir" and eq:
            options["datadir"] = value
        elif name == "-ipcbind" and eq:
            options["bind"].append(value)
        elif name == "-ipcconnect" and eq:
            options["connect"] = value
        elif name == "-debug" and value == "ipc":
            options["debug"] = True
        elif name == "-ipcfd" or not arg.startswith("-"):
            # Leftovers of an argv that is not a spawned child's (REQ-CHILD-2):
            # they mean nothing to a normal run and must not make it fail.
            continue
        else:
            raise InvalidArgument(f"Unknown argument '{arg}'")
    return options


def _log_to_stdout():
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("[ipc] %(message)s"))
    logger = logging.getLogger("reference_impl.ipc")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


async def _run(exe_name: str, argv0: str, options) -> int:
    ipc = AsyncIpc(exe_name, argv0=argv0, datadir=options["datadir"])
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        for address in options["bind"]:
            listener = await ipc.listen_address(address)
            print(f"listening on {listener.address}", flush=True)
        if options["connect"] is not None:
            proxy = await ipc.connect_address(options["connect"])
            if proxy is None:
                print("not connected", flush=True)
            else:
                await proxy.construct()
                print(f"connected to {options['connect']}", flush=True)
    except (IpcError, OSError) as e:
        print(f"Error: {e}", file=sys.stderr, flush=True)
        await ipc.aclose()
        return 1
    await stop.wait()
    await ipc.aclose()
    print("shutdown complete", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
