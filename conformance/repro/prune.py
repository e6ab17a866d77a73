"""Leaving out of a generated reproducer the definitions nothing in it uses,
and the imports nothing uses.

Why: the runtime blocks (conformance/repro/runtime*.py) are written once for
every case, so each carries methods and helpers most scripts never call (a
Client's ``close``, a Shell's ``answer`` for commands sent in the
background, a second name for a method). A maintainer reading a bug report
should not have to skip them, and the reproducer should be as short as what
it does.

The rule is deliberately simple and errs towards keeping: a definition (a
function, a class, a method, or a module- or class-level assignment to one
name) stays when its name appears anywhere in the script outside its own
lines, as a variable or as an attribute (``x.close`` keeps every method
called ``close``). It repeats until nothing more goes, so a helper used only
by a removed method goes too. Dunder methods, ``main`` and ``steps`` always
stay.
"""
from __future__ import annotations

import ast
import re

ALWAYS_KEPT = {"main", "steps"}


def pruned(code: str) -> str:
    """``code`` without the definitions and imports nothing in it uses."""
    while True:
        tree = ast.parse(code)
        lines = code.splitlines(keepends=True)
        uses = _uses(tree)
        drop: set[int] = set()
        for name, first, last in _definitions(tree, lines):
            if name in ALWAYS_KEPT or (name.startswith("__") and name.endswith("__")):
                continue
            if not any(n == name and not first <= ln <= last for n, ln in uses):
                drop.update(range(first, last + 1))
                k = first - 1                      # and the blank lines above it
                while k >= 1 and not lines[k - 1].strip():
                    drop.add(k)
                    k -= 1
        drop |= _unused_imports(tree, uses)
        if not drop:
            return _one_blank_line(code)
        code = "".join(ln for k, ln in enumerate(lines, 1) if k not in drop)


def _uses(tree) -> list[tuple[str, int]]:
    """Every name the code mentions (a variable or an attribute), with its line.
    An attribute that is also assigned as data somewhere (``self.pid = ...``)
    counts only where it is called: ``sh1.pid`` reads the Shell's pid, not
    Answer's ``pid()`` method, which stays only for a script that calls it."""
    data = {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)}
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            out.append((node.id, node.lineno))
        elif isinstance(node, ast.Attribute) and (node.attr not in data or id(node) in called):
            out.append((node.attr, node.lineno))
    return out


def _definitions(tree, lines):
    """(name, first line, last line) of each definition that may go: at module
    level and in a class's body. The first line takes in decorators and the
    comment lines right above."""
    def span(node):
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        while first > 1 and lines[first - 2].lstrip().startswith("#"):
            first -= 1
        return first, node.end_lineno

    def named(body):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                yield (node.name, *span(node))
            elif (isinstance(node, ast.Assign) and len(node.targets) == 1
                  and isinstance(node.targets[0], ast.Name)):
                yield (node.targets[0].id, *span(node))

    yield from named(tree.body)
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            yield from named(node.body)


def _unused_imports(tree, uses) -> set[int]:
    """The lines of module-level ``import a, b`` statements whose every name
    is unused. A statement with some names used is left whole (its text is
    rewritten by whoever writes the imports: conformance.repro.generate)."""
    used = {n for n, _ in uses}
    drop = set()
    for node in tree.body:
        if isinstance(node, ast.Import) and not any(
                (a.asname or a.name).split(".")[0] in used for a in node.names):
            drop.update(range(node.lineno, node.end_lineno + 1))
    return drop


def used_names(code: str) -> set[str]:
    """The names ``code`` mentions."""
    return {n for n, _ in _uses(ast.parse(code))}


def modules_used(code: str) -> set[str]:
    """The names ``code`` reads an attribute of (``os`` of ``os.path``): its
    modules among them, for choosing its imports."""
    return {node.value.id for node in ast.walk(ast.parse(code))
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)}


def _one_blank_line(code: str) -> str:
    """Runs of blank lines made one: the script is read whole, on one screen
    or two, and its definitions are short."""
    return re.sub(r"\n(?:[ \t]*\n){2,}", "\n\n", code)
