"""A pytest plugin for tests/suite/test_sig004_orderings.py: in
conformance/cases/test_signals.py, ``os.killpg(pgid, SIGINT)`` returns only
once every process that was in the group has exited (a pidfd per process,
opened before the signal is sent, polled with a bound), so a case's next
write to the shell comes after the shell and its children are gone: the
ordering that a busy machine produces now and then, made certain.

Loaded with ``-p sigint_waits_for_group`` (this folder on PYTHONPATH); it
changes nothing else (other signals, other modules)."""
import os
import select
import signal

BOUND = 10          # seconds for the whole group to exit


class _OsWithWaitingKillpg:
    """The ``os`` module, but for ``killpg`` with SIGINT."""

    def __getattr__(self, name):
        return getattr(os, name)

    @staticmethod
    def killpg(pgid, sig):
        if sig != signal.SIGINT:
            return os.killpg(pgid, sig)
        pidfds = []
        try:
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    if os.getpgid(int(entry)) == pgid:
                        pidfds.append(os.pidfd_open(int(entry)))
                except (ProcessLookupError, PermissionError):
                    continue
            os.killpg(pgid, sig)
            poller = select.poll()
            for fd in pidfds:
                poller.register(fd, select.POLLIN)
            left = set(pidfds)
            while left:
                ready = poller.poll(BOUND * 1000)
                if not ready:       # someone outlived the SIGINT: nothing to force
                    return
                for fd, _ in ready:
                    left.discard(fd)
                    poller.unregister(fd)
        finally:
            for fd in pidfds:
                os.close(fd)


def pytest_collection_modifyitems(items):
    for item in items:
        if item.module.__name__.rpartition(".")[2] == "test_signals":
            item.module.os = _OsWithWaitingKillpg()
