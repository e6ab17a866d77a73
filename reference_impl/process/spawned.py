"""Is this process a spawned child? Upstream's rule: exactly three
arguments, the second ``-ipcfd``; the third must be a 32-bit integer."""
import re

from ..errors import InvalidArgument

_INT = re.compile(r"-?[0-9]+")


def check_spawned(argv: list[str]) -> int | None:
    """The inherited descriptor, or None when argv is not a spawned child's."""
    if len(argv) != 3 or argv[1] != "-ipcfd":
        return None
    text = argv[2]
    if not _INT.fullmatch(text) or not -2**31 <= int(text) < 2**31:
        raise InvalidArgument(f"Invalid -ipcfd number '{text}'")
    return int(text)
