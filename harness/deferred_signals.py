"""Holding SIGINT, SIGTERM and SIGHUP back while a resource is created.

The suite turns those signals into a KeyboardInterrupt
(conformance/interrupts.py). Raised in the middle of creating something
whose clean-up is armed only once it exists (a folder and its ``finally``;
pexpect's spawn, between its fork and the object that owns the pty), it
leaves that thing half-made: a folder behind, or a pty object whose
``__del__`` fails with a traceback on the run's output. Here, not in
conformance/, because the harness starts those processes.
"""
from __future__ import annotations

import contextlib
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def deferred():
    """Hold SIGINT, SIGTERM and SIGHUP back for the block: for creating a
    resource (a folder, say) and binding it to the name its ``finally``
    removes. A KeyboardInterrupt raised between the creation and the ``try``
    (the signal sent right as the folder appears) would otherwise leave it
    behind. A signal that arrives meanwhile is handed to its handler at the
    block's end, where the caller's ``try`` already covers the resource.

    Done with Python-level handlers, not the thread's signal mask: a signal
    sent to the process goes to any thread that does not block it (xdist's
    and execnet's threads, a reader thread), and its handler still runs in
    the main thread at once. A signal with no Python handler (the default
    action, or ignored) is left as it is. Outside the main thread (where
    handlers cannot be set) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {}
    for sig in SIGNALS:
        handler = signal.getsignal(sig)
        if callable(handler):
            previous[sig] = handler
            signal.signal(sig, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for signum in held:
            previous[signum](signum, None)      # delivered now, as if it arrived here
