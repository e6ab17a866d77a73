"""Which cases run against a manifest, and which are reported without a
verdict: the UNIMPLEMENTED and NOT-CLAIMED rules, and the rule that a
declared program which cannot run stops the run.

One module, used by the pytest plugin (before a case runs and when its
record is built) and by the command line (``list --impl``, ``explain
--impl``, the check before ``run``), so that what ``list`` says about a case
is what the run does with it.

- UNIMPLEMENTED: the manifest offers no role or protocol feature the case
  needs (or an expectation says so). The case does not run.
- NOT-CLAIMED: the case's requirement is of a layer (docs/spec.md) the
  manifest does not claim. The case still runs when it can, and its
  observed result is kept in the record; it is never a FAIL, and never
  hidden.
- A role the manifest declares whose program is missing, not executable or
  failing at exec stops the run (exit status 4), unless the manifest says
  ``required = false``: then the role is UNIMPLEMENTED, with the reason.
"""
from __future__ import annotations

from ipc_conformance.conformance.case import layer_of

OPTIONAL_NOTE = "(the manifest says required = false)"


def _upstream_child_argv(manifest) -> bool:
    """The child argv ends in `-ipcfd {fd}` (docs/programs.md section 1)."""
    role = (getattr(manifest, "roles", None) or {}).get("child")
    argv = list(getattr(role, "argv", ()) or ())
    return len(argv) >= 2 and argv[-2:] == ["-ipcfd", "{fd}"]


def feature_missing(manifest, need: str) -> str | None:
    """Why the manifest lacks the protocol feature ``need`` (None if it has it)."""
    proto = getattr(manifest, "protocol", None)
    if need == "libmultiprocess" and not getattr(proto, "libmultiprocess", False):
        return "the implementation's Init is not libmultiprocess-style (protocol.libmultiprocess = false)"
    if need == "echo" and not getattr(proto, "echo", False):
        return "the implementation's Init has no makeEcho (protocol.echo = false)"
    if need == "events" and not getattr(manifest, "events", None):
        return "the manifest describes no [events]"
    if need == "ipcfd-argv" and not _upstream_child_argv(manifest):
        return ("the child role does not take upstream's `NODE -ipcfd N` argv, so the node's"
                " own command line (docs/programs.md section 1) is not offered")
    return None


def role_missing(manifest, role: str) -> str | None:
    """Why ``role`` cannot be used (None when it can)."""
    if manifest.has_role(role):
        return None
    reason = manifest.role_missing_reason(role) or f"the manifest offers no {role} role"
    if role in manifest.roles and not getattr(manifest, "required", True):
        reason = f"{reason} {OPTIONAL_NOTE}"
    return reason


def unimplemented_reason(manifest, case_id: str | None, roles=(), needs=()) -> str | None:
    """Why a case cannot run against ``manifest`` (None when it can): a
    manifest expectation "unimplemented", a role not offered, a protocol
    feature switched off."""
    exp = (getattr(manifest, "expectations", {}) or {}).get(case_id)
    if exp is not None and exp.result == "unimplemented":
        return exp.reason
    for role in roles:
        reason = role_missing(manifest, role)
        if reason:
            return reason
    for need in needs:
        reason = feature_missing(manifest, need)
        if reason:
            return reason
    return None


def not_claimed_reason(manifest, requirement: str | None) -> str | None:
    """Why a case of ``requirement`` is NOT-CLAIMED against ``manifest``
    (None when the manifest claims its layer)."""
    layer = layer_of(requirement or "")
    claims = tuple(getattr(manifest, "claims", ()) or ())
    if layer is None or not claims or layer in claims:
        return None
    return (f"{requirement} is of the {layer} layer, which the manifest does not claim"
            f" (it claims {', '.join(claims)})")


def check_programs(manifest) -> dict[str, str]:
    """Exec every program the manifest declares once (harness.program_check);
    mark those that fail so that their roles count as missing, and return
    the declared roles that cannot run: role -> reason."""
    if not hasattr(manifest, "unrunnable_roles"):   # a loader without programs to check
        return {}
    from ipc_conformance.harness.program_check import program_problems
    for key, reason in program_problems(manifest).items():
        if key not in manifest.missing_executables():
            manifest.mark_unrunnable(key, reason)
    return manifest.unrunnable_roles()


def unrunnable_message(manifest, roles: dict[str, str]) -> str:
    """The message that stops a run whose declared roles cannot run."""
    lines = [f"{manifest.path}: {len(roles)} declared role(s) cannot run:"]
    lines += [f"  {role}: {why}" for role, why in sorted(roles.items())]
    lines.append("Build or install the program, fix the path in [executables], drop the"
                 " role from the manifest, or set `required = false` under [implementation]"
                 " if its programs may be missing (its roles are then UNIMPLEMENTED).")
    return "\n".join(lines)


def availability(manifest, info) -> str:
    """One line for ``list --impl`` and ``explain --impl``: what a run does
    with the case ``info`` (a conformance.case.CaseInfo)."""
    parts = []
    reason = unimplemented_reason(manifest, info.id, info.roles, info.needs)
    not_claimed = not_claimed_reason(manifest, info.requirement)
    if not_claimed is not None:
        parts.append(f"NOT-CLAIMED: {not_claimed}")
    if reason is not None:
        parts.append(f"UNIMPLEMENTED: {reason}")
    if parts:
        return "; ".join(parts)
    exp = (getattr(manifest, "expectations", {}) or {}).get(info.id)
    if exp is not None:
        return f"expected {exp.result}: {exp.reason}"
    return "runs"
