"""One two-party Cap'n Proto connection over a connected stream socket.

A connection is closed only by closing its stream (dropping capabilities or
the RPC client does not close it), and it tells its owners once, through
``on_disconnect`` callbacks, when it is gone for any reason: closed here,
closed by the peer, or broken.
"""
import asyncio
import logging

import capnp

log = logging.getLogger("reference_impl.ipc")


class Connection:
    def __init__(self, stream, rpc, *, label: str, incoming: bool):
        self.label = label
        self.incoming = incoming
        self._stream = stream
        self._rpc = rpc
        self._callbacks = []
        self._gone = asyncio.get_running_loop().create_future()
        self._watcher = asyncio.ensure_future(self._watch())

    @classmethod
    async def serve(cls, sock, bootstrap, *, label: str, incoming: bool):
        """Serve ``bootstrap`` to the peer on ``sock`` (which the connection takes over)."""
        stream = await capnp.AsyncIoStream.create_connection(sock=sock)
        return cls(stream, capnp.TwoPartyServer(stream, bootstrap=bootstrap),
                   label=label, incoming=incoming)

    @classmethod
    async def connect(cls, sock, *, label: str):
        """Be the client of the peer on ``sock``; ``bootstrap()`` gives its Init."""
        stream = await capnp.AsyncIoStream.create_connection(sock=sock)
        return cls(stream, capnp.TwoPartyClient(stream), label=label, incoming=False)

    def bootstrap(self, interface):
        if self._rpc is None:
            raise ConnectionError(f"{self.label}: connection is closed")
        return self._rpc.bootstrap().cast_as(interface)

    @property
    def disconnected(self) -> bool:
        return self._gone.done()

    def on_disconnect(self, fn):
        """Call ``fn()`` once when the connection is gone (at once if it already is)."""
        if self._gone.done():
            fn()
        else:
            self._callbacks.append(fn)

    async def wait_disconnected(self):
        await asyncio.shield(self._gone)

    def close(self):
        """Close the stream; the peer sees EOF on the next loop iteration."""
        if not self._gone.done() and self._stream is not None:
            self._stream.close()

    async def aclose(self):
        self.close()
        await self.wait_disconnected()

    async def _watch(self):
        try:
            await self._rpc.on_disconnect()
        except (capnp.KjException, OSError, asyncio.CancelledError) as e:
            log.debug("connection %s ended: %s", self.label, getattr(e, "type", e))
        finally:
            # The stream may still be open when the peer broke the protocol.
            try:
                if self._stream is not None:
                    self._stream.close()
            except Exception:  # already closed
                pass
            if not self._gone.done():
                self._gone.set_result(None)
            # Drop the pycapnp objects here, on the loop thread: destroying
            # them on a thread without the KJ loop aborts the process.
            self._rpc = self._stream = None
            callbacks, self._callbacks = self._callbacks, []
            for fn in callbacks:
                try:
                    fn()
                except Exception:
                    log.exception("disconnect callback of %s failed", self.label)
