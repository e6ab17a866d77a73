"""conformance.child_run.run_many: never more than ``at_once`` runs alive,
each run's output whole and its own, results in the order given."""
import sys

from ipc_conformance.conformance import child_run


def test_at_most_at_once_and_output_kept_apart():
    cmds = [[sys.executable, "-c", f"import sys; print('run', {i}); sys.exit({i})"] for i in range(5)]
    alive, most, order = set(), 0, []

    def started(i, _cmd):
        nonlocal most
        alive.add(i)
        most = max(most, len(alive))
        order.append(("start", i))

    def ended(i, proc):
        alive.discard(i)
        order.append(("end", i))

    results = child_run.run_many(cmds, at_once=2, on_start=started, on_end=ended)
    assert most == 2
    assert [r.returncode for r in results] == [0, 1, 2, 3, 4]
    assert [r.stdout for r in results] == [f"run {i}\n" for i in range(5)]
    assert order.index(("start", 2)) > min(order.index(("end", 0)), order.index(("end", 1)))
    assert not alive


def test_one_at_a_time():
    cmds = [[sys.executable, "-c", "print(1)"]] * 3
    seen = []
    child_run.run_many(cmds, at_once=1, on_start=lambda i, c: seen.append(i),
                       on_end=lambda i, p: seen.append(-i - 1))
    assert seen == [0, -1, 1, -2, 2, -3]
