"""The probe child: what an implementation's shell spawns in place of a node.

Before it imports or opens anything else it records what it inherited at
exec (descriptors with their flags, argv, cwd, environment, signal masks,
process group and session) to $IPC_PROBE_DIR/<pid>.json; a running process
opens descriptors of its own (its event loop), so the census must come first.
Then, by $IPC_PROBE_MODE, it serves a libmultiprocess-style Init on -ipcfd
until EOF and exits 0 (``serve``), exits at once (``exit-now``, status
$IPC_PROBE_EXIT_STATUS), or keeps running after EOF (``ignore-eof``), or
serves but never answers getName/echo (``stall``, marking <pid>.stalled when
such a call arrives), or shuts its read side and waits for the parent to
close (``deaf``, marking <pid>.deaf)."""
import os
import sys


def _census():
    names = os.listdir("/proc/self/fd")     # its own listing fd is in here, and gone after
    fds = {}
    for name in names:
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
            with open(f"/proc/self/fdinfo/{name}") as f:
                info = f.read()
        except OSError:
            continue                        # the listing's own descriptor
        flags = next(int(line.split()[1], 8) for line in info.splitlines() if line.startswith("flags:"))
        fds[name] = {"target": target, "flags": flags}
    # The fdinfo reads above opened (and closed) descriptors of their own:
    # keep only those that existed before we looked and still do.
    return {k: v for k, v in fds.items() if not v["target"].startswith("/proc/")}


_FDS = _census()

import json  # noqa: E402  (after the census on purpose)


def _status_fields():
    """Signal masks as the probe sees them. Blocked signals are inherited as
    they were, but the interpreter ignores SIGPIPE before any of our code
    runs, so SigIgn always shows SIGPIPE ignored here: SIG-007 reads the
    inherited dispositions from a shell script child instead."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("SigIgn", "SigBlk", "SigCgt"):
                out[key] = value.strip()
    return out


def _record():
    record = {"pid": os.getpid(), "ppid": os.getppid(), "pgid": os.getpgid(0), "sid": os.getsid(0),
              "argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ),
              "fds": _FDS, "signals": _status_fields()}
    out_dir = os.environ.get("IPC_PROBE_DIR")
    if out_dir:
        tmp = os.path.join(out_dir, f".{os.getpid()}.tmp")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(out_dir, f"{os.getpid()}.json"))


def _mark(what: str):
    """An empty file $IPC_PROBE_DIR/<pid>.<what>: tells the suite (which
    waits on it with inotify) that this child reached a given point."""
    out_dir = os.environ.get("IPC_PROBE_DIR")
    if out_dir:
        open(os.path.join(out_dir, f"{os.getpid()}.{what}"), "w").close()


def _stalling_servers(schemas, base):
    """``stall`` mode: construct and makeThread are answered, getName and
    echo never are (a call stays in flight until the connection dies)."""
    import asyncio

    async def stall():
        _mark("stalled")
        await asyncio.Event().wait()

    class Thread(schemas.proxy.Thread.Server):
        async def getName(self, **_):
            await stall()

    class ThreadMap(schemas.proxy.ThreadMap.Server):
        async def makeThread(self, name, **_):
            return Thread()

    class StallInit(base):
        async def construct(self, threadMap, **_):
            return ThreadMap()

        if schemas.echo is not None:
            async def makeEcho(self, context, **_):
                return Echo()

    if schemas.echo is not None:
        class Echo(schemas.echo.Echo.Server):
            async def echo(self, context, echo, **_):
                await stall()
    return StallInit


def _deaf(fd: int, bound: float = 60):
    """``deaf`` mode: shut the read side of the socket, so that the parent's
    next write meets EPIPE (where SIGPIPE would kill an unprotected parent),
    then wait until the parent closes its end (POLLHUP) and exit 0."""
    import select
    import socket
    import time
    sock = socket.socket(fileno=fd)
    sock.shutdown(socket.SHUT_RD)
    _mark("deaf")
    poller = select.poll()
    poller.register(fd, select.POLLHUP)
    end = time.monotonic() + bound
    while time.monotonic() < end:
        for _, events in poller.poll(max(0.0, end - time.monotonic()) * 1000):
            if events & select.POLLHUP:
                return 0
    return 3


def _serve(fd: int, keep_running: bool, stall: bool = False):
    import asyncio
    import signal
    import socket
    sys.path.insert(0, os.environ["IPC_HARNESS_ROOT"])
    sys.path.append(os.environ["IPC_PROBE_SITE"])    # staged with -S: see harness/staging.py
    import capnp
    from ipc_conformance.harness.capnp_peer import load_schemas, suite_servers
    from types import SimpleNamespace

    schema_dir = os.environ["IPC_PROBE_SCHEMA_DIR"]
    protocol = SimpleNamespace(schema_dir=schema_dir,
                               init_schema=os.environ.get("IPC_PROBE_INIT_SCHEMA", "init.capnp"),
                               init_interface=os.environ.get("IPC_PROBE_INIT_INTERFACE", "Init"),
                               libmultiprocess=True, proxy_schema="mp/proxy.capnp",
                               echo=os.environ.get("IPC_PROBE_ECHO", "1") == "1",
                               echo_schema="echo.capnp")
    os.set_inheritable(fd, False)
    name = os.path.basename(sys.argv[0])

    async def main():
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, lambda: print(
            f"[{name}] SIGINT received \u2014 waiting for parent to shut down.", flush=True))
        sock = socket.socket(fileno=fd)
        sock.setblocking(False)
        stream = await capnp.AsyncIoStream.create_connection(sock=sock)
        schemas = load_schemas(protocol)
        init_cls = suite_servers(schemas)
        if stall:
            init_cls = _stalling_servers(schemas, init_cls)
        server = capnp.TwoPartyServer(stream, bootstrap=init_cls())
        try:
            await server.on_disconnect()
        except Exception:
            pass
        if keep_running:
            await asyncio.Event().wait()

    asyncio.run(capnp.run(main()))


def main():
    _record()
    mode = os.environ.get("IPC_PROBE_MODE", "serve")
    if mode == "exit-now":
        return int(os.environ.get("IPC_PROBE_EXIT_STATUS", "0"))
    if len(sys.argv) != 3 or sys.argv[1] != "-ipcfd":
        print(f"probe child: expected '-ipcfd N', got {sys.argv[1:]}", file=sys.stderr)
        return 2
    if mode == "deaf":
        return _deaf(int(sys.argv[2]))
    _serve(int(sys.argv[2]), keep_running=(mode == "ignore-eof"), stall=(mode == "stall"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
