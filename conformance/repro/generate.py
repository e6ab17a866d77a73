"""A standalone reproducer from a case's trace (harness/trace.py): its
header, imports and constants, only the blocks of conformance/repro/runtime*.py
its steps use, and a ``steps()`` of one line of Python per step the case took
and one call per check it made (conformance/repro/steps.py writes those).

Why from the trace: the script then does what the case did against that
implementation, not what someone once wrote down about the case, so it
cannot drift from the case. What the run saw differently every time is put
back as names: pids the implementation reported (``P2 = a1.pid()``), the
case's temporary folder (``run.tmp``), the programs (``--node``, ``--shell``).

A failing trace is cut after its first failing step (the case stopped
there); ``drop`` leaves out further steps (conformance.repro.minimise).
Steps the script cannot replay (an arbitrary function run on the peer loop)
are kept as comments saying so, and the header lists them.
"""
from __future__ import annotations

import ast
import json
import re
import sys
import textwrap

from . import prune, roll, runtime, runtime_capnp
from .runtime_checks import CHECKS
from .steps import FAILED_CHECK, render_steps



def failing_index(steps: list[dict]) -> int | None:
    """The index of the first step that failed (a check that did not hold, or
    a step that raised), None for a trace of a passing run. A command sent in
    the background whose answer never came fails where the case waited for
    it, after the steps that followed it (SHUT-005 kills the child a call is
    in flight to): the failing step is then the last one, and all are replayed."""
    for i, step in enumerate(steps):
        if (step.get("op") == FAILED_CHECK and not step.get("ok", True)) or (
                "raised" in step and not step.get("background")):
            return i
    if any("raised" in step and step.get("background") for step in steps):
        return len(steps) - 1
    return None


def replayed_steps(trace: dict) -> list[dict]:
    """The steps a reproducer replays: all of them, or up to the failure."""
    steps = list(trace.get("steps", []))
    end = failing_index(steps)
    return steps if end is None else steps[:end + 1]


def names_read(step: dict) -> set[str]:
    """The handles and values a step reads (``on``, answers, the step a check looks at)."""
    names = set()
    for key in ("on", "answer", "of", "answers"):
        value = step.get(key)
        for v in (value if isinstance(value, list) else [value]):
            if isinstance(v, str):
                names.add(v.partition("[")[0])
    names.add((step.get("events") or {}).get("answer"))
    return names - {None, ""}


def names_made(step: dict) -> set[str]:
    """The handles and values a step makes (a start names its handle ``on``)."""
    made = {step["out"]} if step.get("out") else set()
    if step.get("op", "").endswith(".start") and isinstance(step.get("on"), str):
        made.add(step["on"])
    return made


def with_dependents_dropped(steps: list[dict], drop: set[int]) -> list[dict]:
    """``steps`` without those of ``drop`` and without every later step that
    reads a handle or value only a dropped step made (``node1.line_within``
    goes with ``node1 = Listener(...)``). Why: minimising then drops a
    handle with its uses in one trial, where dropping it alone would leave a
    script that stops at a name never defined."""
    gone, kept = set(), []
    for i, step in enumerate(steps):
        if i in drop or (names_read(step) - names_made(step)) & gone:
            gone |= names_made(step)
            continue
        kept.append(step)
    return kept


def with_ready_waits_folded(steps: list[dict], trace: dict, ready: str | None) -> list[dict]:
    """``steps`` with a listener started without waiting for its ready line,
    then waited for it at once, written as one start that waits (``Listener
    (run, ...)`` rather than ``wait_ready=False`` and a ``line_within``).

    Why: a case starts several listeners before it waits for any; once
    minimising leaves one, the two steps say what the plain start says, and
    the script needs no ``line_within``. Only a wait for the ready pattern on
    stdout from the first line, whose line no check reads, is folded."""
    read = {s["of"].partition("[")[0] for s in steps if s.get("of")}
    index = {id(s): f"#{i}" for i, s in enumerate(trace.get("steps", []))}   # how "of" names one
    out, i = [], 0
    while i < len(steps):
        start, wait = steps[i], steps[i + 1] if i + 1 < len(steps) else {}
        if (ready and start.get("op") == "listener.start" and not start.get("wait_ready", True)
                and wait.get("op") == "listener.line_within" and wait.get("on") == start.get("on")
                and wait.get("pattern") == ready and not wait.get("start")
                and wait.get("stream", "stdout") == "stdout" and not wait.get("out")
                and index.get(id(wait)) not in read):
            out.append({**start, "wait_ready": True, "ready_timeout": wait.get("timeout", 10),
                        "folded_from": start})
            i += 2
            continue
        out.append(start)
        i += 1
    return out


