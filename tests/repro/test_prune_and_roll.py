"""What a generated reproducer leaves out and folds up: unused runtime
definitions and imports (conformance.repro.prune), and repeated steps
written as loops (conformance.repro.roll)."""
from ipc_conformance.conformance.repro.prune import pruned, used_names
from ipc_conformance.conformance.repro.roll import rolled

CODE = '''import os, re, sys

class Client:
    """A client."""

    def __init__(self):
        self.x = helper()

    def probe(self):
        return 1

    def disconnect(self):
        return gone()

    alias = probe


def helper():
    return os.getpid()


def gone():
    return re.escape("x")


def steps(run):
    Client().probe()


def main():
    sys.exit(steps(None))
'''


def test_prune_leaves_out_what_nothing_uses_and_keeps_what_is_used():
    out = pruned(CODE)
    compile(out, "pruned", "exec")
    for kept in ("def probe", "def helper", "def steps", "def main", "def __init__", "import os"):
        assert kept in out, kept
    # disconnect is never called; gone only by it; the alias never used
    for dropped in ("def disconnect", "def gone", "alias = probe"):
        assert dropped not in out, dropped
    # the generator writes the imports of the names still used: re went with gone
    assert {"os", "sys"} <= used_names(out) and "re" not in used_names(out)
    assert "\n\n\n" not in out                  # runs of blank lines made one


def test_prune_counts_a_name_that_is_also_data_only_where_it_is_called():
    """``self.pid = ...`` makes ``pid`` data: reading ``sh.pid`` keeps no
    ``pid()`` method, calling ``a.pid()`` does; a method of a name that is
    never data stays where it is only read (``rpc(self._connect)``)."""
    code = CODE.replace("self.x = helper()", "self.pid = helper()\n        print(self.pid)")
    code = code.replace("    def disconnect(self):", "    def pid(self):\n        return 2\n\n"
                        "    def disconnect(self):")
    assert "def pid" not in pruned(code)
    assert "def pid" in pruned(code.replace("Client().probe()", "Client().probe()\n    run.pid()"))
    assert "def probe" in pruned(code.replace("Client().probe()", "print(Client().probe)"))


def test_prune_keeps_a_method_whose_name_is_used_on_anything():
    """Names are matched, not types: ``x.disconnect()`` keeps every disconnect."""
    out = pruned(CODE.replace("Client().probe()", "Client().probe()\n    run.disconnect()"))
    assert "def disconnect" in out and "def gone" in out


def test_roll_writes_numbered_clients_as_a_list_and_their_uses_as_items():
    lines = [f"client{i} = Client(run, node1.raw_connect())" for i in range(1, 5)]
    lines += ["probe_all([client1, client2, client3, client4])", "client2.probe()",
              "check_contains(v3, 'client3', 'a text that names client3')"]
    out = rolled(lines)
    assert out == ["clients = [Client(run, node1.raw_connect()) for _ in range(4)]",
                   "probe_all(clients)", "clients[1].probe()",
                   "check_contains(v3, 'client3', 'a text that names client3')"]


def test_roll_writes_counted_commands_as_a_for_loop():
    lines = ["sh1.command('spawn probe-child')"] + [
        f"sh1.command('echo {i} round-{i - 1}-of-{i} {{x}}')" for i in range(1, 4)]
    out = rolled(lines)
    assert out == ["sh1.command('spawn probe-child')", "for n in range(1, 4):",
                   "    sh1.command(f'echo {n} round-{n - 1}-of-{n} {{x}}')"]
    ns = {}
    exec("seen = []\nfor n in range(1, 4):\n    seen.append(f'echo {n} round-{n - 1}-of-{n} {{x}}')",
         ns)
    assert ns["seen"] == [ln.split("'")[1] for ln in lines[1:]]


def test_roll_leaves_lines_that_differ_otherwise_or_in_a_name_inside_an_fstring():
    lines = ["a1 = sh1.command(f'kill {P2}')", "a2 = sh1.command(f'kill {P3}')",
             "a3 = sh1.command(f'kill {P4}')", "x = 1", "y = 2", "client1.probe()",
             "client2.probe()"]
    assert rolled(lines) == lines


def test_roll_keeps_the_columns_of_a_string_right_of_a_number_that_gets_shorter():
    """``10`` written as ``n`` moves what follows it left by one: the string
    literal it then makes an f-string must still be found."""
    lines = [f"f({i}, 'c{i}')" for i in (10, 11, 12)]
    assert rolled(lines) == ["for n in range(10, 13):", "    f(n, f'c{n}')"]


def test_clients_made_on_sockets_in_no_order_roll_into_a_list_over_the_indices():
    """Clients made in the order their connects were accepted (a barrier)
    differ in an index that does not count: one list over those indices,
    in the same order, and later lines name its items."""
    body = ["socks = [node1.raw_connect() for _ in range(5)]",
            "client1 = Client(run, socks[2])", "client2 = Client(run, socks[3])",
            "client3 = Client(run, socks[1])", "client4 = Client(run, socks[4])",
            "client5 = Client(run, socks[0])",
            "probes1 = Probes([client1, client2, client3, client4, client5])", "client2.probe()"]
    assert rolled(body) == [
        "socks = [node1.raw_connect() for _ in range(5)]",
        "clients = [Client(run, socks[k]) for k in (2, 3, 1, 4, 0)]",
        "probes1 = Probes(clients)", "clients[1].probe()"]
    counting_in_part = [f"client{n + 1} = Client(run, socks[{k}])" for n, k in enumerate(
        (1, 2, 3, 4, 0))]                 # the first four count: still one list over all five
    assert rolled(counting_in_part) == ["clients = [Client(run, socks[k]) for k in (1, 2, 3, 4, 0)]"]
    socks_then_clients = [f"sock{n} = node1.raw_connect()" for n in range(1, 6)] + [
        f"client{n} = Client(run, sock{k})" for n, k in enumerate((2, 3, 4, 5, 1), 1)]
    assert rolled(socks_then_clients) == [          # the sockets' list first, then the clients'
        "socks = [node1.raw_connect() for _ in range(5)]",
        "clients = [Client(run, socks[k]) for k in (1, 2, 3, 4, 0)]"]
    two = ["client1 = Client(run, socks[2])", "client2 = Client(run, socks[0])"]
    assert rolled(two) == two                   # shorter runs stay as they are
