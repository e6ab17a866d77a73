"""The case API: the ``@case`` decorator, the case registry and the
requirement texts of docs/spec.md.

```python
from ipc_conformance.conformance.case import case

@case("SPAWN-003", "REQ-SPAWN-4", roles=("child",))
def test_child_exits_zero_on_eof(child, evidence):
    \"\"\"Closing the parent's end makes the child exit 0.\"\"\"
```

The decorator checks the ID and the requirement at import time and applies
the pytest marker ``ipc_case`` (and ``smoke`` with ``smoke=True``); the
plugin (conformance/plugin.py) reads the marker. The registry
(:func:`collect_cases`) imports the case modules without running pytest, for
``ipc-conformance list`` and ``explain``.
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import re
import sys
import textwrap
from pathlib import Path
from typing import Callable, Iterable

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CASES_DIR = REPO_ROOT / "conformance" / "cases"
SPEC_PATH = REPO_ROOT / "docs" / "spec.md"

CASE_ID_RE = re.compile(r"^[A-Z]+-\d{3}$")
REQUIREMENT_RE = re.compile(r"^REQ-[A-Z]+-\d+$")
# The areas of docs/writing-cases.md, in report order; other areas are
# accepted and sorted after these.
AREAS = ("SPAWN", "FD", "SHUT", "CLEAN", "LISTEN", "ADDR", "SIG", "CLI", "FAULT", "PROTO")
NEEDS = ("libmultiprocess", "echo", "events", "ipcfd-argv")
# The layers of docs/spec.md, from the bottom of the stack up: what
# libmultiprocess does, what Bitcoin Core's src/ipc adds, our own decisions.
# harness/manifest.py validates a manifest's claims against the same list
# (tests/unit/test_layers.py keeps the two equal).
LAYERS = ("library", "bitcoin-ipc", "project")
# The conditions of the fault model (docs/fault-model.md, conformance/fault_model.py):
# what a case puts the requirement under, beyond the ordinary session.
CONDITIONS = ("normal", "peer-dies", "exhausted", "at-limit", "combined", "repeated",
              "concurrent", "cpu-load")

MARKER = "ipc_case"
SMOKE_MARKER = "smoke"
_ATTR = "_ipc_case"


class CaseDefinitionError(ValueError):
    """A case is declared wrongly (bad ID, requirement, roles or needs)."""


@dataclasses.dataclass(frozen=True)
class CaseInfo:
    """What ``@case`` declares, plus where it is and what it states."""

    id: str
    requirement: str
    roles: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    smoke: bool = False
    conditions: tuple[str, ...] = ("normal",)
    statement: str = ""
    function: str = ""
    file: str = ""
    line: int = 0

    @property
    def area(self) -> str:
        return self.id.split("-", 1)[0]

    @property
    def location(self) -> str:
        path = Path(self.file)
        try:
            path = path.resolve().relative_to(REPO_ROOT)
        except ValueError:
            pass
        return f"{path}:{self.line}"

    def requirement_text(self, requirements: dict[str, str] | None = None) -> str:
        reqs = load_requirements() if requirements is None else requirements
        return reqs.get(self.requirement, "")

    @property
    def layer(self) -> str | None:
        """The layer of the case's requirement (docs/spec.md), None if unknown."""
        return layer_of(self.requirement)


def _names(value, what: str, case_id: str) -> tuple[str, ...]:
    if isinstance(value, str):
        raise CaseDefinitionError(
            f"case {case_id}: {what} must be a tuple of names, not the string {value!r}"
            f" (write {what}=({value!r},))")
    names = tuple(value)
    for name in names:
        if not isinstance(name, str) or not name:
            raise CaseDefinitionError(f"case {case_id}: bad {what} entry {name!r}")
    return names


def statement_of(func: Callable) -> str:
    """The first line of the docstring: the case's one-line statement."""
    doc = inspect.getdoc(func) or ""
    for line in doc.splitlines():
        if line.strip():
            return line.strip()
    return ""


