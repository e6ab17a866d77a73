"""The speed plumbing, on its own: slowest cases first from the last run's
durations (conformance.session_state), and where a case's time went
(conformance.timing), attributed to the implementation or the harness."""
import os
import subprocess
import sys
from types import SimpleNamespace

from ipc_conformance.conformance import timing
from ipc_conformance.conformance.session_state import read_durations, slowest_first, write_durations
from ipc_conformance.harness.waits import wait_readable


def _items(*ids):
    return [SimpleNamespace(nodeid=f"cases/test_x.py::{i}[r1]") for i in ids]


def _base(nodeid):
    return nodeid.partition("[")[0]


def test_unknown_cases_first_then_slowest_ties_in_collection_order():
    items = _items("a", "b", "c", "d", "e")
    durations = {"cases/test_x.py::a": 0.5, "cases/test_x.py::b": 3.0,
                 "cases/test_x.py::d": 0.5, "cases/test_x.py::e": 9.0}
    slowest_first(items, durations, _base)
    assert [_base(i.nodeid)[-1] for i in items] == ["c", "e", "b", "a", "d"]


def test_durations_merge_and_a_broken_file_reads_as_none(tmp_path):
    path = tmp_path / "d" / "impl.json"
    assert read_durations(path) == {}
    write_durations(path, {"x": 1.23456, "y": 2.0}, {})
    write_durations(path, {"y": 5.0}, read_durations(path))
    assert read_durations(path) == {"x": 1.2346, "y": 5.0}     # x kept, y replaced
    assert [p.name for p in path.parent.iterdir()] == ["impl.json"]   # no temporary left
    path.write_text("{not json")
    assert read_durations(path) == {}
    path.write_text('{"durations": {"x": "fast"}}')
    assert read_durations(path) == {}


def test_breakdown_attributes_waits_and_processes():
    started = timing.start()
    r, w = os.pipe()
    try:
        assert not wait_readable(r, 0.05)          # 50 ms blocked in a harness wait
    finally:
        os.close(r)
        os.close(w)
    subprocess.run([sys.executable, "-c", "sum(range(3_000_000))"], check=True)
    procs = [{"label": "ref-node", "role": "implementation", "cpu_s": 0.2, "wall_s": 0.3},
             {"label": "probe-child", "role": "harness-helper", "cpu_s": 0.05, "wall_s": 0.1}]
    b = timing.breakdown(started, 1.0, procs)
    assert 0.04 <= b["waiting_s"] <= 1.0
    assert b["harness_python_s"] == round(1.0 - b["waiting_s"], 4)
    assert (b["implementation_cpu_s"], b["implementation_wall_s"]) == (0.2, 0.3)
    assert (b["helper_cpu_s"], b["helper_wall_s"]) == (0.05, 0.1)
    assert b["children_cpu_s"] > 0                  # the python -c child, reaped
    assert [p["label"] for p in b["processes"]] == ["ref-node", "probe-child"]


def test_an_unsampled_implementation_process_takes_the_rest_of_the_children_cpu():
    started = timing.start()
    subprocess.run([sys.executable, "-c", "sum(range(3_000_000))"], check=True)
    b = timing.breakdown(started, 0.5, [{"label": "shell", "role": "implementation"}])
    assert b["implementation_cpu_s"] == round(b["children_cpu_s"], 3) > 0
    assert "unattributed_cpu_s" not in b


def test_total_sums_figures_and_skips_cases_without_one():
    a = {"duration_s": 1.0, "waiting_s": 0.5, "helper_cpu_s": 0.1}
    b = {"duration_s": 2.0, "waiting_s": 0.25, "implementation_cpu_s": 0.3}
    t = timing.total([a, None, b])
    assert t["cases"] == 2
    assert (t["duration_s"], t["waiting_s"], t["helper_cpu_s"], t["implementation_cpu_s"]) == \
        (3.0, 0.75, 0.1, 0.3)
