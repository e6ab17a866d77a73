"""SIGTERM and SIGHUP end a run the way Ctrl-C does.

pytest (and xdist) clean up on KeyboardInterrupt: fixture finalizers kill
and reap every process group, staging folders are removed, the controller
sweeps the run's registry. SIGTERM (a CI runner cancelling a job, `timeout`,
`kill`) and SIGHUP (a closed terminal or ssh session) would instead kill
each process on the spot and leave all of that behind. So the controller,
the workers and the ``ipc-conformance`` command turn them into a
KeyboardInterrupt.

Only the first of these signals raises: a signal sent to the process group
reaches every process once, but a second one (SIGTERM after SIGHUP, as a
closing terminal and then a supervisor send) arriving while the cleanup runs
would abort the cleanup itself, which is exactly what must not happen.

Handlers, unlike ignored dispositions, are reset to the default at exec, so
the implementations the suite starts still meet default dispositions. A
SIGHUP that was ignored when we started (``nohup``) stays ignored for us,
through a handler that does nothing, so ``nohup ipc-conformance run`` keeps
its meaning without handing SIG_IGN to the implementations."""
from __future__ import annotations

import contextlib
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_installed = False
received: list[int] = []       # every signal number seen, in order


def _ignore(signum, frame):
    pass                       # nohup's SIGHUP: not an interrupt


def _interrupt(signum, frame):
    received.append(signum)
    if len(received) > 1:
        return                 # already interrupted: let the cleanup finish
    raise KeyboardInterrupt(f"{signal.Signals(signum).name} received")


def install() -> None:
    """Turn SIGINT, SIGTERM and SIGHUP into one KeyboardInterrupt (main
    thread only; idempotent). An inherited SIG_IGN of SIGINT is undone (a
    background job without job control) and one of SIGHUP kept (nohup)."""
    global _installed
    if _installed:
        return
    for sig in SIGNALS:
        current = signal.getsignal(sig)
        if sig == signal.SIGHUP and current == signal.SIG_IGN:
            signal.signal(sig, _ignore)
        elif current in (signal.SIG_DFL, signal.SIG_IGN, signal.default_int_handler):
            signal.signal(sig, _interrupt)
        # a handler someone else installed (a debugger, a host program) is kept
    _installed = True


def first_signal() -> int | None:
    """The signal that interrupted us, if any (the CLI forwards it)."""
    return received[0] if received else None


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
