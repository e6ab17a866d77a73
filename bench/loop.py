"""A thread running an asyncio loop under pycapnp's KJ loop, for the
benchmark's own Cap'n Proto clients.

Timed batches run as one coroutine on this loop and time themselves with
``perf_counter`` inside it, so hopping between threads to start a batch is
not part of any figure except those of the synchronous facade, where that
hop is what is being measured.
"""
import asyncio
import threading

import capnp


class LoopThread:
    def __init__(self, name: str = "bench-loop"):
        self._ready = threading.Event()
        self.loop = None
        self._stop = None
        self.error = None
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self.error is not None:
            raise self.error

    def _main(self):
        async def body():
            self.loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await self._stop.wait()
        try:
            asyncio.run(capnp.run(body()))
        except BaseException as e:
            self.error = e
            self._ready.set()

    def run(self, fn, *args, timeout: float = 300.0):
        """Run the coroutine function ``fn(*args)`` on the loop and return its result."""
        async def wrapped():
            return await fn(*args)
        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout)

    def close(self):
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
