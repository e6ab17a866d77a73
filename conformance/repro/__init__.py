"""Standalone reproducers (``ipc-conformance repro CASE --impl M --write FILE``).

A reproducer is what a user attaches to a bug report upstream: one short
Python script that needs only pexpect, psutil and pycapnp plus the
implementation's own programs (never harness/ or reference_impl/), replays
what the case did and makes the same checks, and exits 0 when the behaviour
is right or 1 with a message saying what it expected and what it saw.

``traced_run`` runs the case (the ordinary pytest path) and reads its trace
from the JSON record; ``generate`` turns the trace into the script;
``minimise`` drops steps the failure does not need (delta debugging);
``writer`` puts the manifest's programs in and the schemas beside it.
"""
from __future__ import annotations

from pathlib import Path

from . import generate, writer
from .traced_run import NoTrace, case_record, trace_of
from .writer import ReproUnsupported

__all__ = ["NoTrace", "ReproUnsupported", "reproduce", "script_from_record"]


def script_from_record(rec, info, manifest, out: Path, *, requirement_text: str = "",
                       drop=(), command: str = "") -> str:
    """The script's text for the case record ``rec`` (it holds the trace)."""
    trace = trace_of(rec)
    return generate.render(
        trace, case_id=info.id, requirement=info.requirement,
        requirement_text=requirement_text or "(see docs/spec.md)", statement=info.statement,
        impl_name=manifest.name, config=writer.config(manifest, out),
        outcome=f"{rec.kind}: {rec.first_line}" if rec.message else str(rec.kind),
        drop=drop, command=command, trials=trials_of(rec, manifest))


def trials_of(rec, manifest) -> int:
    """How many times the script replays by default: the case's --repeat,
    or 20 when the manifest knows its failure shows only in some runs
    (``intermittent = true``): the script stops at the first failure, so
    more trials cost time only when the bug does not show."""
    expectation = (getattr(manifest, "expectations", None) or {}).get(rec.id)
    if expectation is not None and getattr(expectation, "intermittent", False):
        return 20
    return max(1, int(rec.repeat or 1))


def reproduce(info, manifest, manifest_path: Path, out: Path, *, cases_dir: Path,
              requirement_text: str = "", minimise: bool = True, log=print, rec=None) -> Path:
    """Run the case against the manifest, write its reproducer to ``out``
    (minimised when the run failed and ``minimise``); its path. ``rec``: the
    case's record from a run already made (its trace), instead of a new run."""
    rec = rec or case_record(info.id, manifest_path, cases_dir=cases_dir)
    command = f"ipc-conformance repro {info.id} --impl {_short(manifest_path)}"
    drop = ()
    failing = generate.failing_index(trace_of(rec).get("steps", [])) is not None
    if minimise and failing:
        from .minimise import minimal_drop
        steps = generate.replayed_steps(trace_of(rec))
        drop = minimal_drop(lambda d: script_from_record(
            rec, info, manifest, out, requirement_text=requirement_text, drop=d,
            command=command), len(steps), out, manifest.protocol.schema_dir, log=log,
            checks=[i for i, s in enumerate(steps) if s.get("op") == "check" and s.get("ok")],
            control=_reference_control(manifest_path),
            keep=kept_for_order(steps))
    text = script_from_record(rec, info, manifest, out, requirement_text=requirement_text,
                              drop=drop, command=command + ("" if minimise else " --no-minimise"))
    return writer.write_script(text, out, manifest.protocol.schema_dir)


# Steps minimising keeps (conformance.repro.minimise, ``keep``): waits whose
# only effect is the order of what follows. shell.probe_records: a check sees
# the child after its exec. shell.wait_mark: the call is in the child when it
# is killed (SHUT-005); without it the kill may come first, the shell answers
# at once, and a mutant that hangs a call in flight passes (docs/mutants.md).
ORDERING_STEPS = {"shell.probe_records", "shell.wait_mark"}
# Checks that wait for another process to change (harness verifiers
# assert_gone, assert_exits; Probes): one that held is kept as well, since
# what follows it may read what it waited for.
WAITING_CHECKS = {"gone", "exits", "probes_answered", "probes_all"}


def kept_for_order(steps) -> list[int]:
    """The steps minimising never drops: the ORDERING_STEPS, the WAITING_CHECKS
    that held, the round trips a case made for their order (marked
    ``orders``: harness ClientHandle.round_trip), and the steps that made the
    handles those use (the client a round trip is made on).

    Why: without one of them the check still fails against the buggy
    implementation, and a right one still passes it most times (its loop is
    quick to accept), so neither ddmin nor the control sees that the script
    now counts the accept queue, or lifts the descriptor limit, before the
    listener had its turn; on a loaded machine the script then gives the
    wrong verdict."""
    keep = {i for i, s in enumerate(steps) if s.get("op") in ORDERING_STEPS or s.get("orders")
            or (s.get("op") == "check" and s.get("check") in WAITING_CHECKS and s.get("ok"))}
    todo = sorted(keep)
    while todo:                       # and what made the handles they use
        i = todo.pop()
        for name in generate.names_read(steps[i]) - generate.names_made(steps[i]):
            maker = next((j for j in range(i - 1, -1, -1)
                          if name in generate.names_made(steps[j])), None)
            if maker is not None and maker not in keep:
                keep.add(maker)
                todo.append(maker)
    return sorted(keep)


def _short(path) -> str:
    """The manifest's path, relative to the repository when it is in it."""
    from ipc_conformance.conformance.case import REPO_ROOT
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _reference_control(manifest_path):
    """The reference's programs as options of a script (minimising keeps a
    script that still passes with them), None when the script is the
    reference's own or the reference is not installed."""
    from ipc_conformance.conformance.case import REPO_ROOT
    from ipc_conformance.harness.manifest import load_manifest
    reference = REPO_ROOT / "conformance" / "manifests" / "reference.toml"
    if Path(manifest_path).resolve() == reference.resolve():
        return None
    try:
        ref = load_manifest(reference)
    except Exception:
        return None
    if ref.missing_executables():
        return None
    return lambda text: writer.program_options(ref, text)
