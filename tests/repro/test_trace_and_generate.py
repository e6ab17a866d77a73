"""Unit tests of the pieces of `repro --write` that run no process: the
trace (harness/trace.py), the generator (conformance/repro/generate.py), ddmin
(conformance/repro/minimise.py) and the trace's table in the HTML report."""
from ipc_conformance.conformance.repro import generate, minimise
from ipc_conformance.conformance.report.trace_html import render_trace
from ipc_conformance.harness import trace, verifiers
from ipc_conformance.harness.shell_events import Reaped

CONFIG = {"programs": {"node": "/opt/impl/node", "shell": "/opt/impl/shell"},
          "argv": {"shell": ["{shell}", "-datadir={datadir}"]}, "prompt": "ipc> ",
          "ready_pattern": None, "schemas": "x.schemas", "init_schema": "init.capnp",
          "init_interface": "Init", "proxy_schema": "mp/proxy.capnp"}


def _shell_trace(record):
    """The trace of a case that starts a shell ``sh1``, then ``record()``s more."""
    t = trace.Trace()
    trace.activate(t)
    try:
        trace.root("tmp", "/tmp/ipc-1234")
        trace.record("shell.start", on="sh1", pid=trace.pid(100), probe_names=["probe-child"],
                     probe_mode="serve", link_node_as=[], env={}, bait_fds=[], tty=True)
        record()
    finally:
        trace.deactivate()
    return t.to_json()


def _zombie_trace():
    return _shell_trace(_zombie_steps)


def _zombie_steps():
    trace.record("shell.command", on="sh1", line="spawn probe-child", out="a1",
                 result={"ok": True, "result": "ok spawned 1 pid=4242", "data": [],
                         "events": []})
    trace.pid(4242)
    trace.record("shell.command", on="sh1", line="list", out="a2",
                 result={"ok": True, "result": "ok list 1", "data": [], "events": []})
    trace.record("shell.command", on="sh1", line="destroy 1", out="a3",
                 result={"ok": True, "result": "ok destroyed 1", "data": [],
                         "events": ["event reaped 1 pid=4242 status=0"]})
    events = trace.Sourced([Reaped(1, 4242, 0)], {"answer": "a3"})
    verifiers.assert_reaped(events, 1, 4242, 0)
    trace.check("gone", False, pid=trace.pid(4242), what="after destroy",
                expected="exited and reaped", seen="a zombie")
    trace.record("shell.command", on="sh1", line="quit", out="a4", result={})


def test_recording_is_a_no_op_without_a_case():
    assert trace.current() is None
    assert trace.record("shell.command", line="x") is None
    verifiers.assert_reaped([Reaped(1, 2, 0)], 1, 2, 0)      # still checks, records nothing


def test_a_trace_names_pids_and_keeps_checks_with_their_expectation():
    t = _zombie_trace()
    assert t["pids"] == {"100": "P1", "4242": "P2"}
    reaped = [s for s in t["steps"] if s.get("check") == "reaped"][0]
    assert reaped["ok"] and reaped["pid"] == "P2" and reaped["events"] == {"answer": "a3"}
    assert reaped["expected"] == "event reaped 1 pid=4242 status=0"


def test_the_script_replays_up_to_the_failure_with_this_runs_names():
    t = _zombie_trace()
    text = generate.render(t, case_id="SPAWN-004", requirement="REQ-SPAWN-2",
                           requirement_text="reaped", statement="s", impl_name="m",
                           config=CONFIG)
    compile(text, "repro", "exec")
    body = text[text.index("def steps"):text.index("def main")]
    assert "P2 = a1.pid()" in body
    assert "check_reaped(a3.events, 1, P2, 0)" in body
    assert "check_gone(P2, 'after destroy')" in body
    assert "quit" not in body                    # after the failure: not replayed
    assert "4242" not in body and "/tmp/ipc-1234" not in body
    assert "6 of 7 steps replayed, 0 dropped by minimising" in " ".join(text.split())
    dropped = generate.render(t, case_id="SPAWN-004", requirement="REQ-SPAWN-2",
                              requirement_text="reaped", statement="s", impl_name="m",
                              config=CONFIG, drop=[2])
    assert "'list'" not in dropped and "1 dropped by minimising" in " ".join(dropped.split())


