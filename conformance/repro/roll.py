"""Repeated steps of a reproducer written as one loop.

Why: a case that opens 32 connections, or sends five ``cleanup`` commands,
records each one, and a script of 32 near-identical lines hides what it
does. Lines in a row that differ only in numbers counting up by one are
written once, in a loop over that count:

- ``client1 = Client(run, node1.raw_connect())`` ... ``client16 = ...`` become
  ``clients = [Client(run, node1.raw_connect()) for _ in range(16)]``, and later
  lines say ``clients[0]`` for ``client1`` (a list of all of them, just
  ``clients``);
- ``sh1.command('cleanup 1 c1')`` ... ``('cleanup 1 c5')`` become
  ``for n in range(1, 6):`` and ``sh1.command(f'cleanup 1 c{n}')``;
- ``client1 = Client(run, socks[2])``, ``client2 = Client(run, socks[0])``...
  (a number in no order) become ``clients = [Client(run, socks[k]) for k in (2, 0, ...)]``.

The loop does exactly what the lines did, in the same order. Only whole
lines of the ``steps`` body are rolled, never runtime code.
"""
from __future__ import annotations

import io
import re
import tokenize

MIN_RUN = 3          # shorter runs read as well unrolled


def rolled(lines: list[str]) -> list[str]:
    """``lines`` (the steps body) with runs of counted lines as loops."""
    lines = _roll_listed(_roll_assignments(list(lines)))
    return _roll_statements(lines)


# -- the numbers in a line ----------------------------------------------------
def _numbers(line: str):
    """(start, end, value, kind) of every decimal number in ``line``: kind is
    'number' (a literal), 'string' (inside a string literal: its token's
    start and prefix follow) or 'name' (a digit suffix of a name)."""
    out = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    for tok in tokens:
        if tok.start[0] != 1:
            continue
        col = tok.start[1]
        if tok.type == tokenize.NUMBER and tok.string.isdigit():
            out.append((col, col + len(tok.string), int(tok.string), ("number",)))
        elif tok.type == tokenize.STRING:
            prefix = re.match(r"[A-Za-z]*", tok.string).group()
            text = tok.string
            if "f" in prefix.lower():        # what is inside {...} is code, not text
                text = re.sub(r"\{[^{}]*\}", lambda m: "_" * len(m.group()), text)
            for m in re.finditer(r"(?<!\d)\d+(?!\d)", text):
                if m.start() >= len(prefix):
                    out.append((col + m.start(), col + m.end(), int(m.group()),
                                ("string", col, prefix)))
        elif tok.type == tokenize.NAME:
            m = re.search(r"\d+$", tok.string)
            if m and m.start() > 0:
                out.append((col + m.start(), col + m.end(), int(m.group()), ("name",)))
    return out


def _varying(run: list[str]):
    """The positions (indices into _numbers) that count up by one from line to
    line through ``run``, all others equal; None when the lines differ in
    anything else."""
    nums = [_numbers(ln) for ln in run]
    if any(n is None for n in nums) or len({len(n) for n in nums}) != 1 or not nums[0]:
        return None
    def skeleton(line, ns):
        out, last = [], 0
        for start, end, _, _ in ns:
            out.append(line[last:start])
            last = end
        return out + [line[last:]]
    if len({tuple(skeleton(ln, ns)) for ln, ns in zip(run, nums)}) != 1:
        return None
    varying = []
    for k in range(len(nums[0])):
        values = [ns[k][2] for ns in nums]
        if all(b - a == 1 for a, b in zip(values, values[1:])):
            varying.append(k)
        elif len(set(values)) != 1:
            return None
    return (varying, nums[0]) if varying else None


def _template(line: str, nums, varying, var: str) -> str:
    """``line`` with each varying number written in terms of ``var``. Right
    to left: the columns ``nums`` gives of what is left of a change stay right."""
    text, fstrings = line, set()       # plain strings holding a counter: made f-strings
    first = nums[varying[0]][2]

    def make_fstrings(right_of):
        nonlocal text
        for col in sorted((c for c in fstrings if c > right_of), reverse=True):
            text = _as_fstring(text, col, var)
            fstrings.discard(col)
    for k in reversed(varying):
        start, end, value, kind = nums[k]
        make_fstrings(start)           # before anything left of them moves
        offset = value - first
        expr = var if offset == 0 else f"{var} {'+' if offset > 0 else '-'} {abs(offset)}"
        text = text[:start] + ("{" + expr + "}" if kind[0] == "string" else expr) + text[end:]
        if kind[0] == "string" and "f" not in kind[2].lower():
            fstrings.add(kind[1])
    make_fstrings(-1)
    return text


