"""Cases use the narrow API of docs/writing-cases.md: the handles' methods,
typed shell events (harness.shell_events) and named verifiers
(harness.verifiers). None reaches past a handle (``.driver``, ``.tracked``),
matches the shell's event grammar by hand, or keeps a helper program in a
string (helper programs are files in harness/programs/)."""
import ast
import re
from pathlib import Path

import pytest

CASES = Path(__file__).resolve().parents[2] / "conformance" / "cases"
INTERNALS = {"driver", "tracked"}
EVENT_GRAMMAR = ("event reaped", "event cleanup", "event disconnected")


def _case_files():
    return sorted(CASES.glob("test_*.py"))


def _strings(tree):
    """Every string literal, and the literal parts of every f-string (an
    event line built by hand starts one: prose that names an event does not)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def _program_like(text: str) -> bool:
    """A script of more than two lines (a shebang), or a Python program."""
    lines = text.count("\n")
    return (text.startswith("#!") and lines > 2) or (
        lines >= 4 and re.search(r"^(import \S|from \S+ import )", text, re.M) is not None)


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in INTERNALS:
            found.append(f"{path.name}:{node.lineno}: .{node.attr} reaches past the handle")
    for lineno, text in _strings(tree):
        for words in EVENT_GRAMMAR:
            if text.lstrip("^").startswith(words):       # a line or a pattern, not prose
                found.append(f"{path.name}:{lineno}: {words!r} built by hand (use the typed "
                             "events of harness.shell_events)")
        if _program_like(text):
            found.append(f"{path.name}:{lineno}: a helper program kept in a string "
                         "(put it in harness/programs/)")
    return found


def test_there_are_case_files():
    assert len(_case_files()) >= 10


@pytest.mark.parametrize("path", _case_files(), ids=lambda p: p.name)
def test_cases_use_the_narrow_api(path):
    problems = _problems(path)
    assert not problems, "\n".join(problems)


def test_the_check_catches_what_it_should(tmp_path):
    bad = tmp_path / "test_bad.py"
    bad.write_text('def test_x(sh, node, obj, pid):\n'
                   '    sh.driver.child.sendeof()\n'
                   '    node.tracked.lines()\n'
                   '    assert f"event reaped {obj} pid={pid} status=0" in sh.events()\n'
                   '    sh.expect_event(r"^event cleanup a ran$")\n'
                   'PROG = """#!/bin/sh\nread x\necho $x\nexit 0\n"""\n'
                   'PY = """\nimport os\nimport sys\nprint(os.getpid())\nsys.exit(0)\n"""\n'
                   'FILE = "#!/bin/sh\\nexit 0\\n"\n'      # a two-line file: data, no program
                   'MSG = "answered before its `event reaped` line"\n')  # prose
    problems = _problems(bad)
    assert len(problems) == 6, problems