def case(case_id: str, requirement: str, *, roles: Iterable[str] = (),
         needs: Iterable[str] = (), smoke: bool = False,
         conditions: Iterable[str] = ("normal",)):
    """Declare a conformance case. Raises :class:`CaseDefinitionError`
    naming the bad value at import time.

    ``conditions`` names what the case puts its requirement under (one or
    more of :data:`CONDITIONS`: a peer dying, a resource exhausted, a limit
    reached, features combined, many repetitions, concurrency, CPU load);
    the default is ``("normal",)``. docs/fault-model.md is built from it."""
    if not isinstance(case_id, str) or not CASE_ID_RE.match(case_id):
        raise CaseDefinitionError(
            f"invalid case ID {case_id!r}: it must look like AREA-NNN (e.g. SPAWN-004)")
    if not isinstance(requirement, str) or not REQUIREMENT_RE.match(requirement):
        raise CaseDefinitionError(
            f"case {case_id}: invalid requirement ID {requirement!r}:"
            " it must look like REQ-AREA-N (e.g. REQ-SPAWN-4)")
    roles = _names(roles, "roles", case_id)
    needs = _names(needs, "needs", case_id)
    for need in needs:
        if need not in NEEDS:
            raise CaseDefinitionError(
                f"case {case_id}: unknown need {need!r} (known: {', '.join(NEEDS)})")
    conditions = _names(conditions, "conditions", case_id)
    if not conditions:
        raise CaseDefinitionError(f"case {case_id}: conditions is empty (the default is "
                                  "('normal',))")
    for condition in conditions:
        if condition not in CONDITIONS:
            raise CaseDefinitionError(
                f"case {case_id}: unknown condition {condition!r} "
                f"(known: {', '.join(CONDITIONS)})")
    if len(set(conditions)) != len(conditions):
        raise CaseDefinitionError(f"case {case_id}: a condition is named twice: {conditions}")

    def decorate(func):
        if getattr(func, _ATTR, None) is not None:
            raise CaseDefinitionError(f"case {case_id}: {func.__name__} already has "
                                      f"case {getattr(func, _ATTR).id}")
        try:
            file = inspect.getsourcefile(func) or ""
            line = inspect.getsourcelines(func)[1]
        except (OSError, TypeError):
            code = getattr(func, "__code__", None)
            file = code.co_filename if code else ""
            line = code.co_firstlineno if code else 0
        info = CaseInfo(id=case_id, requirement=requirement, roles=roles, needs=needs,
                        smoke=bool(smoke), conditions=conditions,
                        statement=statement_of(func),
                        function=func.__qualname__, file=file, line=line)
        setattr(func, _ATTR, info)
        marked = pytest.mark.ipc_case(id=case_id, requirement=requirement,
                                      roles=roles, needs=needs, smoke=bool(smoke),
                                      conditions=conditions)(func)
        if smoke:
            marked = pytest.mark.smoke(marked)
        return marked

    return decorate


def case_info(func) -> CaseInfo | None:
    """The CaseInfo ``@case`` attached to ``func`` (None if not a case)."""
    return getattr(func, _ATTR, None)


# ---------------------------------------------------------------- requirements

_REQ_LINE = re.compile(r"^(\s*)[-*]\s+\*\*(REQ-[A-Z]+-\d+)\*\*\s*[:.\u2014-]?\s*(.*)$")
_ITEM_START = re.compile(r"^\s*([-*+]|\d+[.)])\s+")
_req_cache: dict[Path, tuple[float, dict[str, str]]] = {}


def parse_requirements(text: str) -> dict[str, str]:
    """Requirement ID -> text from lines ``- **REQ-AREA-N** text``; the
    text goes on over following indented lines until a blank line or the
    next list item or heading."""
    reqs: dict[str, str] = {}
    current: str | None = None
    parts: list[str] = []

    def flush():
        if current is not None:
            reqs[current] = " ".join(p for p in parts if p).strip()

    for line in text.splitlines():
        m = _REQ_LINE.match(line)
        if m:
            flush()
            current, parts = m.group(2), [m.group(3).strip()]
            continue
        if current is None:
            continue
        if (not line.strip() or _ITEM_START.match(line) or line.lstrip().startswith("#")
                or not line[:1].isspace()):
            flush()
            current, parts = None, []
            continue
        parts.append(line.strip())
    flush()
    return reqs


