"""The fault model: every requirement of docs/spec.md against every condition
of :data:`conformance.case.CONDITIONS`, each cell naming the cases that
cover it (their ``@case(..., conditions=...)``), or why it cannot apply
(:data:`NOT_APPLICABLE`), or nothing: a gap.

``ipc-conformance list --fault-model > docs/fault-model.md`` writes it;
tests/cli/test_fault_model_doc.py keeps the file current and the reasons
honest (a reason on a covered cell, or on a requirement or condition that
does not exist, fails)."""
from __future__ import annotations

import dataclasses

from .case import CONDITIONS, CaseInfo, collect_cases, layer_of, load_requirements

# What each condition means, for the page's legend.
CONDITION_TEXT = {
    "normal": "an ordinary session: nothing goes wrong, one thing at a time",
    "peer-dies": "the other side dies (SIGKILL), leaves, or stops reading mid-session",
    "exhausted": "a resource runs out inside the implementation (RLIMIT_NOFILE lowered "
                 "from outside, so accept, spawn or connect fails with EMFILE), and comes back",
    "at-limit": "exactly at a limit, and one past it (max-connections, the 107/108-byte "
                "path, the last descriptor below RLIMIT_NOFILE, a 1 MiB message)",
    "combined": "two features used together (a limit with disconnect-incoming, cleanups on "
                "connected Inits with disconnect-incoming, spawn with listen)",
    "repeated": "many cycles (tens to hundreds): counts, ids and descriptors stay stable, "
                "and an ordering race is run enough times to be caught",
    "concurrent": "several clients, children or calls at the same moment",
    "cpu-load": "a starved machine",
}

# Why a cell cannot apply, by reason key.
REASONS = {
    "run-level": "a condition of the whole run: `ipc-conformance run --repeat N --cpu-load K` "
                 "puts every case under CPU load; no case sets it by itself",
    "static": "the requirement is about a text, an argument or a file checked once, "
              "before any session (grammar, parsing, schema IDs): no peer, load, repetition "
              "or concurrency changes the answer",
    "no-limit": "the requirement has no limit of its own to stand at (descriptor limits are "
                "the `exhausted` column)",
    "inherent": "the requirement is stated only under another condition (its cases are in "
                "that column): there is no ordinary case of it",
    "no-session": "a process with no connection (a normal run, a bind error, a bad -ipcfd): "
                  "there is no peer to die and nothing to run at once",
    "one-shot": "the requirement is about the start of a process or a single event (exec, "
                "the first line, a signal's text); repeating or combining it checks the same "
                "thing again",
    "no-resource": "nothing in the requirement allocates a resource that could run out",
    "upstream-only": "implementation-defined: recorded, never judged, so a harder condition "
                     "judges nothing more",
}

_SESSION = ("peer-dies", "exhausted", "combined", "repeated", "concurrent")
_ALL_BUT_NORMAL = ("peer-dies", "exhausted", "at-limit", "combined", "repeated", "concurrent")


def _each(keys, conditions, reason):
    return {(k, c): reason for k in keys for c in conditions}


# Requirements with no limit of their own (at-limit: "no-limit").
_NO_LIMIT = (
    "REQ-SPAWN-1", "REQ-SPAWN-2", "REQ-SPAWN-3", "REQ-SPAWN-4", "REQ-SPAWN-5", "REQ-SPAWN-6",
    "REQ-SPAWN-7", "REQ-SPAWN-9", "REQ-SPAWN-10", "REQ-FD-2", "REQ-FD-3", "REQ-FD-4",
    "REQ-FD-5", "REQ-SHUT-1", "REQ-SHUT-2", "REQ-SHUT-3", "REQ-SHUT-4", "REQ-SHUT-5",
    "REQ-SHUT-6", "REQ-CLEAN-1", "REQ-CLEAN-2", "REQ-CLEAN-3", "REQ-CLEAN-4", "REQ-CLEAN-5",
    "REQ-LISTEN-1", "REQ-LISTEN-2", "REQ-LISTEN-8", "REQ-LISTEN-9", "REQ-LISTEN-11",
    "REQ-ADDR-1", "REQ-ADDR-2", "REQ-ADDR-5", "REQ-ADDR-6", "REQ-ADDR-7", "REQ-ADDR-8",
    "REQ-ADDR-9", "REQ-SIG-1", "REQ-SIG-2", "REQ-SIG-3", "REQ-CLI-2",
    "REQ-CLI-3", "REQ-CLI-4", "REQ-FAULT-2", "REQ-FAULT-3", "REQ-FAULT-5", "REQ-PROTO-1",
    "REQ-PROTO-4", "REQ-PROTO-5", "REQ-PROTO-6")

