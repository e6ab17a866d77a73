"""Loading an implementation's manifest (docs/manifest.md).

The manifest is all the suite knows of an implementation: its programs, the
argv of each role, its schemas and its known deviations. Errors name the
file and the field, since a manifest is written by hand."""
import os
import shutil
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROLES = ("child", "listener", "shell")
ROLE_EXECUTABLES = {"child": "node", "listener": "node", "shell": "shell"}
RESULTS = ("fail", "non-strict", "unimplemented")
# The requirement layers of docs/spec.md a manifest can claim
# ([implementation] claims); an implementation claims all of them unless it
# says otherwise: libmultiprocess's example programs claim "library" only.
LAYERS = ("library", "bitcoin-ipc", "project")


class ManifestError(ValueError):
    pass


@dataclass(frozen=True)
class Protocol:
    schema_dir: str
    init_schema: str
    init_interface: str
    libmultiprocess: bool
    proxy_schema: str
    echo: bool
    echo_schema: str


@dataclass(frozen=True)
class Role:
    name: str
    argv: tuple
    ready: str = "line"
    ready_pattern: str = r"^listening on (?P<address>\S+)"
    default_socket: str | None = None
    exe_name: str | None = None
    prompt: str = "ipc> "


@dataclass(frozen=True)
class Expectation:
    case: str
    result: str
    reason: str
    # A deviation seen in some runs only (an upstream race): a pass is then
    # reported as a pass, with the expectation, not as a stale expectation.
    intermittent: bool = False


@dataclass
class Manifest:
    name: str
    description: str
    kind: str
    path: Path
    base_dir: Path
    executables: dict
    protocol: Protocol
    roles: dict
    events: dict
    expectations: dict
    implementation: dict = field(default_factory=dict)
    _exe_problems: dict = field(default_factory=dict)
    # The layers of docs/spec.md this implementation claims to meet.
    claims: tuple = LAYERS
    # False: the programs may be missing (an optional build, such as the
    # project's C++ and libmultiprocess manifests); their roles are then
    # UNIMPLEMENTED. True (the default): a declared role whose program is
    # missing or cannot be executed stops the run (docs/report.md).
    required: bool = True

    def claims_layer(self, layer: str | None) -> bool:
        return layer is None or layer in self.claims

    def unrunnable_roles(self) -> dict:
        """Declared roles whose program is missing or not executable: role -> reason."""
        out = {}
        for name in self.roles:
            reason = self.role_missing_reason(name)
            if reason is not None:
                out[name] = reason
        return out

    def missing_executables(self) -> dict:
        return dict(self._exe_problems)

    def mark_unrunnable(self, key: str, reason: str) -> None:
        """An executable found to fail at exec (harness.program_check): the
        roles that need it are then missing, like those of a missing file."""
        self.executables[key] = None
        self._exe_problems[key] = reason

    def has_role(self, name: str) -> bool:
        return self.role_missing_reason(name) is None

    def role_missing_reason(self, name: str) -> str | None:
        if name not in self.roles:
            return f"the manifest offers no [roles.{name}]"
        for placeholder, exe in self.executables.items():
            if exe is None and any("{" + placeholder + "}" in a for a in self.roles[name].argv):
                return f"[roles.{name}] needs {placeholder}: {self._exe_problems[placeholder]}"
        return None

    def argv(self, role: str, **values) -> list[str]:
        values = {**{k: v for k, v in self.executables.items() if v}, "python": sys.executable,
                  **{k: str(v) for k, v in values.items()}}
        try:
            return [a.format(**values) for a in self.roles[role].argv]
        except KeyError as e:
            raise ManifestError(f"{self.path}: roles.{role}.argv: unknown placeholder {e}") from None


def _req(table: dict, key: str, where: str, path, kind=str):
    if key not in table:
        raise ManifestError(f"{path}: {where}.{key}: missing")
    value = table[key]
    if not isinstance(value, kind):
        raise ManifestError(f"{path}: {where}.{key}: expected {kind.__name__}, got {value!r}")
    return value


def resolve_executable(value: str, base: Path) -> tuple[str | None, str | None]:
    """A manifest's executable as the loader finds it: a path (with a slash)
    relative to the manifest's folder ``base``, else a command name
    (find_command). (the path, None), or (None, why it cannot run)."""
    if "/" in value:
        p = (base / value).resolve() if not os.path.isabs(value) else Path(value)
        if not p.exists():
            return None, f"{p} does not exist (not built?)"
        if not os.access(p, os.X_OK):
            return None, f"{p} is not executable"
        return str(p), None
    found = find_command(value)
    return (found, None) if found else (None, f"'{value}' is neither next to "
                                              f"{sys.executable} nor on PATH")


def find_command(name: str) -> str | None:
    """A bare command name: first beside the interpreter running the suite
    (where the same environment's console scripts are, activated or not),
    then on PATH. PATH's first match can be a wrapper (a version manager's
    shim, a launcher) that re-executes the program under another argv0,
    which breaks the staging the shell cases rely on. sys.executable's own
    folder is used as is, not resolved: a venv's python is a symlink to the
    base interpreter, whose folder holds another environment's scripts."""
    here = os.path.dirname(sys.executable) if sys.executable else ""
    beside = shutil.which(name, path=here) if here else None
    return os.path.abspath(beside) if beside else shutil.which(name)