def test_ddmin_finds_the_steps_the_failure_needs():
    needed = {2, 7}
    tried = []

    def reproduces(kept):
        tried.append(kept)
        return needed <= set(kept)
    assert sorted(minimise.ddmin(list(range(10)), reproduces)) == [2, 7]
    assert len(tried) <= 40


def test_the_report_shows_the_trace_with_the_failing_check_marked():
    out = render_trace(_zombie_trace())
    assert "<table class='trace'>" in out and "check gone" in out
    assert out.count("tr-bad") == 1 and "a zombie" in out


def _failing_with_steps_0_and_3(text, schema_dir, timeout=120, options=(), name=""):
    """A stand-in for running a script rendered as "0,1,..." (its kept steps):
    it fails, naming the bug, exactly when steps 0 and 3 are in it."""
    import subprocess
    kept = {int(n) for n in text.split(",") if n}
    ok = {0, 3} <= kept
    return subprocess.CompletedProcess([], 1 if ok else 0, "FAIL X: seen it" if ok else "", "")


def test_minimising_drops_the_checks_that_held_then_what_the_failure_does_not_need(monkeypatch):
    monkeypatch.setattr(minimise, "run_script", _failing_with_steps_0_and_3)
    render = lambda drop: ",".join(str(i) for i in range(6) if i not in drop)   # noqa: E731
    assert minimise.minimal_drop(render, 6, None, None, log=lambda *_: None,
                                 checks=[1, 4]) == [1, 2, 4]


def test_minimising_drops_each_step_that_can_go_alone_when_ddmin_runs_out_of_trials(monkeypatch):
    """With no ddmin trials left (budget 1, spent on dropping the checks),
    step 2 would stay though the failure does not need it; the single drops
    after ddmin take it out."""
    monkeypatch.setattr(minimise, "run_script", _failing_with_steps_0_and_3)
    render = lambda drop: ",".join(str(i) for i in range(6) if i not in drop)   # noqa: E731
    assert minimise.minimal_drop(render, 6, None, None, log=lambda *_: None,
                                 checks=[1, 4], budget=1) == [1, 2, 4]


def test_minimising_never_drops_a_step_it_is_told_to_keep(monkeypatch):
    """Step 2 orders what follows (a child started before its /proc is read):
    the failure shows without it too, but only by luck of timing, so it stays."""
    monkeypatch.setattr(minimise, "run_script", _failing_with_steps_0_and_3)
    render = lambda drop: ",".join(str(i) for i in range(6) if i not in drop)   # noqa: E731
    assert minimise.minimal_drop(render, 6, None, None, log=lambda *_: None,
                                 checks=[1, 4], keep=[2]) == [1, 4]


def test_trace_html_shows_checks_whose_seen_is_not_a_text():
    """A check's seen value may be a list or a number (a libmultiprocess run
    made the whole report fail on one): it is shown, escaped, not raised on."""
    out = render_trace({"steps": [
        {"op": "check", "check": "events", "ok": False, "seen": ["event <x>", "ok"], "expected": []},
        {"op": "check", "check": "count", "ok": False, "seen": 3, "expected": 2},
        {"op": "shell.command", "raised": {"kind": "WaitTimeout"}}]})
    assert "event &lt;x&gt;" in out and ">3<" in out and "WaitTimeout" in out
    assert out.count("tr-bad") == 3


