"""Standalone reproducers (``ipc-conformance repro CASE --impl M --write FILE``).

A reproducer is what a user attaches to a bug report upstream: one short
Python script that needs only pexpect, psutil and pycapnp plus the
implementation's own executables (never harness/ or reference_impl/), runs
the case's scenario, and exits 0 when the behaviour is right or 1 with a
message saying what it expected and what it saw.

``writer`` fills a template (``templates``) with what the manifest says:
argv of each role, schema files, executable names. Only cases with a
template can be written; the others raise ``ReproUnsupported``.
"""
from .writer import ReproUnsupported, render_reproducer, supported_cases, write_reproducer

__all__ = ["ReproUnsupported", "render_reproducer", "supported_cases", "write_reproducer"]