ORDER = ["CORE", "PROCS", "ZOMBIE", "LINES", "SHELL", "SHELL_EXPECT", "SHELL_STAGE", "SHELL_END",
         "STALL_CHILD", "DEAF_CHILD", "EXIT_CHILD", "SHELL_STANDIN",
         "SHELL_BAIT", "LOOP", "CLIENT_ECHO", "INIT", "PROXY",
         "CONNECT_UNIX",
         "CHILD", "CHILD_WAIT", "CHILD_LINE", "CHILD_POLL",
         "LISTENER", "LISTENER_WAIT", "LISTENER_LINE", "LISTENER_POLL",
         "PROC", "FILES", "SS", "SOCK", "PROBE_ALL", "PROBES", "LIMITS", "FDS"]
# Method blocks shared by the Child and Listener classes (each follows its class).
BLOCK_TEXT = {"CHILD_WAIT": "WAIT_EXIT", "LISTENER_WAIT": "WAIT_EXIT", "CHILD_LINE": "WAIT_LINE",
              "LISTENER_LINE": "WAIT_LINE", "CHILD_POLL": "POLL_EXIT", "LISTENER_POLL": "POLL_EXIT"}
THIRD_PARTY = ("capnp", "pexpect", "psutil")
# Packages a script uses only through one of their modules, imported as that module.
SUBMODULE = {"concurrent": "concurrent.futures"}


def _block(name: str) -> str:
    """The text of runtime block ``name`` (conformance/repro/runtime*.py)."""
    return getattr(runtime, name, None) or getattr(runtime_capnp, name)


def render(trace: dict, *, case_id: str, requirement: str, requirement_text: str,
           statement: str, impl_name: str, config: dict, outcome: str = "",
           drop=(), trials: int = 1, command: str = "") -> str:
    """The reproducer's text. ``config``: programs, argv per role, prompt,
    ready pattern, schema folder name and Init names (conformance.repro.writer).
    ``drop``: indices (into the replayed steps) minimising left out."""
    replay = replayed_steps(trace)
    kept = with_ready_waits_folded(with_dependents_dropped(replay, set(drop)), trace,
                                   config.get("ready_pattern"))
    body, r = render_steps(trace, kept, config["programs"])
    body = roll.rolled(body)
    if r.blocks & {"LOOP", "PROXY"}:
        r.blocks.add("INIT")
    blocks = ["CORE"] + [b for b in ORDER[1:] if b in r.blocks]
    dropped = len(replay) - len(kept)
    roles = {"shell"} if "SHELL" in r.blocks else set()
    roles |= {"child"} if "CHILD" in r.blocks else set()
    roles |= {"listener"} if "LISTENER" in r.blocks else set()
    programs = {k: v for k, v in config["programs"].items()
                if k == "node" or (k == "shell" and "shell" in roles)}
    consts = [f"CASE, IMPL = {case_id!r}, {impl_name!r}",
              f"REQUIREMENT = {requirement + ': ' + first_sentence(requirement_text)!r}",
              f"PROGRAMS = {json.dumps(programs)}",
              f"ARGV = {json.dumps({k: v for k, v in config['argv'].items() if k in roles})}",
              f"TIMEOUT, TRIALS = 10, {int(trials)}"]
    if "SHELL" in r.blocks:
        consts[-1] = consts[-1].replace(" =", ", PROMPT =") + f", {config.get('prompt')!r}"
    if "LISTENER" in r.blocks:
        consts[-1] = consts[-1].replace(" =", ", READY =") + f", {config.get('ready_pattern')!r}"
    if r.blocks & {"LOOP", "SHELL_STANDIN"}:
        consts.append(f"SCHEMAS, INIT_SCHEMA, INIT_INTERFACE = {config['schemas']!r}, "
                      f"{config['init_schema']!r}, {config['init_interface']!r}")
    if "PROXY" in r.blocks:
        consts.append(f"PROXY_SCHEMA = {config.get('proxy_schema')!r}")
    texts = {**BLOCK_TEXT, **({"INIT": "INIT_CAPNP", "PROXY": "PROXY_CAPNP"}
                              if config.get("imports_capnp_schemas", True) else {})}
    code = "".join(_block(texts.get(b, b)) for b in blocks)
    code = code.replace('prefix="repro-"', f'prefix="{folder_prefix(trace)}"', 1)
    code = "\n" + tight(code + "".join(CHECKS.get(c, "") for c in sorted(r.checks)))
    if not any(line.strip() and not line.lstrip().startswith("#") for line in body):
        body = [*body, "pass"]          # only comments (steps not replayed), or nothing
    steps_fn = ("\n\ndef steps(run):\n"
                + "\n".join("    " + line if line else "" for line in body) + "\n")
    main = runtime.MAIN
    if "LOOP" in r.blocks:        # pycapnp's loop on this thread, the steps on another
        main = main.replace("steps(run)", "asyncio.run(capnp.run(with_loop(run)))")
    program = prune.pruned("\n".join(consts) + "\n" + code + steps_fn + main)
    used = prune.modules_used(program)
    header = _header(case_id, statement, impl_name, outcome, len(trace.get("steps", [])),
                     len(replay), dropped, r.unreplayed, command,
                     [{"capnp": "pycapnp"}.get(m, m) for m in THIRD_PARTY if m in used])
    return header + _imports(used) + "\n\n" + program


