"""The project's tests. pytester drives the conformance plugin end to end in
tests/report (pytest_plugins is only allowed in a top-level conftest, and
`python -m pytest` from the repo root reaches tests/report/conftest.py too
late for it)."""
pytest_plugins = ["pytester"]
