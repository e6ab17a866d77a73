"""harness/shell_driver.py and the shell handle's event API against a
scripted fake shell (tests/harness/fake_shell.py): data, results and event
lines, events between lines and after the prompt, a shell that dies
mid-answer and one that never answers."""
import os
import sys

import pytest

from ipc_conformance.harness.shell_driver import ShellDriver
from ipc_conformance.harness.shell_events import (CleanupRan, Disconnected, OtherEvent, Reaped,
                                                  cleanup_tags, parse_event, reaped_of)
from ipc_conformance.harness.waits import WaitTimeout, wait_pid_exit

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_shell.py")


@pytest.fixture(params=[True, False], ids=["pty", "pipes"])
def shell(request):
    started = []

    def start(prompt="ipc> "):
        d = ShellDriver([sys.executable, FAKE, prompt], env=dict(os.environ), prompt=prompt,
                        timeout=10, tty=request.param)
        started.append(d)
        return d
    yield start
    for d in started:
        d.close()


def test_answers_split_into_result_data_and_events(shell):
    d = shell()
    a = d.command("data")
    assert a.ok and a.result == "ok data 2" and a.words == ["ok", "data", "2"]
    assert a.data == ["line one", "line two"]
    assert a.events == ["event reaped 1 pid=42 status=0", "event cleanup a ran"]
    assert a.typed_events == [Reaped(1, 42, 0), CleanupRan("a")]
    err = d.command("fail")
    assert not err.ok and err.result.startswith("error not-found")
    assert d.events == a.events                     # every event so far, as written


def test_events_before_the_result_and_after_the_prompt(shell):
    d = shell()
    a = d.command("spawn")
    assert a.typed_events == [Disconnected(9)] and a.result == "ok spawned 1 pid=42"
    assert d.command("later").result == "ok later"
    assert d.expect(CleanupRan("late"), 5) == CleanupRan("late")
    assert d.expect_event(r"^event disconnected 9$", 1) == "event disconnected 9"
    assert d.typed_events == [Disconnected(9), CleanupRan("late")]


def test_a_wait_that_times_out_says_what_it_saw(shell):
    d = shell()
    d.command("data")
    with pytest.raises(WaitTimeout) as e:
        d.expect(Reaped(1, 42, 9), 0.3)             # status 0 came, not 9
    assert "no event 'event reaped 1 pid=42 status=9' within 0.3s" in str(e.value)
    assert e.value.seen["unread_events"] == ["event reaped 1 pid=42 status=0",
                                             "event cleanup a ran"]
    assert "line one" in e.value.seen["transcript_tail"]
    with pytest.raises(WaitTimeout, match="no event matching 'nothing'"):
        d.expect_event("nothing", 0.2)


def test_a_shell_that_dies_mid_answer(shell):
    d = shell()
    with pytest.raises(WaitTimeout) as e:
        d.command("die", timeout=5)
    assert f"shell pid {d.pid} ended while answering 'die'" in str(e.value)
    assert "partial" in e.value.seen["transcript_tail"]
    # Its output ends (EOF) a moment before the process itself has exited.
    assert wait_pid_exit(d.pid, 5), "the shell that said it would die is still running"
    assert not d.alive()
    assert d.status() == 3


def test_a_shell_that_never_answers(shell):
    d = shell()
    with pytest.raises(WaitTimeout, match=r"no answer to 'hang' within 0.3s"):
        d.command("hang", timeout=0.3)
    assert d.alive()


def test_quit_and_end_of_input(shell):
    d = shell()
    assert d.quit(10) == 0
    assert d.typed_events == [Reaped(2, 43, 0)]
    e = shell()
    e.send_eof()
    assert e.wait_end(10, after="end of input") == 0
    assert "event reaped 5 pid=44 status=0" in e.transcript


def test_a_prompt_that_never_comes():
    with pytest.raises(WaitTimeout, match=r"no prompt '\$ ' within 0.5s"):
        ShellDriver([sys.executable, FAKE, "ipc> "], env=dict(os.environ), prompt="$ ",
                    timeout=0.5).close()


def test_odd_event_lines_stay_text(shell):
    d = shell()
    a = d.command("odd")
    assert a.typed_events == [OtherEvent("event reaped 01 pid=2 status=0"),
                              OtherEvent("event frobbed 3")]
    assert [str(e) for e in a.typed_events] == a.events


def test_the_event_grammar():
    lines = ["event reaped 3 pid=77 status=-9", "event cleanup x-1 ran", "event disconnected 12"]
    events = [parse_event(line) for line in lines]
    assert events == [Reaped(3, 77, -9), CleanupRan("x-1"), Disconnected(12)]
    assert [str(e) for e in events] == lines                # the line back, exactly
    assert repr(events) == repr(lines)                      # messages read as before
    assert events[0].status == -9 and events[2].id == 12
    assert cleanup_tags(events) == ["x-1"] and reaped_of(events, 3) == [Reaped(3, 77, -9)]
    for odd in ("event reaped 3 pid=77 status=-9 ", "event cleanup a b ran", "event x"):
        assert parse_event(odd) == OtherEvent(odd) and str(parse_event(odd)) == odd
    assert Reaped(1, 2, 0) != CleanupRan("a") and hash(Reaped(1, 2, 0)) == hash(Reaped(1, 2, 0))
