"""What the generated-mutant session mutates, and what it runs per module.

``ipc-conformance mutants --generated`` (conformance/generated_mutants.py)
lets cosmic-ray mutate the reference's process and protocol layers and runs
the conformance suite once per mutant. The whole suite for each of several
hundred mutants would not fit in an hour on two cores, so each mutated
module is checked with only the areas (case files) that exercise it. The
mapping is kept here, as data, so that it is documented in one place
(docs/mutants.md, "Generated mutants") and tested (tests/mutants). A module
whose code every role runs through (``ipc.py``, the shell) gets every area.

The operator selection is here too: cosmic-ray's full set yields about a
thousand mutants for these files, most of them the cross product of binary
and comparison operators (``a * b`` -> ``a ** b``, ``x == y`` -> ``x >= y``)
that only duplicate the interesting ones. The session keeps the mutations a
developer's slip makes: negated and swapped conditions, boundary shifts,
numbers off by one, exceptions not caught, loops not run, ``continue``
become ``break``, decorators dropped, ``+``/``-`` swapped.

Finally the verdict: how one run of the suite against one mutant is judged
(``verdict``). Only a case that FAILs, TIMEs OUT or CRASHes kills a mutant;
a run that the suite stopped before judging (a manifest or set-up problem,
exit 3; a program that cannot run, exit 4; an incomplete run without any
failing case, exit 2) is an ``error``, and a run that passed its wall-clock
bound is ``timeout``: neither counts as a kill.
"""
from __future__ import annotations

import re

# Every case area (conformance/cases/test_<area>.py).
ALL_AREAS = ("address", "cleanup", "cli", "faults", "fd", "listen", "protocol",
             "shutdown", "signals", "smoke", "spawn")

# Module (relative to the repository) -> the case areas that reach it.
# Why each: the roles that run the module's code, and the cases that use
# those roles (the shell is in nearly every area, but its spawns run the
# harness's probe child, so the node's own code shows only in the child
# and listener roles: cli, protocol, shutdown, signals, faults, listen).
MODULE_AREAS: dict[str, tuple[str, ...]] = {
    # the address grammar: the shell's connect/listen, the node's -ipcbind
    "reference_impl/process/address.py": ("address", "listen", "cli"),
    # bind and connect: addresses, listeners, descriptor leaks, faults
    "reference_impl/process/unix_socket.py": ("address", "listen", "fd", "faults"),
    # socketpair + exec, reaping: spawning, descriptors, cleanups, exits
    "reference_impl/process/spawn.py": ("spawn", "fd", "cleanup", "shutdown", "signals"),
    # -ipcfd parsing in the node: the child-role cases
    "reference_impl/process/spawned.py": ("cli", "protocol", "signals", "shutdown", "smoke", "fd"),
    # one RPC connection: serving, closing, disconnects
    "reference_impl/protocol/connection.py": ("protocol", "shutdown", "faults", "listen", "cleanup"),
    # the accept loop and max-connections
    "reference_impl/protocol/listener.py": ("listen", "faults", "address"),
    # the client handle: destroy, cleanups, calls after disconnect
    "reference_impl/protocol/proxy.py": ("cleanup", "shutdown", "spawn", "protocol"),
    # Init/ThreadMap/Thread/Echo servers; Echo's destroy event is checked
    # by the cleanup cases (CLEAN-009: the event before the reply)
    "reference_impl/protocol/servers.py": ("protocol", "smoke", "faults", "listen", "cleanup"),
    # schema loading: everything breaks or nothing does
    "reference_impl/protocol/schema.py": ("smoke", "protocol"),
    # the asyncio API under every role
    "reference_impl/ipc.py": ALL_AREAS,
    # ref-node: child and listener roles (the listener's default socket is
    # named after the node's argv[0]: the address cases)
    "reference_impl/cli/node.py": ("cli", "protocol", "signals", "shutdown", "listen", "faults", "smoke",
                                   "address"),
    # ref-shell: the shell role, in every area
    "reference_impl/cli/shell.py": ALL_AREAS,
    # exit_now / die_of_sigint: how the programs end
    "reference_impl/cli/__init__.py": ("signals", "cli", "shutdown", "spawn"),
}

# Not mutated, and why: sync.py is the synchronous Python facade; neither
# ref-node nor ref-shell uses it, so the suite (which sees programs only)
# cannot reach it; tests/reference checks it. errors.py and the package
# __init__ files hold no behaviour of their own.
NOT_MUTATED = {
    "reference_impl/sync.py": "the Python API facade: no program under test runs it",
    "reference_impl/errors.py": "exception classes only",
}

# cosmic-ray operators left out (regular expressions, matched from the
# start of the operator's name: cosmic-ray's operators-filter).
EXCLUDED_OPERATORS = (
    r"core/ReplaceBinaryOperator_(?!Add_Sub$|Sub_Add$)",
    r"core/ReplaceComparisonOperator_(?!Eq_NotEq$|NotEq_Eq$|Is_IsNot$|IsNot_Is$|Lt_LtE$|LtE_Lt$"
    r"|Gt_GtE$|GtE_Gt$|In_NotIn$|NotIn_In$)",
    r"core/ReplaceUnaryOperator_(?!Delete_Not$)",
)


def operator_selected(name: str) -> bool:
    """Whether the session keeps mutants of cosmic-ray operator ``name``."""
    return not any(re.match(e, name) for e in EXCLUDED_OPERATORS)


def areas_for(module: str) -> tuple[str, ...]:
    """The case areas run against a mutant of ``module`` (a path relative
    to the repository); KeyError for a module the session does not mutate."""
    return MODULE_AREAS[module.replace("\\", "/")]


def keyword_for(module: str) -> str:
    """The pytest ``-k`` expression that selects the areas of ``module``:
    the case files' module names (``test_spawn.py or test_fd.py``)."""
    areas = areas_for(module)
    if set(areas) == set(ALL_AREAS):
        return ""
    return " or ".join(f"test_{a}.py" for a in areas)


# ---------------------------------------------------------------- verdicts

KILLED, SURVIVED, TIMEOUT, ERROR = "killed", "survived", "timeout", "error"
# The test command's exit status per verdict: cosmic-ray reads 0 as
# survived and anything else as killed, so the verdict itself is printed
# on a line of its own (VERDICT_PREFIX) and read back from the session.
EXIT_FOR = {SURVIVED: 0, KILLED: 1, ERROR: 3, TIMEOUT: 124}
VERDICT_PREFIX = "ipc-mutant-verdict: "
CATCHING = frozenset({"FAIL", "TIMEOUT", "CRASH"})
BAD = CATCHING | {"UNEXPECTED-PASS", "FLAKY"}


def verdict(rc: int | None, kinds: dict[str, int] | None, *, complete: bool,
            timed_out: bool = False) -> str:
    """Judge one suite run against a mutant.

    ``rc`` is ``ipc-conformance run``'s exit status (None if it was
    killed), ``kinds`` the run's tally (kind -> cases; None when no results
    were written), ``complete`` whether every selected case executed.
    A case of a catching kind kills the mutant even when ``--maxfail``
    stopped the run early (exit 2); nothing else does."""
    if timed_out:
        # a run stopped at its bound may have judged some cases; only a
        # FAIL or CRASH it reached counts, not a case cut short
        return KILLED if kinds and (kinds.get("FAIL") or kinds.get("CRASH")) else TIMEOUT
    if kinds and any(kinds.get(k) for k in BAD):
        return KILLED
    if rc == 0 and kinds is not None and complete:
        return SURVIVED
    return ERROR
