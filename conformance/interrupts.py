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

import signal

# deferred() lives in the harness, which starts the processes it must cover.
from ipc_conformance.harness.deferred_signals import SIGNALS, deferred  # noqa: E402,F401

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