def tight(code: str) -> str:
    """``code`` without its blank lines, but for those inside a string (a
    stand-in child's program). Why: the helpers a script carries are short
    and read one after another; a blank line between each made a listener
    script twenty lines longer than what it does, past a screen or two."""
    strings = [node for node in ast.walk(ast.parse(code))
               if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    in_strings = {k for node in strings for k in range(node.lineno + 1, node.end_lineno + 1)}
    return "".join(line for k, line in enumerate(code.splitlines(keepends=True), 1)
                   if line.strip() or k in in_strings)


def folder_prefix(trace: dict) -> str:
    """The prefix of the script's folder (``/tmp/<prefix><8 random>``) that
    makes its path as long as the case's folder was: a case that built a
    path of the longest length a socket takes, from its folder, then builds
    the same length in the script."""
    tmp = (trace.get("roots") or {}).get("tmp")
    n = len(tmp) - len("/tmp/") - 8 if tmp else 6
    if n >= 6:
        return "repro" + "-" * (n - 5)
    return "repro"[:n - 1] + "-" if n >= 2 else "r"


def first_sentence(text: str) -> str:
    """A requirement's first sentence: the one that says what MUST hold. The
    rest (its details, grammars, references) is in docs/spec.md; a script
    that carried it whole, in its header and again in its message, began
    with twenty lines a reader upstream skips."""
    m = re.match(r"(.+?[.!?])(?:\s+(?=[A-Z`(\[])|$)", text, re.S)
    return m.group(1) if m else text


def _imports(used: set[str]) -> str:
    """The import lines of the modules the script uses (the names it reads an
    attribute of that are modules): the standard library's, then, on a line
    of their own, the third-party ones. Derived from the finished script, so
    a block or a step never has to declare what it imports."""
    std = sorted(SUBMODULE.get(m, m) for m in used if m in sys.stdlib_module_names)
    lines = textwrap.wrap(", ".join(std), 92) if std else []
    lines = ["import " + ln.rstrip(",") for ln in lines]
    third = [m for m in THIRD_PARTY if m in used]
    return "\n".join(lines + (["import " + ", ".join(third)] if third else []))


def _header(case_id, statement, impl, outcome, total, replayed, dropped, unreplayed, command,
            needs) -> str:
    """The docstring: what the case checks, how the script was made, what it
    needs. The requirement is the REQUIREMENT constant below it (the failure
    message prints it), not restated here."""
    lines = [f"Reproducer of {case_id} against {impl}: {statement}", "",
             f"Written by `{command or f'ipc-conformance repro {case_id}'} --write` from a "
             f"{outcome.split(':')[0] or 'replayed'} run's trace: {replayed - dropped} of {total} steps "
             f"replayed, {dropped} dropped by minimising. Needs {', '.join(needs)} and the "
             "programs (--help). Exit 0: right; 1: not."]
    if unreplayed:
        lines.append(f"Not replayed: {', '.join(sorted(set(unreplayed)))}.")
    wrapped = []
    for line in lines:
        wrapped += textwrap.wrap(line, 99, break_on_hyphens=False) or [""]
    # a docstring line must not read as an import to a reader scanning the file
    for k in range(1, len(wrapped)):
        m = re.match(r"(from|import)\s+", wrapped[k])
        if m and wrapped[k - 1]:
            wrapped[k - 1] += " " + m.group(1)
            wrapped[k] = wrapped[k][m.end():]
    return '#!/usr/bin/env python3\n"""' + "\n".join(wrapped).replace("\\", "\\\\") \
        .replace('"""', "'''") + '\n"""\n'