def load_requirements(path: str | Path | None = None) -> dict[str, str]:
    """The requirements of docs/spec.md (empty when the file is missing)."""
    path = Path(path) if path else SPEC_PATH
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {}
    cached = _req_cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    reqs = parse_requirements(path.read_text(encoding="utf-8"))
    _req_cache[path] = (mtime, reqs)
    return reqs


_LAYER_TAG = re.compile(r"\[(" + "|".join(re.escape(x) for x in LAYERS)
                        + r")(?:;\s*implementation-defined)?\]\s*$")


def requirement_layer(text: str) -> str | None:
    """The layer a requirement's text ends with (``[library]``,
    ``[bitcoin-ipc; implementation-defined]``, ...), None when it names none."""
    m = _LAYER_TAG.search(text or "")
    return m.group(1) if m else None


def layer_of(requirement: str, requirements: dict[str, str] | None = None) -> str | None:
    """The layer of requirement ``requirement`` of docs/spec.md."""
    reqs = load_requirements() if requirements is None else requirements
    return requirement_layer(reqs.get(requirement, ""))


# ---------------------------------------------------------------- registry

def _import_case_module(path: Path):
    """Import a case file the way pytest would find it: as
    ``conformance.cases.<stem>`` when that is a package, else by location."""
    if path.parent.resolve() == CASES_DIR.resolve() and (CASES_DIR / "__init__.py").exists():
        return importlib.import_module(f"ipc_conformance.conformance.cases.{path.stem}")
    name = f"_ipc_cases_{abs(hash(str(path.resolve())))}_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    added = str(path.parent) not in sys.path
    if added:  # helpers next to the case files import as pytest would let them
        sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    finally:
        if added:
            sys.path.remove(str(path.parent))
    return module


def _cases_in(module) -> list[CaseInfo]:
    found = []
    for name, obj in vars(module).items():
        if name.startswith("test") and callable(obj) and case_info(obj):
            found.append(case_info(obj))
        elif inspect.isclass(obj) and name.startswith("Test"):
            for mname, member in vars(obj).items():
                if mname.startswith("test") and case_info(member):
                    found.append(case_info(member))
    return found


def collect_cases(cases_dir: str | Path | None = None) -> list[CaseInfo]:
    """Every case of ``cases_dir`` (default conformance/cases), sorted by
    area then ID. Raises CaseDefinitionError on a duplicate ID."""
    cases_dir = Path(cases_dir) if cases_dir else CASES_DIR
    cases: list[CaseInfo] = []
    for path in sorted(cases_dir.glob("test_*.py")):
        cases.extend(_cases_in(_import_case_module(path)))
    seen: dict[str, CaseInfo] = {}
    for info in cases:
        other = seen.get(info.id)
        if other and (other.file, other.line) != (info.file, info.line):
            raise CaseDefinitionError(
                f"duplicate case ID {info.id}: {other.location} and {info.location}")
        seen[info.id] = info
    return sorted(seen.values(), key=lambda c: case_sort_key(c.id))


def case_sort_key(case_id: str) -> tuple:
    area, _, num = (case_id or "").partition("-")
    area_rank = AREAS.index(area) if area in AREAS else len(AREAS)
    return (area_rank, area, num)


def find_case(case_id: str, cases_dir: str | Path | None = None) -> CaseInfo | None:
    for info in collect_cases(cases_dir):
        if info.id == case_id.upper():
            return info
    return None


def explain(info: CaseInfo, requirements: dict[str, str] | None = None,
            width: int = 78) -> str:
    """The text of ``ipc-conformance explain``."""
    text = info.requirement_text(requirements) or "(not found in docs/spec.md)"
    lines = [
        f"{info.id}: {info.statement or '(no statement: the case has no docstring)'}",
        f"requirement: {info.requirement} (layer: {layer_of(info.requirement, requirements) or '?'})",
        textwrap.fill(text, width=width, initial_indent="    ", subsequent_indent="    "),
        f"roles: {', '.join(info.roles) or '(none)'}",
        f"needs: {', '.join(info.needs) or '(none)'}",
        f"smoke: {'yes' if info.smoke else 'no'}",
        f"conditions: {', '.join(info.conditions)}",
        f"defined at: {info.location} ({info.function})",
    ]
    return "\n".join(lines)
