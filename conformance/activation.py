"""When the plugin acts.

The plugin is registered for every pytest session of the environment (the
``pytest11`` entry point), including sessions that have nothing to do with
the suite. Registering its options and markers there is harmless; its side
effects are not: replacing signal dispositions, creating a registry file,
sweeping other runs' leftovers, taking over the summary and the exit status.
So they happen only in a conformance run, which is decided at configure time,
in the controller, because xdist workers inherit the registry's variable
from it and must have it before they start any process:

- ``--ipc-impl`` was given, or
- one of the session's arguments (or ``testpaths``) is, is inside, or
  contains the suite's cases folder (``conformance/cases``).

A session that did not ask but collects conformance cases anyway (a folder
of one's own cases) is switched on at collection (plugin._activate)."""
from __future__ import annotations

from pathlib import Path

from ipc_conformance.conformance.case import CASES_DIR


def points_into_cases(args, invocation_dir, cases_dir: Path = CASES_DIR) -> bool:
    """An argument names the cases folder, something in it, or a folder
    that holds it (``pytest .`` at the repo root)."""
    cases = Path(cases_dir).resolve()
    for arg in args or ():
        text = str(arg).split("::", 1)[0]
        if not text or text.startswith("-"):
            continue
        try:
            path = (Path(invocation_dir) / text).resolve()
        except (OSError, RuntimeError):
            continue
        if path == cases or cases in path.parents or path in cases.parents:
            return True
    return False


def asked(ipc_impl, args, invocation_dir, cases_dir: Path = CASES_DIR) -> bool:
    """Whether a session is a conformance run (module docstring)."""
    return bool(ipc_impl) or points_into_cases(args, invocation_dir, cases_dir)
