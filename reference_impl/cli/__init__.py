"""The reference's programs: ``ref-node`` (child and listener roles) and
``ref-shell`` (parent and connector roles), as docs/programs.md specifies."""
import os
import sys


def exit_now(status: int, *, program: bool) -> int:
    """End a program at once once its work is done: flush stdout and stderr,
    then ``os._exit`` without the interpreter's finalization, which costs
    tens of milliseconds after pycapnp is loaded (and far more on a loaded
    machine) while the parent waits to reap us (measured by bench/: a
    spawned child's destroy went from ~70 ms to ~8 ms). Everything that
    matters (cleanups, socket files, the last lines) is done before this.
    ``program`` is False when main() was called with an explicit argv, from
    Python: then it only returns the status."""
    if not program:
        return status
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):     # a closed or broken pipe: nothing to keep
            pass
    os._exit(status)


def die_of_sigint() -> None:
    """End a program interrupted by SIGINT the way an unhandled SIGINT ends
    it (killed by the signal), but at once: the interpreter's finalization
    would otherwise reap, silently, children that already exited (through
    ``subprocess.Popen.__del__``), so that nobody could report them."""
    import signal
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
    os._exit(128 + signal.SIGINT)      # not reached: the signal ends us first
