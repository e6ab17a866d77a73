"""Compare two run files of the same implementation case by case (for a
refactoring that must not change behaviour):

    python3 tests/compare_runs.py BEFORE.json AFTER.json [--messages]

Compares id, kind, observed_kind and expectation of every case in both
runs; with ``--messages`` also the message with its volatile parts (pids,
paths, times, addresses, numbers) masked. Cases in only one run are listed,
not counted as differences. Exit status 1 when a common case differs. Not a
test: two runs of one implementation differ in timing, so only a person
should judge a message difference."""
import json
import re
import sys

_VOLATILE = [
    (re.compile(r"/tmp/[^\s'\")\]:,]+"), "<path>"),
    (re.compile(r"\b(0x)?[0-9a-f]{8,}\b"), "<addr>"),
    (re.compile(r"\d+(\.\d+)?"), "<n>"),
]


def _mask(text):
    for pattern, repl in _VOLATILE:
        text = pattern.sub(repl, text or "")
    return text


def _cases(path):
    with open(path, encoding="utf-8") as f:
        return {c.get("key") or c.get("nodeid"): c for c in json.load(f)["cases"]}


def compare(before, after, messages=False):
    a, b = _cases(before), _cases(after)
    fields = ("id", "kind", "observed_kind", "expectation")
    diffs = []
    for key in sorted(a.keys() & b.keys()):
        for field in fields:
            if a[key].get(field) != b[key].get(field):
                diffs.append(f"{key}: {field} {a[key].get(field)!r} -> {b[key].get(field)!r}")
        if messages and _mask(a[key].get("message")) != _mask(b[key].get("message")):
            diffs.append(f"{key}: message {a[key].get('message')!r} -> {b[key].get('message')!r}")
    return diffs, sorted(a.keys() - b.keys()), sorted(b.keys() - a.keys()), len(a.keys() & b.keys())


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    diffs, gone, new, common = compare(args[0], args[1], messages="--messages" in argv)
    print(f"{common} common cases, {len(diffs)} difference(s)")
    for line in diffs:
        print("  " + line)
    if gone:
        print(f"only in {args[0]}: {', '.join(gone)}")
    if new:
        print(f"only in {args[1]}: {', '.join(new)}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
