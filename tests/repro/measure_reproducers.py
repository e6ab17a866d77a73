#!/usr/bin/env python3
"""The length of the minimised reproducer of every (mutant, catching case)
pair of fixtures/mutants: each written as a user would, with
``ipc-conformance repro CASE --impl MUTANT --write FILE`` (minimised by
default), two at a time; one line per pair, longest first, then the number
of pairs, the median and the longest.

A measurement, not a test: minimising runs each script several times, so
the whole takes about ten minutes on two cores. Run it from a checkout:
``python3 tests/repro/measure_reproducers.py [--out DIR] [--workers N]``.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import repro_pairs as P  # noqa: E402


def write(pair, out: Path) -> tuple[str, str, int | None, list[str]]:
    mutant, case = pair
    script = out / f"{mutant}__{case}.py"
    proc = subprocess.run([sys.executable, "-m", "ipc_conformance.conformance.cli", "repro", case,
                           "--impl", str(P.MUTANTS / mutant / "manifest.toml"),
                           "--write", str(script)], capture_output=True, text=True, timeout=1800)
    lines = len(script.read_text().splitlines()) if proc.returncode == 0 else None
    return mutant, case, lines, (proc.stdout + proc.stderr).strip().splitlines()[-1:]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="keep the scripts here (default: a temporary folder)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ipc-lengths-") as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(args.workers) as pool:
            results = list(pool.map(lambda pair: write(pair, out), P.pairs()))
    failed = [r for r in results if r[2] is None]
    for mutant, case, lines, last in sorted(results, key=lambda r: -(r[2] or 0)):
        print(f"{lines if lines is not None else 'FAILED':>6}  {case:<10} {mutant}"
              + (f"  ({last[0] if last else ''})" if lines is None else ""))
    lengths = [r[2] for r in results if r[2] is not None]
    if lengths:
        print(f"{len(results)} pairs: median {statistics.median(lengths)} lines, "
              f"longest {max(lengths)}, {sum(n < 150 for n in lengths)} under 150")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