def _as_fstring(text: str, col: int, var: str) -> str:
    tok = next(t for t in tokenize.generate_tokens(io.StringIO(text).readline)
               if t.type == tokenize.STRING and t.start[1] == col)
    body = tok.string.replace("{", "{{").replace("}", "}}")
    body = re.sub(r"\{\{(%s(?: [+-] \d+)?)\}\}" % re.escape(var), r"{\1}", body)
    return text[:col] + "f" + body + text[col + len(tok.string):]


def _first_run(lines, ok, i=0):
    """The first maximal run (start, end) from ``i`` on of ``MIN_RUN`` or more
    lines that roll; None."""
    while i < len(lines):
        j = i + 1
        while j < len(lines) and ok(lines[i:j + 1]):
            j += 1
        if j - i >= MIN_RUN:
            return i, j
        i += 1
    return None


# -- assignments to numbered names: a list -------------------------------------
_ASSIGN = re.compile(r"^([A-Za-z_]+?)(\d+) = (.*)$")


def _roll_assignments(lines):
    def ok(run):
        """Numbered names, counting up, given values that differ only in
        numbers counting up with them (never in another numbered name)."""
        ms = [_ASSIGN.match(ln) for ln in run]
        if not all(ms) or len({m.group(1) for m in ms}) != 1:
            return False
        found = _varying(run)
        if not found or found[0][0] != 0 or found[1][0][3][0] != "name":
            return False
        return all(found[1][k][3][0] != "name" for k in found[0][1:])
    out, found = list(lines), _first_run(lines, ok)
    while found:
        start, end = found
        listed_end = start + 1
        while listed_end < len(out) and _listed(out[start:listed_end + 1]):
            listed_end += 1
        if listed_end > end:       # the start of a longer run in no order: _roll_listed's
            found = _first_run(out, ok, end)
            continue
        run = out[start:end]
        m = _ASSIGN.match(run[0])
        base, first = m.group(1), int(m.group(2))
        varying, nums = _varying(run)
        name = _fresh(base + "s", out)
        rhs_nums = [k for k in varying if nums[k][3][0] != "name"]
        if rhs_nums:
            rhs = _template(run[0], nums, varying, "n").split(" = ", 1)[1]
            span = f"{first}, {first + len(run)}" if first else str(len(run))
            line = f"{name} = [{rhs} for n in range({span})]"
        else:
            line = f"{name} = [{m.group(3)} for _ in range({len(run)})]"
        out = _as_list(out, start, end, base, first, name, line)
        found = _first_run(out, ok, start + 1)
    return out


def _listed(run: list[str]):
    """For assignments to numbered names counting up whose values differ in
    one number only, in no order (``client1 = Client(run, socks[4])``,
    ``client2 = Client(run, socks[1])``: clients made in the order their
    connects were accepted): that number's position and its values; None."""
    ms = [_ASSIGN.match(ln) for ln in run]
    nums = [_numbers(ln) for ln in run]
    if not all(ms) or len({m.group(1) for m in ms}) != 1 or any(n is None for n in nums) \
            or len({len(n) for n in nums}) != 1 or len(nums[0]) < 2:
        return None
    names = [ns[0][2] for ns in nums]
    if nums[0][0][3][0] != "name" or any(b - a != 1 for a, b in zip(names, names[1:])):
        return None
    moving = [k for k in range(1, len(nums[0])) if len({ns[k][2] for ns in nums}) > 1]
    if len(moving) != 1 or nums[0][moving[0]][3][0] != "number":
        return None
    k = moving[0]
    skeleton = {ln[:ns[0][0]] + ln[ns[0][1]:ns[k][0]] + ln[ns[k][1]:] for ln, ns in zip(run, nums)}
    return (k, [ns[k][2] for ns in nums]) if len(skeleton) == 1 else None


