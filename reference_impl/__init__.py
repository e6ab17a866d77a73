"""ipc-conformance's reference implementation of Bitcoin Core's ``interfaces::Ipc``.

Layers, lowest first: ``process`` (addresses, spawning, sockets; no Cap'n
Proto), ``protocol`` (Cap'n Proto connections, servers, listeners, proxies),
then ``ipc.AsyncIpc`` (the asyncio API) and ``sync.Ipc`` (the synchronous
facade a user of the C++ interface would recognise).
"""

__all__ = ["AsyncIpc", "Ipc"]


def __getattr__(name):
    # Lazy so that importing reference_impl.process never loads pycapnp.
    if name == "AsyncIpc":
        from .ipc import AsyncIpc
        return AsyncIpc
    if name == "Ipc":
        from .sync import Ipc
        return Ipc
    raise AttributeError(name)
