"""The shell's event lines (docs/programs.md section 2) as typed values.

``parse_event(line)`` gives ``Reaped(id, pid, status)``, ``CleanupRan(tag)``
or ``Disconnected(id)``; ``str()`` of each is its line, exactly, and its
``repr`` is that line's repr, so messages and evidence read as the
transcript does. A line that is not one of these in its exact canonical
form (``event reaped 01 ...``, trailing blanks, an unknown event) is an
``OtherEvent`` that keeps the text: comparing typed events is comparing the
lines, character for character."""
import re
from dataclasses import dataclass


class Event:
    """An event line of the shell; ``str()`` is the line."""

    def __repr__(self):
        return repr(str(self))


@dataclass(frozen=True, repr=False)
class Reaped(Event):
    id: int
    pid: int
    status: int                  # the exit status, or -N for signal N

    def __str__(self):
        return f"event reaped {self.id} pid={self.pid} status={self.status}"


@dataclass(frozen=True, repr=False)
class CleanupRan(Event):
    tag: str

    def __str__(self):
        return f"event cleanup {self.tag} ran"


@dataclass(frozen=True, repr=False)
class Disconnected(Event):
    id: int

    def __str__(self):
        return f"event disconnected {self.id}"


@dataclass(frozen=True, repr=False)
class OtherEvent(Event):
    text: str

    def __str__(self):
        return self.text


_GRAMMAR = (
    (re.compile(r"event reaped (-?\d+) pid=(-?\d+) status=(-?\d+)"),
     lambda m: Reaped(int(m[1]), int(m[2]), int(m[3]))),
    (re.compile(r"event cleanup (\S+) ran"), lambda m: CleanupRan(m[1])),
    (re.compile(r"event disconnected (-?\d+)"), lambda m: Disconnected(int(m[1]))),
)


def parse_event(line: str) -> Event:
    """The typed value of an ``event ...`` line (OtherEvent when it is not
    one of the grammar's, word for word)."""
    for rx, make in _GRAMMAR:
        m = rx.fullmatch(line)
        if m:
            event = make(m)
            if str(event) == line:
                return event
    return OtherEvent(line)


def cleanup_tags(events) -> list[str]:
    """The tags of the cleanups reported as run, in order."""
    return [e.tag for e in events if isinstance(e, CleanupRan)]


def reaped_of(events, obj) -> list[Reaped]:
    """The reaping events of object ``obj``, in order."""
    return [e for e in events if isinstance(e, Reaped) and e.id == int(obj)]


def of_kind(events, kind) -> list[Event]:
    return [e for e in events if isinstance(e, kind)]