def test_minimising_keeps_a_set_up_whose_drop_passes_the_control_only_by_luck(monkeypatch):
    """The reference passes a script without step 2 (a probe that waits for an
    accept) only by luck, the first time it runs that script: the trial counted,
    but the result must pass the control twice in a row, so step 2 stays."""
    import subprocess
    seen = set()

    def fake_run(text, schema_dir, timeout=120, options=(), name=""):
        kept = {int(n) for n in text.split(",") if n}
        if options:                                        # the control: the reference
            lucky = text not in seen
            seen.add(text)
            return subprocess.CompletedProcess([], 0 if 2 in kept or lucky else 1, "", "")
        ok = {0, 3} <= kept
        return subprocess.CompletedProcess([], 1 if ok else 0, "FAIL X: seen it" if ok else "", "")
    monkeypatch.setattr(minimise, "run_script", fake_run)
    render = lambda drop: ",".join(str(i) for i in range(6) if i not in drop)   # noqa: E731
    drop = minimise.minimal_drop(render, 6, None, None, log=lambda *_: None, checks=[1, 4],
                                 control=lambda text: ["--node", "ref"])
    assert drop and 2 not in drop and {0, 3}.isdisjoint(drop), drop


def test_the_shells_end_of_input_end_and_events_are_replayed_not_commented():
    def steps():
        trace.record("shell.expect_event", on="sh1", pattern=r"^event reaped 1 ", timeout=5)
        trace.record("shell.alive", on="sh1")
        trace.record("shell.send_eof", on="sh1")
        trace.record("shell.drain", on="sh1", timeout=3)
        trace.record("shell.wait_end", on="sh1", timeout=10)
    text = generate.render(_shell_trace(steps), case_id="SHUT-002", requirement="REQ-SHUT-1",
                           requirement_text="ends", statement="s", impl_name="m", config=CONFIG)
    compile(text, "repro", "exec")
    body = text[text.index("def steps"):text.index("def main")]
    for line in ("sh1.expect_event('^event reaped 1 ', timeout=5)", "sh1.alive()",
                 "sh1.p.sendeof()", "sh1.drain(3)", "sh1.wait_end(10)"):
        assert line in body, (line, body)
    assert "not replayed" not in text
    assert "def quit" not in text                     # the end's block, without what is unused


def test_an_echo_on_a_child_or_a_client_is_replayed():
    t = trace.Trace()
    trace.activate(t)
    try:
        trace.root("tmp", "/tmp/ipc-1234")
        trace.record("child.start", on="child1", pid=trace.pid(100), env={}, connect=True)
        trace.record("child.echo", on="child1", args=["held"], timeout=10)
        trace.record("suite.connect", out="client1", path="/tmp/ipc-1234/s.sock")
        trace.record("client.echo", on="client1", args=["still here"], timeout=20)
    finally:
        trace.deactivate()
    config = {**CONFIG, "argv": {"child": ["{node}", "-ipcfd", "{fd}"]}}
    text = generate.render(t.to_json(), case_id="LISTEN-009", requirement="REQ-LISTEN-2",
                           requirement_text="x", statement="s", impl_name="m", config=config)
    compile(text, "repro", "exec")
    assert "child1.client.echo('held')" in text and "client1.echo('still here', timeout=20)" in text
    assert "not replayed" not in text and "def echo" in text and "PROXY = " in text


def test_a_script_whose_steps_are_all_dropped_or_not_replayed_still_compiles():
    """Minimising tries scripts with every step dropped, and a trace may hold
    only steps written as comments: ``steps()`` then still needs a body."""
    t = _zombie_trace()
    for steps in ([], [{"op": "peer.run_on_loop", "fn": "poke"}]):
        text = generate.render({**t, "steps": steps}, case_id="SPAWN-004",
                               requirement="REQ-SPAWN-2", requirement_text="reaped",
                               statement="s", impl_name="m", config=CONFIG)
        compile(text, "repro", "exec")
        assert "    pass\n" in text[text.index("def steps"):]
    every = range(len(generate.replayed_steps(t)))
    compile(generate.render(t, case_id="SPAWN-004", requirement="REQ-SPAWN-2",
                            requirement_text="reaped", statement="s", impl_name="m",
                            config=CONFIG, drop=every), "repro", "exec")


