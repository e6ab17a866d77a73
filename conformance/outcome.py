"""The outcome model: the kinds a case can get, the exit statuses of the
contract, and the typed records of the JSON results (docs/report.md).

``Kind`` is a ``StrEnum``: a kind compares equal to its string
(``Kind.FAIL == "FAIL"``) and is written to JSON as it. ``CaseRecord`` and
``Run`` are frozen views of one case record and of one run file:
``from_json(dict)`` reads the format of docs/report.md, ``to_json()`` gives
the same dict back (``Run.from_json(d).to_json() == d``): fields a record
does not have stay absent, and keys this module does not know are kept
(``extra``), since records carry evidence and optional fields.
``conformance/report/run.schema.json`` is the same format as a JSON Schema.
"""
from __future__ import annotations

import dataclasses
import enum
from typing import Any, Iterable, Mapping

FORMAT = 1


class Kind(enum.StrEnum):
    """What became of a case (docs/report.md). Members are in report
    order: problems first."""
    FAIL = "FAIL"
    TIMEOUT = "TIMEOUT"
    CRASH = "CRASH"
    UNEXPECTED_PASS = "UNEXPECTED-PASS"
    FLAKY = "FLAKY"
    EXPECTED_FAIL = "EXPECTED-FAIL"
    NON_STRICT = "NON-STRICT"
    INFORMATIONAL = "INFORMATIONAL"
    # The case's requirement is of a layer (docs/spec.md) the manifest does
    # not claim: it ran when it could, its observed kind is in
    # "observed_kind", and it is never judged.
    NOT_CLAIMED = "NOT-CLAIMED"
    UNIMPLEMENTED = "UNIMPLEMENTED"
    PASS = "PASS"


# Report order: problems first.
KINDS: tuple[Kind, ...] = tuple(Kind)
# Kinds that make a run fail (exit status 1).
BAD_KINDS = frozenset({Kind.FAIL, Kind.TIMEOUT, Kind.CRASH, Kind.UNEXPECTED_PASS, Kind.FLAKY})
# Kinds whose case ran and did what the suite checks (or was excused).
PASSING_KINDS = frozenset({Kind.PASS, Kind.NON_STRICT, Kind.INFORMATIONAL})
# Kinds that catch a mutant.
CATCHING_KINDS = frozenset({Kind.FAIL, Kind.TIMEOUT, Kind.CRASH})


def kind_of(value) -> Kind | str | None:
    """A record's kind: the Kind, or the string as written when it is no
    kind of this version (an older or newer file), or None."""
    if value is None or isinstance(value, Kind):
        return value
    try:
        return Kind(value)
    except ValueError:
        return value


# The exit-status contract (ipc-conformance and the plugin).
EXIT_OK = 0           # nothing failed unexpectedly
EXIT_FAILED = 1       # a FAIL, TIMEOUT, CRASH, UNEXPECTED-PASS or FLAKY
EXIT_INCOMPLETE = 2   # fewer executed than selected, nothing selected, no report
EXIT_MANIFEST = 3     # a manifest is invalid, or the set-up cannot run it (preflight)
EXIT_UNRUNNABLE = 4   # a program the manifest declares is missing or cannot be executed
EXIT_PIPE_CLOSED = 141   # 128 + SIGPIPE: the command's output's reader left

EXIT_STATUS_HELP = """\
exit status:
  0  nothing failed unexpectedly (UNIMPLEMENTED, NOT-CLAIMED, EXPECTED-FAIL,
     NON-STRICT and INFORMATIONAL do not fail a run)
  1  a case was FAIL, TIMEOUT, CRASH, UNEXPECTED-PASS (stale expectation) or FLAKY,
     or of a kind the run forbids (--forbid UNIMPLEMENTED, --forbid NOT-CLAIMED, ...)
  2  the run is incomplete: fewer cases executed than selected (a worker
     crashed, pytest was interrupted), no case was selected, or a report
     (JSON, HTML) could not be written
  3  a manifest is invalid (the message names the field)
  4  a role the manifest declares cannot run: its program is missing, not
     executable or fails at exec (the message names it); a manifest with
     `required = false` reports such roles UNIMPLEMENTED instead
When several apply, the highest wins."""


# ---------------------------------------------------------------- records

_MISSING = object()


class _Record:
    """from_json / to_json / replace for the frozen dataclasses below.
    ``_absent`` names the fields the JSON did not have (they are not
    written back); ``extra`` holds the keys no field is for."""

    _LIST_FIELDS: frozenset = frozenset()
    _OPTIONAL: frozenset = frozenset()       # omitted when None in new()

    @classmethod
    def _fields(cls):
        return [f for f in dataclasses.fields(cls) if f.name not in ("extra", "_absent")]

    @classmethod
    def _read(cls, name: str, value):
        if name in cls._LIST_FIELDS and isinstance(value, list):
            return tuple(value)
        return value

    @classmethod
    def from_json(cls, data: Mapping[str, Any]):
        kwargs, absent = {}, set()
        names = set()
        for f in cls._fields():
            names.add(f.name)
            if f.name in data:
                kwargs[f.name] = cls._read(f.name, data[f.name])
            else:
                absent.add(f.name)
        extra = {k: v for k, v in data.items() if k not in names}
        return cls(**kwargs, extra=extra, _absent=frozenset(absent))

    @classmethod
    def new(cls, **values):
        """A record built here (not read): optional fields that are None
        are left out of its JSON."""
        absent = frozenset(k for k in cls._OPTIONAL if values.get(k) is None)
        return cls(**values, _absent=absent)

    def _write(self, name: str, value):
        if name in self._LIST_FIELDS and isinstance(value, tuple):
            return list(value)
        return value

    def to_json(self) -> dict:
        out = {f.name: self._write(f.name, getattr(self, f.name))
               for f in self._fields() if f.name not in self._absent}
        out.update(self.extra)
        return out

    def replace(self, **changes):
        """A copy with ``changes``; a changed field is written even if the
        original had none."""
        absent = self._absent - changes.keys()
        return dataclasses.replace(self, **changes, _absent=absent)

    def has(self, name: str) -> bool:
        """Whether the record has the field (a known one, or an extra key)."""
        return name in self.extra or (name not in self._absent and hasattr(self, name))


