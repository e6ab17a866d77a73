"""The harness's exceptions say what they mean for the case that raised
them: ``kind`` is the kind of docs/report.md the plugin records
(conformance.records.classify_exception tests ``isinstance(exc,
HarnessError)`` and reads ``kind``; it never looks at names or paths).
The kinds are spelled as strings here, so the harness imports nothing of
the suite (they are conformance.outcome.Kind values).

- ``WaitTimeout`` (harness.waits): TIMEOUT.
- ``ImplementationCrashed`` (harness.processes): CRASH.
- ``Leak``: FAIL, reported as a leak (``leak: ...``) when raised in
  teardown (conformance/conftest.py's ProcessLeak).
"""


class HarnessError(Exception):
    """Base of the exceptions the harness raises out of a case."""
    kind = "FAIL"


class Leak(HarnessError):
    """Something the implementation left behind (processes, descriptors),
    found at teardown."""
    kind = "FAIL"
