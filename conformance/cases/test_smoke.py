"""One case per role that says in seconds whether a manifest is usable."""
from ipc_conformance.conformance.case import case
from ipc_conformance.harness.verifiers import assert_contains, assert_equal, assert_ok, assert_reaped


@case("PROTO-001", "REQ-PROTO-1", roles=("child",), needs=("libmultiprocess",), smoke=True)
def test_child_answers_the_probe(child):
    """A spawned child answers construct, makeThread("probe"), getName with a name containing "probe"."""
    c = child()
    assert_contains(c.probe(), "probe", 'a probe')


@case("LISTEN-001", "REQ-LISTEN-1", roles=("listener",), needs=("libmultiprocess",), smoke=True)
def test_listener_answers_a_client(listener):
    """A listening node answers the probe from a client that connects to its socket."""
    node = listener()
    assert_contains(node.connect().probe(), "probe", 'a probe')


@case("SPAWN-001", "REQ-SPAWN-1", roles=("shell",), smoke=True)
def test_shell_spawns_and_destroys_the_probe_child(shell):
    """The shell spawns a child by name, probes it, and destroying it reaps it with status 0."""
    sh = shell()
    obj, pid = sh.spawn("probe-child")
    assert_ok(sh.command(f"probe {obj}"))
    a = sh.command(f"destroy {obj}")
    assert_ok(a)
    assert_reaped(a.typed_events, obj, pid, 0)
    assert_equal(sh.quit(), 0, "the shell's exit status after quit")
