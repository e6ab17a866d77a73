"""Signal hygiene: the dispositions the suite's processes start with."""
import signal


def undo_inherited_ignores() -> None:
    """Implementations must meet the suite with default signal dispositions.
    An ignored signal survives exec, so a suite started in the background by
    a shell without job control (SIGINT and SIGQUIT ignored) would hand that
    to every process it starts, and the SIGINT cases would judge the
    launcher instead of the implementation. Handlers, unlike ignores, are
    reset at exec: give SIGINT Python's own, SIGQUIT the default."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGQUIT) == signal.SIG_IGN:
        signal.signal(signal.SIGQUIT, signal.SIG_DFL)
