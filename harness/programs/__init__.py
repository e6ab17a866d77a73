"""Helper programs the cases and handles run, kept as files (not strings in
case files) so they can be read, linted and run by hand. ``path(name)`` is
where one is installed; ``text(name)`` its source."""
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def path(name: str) -> str:
    """The installed path of helper program ``name`` (an error naming the
    folder when there is none)."""
    p = _HERE / name
    if not p.is_file():
        raise FileNotFoundError(f"no helper program {name!r} in {_HERE}")
    return str(p)


def text(name: str) -> str:
    """The source of helper program ``name``."""
    with open(path(name), encoding="utf-8") as f:
        return f.read()
