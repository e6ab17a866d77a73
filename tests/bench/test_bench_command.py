"""Smoke test of ``ipc-conformance bench``: it runs with tiny counts, prints
every figure with its ratio to its baseline, and writes valid JSON and a PNG.

It never asserts a timing: speed is measured by the command itself, on
purpose outside the tests (docs/bench.md)."""
import json
import struct
import subprocess
import sys
import zlib

import pytest

from ipc_conformance.bench.plot import Canvas, listener_plot
from ipc_conformance.bench.programs import NATIVE
from ipc_conformance.bench.stats import Figure, quantile, ratio, verdict


def test_quantiles_and_ratios():
    assert quantile([4, 1, 3, 2], 0.5) == 2.5
    assert quantile([1, 2, 3, 4, 5], 0.25) == 2.0
    a = Figure("a", "f", "a", "us", samples=[10, 30, 20])
    b = Figure("b", "f", "b", "us", samples=[5, 10, 15])
    assert ratio(a, b) == 2.0
    a.target = 1.5
    assert verdict(a, ratio(a, b)) == "MISSED"
    a.target = 2.0
    assert verdict(a, ratio(a, b)) == "met"
    t = Figure("t", "f", "t", "calls/s", samples=[50], lower_is_better=False, target=1.0)
    assert verdict(t, ratio(t, Figure("u", "f", "u", "calls/s", samples=[100]))) == "MISSED"
    s = Figure("s", "f", "s", "s", samples=[25.0], limit=20.0)
    assert verdict(s, None) == "MISSED"
    assert ratio(a, Figure("c", "f", "c", "us", status="not built")) is None


def _png_size(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    body = data[16:16 + length]
    crc, = struct.unpack(">I", data[16 + length:20 + length])
    assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc
    return struct.unpack(">II", body[:8])


def test_png_writer(tmp_path):
    c = Canvas(20, 10)
    c.line(0, 0, 19, 9, (255, 0, 0))
    c.text(1, 1, "N=256", scale=1)
    assert _png_size(c.png()) == (20, 10)
    path = tmp_path / "p.png"
    listener_plot([{"name": "REF", "kind": "latency", "points": [(1, 300, 250, 350), (16, 4000, 3500, 4500)]},
                   {"name": "REF", "kind": "cost", "points": [(1, 300, 250, 350), (16, 280, 260, 300)]}],
                  path)
    assert _png_size(path.read_bytes()) == (900, 560)


@pytest.mark.timeout(600)
def test_bench_quick_prints_every_figure_and_writes_json_and_png(tmp_path):
    out = tmp_path / "bench"
    proc = subprocess.run(
        [sys.executable, "-m", "ipc_conformance.conformance.cli", "bench", "--quick", "--repeats", "2",
         "--cycles", "4", "--clients", "1,3", "--suite", "smoke", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=540)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads((out / "bench.json").read_text())
    assert data["failed"] == {}
    figures = {f["id"]: f for f in data["figures"]}
    for fam in ("spawn", "echo", "pipelined", "listener", "cycles", "suite"):
        assert any(f["family"] == fam for f in figures.values()), fam
    wanted = ["spawn.floor", "spawn.ref", "echo.raw", "echo.bare", "echo.sync", "echo.async",
              "pipe.async", "listener.reference.cost.3", "listener.reference.latency.3",
              "cycles.rate", "cycles.fds_end", "cycles.rss_end", "suite.serial", "suite.n2",
              "suite.per_case"]
    for impl in NATIVE:         # built or not, every compiled implementation has its rows
        wanted += [f"spawn.{impl}", f"echo.{impl}", f"pipe.{impl}", f"listener.{impl}.cost.3",
                   f"listener.{impl}.latency.3", f"suite.{impl}.n2"]
    for w in wanted:
        assert w in figures, w
    lines = proc.stdout.splitlines()
    for f in figures.values():
        line = next((l for l in lines if l.startswith(f["label"][:60])), None)
        assert line is not None, f"figure {f['id']} not printed"
        if f["status"] != "measured":
            # a compiled implementation's own figures, or the README's command,
            # which runs the compiled implementations too (bench/suite.py)
            assert (f["impl"] in NATIVE or f["id"] == "suite.readme") \
                and "not built" in f["status"], f
            assert "not built" in line
            continue
        assert f["n"] >= 1 and f["min"] <= f["median"] <= f["max"], f
        if f["baseline"] and figures[f["baseline"]]["status"] == "measured":
            assert f["ratio"] is not None and f["ratio"] > 0, f
            assert f"{f['ratio']:.2f}x" in line, (f["id"], line)
    assert "targets:" in proc.stdout
    w, h = _png_size((out / "listener.png").read_bytes())
    assert w > 100 and h > 100
