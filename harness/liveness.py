"""A liveness ping that every Cap'n Proto server answers, whatever its Init.

Cases about lifecycle (EOF, close-on-exec, half-close) need to know that the
child serves before they act, but must not need a libmultiprocess-style Init:
a `prog <fd>` program serving another schema is tested by them too. A call
on an interface the server cannot know is answered with an error by any
conforming RPC system; getting that answer (and not a disconnect) is the ping.
The schema is parsed by a parser of its own, so it never meets the
implementation's schemas in pycapnp's global one."""
import os

import capnp

_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas", "stranger.capnp")
_stranger = None


def stranger():
    global _stranger
    if _stranger is None:
        _stranger = capnp.SchemaParser().load(_PATH)
    return _stranger


class PingFailed(AssertionError):
    """The peer did not answer the ping as a serving RPC peer would."""


async def ping(bootstrap) -> str:
    """Call Stranger.hello through ``bootstrap``; the error type of the
    answer ('UNIMPLEMENTED' from a conforming server)."""
    try:
        await bootstrap.cast_as(stranger().Stranger).hello()
    except capnp.KjException as e:
        if e.type == "DISCONNECTED":
            raise PingFailed(f"the connection dropped instead of answering: {e.description}") from None
        return e.type
    raise PingFailed("the server answered a method of an interface it cannot know")
