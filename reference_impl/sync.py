"""Ipc: the synchronous facade, as a user of the C++ interface would expect.

Each ``Ipc`` owns one thread running an asyncio loop under ``capnp.run``;
every method hands its work to that thread and waits for the answer, so it
is safe to call from any thread (but not from the loop thread itself, which
would wait on itself). Proxies are destroyed by ``close()``, by leaving a
``with`` block, or when garbage-collected.
"""
import asyncio
import threading

import capnp

from .ipc import AsyncIpc
from .protocol.servers import InitServer

DEFAULT_TIMEOUT = None   # like the C++ interface, calls wait for the peer


class _LoopThread:
    """A thread whose asyncio loop runs pycapnp's KJ loop."""

    def __init__(self, name: str):
        self._ready = threading.Event()
        self._stop = None
        self.loop = None
        self.error = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self.error is not None:
            raise self.error

    def _run(self):
        async def main():
            self.loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await self._stop.wait()

        try:
            asyncio.run(capnp.run(main()))
        except BaseException as e:    # surface start-up failures to the caller
            self.error = e
            self._ready.set()

    def call(self, fn, *args, timeout=DEFAULT_TIMEOUT):
        if threading.current_thread() is self._thread:
            raise RuntimeError("a synchronous Ipc method was called from its own loop thread")

        # The lean hop (measured by bench/echo.py as echo.hop): one
        # call_soon_threadsafe starts a task, and the task's coroutine itself
        # hands the outcome over and releases a plain lock as it ends. A done
        # callback (or run_coroutine_threadsafe's chained futures) would cost
        # one more loop iteration per call before the caller could wake.
        done = threading.Lock()
        done.acquire()
        outcome = []         # [True, result] or [False, exception], set once
        started = []         # the task, for a cancel on timeout

        async def run():
            try:
                outcome[:] = [True, await fn(*args)]
            except BaseException as e:
                outcome[:] = [False, e]
                if not isinstance(e, Exception):
                    raise    # cancelled, or KeyboardInterrupt/SystemExit: the loop sees it as before
            finally:
                done.release()

        def never_ran(_task):
            # A task cancelled before its first step (the loop shutting down
            # as the call arrives) never enters run(): release the caller here.
            if not outcome:
                outcome[:] = [False, asyncio.CancelledError()]
                done.release()

        def start():
            task = asyncio.ensure_future(run())
            task.add_done_callback(never_ran)
            started.append(task)
        self.loop.call_soon_threadsafe(start)
        if not done.acquire(timeout=-1 if timeout is None else timeout):
            # callbacks run in order: the task exists by the time this one runs
            self.loop.call_soon_threadsafe(lambda: started[0].cancel())
            raise TimeoutError(f"{getattr(fn, '__qualname__', fn)} did not answer in {timeout} s")
        ok, value = outcome
        if ok:
            return value
        raise value

    def post(self, fn, *args):
        """Run ``fn`` on the loop without waiting (used from __del__)."""
        if self.loop is not None and not self.loop.is_closed():
            async def run():
                await fn(*args)
            try:
                asyncio.run_coroutine_threadsafe(run(), self.loop)
            except RuntimeError:     # loop already closed at interpreter exit
                pass

    def release(self, box: list):
        """Drop what ``box`` holds on the loop thread: pycapnp objects must
        die there, or the process aborts. The caller hands over its only
        reference inside the list, so the last one is always cleared by the
        loop thread; passing the object itself would race (the loop could
        drop its reference before the caller's frame drops its own, and the
        object would then die on the caller's thread)."""
        if self.loop is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(box.clear)
            except RuntimeError:
                pass

    def stop(self):
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


class Ipc:
    def __init__(self, exe_name: str, *, argv0=None, datadir=None, init_factory=None,
                 node_exe_name: str | None = None):
        self._loop = _LoopThread(f"ipc-{exe_name}")
        kwargs = {"argv0": argv0, "datadir": datadir,
                  "init_factory": init_factory or _default_init_factory()}
        if node_exe_name:
            kwargs["node_exe_name"] = node_exe_name

        async def make():
            return AsyncIpc(exe_name, **kwargs)
        self._ipc = self._loop.call(make)

    def spawn_process(self, exe_name: str) -> "Init":
        return Init(self, self._loop.call(self._ipc.spawn_process, exe_name))

    def connect_address(self, address: str) -> "Init | None":
        proxy = self._loop.call(self._ipc.connect_address, address)
        return None if proxy is None else Init(self, proxy)

    def listen_address(self, address: str) -> str:
        """Listen; returns the resolved address ``unix:<path>``."""
        return str(self._loop.call(self._ipc.listen_address, address).address)

    def add_cleanup(self, init: "Init", fn):
        """``fn()`` runs (on the loop thread) when ``init`` is destroyed or disconnected."""
        async def add():
            self._ipc.add_cleanup(init._proxy, fn)
        self._loop.call(add)

    def disconnect_incoming(self) -> int:
        async def drop():
            return self._ipc.disconnect_incoming()
        return self._loop.call(drop)

    def context(self):
        return self._ipc.context()

    def close(self):
        if self._loop is not None:
            try:
                self._loop.call(self._ipc.aclose)
            finally:
                self._loop.stop()
                self._loop = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Init:
    """A synchronous handle of a peer's Init."""

    def __init__(self, ipc: Ipc, proxy):
        self._ipc = ipc
        self._proxy = proxy
        self._spent = proxy      # kept after close() for exit_status
        self.pid = proxy.pid

    @property
    def exit_status(self):
        """A spawned child's exit status once reaped (negative: a signal)."""
        return getattr(self._spent, "exit_status", None)

    def _call(self, fn, *args):
        return self._ipc._loop.call(fn, *args)

    def probe(self, name: str = "probe") -> str:
        return self._call(self._proxy.probe, name)

    def make_echo(self) -> "Echo":
        return Echo(self, self._call(self._proxy.make_echo))

    def close(self):
        """Destroy the proxy: close the connection, run the cleanups (for a
        spawned child: wait for it to exit)."""
        if self._proxy is not None and self._ipc._loop is not None:
            proxy, self._proxy = self._proxy, None
            self._ipc._loop.call(proxy.aclose)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        proxy = getattr(self, "_proxy", None)
        if proxy is not None and self._ipc._loop is not None:
            self._ipc._loop.post(proxy.aclose)


class Echo:
    def __init__(self, init: Init, proxy):
        self._init = init
        self._proxy = proxy

    def __del__(self):
        box = [self.__dict__.pop("_proxy", None)]     # no other reference in this frame
        init = getattr(self, "_init", None)
        if box[0] is not None and init is not None and init._ipc._loop is not None:
            init._ipc._loop.release(box)

    def echo(self, text: str) -> str:
        return self._init._call(self._proxy.echo, text)

    def destroy(self):
        self._init._call(self._proxy.destroy)


def _default_init_factory():
    return InitServer
