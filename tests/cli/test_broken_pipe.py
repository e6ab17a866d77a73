"""Every command ends quietly when its output's reader has gone
(``ipc-conformance list | head -1``): no BrokenPipeError traceback, exit
status 141 (128 + SIGPIPE, docs/report.md). The reader is made to leave
before the command writes anything (its end of the pipe closed at once), so
the write fails every time, whatever the size of the output."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "ipc_conformance.conformance.cli"]


def _with_reader_gone(argv):
    read_end, write_end = os.pipe()
    os.close(read_end)                    # the reader left before the first line
    try:
        return subprocess.run(argv, stdout=write_end, stderr=subprocess.PIPE, text=True,
                              cwd=REPO, timeout=120)
    finally:
        os.close(write_end)


@pytest.mark.parametrize("args", [["list"], ["list", "--markdown"], ["explain", "SPAWN-004"],
                                  ["--help"], ["report", "--help"]],
                         ids=" ".join)
def test_ends_quietly_with_141(args):
    proc = _with_reader_gone(CLI + args)
    assert proc.returncode == 141, proc.stderr
    assert proc.stderr == "", proc.stderr


def test_head_in_a_shell_pipeline():
    """As a user types it; the output may fit in the pipe before head exits
    (status 0) or not (141): either way, nothing on stderr."""
    proc = subprocess.run(["bash", "-c", 'set -o pipefail; "$@" list | head -1', "sh", *CLI],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode in (0, 141), proc.stderr
    assert proc.stdout.startswith("SPAWN-001"), proc.stdout
    assert proc.stderr == "", proc.stderr