def load_manifest(path) -> Manifest:
    path = Path(path).resolve()
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ManifestError(f"{path}: not valid TOML: {e}") from None
    base = path.parent
    impl = data.get("implementation")
    if not isinstance(impl, dict):
        raise ManifestError(f"{path}: [implementation]: missing")
    name = _req(impl, "name", "implementation", path)

    executables, problems = {}, {}
    for key, value in (data.get("executables") or {}).items():
        if not isinstance(value, str):
            raise ManifestError(f"{path}: executables.{key}: expected a path or command name")
        executables[key], problem = resolve_executable(value, base)
        if problem:
            problems[key] = problem

    proto = data.get("protocol")
    if not isinstance(proto, dict):
        raise ManifestError(f"{path}: [protocol]: missing")
    schema_dir = (base / _req(proto, "schema_dir", "protocol", path)).resolve()
    # An optional build (required = false) may also provide the schemas:
    # without it the roles are UNIMPLEMENTED, like those of a missing program.
    optional = impl.get("required", True) is False
    schema_problem = None
    if not schema_dir.is_dir():
        schema_problem = f"protocol.schema_dir: {schema_dir} is not a directory"
    protocol = Protocol(
        schema_dir=str(schema_dir),
        init_schema=_req(proto, "init_schema", "protocol", path),
        init_interface=_req(proto, "init_interface", "protocol", path),
        libmultiprocess=bool(proto.get("libmultiprocess", True)),
        proxy_schema=proto.get("proxy_schema", "mp/proxy.capnp"),
        echo=bool(proto.get("echo", False)),
        echo_schema=proto.get("echo_schema", "echo.capnp"))
    for key in ("init_schema", "proxy_schema", "echo_schema"):
        needed = key == "init_schema" or (key == "proxy_schema" and protocol.libmultiprocess) \
            or (key == "echo_schema" and protocol.echo)
        if needed and not schema_problem and not (schema_dir / getattr(protocol, key)).is_file():
            schema_problem = f"protocol.{key}: {schema_dir / getattr(protocol, key)} not found"
    if schema_problem and not optional:
        raise ManifestError(f"{path}: {schema_problem}")
    if schema_problem:
        for key in executables:
            executables[key] = None
            problems.setdefault(key, f"{schema_problem} (not built?)")

    roles = {}
    for role_name, table in (data.get("roles") or {}).items():
        if role_name not in ROLES:
            raise ManifestError(f"{path}: roles.{role_name}: unknown role (known: {', '.join(ROLES)})")
        argv = _req(table, "argv", f"roles.{role_name}", path, list)
        if not argv or not all(isinstance(a, str) for a in argv):
            raise ManifestError(f"{path}: roles.{role_name}.argv: a list of strings is needed")
        ready = table.get("ready", "line")
        if ready not in ("line", "socket"):
            raise ManifestError(f"{path}: roles.{role_name}.ready: 'line' or 'socket', not {ready!r}")
        extra = {k: table[k] for k in ("ready_pattern", "default_socket", "exe_name", "prompt")
                 if k in table}
        roles[role_name] = Role(role_name, tuple(argv), ready, **extra)

    expectations = {}
    for i, e in enumerate(data.get("expectations") or []):
        case = _req(e, "case", f"expectations[{i}]", path)
        result = _req(e, "result", f"expectations[{i}]", path)
        if result not in RESULTS:
            raise ManifestError(f"{path}: expectations[{i}].result: one of {RESULTS}, not {result!r}")
        intermittent = e.get("intermittent", False)
        if not isinstance(intermittent, bool):
            raise ManifestError(f"{path}: expectations[{i}].intermittent: true or false,"
                                f" not {intermittent!r}")
        expectations[case] = Expectation(case, result, _req(e, "reason", f"expectations[{i}]", path),
                                         intermittent)

    claims = impl.get("claims", list(LAYERS))
    if (not isinstance(claims, list) or not claims
            or not all(isinstance(c, str) and c in LAYERS for c in claims)):
        raise ManifestError(f"{path}: implementation.claims: a non-empty list of layers from "
                            f"{', '.join(LAYERS)}, not {claims!r}")
    required = impl.get("required", True)
    if not isinstance(required, bool):
        raise ManifestError(f"{path}: implementation.required: true or false, not {required!r}")

    events = {k: v for k, v in (data.get("events") or {}).items() if isinstance(v, str)}
    return Manifest(claims=tuple(c for c in LAYERS if c in claims), required=required,
                    name=name, description=impl.get("description", ""),
                    kind=impl.get("kind", "implementation"), path=path, base_dir=base,
                    executables=executables, protocol=protocol, roles=roles, events=events,
                    expectations=expectations, implementation=dict(impl), _exe_problems=problems)