def test_a_line_wait_on_a_listeners_stderr_reads_stderr():
    """``line_within(..., stream="stderr")`` waited on stdout in the scripts
    once, a wait that could never see what the case saw."""
    t = trace.Trace()
    trace.activate(t)
    try:
        trace.root("tmp", "/tmp/ipc-1234")
        trace.record("listener.start", on="node1", pid=trace.pid(100),
                     address="unix:/tmp/ipc-1234/s.sock", datadir="/tmp/ipc-1234")
        trace.record("listener.line_within", on="node1", pattern="accept failed", timeout=5,
                     start=0, stream="stderr")
        trace.record("listener.line_within", on="node1", pattern="served", timeout=5, start=2,
                     stream="stdout")
    finally:
        trace.deactivate()
    config = {**CONFIG, "argv": {"listener": ["{node}", "-ipcbind={address}"]},
              "ready_pattern": "^listening on (?P<address>\\S+)"}
    text = generate.render(t.to_json(), case_id="LISTEN-030", requirement="REQ-LISTEN-2",
                           requirement_text="x", statement="s", impl_name="m", config=config)
    compile(text, "repro", "exec")
    body = text[text.index("def steps"):text.index("def main")]
    assert "node1.err.wait('accept failed', 5)" in body
    assert "node1.line_within('served', 5, start=2)" in body


def test_minimising_keeps_the_round_trips_that_order_what_follows():
    """A probe the case made for its order (``orders``: the listener's turn
    before the accept queue is counted) is kept with the client it is made
    on, as the child's start wait is; any other probe may be dropped."""
    from ipc_conformance.conformance.repro import kept_for_order
    steps = [{"op": "shell.probe_records"},
             {"op": "listener.start", "on": "node1"},
             {"op": "listener.connect", "on": "node1", "out": "client1"},
             {"op": "client.probe", "on": "client1"},
             {"op": "listener.connect", "on": "node1", "out": "client2"},
             {"op": "client.probe", "on": "client2", "orders": True},
             {"op": "check", "check": "contains", "ok": True},
             {"op": "check", "check": "backlog", "ok": False}]
    assert kept_for_order(steps) == [0, 1, 4, 5]
    del steps[5]["orders"]
    assert kept_for_order(steps) == [0]


def test_minimising_keeps_the_wait_for_a_call_to_reach_the_child():
    """The wait for a stalled child's mark orders the kill after the call
    reached it; the kill and the call stay droppable by their own merits."""
    from ipc_conformance.conformance.repro import kept_for_order
    steps = [{"op": "shell.start", "out": "sh1"},
             {"op": "shell.command", "on": "sh1", "line": "spawn probe-child", "out": "a1"},
             {"op": "shell.send", "on": "sh1", "line": "probe 1"},
             {"op": "shell.wait_mark", "on": "sh1", "what": "stalled"},
             {"op": "proc.signal", "signal": 9},
             {"op": "check", "check": "answer_error", "ok": False}]
    assert kept_for_order(steps) == [0, 3]


def test_minimising_keeps_a_wait_that_held_and_drops_a_plain_check():
    """A check that waited for the child to exit orders what reads its end;
    a check that only looked (an answer was ok) orders nothing."""
    from ipc_conformance.conformance.repro import kept_for_order
    steps = [{"op": "child.start", "out": "child1"},
             {"op": "check", "check": "answer_ok", "ok": True},
             {"op": "check", "check": "exits", "ok": True},
             {"op": "check", "check": "no_zombies", "ok": False}]
    assert kept_for_order(steps) == [2]