# Requirements in which nothing allocates a descriptor (exhausted: "no-resource").
_NO_RESOURCE = (
    "REQ-SPAWN-6", "REQ-SPAWN-7", "REQ-SHUT-1", "REQ-SHUT-2", "REQ-SHUT-3", "REQ-SHUT-4",
    "REQ-SHUT-5", "REQ-SHUT-6", "REQ-CLEAN-2", "REQ-CLEAN-3", "REQ-CLEAN-4", "REQ-CLEAN-5",
    "REQ-LISTEN-4", "REQ-LISTEN-5", "REQ-LISTEN-7", "REQ-LISTEN-8", "REQ-LISTEN-9",
    "REQ-SIG-1", "REQ-SIG-2", "REQ-SIG-3", "REQ-CLI-1", "REQ-CLI-2", "REQ-CLI-3",
    "REQ-FD-3", "REQ-FD-4", "REQ-FAULT-2", "REQ-FAULT-4", "REQ-FAULT-5",
    "REQ-PROTO-1", "REQ-PROTO-3", "REQ-PROTO-4", "REQ-PROTO-5", "REQ-PROTO-6")

# (requirement, condition), (area, condition) or ("*", condition) -> reason
# key of REASONS. The most specific key wins. Keep it honest: a reason on a
# cell some case covers fails tests/cli/test_fault_model_doc.py, and a cell
# left empty is a gap the page lists.
NOT_APPLICABLE: dict[tuple[str, str], str] = {
    ("*", "cpu-load"): "run-level",
    # Addresses: the grammar and the path rules are decided before a socket exists.
    **_each(("ADDR",), _SESSION, "static"),
    **_each(_NO_LIMIT, ("at-limit",), "no-limit"),
    **_each(_NO_RESOURCE, ("exhausted",), "no-resource"),
    # The node's command line: parsed before anything is served. The -ipcfd
    # number has a limit of its own, though: the 32-bit range (CLI-017).
    **{k: v for k, v in _each(("REQ-CHILD-2", "REQ-CHILD-3", "REQ-CHILD-5", "REQ-CLI-5"),
                              _ALL_BUT_NORMAL, "no-session").items()
       if k != ("REQ-CHILD-3", "at-limit")},
    **_each(("REQ-CHILD-1", "REQ-CHILD-4"), ("exhausted", "at-limit", "combined", "repeated",
                                            "concurrent"), "one-shot"),
    ("REQ-CHILD-1", "peer-dies"): "no-session",
    # Schemas are files.
    **_each(("REQ-PROTO-2",), _ALL_BUT_NORMAL, "static"),
    # Implementation-defined: recorded, not judged.
    **_each(("REQ-SPAWN-8", "REQ-SIG-4", "REQ-PROTO-7"), _ALL_BUT_NORMAL, "upstream-only"),
    # Stated only under another condition.
    **_each(("REQ-SPAWN-6", "REQ-SPAWN-7", "REQ-SPAWN-10", "REQ-SHUT-3", "REQ-SHUT-5",
             "REQ-FAULT-5", "REQ-FAULT-3", "REQ-FAULT-4", "REQ-LISTEN-3", "REQ-LISTEN-4",
             "REQ-LISTEN-6", "REQ-LISTEN-10", "REQ-SPAWN-9", "REQ-ADDR-3", "REQ-FD-5"),
            ("normal",), "inherent"),
    # Start-of-process facts: exec, the first line, a signal's text.
    **_each(("REQ-SPAWN-1", "REQ-FD-1", "REQ-FD-4", "REQ-CLI-4"), ("peer-dies", "repeated"),
            "one-shot"),
}


@dataclasses.dataclass(frozen=True)
class Cell:
    requirement: str
    condition: str
    cases: tuple[str, ...] = ()
    reason: str | None = None        # a key of REASONS when the cell cannot apply

    @property
    def gap(self) -> bool:
        return not self.cases and self.reason is None


def reason_for(requirement: str, condition: str,
               table: dict[tuple[str, str], str] | None = None) -> str | None:
    """The reason key of cell (requirement, condition), most specific first."""
    table = NOT_APPLICABLE if table is None else table
    area = requirement.split("-")[1] if requirement.count("-") >= 2 else ""
    for key in ((requirement, condition), (area, condition), ("*", condition)):
        if key in table:
            return table[key]
    return None


