"""A signal that arrives as a resource is created does not leave it behind.

The interrupt test (tests/cli/test_interrupts.py) once caught a SIGINT sent
the instant the preflight's folder appeared: the KeyboardInterrupt was
raised between the folder's creation and the ``try`` that removes it, and
the folder stayed. ``interrupts.deferred`` holds the signals back over the
creation; these tests send the signal at exactly that instant, which the
end-to-end test can only hit by chance."""
import os
import shutil
import signal
import tempfile

import pytest

from ipc_conformance.conformance import interrupts, preflight
from ipc_conformance.harness.manifest import load_manifest
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[2] / "conformance" / "manifests" / "reference.toml"


def test_a_signal_in_the_block_is_delivered_at_its_end():
    handler = signal.getsignal(signal.SIGINT)
    reached_end_of_block = False
    with pytest.raises(KeyboardInterrupt):
        with interrupts.deferred():
            os.kill(os.getpid(), signal.SIGINT)
            reached_end_of_block = True
    assert reached_end_of_block, "the KeyboardInterrupt was raised inside the deferred block"
    assert signal.getsignal(signal.SIGINT) is handler, "the handler was not put back"


@pytest.fixture
def short_tmpdir(monkeypatch):
    """A private $TMPDIR short enough to be used for run folders."""
    path = tempfile.mkdtemp(dir="/tmp", prefix="ipcD")
    monkeypatch.setenv("TMPDIR", path)
    monkeypatch.setattr(tempfile, "tempdir", None)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_the_preflight_folder_goes_when_the_signal_comes_as_it_appears(short_tmpdir, monkeypatch):
    real_mkdtemp = tempfile.mkdtemp
    made = []

    def mkdtemp_then_signal(*args, **kw):
        path = real_mkdtemp(*args, **kw)
        made.append(path)
        if len(made) == 1:
            os.kill(os.getpid(), signal.SIGINT)     # the run is interrupted right now
        return path

    monkeypatch.setattr(preflight.tempfile, "mkdtemp", mkdtemp_then_signal)
    with pytest.raises(KeyboardInterrupt):
        preflight.check_shell(load_manifest(REFERENCE))
    assert made and made[0].startswith(short_tmpdir), made
    assert not os.path.exists(made[0]), f"the preflight left {made[0]}"