def test_a_round_trip_made_for_its_order_is_marked_in_the_trace():
    """ClientHandle.round_trip is a probe whose trace step says ``orders``
    (what minimising keeps); a plain probe's does not."""
    from ipc_conformance.harness.roles import ClientHandle

    class Peer:
        def run(self, fn, *args, timeout=10):
            return fn(*args)

    class FakeClient:
        def probe(self):
            return "probe-1"
    t = trace.Trace()
    trace.activate(t)
    try:
        handle = ClientHandle(Peer(), FakeClient(), "client1")
        assert handle.round_trip() == "probe-1" and handle.probe() == "probe-1"
    finally:
        trace.deactivate()
    marked, plain = t.to_json()["steps"]
    assert marked["op"] == plain["op"] == "client.probe" and marked["on"] == "client1"
    assert marked.get("orders") is True and "orders" not in plain


def _listener_trace(checked: bool):
    """A listener started without its ready wait, then waited for at once;
    ``checked``: a check reads the ready line the wait gave."""
    ready = r"^listening on (?P<address>\S+)"
    steps = [{"op": "listener.start", "on": "node1", "pid": "P1", "address": "unix:",
              "datadir": "/tmp/ipc-1234/a", "extra_args": [], "wait_ready": False},
             {"op": "listener.line_within", "on": "node1", "pattern": ready, "timeout": 20,
              "start": 0, "stream": "stdout", "result": "listening on unix:/tmp/ipc-1234/a/n.sock"},
             {"op": "check", "check": "equal", "ok": False, "of": "#1" if checked else None,
              "what": "the path", "expected": "x", "seen": "y"}]
    return {"steps": steps, "roots": {"tmp": "/tmp/ipc-1234"}, "pids": {"1": "P1"}}, ready


def test_a_listener_waited_for_right_after_its_start_is_one_start_that_waits():
    """Minimising leaves one of several listeners started before their ready
    waits: the two steps read as one plain start (with the wait's timeout),
    unless a check reads the line the wait gave."""
    for checked, folded in ((False, True), (True, False)):
        t, ready = _listener_trace(checked)
        config = {**CONFIG, "argv": {"listener": ["{node}", "-ipcbind={address}"]},
                  "ready_pattern": ready}
        text = generate.render(t, case_id="ADDR-004", requirement="REQ-ADDR-4",
                               requirement_text="binds", statement="s", impl_name="m",
                               config=config)
        compile(text, "repro", "exec")
        body = text[text.index("def steps"):text.index("def main")]
        assert ("Listener(run, 'unix:', f'{run.tmp}/a', timeout=20)" in body) is folded, body
        assert ("line_within" not in text) is folded, body


def test_pycapnp_schema_folder_goes_on_the_import_path_only_for_schemas_that_need_it(tmp_path):
    """Upstream's schemas import ``/capnp/c++.capnp`` (pycapnp ships it); the
    project's do not, and their scripts load them with their own folder only."""
    from ipc_conformance.conformance.repro import writer
    from ipc_conformance.conformance.case import REPO_ROOT
    assert not writer.imports_capnp_schemas(REPO_ROOT / "reference_impl" / "schemas")
    (tmp_path / "mp").mkdir()
    (tmp_path / "mp" / "x.capnp").write_text('using Cxx = import "/capnp/c++.capnp";\n')
    assert writer.imports_capnp_schemas(tmp_path)


def test_the_capnp_path_blocks_are_the_plain_ones_with_pycapnps_folder_added():
    """INIT_CAPNP and PROXY_CAPNP are derived from INIT and PROXY by a text
    replacement; if those blocks change their import path, the derived ones
    must not silently stay the plain ones."""
    from ipc_conformance.conformance.repro import runtime_capnp as rt
    for plain, with_capnp in ((rt.INIT, rt.INIT_CAPNP), (rt.PROXY, rt.PROXY_CAPNP)):
        assert with_capnp != plain and "capnp.__file__" in with_capnp
        compile(with_capnp, "block", "exec")
