"""Accepts clients on a listening unix socket, each on its own connection.

The connection limit is applied by not calling accept(): clients past the
limit wait in the kernel's backlog and are accepted as soon as an active one
leaves, which is upstream's behaviour and keeps a flood from costing memory.
"""
import asyncio
import logging
import os
import stat

from .connection import Connection

log = logging.getLogger("reference_impl.ipc")

# How long accept waits after a resource error (EMFILE, ...) before trying again.
_ACCEPT_RETRY_DELAY = 0.05


class Listener:
    def __init__(self, sock, address, bootstrap_factory, *, max_connections: int,
                 on_connection=None):
        self.sock = sock
        self.address = address            # a UnixAddress
        self.max_connections = max_connections   # 0: no limit
        self._bootstrap_factory = bootstrap_factory
        self._on_connection = on_connection
        self._slots = asyncio.Semaphore(max_connections) if max_connections else None
        self.connections: set[Connection] = set()
        self._accepted = 0
        self._inode = os.fstat(sock.fileno()).st_ino
        self._path_ino = _socket_file_ino(address.path)
        self._task = asyncio.ensure_future(self._accept_loop())

    @property
    def path(self) -> str:
        return self.address.path

    async def _accept_loop(self):
        loop = asyncio.get_running_loop()
        while True:
            if self._slots is not None:
                await self._slots.acquire()
            try:
                client, _ = await loop.sock_accept(self.sock)
            except (ConnectionAbortedError, InterruptedError):
                self._release()
                continue     # a client that left before accept disturbs nothing
            except OSError as e:
                self._release()
                log.error("accept on %s failed: %s", self.address, e)
                if e.errno in (9, 22):     # EBADF/EINVAL: the socket was closed
                    return
                # EMFILE, ENFILE, ENOBUFS, ENOMEM: the client stays in the
                # backlog. A failed sock_accept does not yield, so retrying
                # at once would spin and starve every served connection;
                # back off as kj does, then try again (REQ-LISTEN-2).
                await asyncio.sleep(_ACCEPT_RETRY_DELAY)
                continue
            self._accepted += 1
            asyncio.ensure_future(self._serve(client, self._accepted))

    def _release(self):
        if self._slots is not None:
            self._slots.release()

    async def _serve(self, client, number: int):
        conn = None
        try:
            conn = await Connection.serve(client, self._bootstrap_factory(),
                                          label=f"incoming {number}", incoming=True)
            self.connections.add(conn)
            log.debug("accepted connection %d", number)
            if self._on_connection is not None:
                self._on_connection(conn)
            await conn.wait_disconnected()
        except Exception as e:      # a broken client must never stop the listener
            log.debug("connection %d failed: %s", number, e)
            client.close()
        finally:
            if conn is not None:
                self.connections.discard(conn)
                log.debug("connection %d closed", number)
            self._release()

    def disconnect_all(self) -> int:
        """Drop every connection accepted here; the listener goes on accepting."""
        conns = list(self.connections)
        for conn in conns:
            conn.close()
        return len(conns)

    def close(self, *, disconnect: bool = False):
        """Stop accepting and remove the socket file, if it is still ours.
        Existing connections live on unless ``disconnect``."""
        self._task.cancel()
        self.sock.close()
        if self._path_ino is not None and _socket_file_ino(self.path) == self._path_ino:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        if disconnect:
            self.disconnect_all()


def _socket_file_ino(path: str):
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_ino if stat.S_ISSOCK(st.st_mode) else None
