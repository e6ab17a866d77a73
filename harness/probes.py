"""Probes sent on several clients of a listener at once, answered in any
order: how a case sees how many clients a listener serves at the same time
(LISTEN-002, LISTEN-034). Traced (harness.trace): the start, the checks on
how many were answered, which one was served, so a reproducer replays them."""
import asyncio

import capnp

from . import trace
from .roles import ClientHandle
from .waits import WaitTimeout


def probe_all(peer, handles, timeout=10) -> list[str]:
    """Probe every client at once (one gather on the peer loop): their answers."""

    async def run():
        return await asyncio.gather(*(h.client.probe() for h in handles))
    return trace.call("clients.probe_all", lambda: peer.run(run, timeout=timeout),
                      on=[h.name for h in handles], timeout=timeout)


class Probes:
    """One probe sent on each of several clients at once, answered in any
    order: how a case sees which clients a listener serves (traced)."""

    def __init__(self, peer, handles):
        self._peer, self.handles = peer, list(handles)
        self.name = trace.name("probes")
        trace.record("probes.start", on=[h.name for h in handles], out=self.name)

        async def start():
            return [asyncio.ensure_future(h.client.probe()) for h in self.handles]
        self.tasks = peer.run(start)
        self.done: set = set()

    def assert_answered(self, count: int, timeout=10, what: str = ""):
        """At least ``count`` are answered within ``timeout``."""
    
        async def wait():
            while len(self.done) < count:
                new, _ = await asyncio.wait(set(self.tasks) - self.done, timeout=timeout,
                                            return_when=asyncio.FIRST_COMPLETED)
                if not new:
                    break
                self.done |= new
        self._peer.run(wait, timeout=timeout + 5)
        args = dict(on=self.name, count=count, timeout=timeout, what=what,
                    expected=f"{count} of {len(self.tasks)} clients answered")
        if len(self.done) < count:
            trace.check("probes_answered", False, seen=len(self.done), **args)
            raise AssertionError(f"{what + ': ' if what else ''}expected {count} of "
                                 f"{len(self.tasks)} clients answered, seen {len(self.done)}")
        trace.check("probes_answered", True, seen=None, **args)

    def assert_pending(self, count: int, what: str = ""):
        """Exactly ``count`` are still unanswered now."""
        left = [t for t in self.tasks if not t.done()]
        args = dict(on=self.name, count=count, what=what,
                    expected=f"{count} client(s) still unanswered")
        if len(left) != count:
            trace.check("probes_pending", False, seen=len(left), **args)
            raise AssertionError(f"{what + ': ' if what else ''}expected {count} client(s) "
                                 f"still unanswered, seen {len(left)}")
        trace.check("probes_pending", True, seen=None, **args)

    def served(self, i: int) -> ClientHandle:
        """The ``i``-th client whose probe was answered (a handle named on its own)."""
        name = trace.name("served")
        trace.record("probes.served", on=self.name, index=i, out=name)
        answered = [h for h, t in zip(self.handles, self.tasks) if t in self.done]
        return ClientHandle(self._peer, answered[i].client, name)

    def assert_all_answered(self, timeout=10, what: str = ""):
        """The probes still pending are answered within ``timeout``."""
    
        async def wait():
            await asyncio.wait_for(asyncio.gather(*self.tasks), timeout)
        args = dict(on=self.name, timeout=timeout, what=what,
                    expected=f"all {len(self.tasks)} clients answered within {timeout}s")
        try:
            self._peer.run(wait, timeout=timeout + 5)
        except (asyncio.TimeoutError, WaitTimeout, capnp.KjException) as e:
            trace.check("probes_all", False, seen=str(e)[:200], **args)
            raise AssertionError(f"{what + ': ' if what else ''}expected all "
                                 f"{len(self.tasks)} clients answered within {timeout}s, "
                                 f"seen {type(e).__name__}") from None
        trace.check("probes_all", True, seen=None, **args)