@dataclasses.dataclass(frozen=True)
class ExpectationNote(_Record):
    """The manifest's expectation a case was judged by (its [[expectations]]
    entry): ``result`` ("fail", "non-strict", ...) and why; ``intermittent``
    (written only when true) says the failure shows in some runs only, so
    repeats that pass in some runs and fail as expected in others agree with
    it rather than being FLAKY."""
    _OPTIONAL = frozenset({"intermittent"})
    result: str = ""
    reason: str = ""
    intermittent: bool | None = None
    extra: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)
    _absent: frozenset = dataclasses.field(default=frozenset(), repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class RepeatResult(_Record):
    """One of the --repeat runs of a case, inside its combined record."""
    kind: Kind | str | None = None
    duration: float = 0.0
    message: str = ""
    extra: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)
    _absent: frozenset = dataclasses.field(default=frozenset(), repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "kind", kind_of(self.kind))


@dataclasses.dataclass(frozen=True)
class CaseRecord(_Record):
    """One case of a run (the table "A case record" in docs/report.md).
    Fields are in the order the plugin writes them."""
    expectation: ExpectationNote | None = None
    id: str | None = None
    key: str | None = None
    param: str | None = None
    requirement: str = ""
    requirement_text: str = ""
    layer: str = ""
    statement: str = ""
    area: str = ""
    kind: Kind | str | None = None
    duration: float = 0.0
    message: str = ""
    nodeid: str = ""
    base_nodeid: str | None = None
    file: str | None = None
    line: int | None = None
    roles: tuple = ()
    needs: tuple = ()
    smoke: bool = False
    repeat: int = 1
    executed: bool = True
    evidence: dict = dataclasses.field(default_factory=dict)
    observed_kind: Kind | str | None = None
    process_verdict: Any = None
    repeats: tuple[RepeatResult, ...] = ()
    extra: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)
    _absent: frozenset = dataclasses.field(default=frozenset(), repr=False, compare=False)

    _LIST_FIELDS = frozenset({"roles", "needs"})
    _OPTIONAL = frozenset({"observed_kind", "process_verdict", "expectation", "repeats"})

    def __post_init__(self):
        object.__setattr__(self, "kind", kind_of(self.kind))
        object.__setattr__(self, "observed_kind", kind_of(self.observed_kind))
        if isinstance(self.expectation, Mapping):
            object.__setattr__(self, "expectation", ExpectationNote.from_json(self.expectation))
        if self.repeats and not all(isinstance(r, RepeatResult) for r in self.repeats):
            object.__setattr__(self, "repeats", tuple(
                r if isinstance(r, RepeatResult) else RepeatResult.from_json(r) for r in self.repeats))

    def _write(self, name: str, value):
        if name == "expectation" and isinstance(value, ExpectationNote):
            return value.to_json()
        if name == "repeats" and isinstance(value, tuple):
            return [r.to_json() if isinstance(r, RepeatResult) else r for r in value]
        return super()._write(name, value)

    @property
    def label(self) -> str:
        """The row of the matrix: ``key``, else the node ID."""
        return self.key or self.nodeid

    @property
    def first_line(self) -> str:
        """The message's first line ("" for none)."""
        return self.message.splitlines()[0] if self.message else ""

    @property
    def group(self) -> str:
        """The repeats of one case share this (the node ID without the
        --ipc-repeat parameter)."""
        return self.base_nodeid or self.nodeid


@dataclasses.dataclass(frozen=True)
class Run(_Record):
    """One run file: one implementation's results (docs/report.md)."""
    format: int = FORMAT
    implementation: dict = dataclasses.field(default_factory=dict)
    started: str = ""
    duration: float = 0.0
    selected: int = 0
    executed: int = 0
    run: dict = dataclasses.field(default_factory=dict)
    cases: tuple[CaseRecord, ...] = ()
    summary: dict = dataclasses.field(default_factory=dict)
    incomplete: bool | None = None
    exit_status: int | None = None
    source: str | None = None
    extra: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)
    _absent: frozenset = dataclasses.field(default=frozenset(), repr=False, compare=False)

    _OPTIONAL = frozenset({"incomplete", "source", "exit_status"})

    @classmethod
    def _read(cls, name, value):
        if name == "cases" and isinstance(value, list):
            return tuple(c if isinstance(c, CaseRecord) else CaseRecord.from_json(c)
                         for c in value)
        return value

    def _write(self, name, value):
        if name == "cases":
            return [c.to_json() for c in value]
        return value

    @property
    def kind(self) -> str:
        """implementation.kind: "implementation" or "mutant"."""
        return (self.implementation or {}).get("kind", "implementation")

    @property
    def forbid(self) -> frozenset:
        """The kinds this run forbids besides BAD_KINDS (--ipc-forbid)."""
        return frozenset((self.run or {}).get("forbid") or ())


def as_run(value: Run | Mapping) -> Run:
    return value if isinstance(value, Run) else Run.from_json(value)


def as_record(value: CaseRecord | Mapping) -> CaseRecord:
    return value if isinstance(value, CaseRecord) else CaseRecord.from_json(value)


def as_records(values: Iterable[CaseRecord | Mapping]) -> list[CaseRecord]:
    return [as_record(v) for v in values]
