"""docs/writing-cases.md's example is a real case: the first python block
after "This is <ID>, copied from `conformance/cases/<file>`" is that case's
source (inspect.getsource), and its imports are the file's, so the page
cannot drift from the code."""
import ast
import importlib
import inspect
import re
from pathlib import Path

from ipc_conformance.conformance.case import _ATTR

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "writing-cases.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _example():
    text = DOC.read_text()
    m = re.search(r"This is (\w+-\d{3}), copied from\s+`conformance/cases/(test_\w+)\.py`", text)
    assert m, "the page does not say which case its example is"
    blocks = BLOCK.findall(text[m.end():])
    return m.group(1), m.group(2), blocks[0], blocks[1]


def _case_function(module, case_id):
    for value in vars(module).values():
        info = getattr(value, _ATTR, None)
        if info is not None and info.id == case_id:
            return value
    raise AssertionError(f"{module.__name__} has no case {case_id}")


def test_the_example_is_the_cases_source():
    case_id, name, code, _ = _example()
    module = importlib.import_module(f"ipc_conformance.conformance.cases.{name}")
    source = inspect.getsource(_case_function(module, case_id))
    assert code == source, f"docs/writing-cases.md's example is not {case_id}'s source:\n{source}"


def test_the_examples_imports_are_the_files():
    case_id, name, code, imports = _example()
    have = _imported(ast.parse((ROOT / "conformance" / "cases" / f"{name}.py").read_text()))
    shown = _imported(ast.parse(imports))
    assert shown, "no imports shown"
    for module, names in shown.items():
        assert names <= have.get(module, set()), f"{name}.py does not import {names} from {module}"
        for n in names:                        # and the example uses what it imports
            assert re.search(rf"\b{n}\b", code), f"the example imports {n} and never uses it"


def _imported(tree) -> dict[str, set[str]]:
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            out.setdefault(node.module, set()).update(a.name for a in node.names)
    return out