def _roll_listed(lines):
    """Runs :func:`_listed` finds, as a list over the values:
    ``clients = [Client(run, socks[k]) for k in (4, 1, 2, 3, 0)]``."""
    out, found = list(lines), _first_run(lines, lambda run: _listed(run) is not None)
    while found:
        start, end = found
        run = out[start:end]
        m = _ASSIGN.match(run[0])
        base, first = m.group(1), int(m.group(2))
        k, values = _listed(run)
        if all(b - a == 1 for a, b in zip(values, values[1:])):     # counting: a range
            found = _first_run(out, lambda run: _listed(run) is not None, end)
            continue
        a, b = _numbers(run[0])[k][:2]
        var = "k" if not re.search(r"\bk\b", run[0]) else "i"
        rhs = (run[0][:a] + var + run[0][b:]).split(" = ", 1)[1]
        name = _fresh(base + "s", out)
        line = f"{name} = [{rhs} for {var} in ({', '.join(map(str, values))})]"
        out = _as_list(out, start, end, base, first, name, line)
        found = _first_run(out, lambda run: _listed(run) is not None, start + 1)
    return out


def _as_list(out, start, end, base, first, name, line):
    """``out`` with the assignments ``out[start:end]`` (to ``base<first>``...)
    replaced by ``line``, the list ``name``, and later lines naming its items."""
    count = end - start
    rest = [_whole_lists(_renamed(ln, base, name, first, count), name, count) for ln in out[end:]]
    return out[:start] + [line] + rest


def _renamed(line: str, base: str, name: str, first: int, count: int) -> str:
    """``line`` with the names ``base<k>`` of the rolled run as ``name[k - first]``
    (names only: a string that says ``client3`` is left as it is)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line).readline))
    except (tokenize.TokenError, SyntaxError):
        return line
    for tok in reversed(tokens):
        m = re.fullmatch(rf"{re.escape(base)}(\d+)", tok.string)
        if tok.type == tokenize.NAME and m and first <= int(m.group(1)) < first + count \
                and tok.start[0] == 1:
            a, b = tok.start[1], tok.end[1]
            line = line[:a] + f"{name}[{int(m.group(1)) - first}]" + line[b:]
    return line


def _whole_lists(line: str, name: str, count: int) -> str:
    """``[xs[0], xs[1], ..., xs[n-1]]`` as ``xs``; a run of them inside a
    longer list as ``*xs[a:b]``."""
    items = ", ".join(f"{name}[{k}]" for k in range(count))
    line = line.replace(f"[{items}]", name)
    pattern = rf"{re.escape(name)}\[(\d+)\](?:, {re.escape(name)}\[\d+\])+"
    def collapse(m):
        ks = [int(k) for k in re.findall(rf"{re.escape(name)}\[(\d+)\]", m.group(0))]
        if len(ks) >= MIN_RUN and all(b - a == 1 for a, b in zip(ks, ks[1:])):
            return f"*{name}[{ks[0]}:{ks[-1] + 1}]"
        return m.group(0)
    return re.sub(pattern, collapse, line)


def _fresh(name: str, lines) -> str:
    text = "\n".join(lines)
    k, out = 2, name
    while re.search(rf"\b{re.escape(out)}\b", text):
        out, k = f"{name}{k}", k + 1
    return out


# -- other statements: a for loop ---------------------------------------------
def _roll_statements(lines):
    def ok(run):
        if any(_ASSIGN.match(ln) or ln.startswith(("#", " ")) or ln.endswith(":")
               for ln in run):
            return False
        found = _varying(run)
        return bool(found) and all(_numbers(run[0])[k][3][0] != "name" for k in found[0])
    out, found = list(lines), _first_run(lines, ok)
    while found:
        start, end = found
        run = out[start:end]
        varying, nums = _varying(run)
        first = nums[varying[0]][2]
        var = "n" if not re.search(r"\bn\b", "\n".join(run)) else "k"
        body = _template(run[0], nums, varying, var)
        span = f"{first}, {first + len(run)}" if first else str(len(run))
        out[start:end] = [f"for {var} in range({span}):", "    " + body]
        found = _first_run(out, ok, start + 2)
    return out
