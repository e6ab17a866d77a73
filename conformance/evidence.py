"""What a case attaches to its result: the ``evidence`` fixture's object
(docs/writing-cases.md). conformance.records turns it into the record's
``evidence`` and, through ``non_strict``/``informational``, its kind."""
from __future__ import annotations


class Evidence:
    """What a case (or the harness on its behalf) attaches to its result.

    ``record(key, value)``: any JSON-able value (bytes, sets, dataclasses
    and paths are converted; anything else is kept as its repr).
    ``non_strict(why)``: a pass becomes NON-STRICT.
    ``informational(why)``: a pass becomes INFORMATIONAL.
    The key ``process_verdict`` is lifted into the record's own field.
    """

    def __init__(self):
        self.data: dict = {}
        self.non_strict_reasons: list[str] = []
        self.informational_reasons: list[str] = []

    def record(self, key: str, value) -> None:
        self.data[str(key)] = value

    def append(self, key: str, value) -> None:
        self.data.setdefault(str(key), []).append(value)

    def non_strict(self, why: str) -> None:
        self.non_strict_reasons.append(str(why))

    def informational(self, why: str) -> None:
        self.informational_reasons.append(str(why))

    def __repr__(self) -> str:
        return f"<Evidence {sorted(self.data)}>"

    def get(self, key, default=None):
        return self.data.get(key, default)

    def __contains__(self, key) -> bool:
        return key in self.data

    def __getitem__(self, key):
        return self.data[key]
