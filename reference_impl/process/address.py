"""The address grammar of ``-ipcbind`` / ``-ipcconnect``.

    unix                          the default path
    unix:<path>                   relative to the data directory, or absolute
    unix:<path>:<opt>[,<opt>...]  options, bind only: max-connections=N
    unix::<opt>[,<opt>...]        options on the default path

Bind options are Bitcoin Core's (``interfaces::Ipc::ParseBindAddress`` in
``src/interfaces/ipc.h``): they are the text after the *last* ``:``, and only
when that colon is not the one of ``unix:`` and the text after it is not
empty and holds a ``=`` or a ``,``; otherwise the whole text is the address
(``unix::`` is the path ``:``, ``unix:a:b`` the path ``a:b``). Options are
separated by ``,``. Text after ``unix:`` that holds a ``=`` or ``,`` but no
``:`` (``unix:max-connections=2``) is an error that points to ``unix::``.
Connecting takes no options: everything after ``unix:`` is the path. Error
texts are upstream's, word for word, because tools and users match on them.
"""
import os
import re
from dataclasses import dataclass

from ..errors import InvalidArgument

DEFAULT_MAX_CONNECTIONS = 16
SUN_PATH_MAX = 108       # Linux sun_path, terminator included
_UNIX_PREFIX = "unix:"
_INT64_MAX = (1 << 63) - 1
_DECIMAL = re.compile(r"-?[0-9]+")   # std::from_chars for int64_t: no '+', no spaces


@dataclass(frozen=True)
class UnixAddress:
    path: str                          # absolute
    max_connections: int | None = None  # None: connecting (no options); 0: no limit

    def __str__(self) -> str:
        return f"unix:{self.path}"


@dataclass(frozen=True)
class BindAddress:
    """An ``-ipcbind`` value split into its address and its options."""
    address: str
    max_connections: int = DEFAULT_MAX_CONNECTIONS


def default_socket_path(datadir: str, exe_name: str) -> str:
    name = exe_name[len("bitcoin-"):] if exe_name.startswith("bitcoin-") else exe_name
    return os.path.join(datadir, f"{name}.sock")


def parse_bind_address(address: str) -> BindAddress:
    """Split the bind options off ``address`` (Bitcoin Core's grammar); the
    address is returned unresolved, and unchanged when it has no options."""
    if not address.startswith(_UNIX_PREFIX):
        return BindAddress(address)            # rejected when it is resolved
    suffix = address[len(_UNIX_PREFIX):]
    if (":" not in suffix) and ("=" in suffix or "," in suffix):
        raise InvalidArgument("Missing unix socket path before socket options; "
                              "use unix::<options> for the default path")
    colon = address.rfind(":")
    options = address[colon + 1:]
    if colon < len(_UNIX_PREFIX) or not options or not ("=" in options or "," in options):
        return BindAddress(address)
    max_connections = DEFAULT_MAX_CONNECTIONS
    for option in options.split(","):
        if not option:
            raise InvalidArgument("Empty socket option")
        name, _, value = option.partition("=")
        if name != "max-connections":
            raise InvalidArgument(f"Unknown socket option '{name}'")
        max_connections = _parse_max_connections(value)
    return BindAddress(address[:colon], max_connections)


def _parse_max_connections(value: str) -> int:
    if not value:
        raise InvalidArgument("Missing value for max-connections option")
    if not _DECIMAL.fullmatch(value) or not 0 <= int(value) <= _INT64_MAX:
        raise InvalidArgument(f"Invalid max-connections value '{value}'")
    return int(value)


def parse_address(address: str, datadir: str, exe_name: str, *,
                  allow_options: bool) -> UnixAddress:
    """Resolve ``address`` (with its bind options when ``allow_options``);
    raise InvalidArgument with upstream's wording."""
    max_connections = None
    if allow_options:
        bind = parse_bind_address(address)
        address, max_connections = bind.address, bind.max_connections
    if address == "unix":
        path = ""
    elif address.startswith(_UNIX_PREFIX):
        path = address[len(_UNIX_PREFIX):]
    else:
        raise InvalidArgument(f"Unrecognized address '{address}'")
    if not path:
        full = default_socket_path(os.path.abspath(datadir), exe_name)
    else:
        full = os.path.join(os.path.abspath(datadir), path)
    if len(os.fsencode(full)) >= SUN_PATH_MAX:
        raise InvalidArgument(f'Unix address path "{full}" exceeded maximum socket path length')
    return UnixAddress(full, max_connections)
