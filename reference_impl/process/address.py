"""The address grammar of ``-ipcbind`` / ``-ipcconnect``.

    unix                          the default path
    unix:<path>                   relative to the data directory, or absolute
    unix:<path>:<opt>[:<opt>...]  options, bind only: max-connections=N
    unix::<opt>...                options on the default path

The path is everything between ``unix:`` and the next ``:``; when binding, a
path that reads as an option (``unix:max-connections=2``) is an error that
points to ``unix::``. Error texts are
upstream's, word for word, because tools and users match on them.
"""
import os
from dataclasses import dataclass

from ..errors import InvalidArgument

DEFAULT_MAX_CONNECTIONS = 16
SUN_PATH_MAX = 108       # Linux sun_path, terminator included
_OPTIONS = {"max-connections"}


@dataclass(frozen=True)
class UnixAddress:
    path: str                          # absolute
    max_connections: int | None = None  # None: the default; 0: no limit

    def __str__(self) -> str:
        return f"unix:{self.path}"


def default_socket_path(datadir: str, exe_name: str) -> str:
    name = exe_name[len("bitcoin-"):] if exe_name.startswith("bitcoin-") else exe_name
    return os.path.join(datadir, f"{name}.sock")


def parse_address(address: str, datadir: str, exe_name: str, *,
                  allow_options: bool) -> UnixAddress:
    """Resolve ``address``; raise InvalidArgument with upstream's wording."""
    if address == "unix":
        rest = ""
    elif address.startswith("unix:"):
        rest = address[len("unix:"):]
    else:
        raise InvalidArgument(f"Unrecognized address '{address}'")
    path, sep, options = rest.partition(":")
    max_connections = None
    if sep:
        if not allow_options:
            # Connecting takes no options: the whole text is the path.
            path = rest
        else:
            max_connections = _parse_options(options)
    if allow_options and path.partition("=")[0] in _OPTIONS:
        # "unix:max-connections=2": options where the path should be.
        raise InvalidArgument("Missing unix socket path before socket options; "
                              "use unix::<options> for the default path")
    if not path:
        full = default_socket_path(os.path.abspath(datadir), exe_name)
    else:
        full = os.path.join(os.path.abspath(datadir), path)
    if len(os.fsencode(full)) >= SUN_PATH_MAX:
        raise InvalidArgument(f'Unix address path "{full}" exceeded maximum socket path length')
    return UnixAddress(full, max_connections)


def _parse_options(text: str) -> int | None:
    max_connections = None
    for option in text.split(":"):
        if not option:
            raise InvalidArgument("Empty socket option")
        name, eq, value = option.partition("=")
        if name != "max-connections":
            raise InvalidArgument(f"Unknown socket option '{name}'")
        if not eq or not value:
            raise InvalidArgument("Missing value for max-connections option")
        if not value.isascii() or not value.isdigit():
            raise InvalidArgument(f"Invalid max-connections value '{value}'")
        max_connections = int(value)
    return max_connections
