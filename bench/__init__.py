"""Benchmarks of the reference implementation against its floors.

Each family lives in its own module (``spawn``, ``echo``, ``listener``,
``cycles``, ``suite``); ``runner`` runs them, interleaving every figure with
the baseline it is compared with, and ``report`` / ``plot`` write the table,
the JSON and the PNG. Entry points: ``ipc-conformance bench`` and
``python -m bench``. Timing lives here and never in tests: a test can only
check that the command works (tests/bench).
"""
