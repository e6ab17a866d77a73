"""Standalone reproducers of the upstream bugs the suite finds in
bitcoin-core/libmultiprocess (through its adapter, libmultiprocess.toml): each
written script, run on its own with a clean environment, fails with a message
naming the bug, and passes against the reference."""
import os
import re

import pytest

from repro_helpers import MANIFESTS, REFERENCE, assert_standalone, last_line, run_alone, write

LIBMULTIPROCESS = MANIFESTS / "libmultiprocess.toml"
MP_NODE = MANIFESTS.parents[1] / "build" / "libmultiprocess" / "bin" / "mp-node"
CHOSEN = [  # (case, what the failure message must say: a regular expression)
    ("FD-005", r"inherited fd 4095 .*stops one short of RLIMIT_NOFILE"),
    # The failed spawn's child left a zombie; in some runs the same failed
    # construct() path first crashes the shell instead (FD-011's
    # use-after-free, include/mp/proxy-io.h:541/595): either is the bug.
    ("SPAWN-014", r"it is a zombie|the shell ended, killed by SIGSEGV"),
    ("FD-011", r"killed by SIGSEGV|the shell hangs"),
    ("SHUT-010", r"the spawn of a child that stopped reading never returned"),
    ("PROTO-007", r"destroyed Echo.*the child was killed by SIGSEGV"),
    ("SIG-007", r"starts with SIGPIPE ignored"),
    ("LISTEN-030", r"never accepted again after its accept failed with EMFILE"),
    ("LISTEN-032", r"waiting in the backlog served.*the shell closed its listening socket"),
    ("LISTEN-033", r"round 1 of 8: the waiting client served.*the shell closed its listening socket"),
]


@pytest.fixture
def built():
    if not os.access(MP_NODE, os.X_OK):
        message = f"the libmultiprocess adapter is not built ({MP_NODE} missing): run " \
                  "bash ci/build-libmultiprocess.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.mark.parametrize("case_id,bug", CHOSEN, ids=[c for c, _ in CHOSEN])
def test_reproducer_shows_the_upstream_bug_and_passes_the_reference(built, tmp_path, case_id, bug):
    bad = tmp_path / "libmultiprocess.py"
    good = tmp_path / "reference.py"
    assert_standalone(write(case_id, LIBMULTIPROCESS, bad))
    write(case_id, REFERENCE, good)

    failed = run_alone(bad, tmp_path)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    last = last_line(failed)
    assert last.startswith(f"FAIL {case_id} against libmultiprocess: expected "), last
    assert re.search(bug, last), last

    passed = run_alone(good, tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert last_line(passed) == f"PASS {case_id} against reference"
