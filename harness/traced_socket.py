"""A unix socket the suite connected itself (``ListenerHandle.raw_connect``)
whose writes, half-closes and closes go into the case's trace under its
name (harness.trace), so that a reproducer sends the same bytes and closes
the same side; and the wait for the other side to end the connection."""
import socket

from . import trace
from .waits import Deadline, wait_readable


class TracedSocket(socket.socket):
    """A socket the suite connected itself, whose writes, half-closes and
    closes go into the case's trace (harness.trace) under its name."""

    trace_name = None

    def sendall(self, data, *args):
        if self.trace_name:
            trace.record("sock.send", on=self.trace_name, data=bytes(data))
        return super().sendall(data, *args)

    def shutdown(self, how):
        if self.trace_name:
            trace.record("sock.shutdown", on=self.trace_name, how=int(how))
        return super().shutdown(how)

    def close(self):
        if self.trace_name and self.fileno() >= 0:
            trace.record("sock.close", on=self.trace_name)
        return super().close()

    def ended_by_peer(self, timeout=10) -> bool:
        """True when the other side ends the connection (EOF or reset) within
        ``timeout``; whatever it writes first (an abort message) is read away."""
        return trace.call("sock.ended_by_peer", self._ended, timeout, on=self.trace_name,
                          timeout=timeout)

    def _ended(self, timeout):
        deadline = Deadline(timeout)
        self.setblocking(False)
        while True:
            if not wait_readable(self.fileno(), deadline.left()):
                return False
            try:
                if self.recv(65536) == b"":
                    return True
            except (ConnectionResetError, BrokenPipeError):
                return True
            except BlockingIOError:
                pass
            if deadline.expired():
                return False