def matrix(cases: list[CaseInfo] | None = None,
           requirements: dict[str, str] | None = None) -> dict[str, dict[str, Cell]]:
    """requirement -> condition -> Cell, requirements in docs/spec.md order."""
    cases = collect_cases() if cases is None else cases
    reqs = load_requirements() if requirements is None else requirements
    covering: dict[tuple[str, str], list[str]] = {}
    for info in cases:
        for condition in info.conditions:
            covering.setdefault((info.requirement, condition), []).append(info.id)
    out: dict[str, dict[str, Cell]] = {}
    for req in reqs:
        row = {}
        for condition in CONDITIONS:
            ids = tuple(covering.get((req, condition), ()))
            row[condition] = Cell(req, condition, ids,
                                  None if ids else reason_for(req, condition))
        out[req] = row
    return out


def gaps(m: dict[str, dict[str, Cell]] | None = None) -> list[tuple[str, str]]:
    m = matrix() if m is None else m
    return [(req, c) for req, row in m.items() for c, cell in row.items() if cell.gap]


def stale_reasons(cases: list[CaseInfo] | None = None,
                  requirements: dict[str, str] | None = None) -> list[str]:
    """Problems of NOT_APPLICABLE: reasons on cells that cases cover (by the
    requirement's own key), keys naming no requirement, area or condition,
    and reason keys without a text."""
    cases = collect_cases() if cases is None else cases
    reqs = load_requirements() if requirements is None else requirements
    areas = {r.split("-")[1] for r in reqs}
    covered = {(info.requirement, c) for info in cases for c in info.conditions}
    problems = []
    for (key, condition), reason in NOT_APPLICABLE.items():
        if condition not in CONDITIONS:
            problems.append(f"({key}, {condition}): no such condition")
        if key != "*" and key not in reqs and key not in areas:
            problems.append(f"({key}, {condition}): no such requirement or area")
        if reason not in REASONS:
            problems.append(f"({key}, {condition}): reason {reason!r} has no text in REASONS")
        if (key, condition) in covered:
            problems.append(f"({key}, {condition}): marked '{reason}' but covered by a case")
    return problems


def fault_model_markdown(cases: list[CaseInfo] | None = None,
                         requirements: dict[str, str] | None = None) -> str:
    """docs/fault-model.md (`ipc-conformance list --fault-model`)."""
    cases = collect_cases() if cases is None else cases
    reqs = load_requirements() if requirements is None else requirements
    m = matrix(cases, reqs)
    cells = [cell for row in m.values() for cell in row.values()]
    covered = sum(1 for c in cells if c.cases)
    na = sum(1 for c in cells if c.reason is not None)
    holes = [c for c in cells if c.gap]
    out = ["# The fault model", "",
           "Generated by `ipc-conformance list --fault-model`; do not edit by hand.",
           "Rows are the requirements of `docs/spec.md` (with their layer), columns the",
           "conditions a case can put a requirement under (`@case(..., conditions=...)`,",
           "`conformance/case.py`). A cell names the cases that cover it; `n/a: <reason>`",
           "says why it cannot apply (the reasons are kept in `conformance/fault_model.py`);",
           "an empty cell is a gap.", "",
           f"{len(m)} requirements x {len(CONDITIONS)} conditions = {len(cells)} cells: "
           f"{covered} covered, {na} not applicable, {len(holes)} gaps.", "",
           "## Conditions", "", "| condition | meaning |", "|---|---|"]
    out += [f"| {c} | {CONDITION_TEXT[c]} |" for c in CONDITIONS]
    out += ["", "## Reasons a cell cannot apply", "", "| reason | why |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in REASONS.items()]
    out += ["", "## The matrix", "",
            "| requirement | layer | " + " | ".join(CONDITIONS) + " |",
            "|---|---|" + "---|" * len(CONDITIONS)]
    for req, row in m.items():
        shown = []
        for condition in CONDITIONS:
            cell = row[condition]
            shown.append(", ".join(cell.cases) if cell.cases
                         else f"n/a: {cell.reason}" if cell.reason else " ")
        out.append(f"| {req} | {layer_of(req, reqs) or '?'} | " + " | ".join(shown) + " |")
    out += ["", "## Gaps", ""]
    if holes:
        out += [f"- {c.requirement} under `{c.condition}`" for c in holes]
    else:
        out.append("None.")
    return "\n".join(out) + "\n"
