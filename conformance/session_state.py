"""The plugin's options and its per-session state: what was asked
(``--ipc-*``), the manifest (loaded once), and what the session gathers
(records, selected and executed cases, the run). Kept on the pytest config
(``state(config)``); the stash keys of the plugin are here too."""
from __future__ import annotations

import random
import time
import tomllib
from pathlib import Path

import pytest

from ipc_conformance.conformance.case import REPO_ROOT
from ipc_conformance.conformance.evidence import Evidence
from ipc_conformance.conformance.outcome import EXIT_UNRUNNABLE, KINDS, CaseRecord, Run
from ipc_conformance.conformance.selection import check_programs, unrunnable_message

DEFAULT_MANIFEST = REPO_ROOT / "conformance" / "manifests" / "reference.toml"

STATE = pytest.StashKey["State"]()           # on the config
EVIDENCE = pytest.StashKey[Evidence]()        # on an item
PHASES = pytest.StashKey[dict]()              # on an item: setup/call/teardown
CLOCKS = pytest.StashKey[tuple]()             # on an item: conformance.timing.start()
REGISTRY = pytest.StashKey[str]()             # on the config: the registry file this run owns


def add_options(parser) -> None:
    """The plugin's options (docs/report.md, "pytest options of the plugin")."""
    group = parser.getgroup("ipc-conformance", "IPC conformance suite")
    group.addoption("--ipc-impl", metavar="PATH", default=None,
                    help="manifest of the implementation under test "
                         f"(default: {DEFAULT_MANIFEST.relative_to(REPO_ROOT)} in the repo)")
    group.addoption("--ipc-json", metavar="PATH", default=None,
                    help="write the run's results as JSON (docs/report.md)")
    group.addoption("--ipc-repeat", metavar="N", type=int, default=1,
                    help="run each case N times; cases whose results differ are FLAKY")
    group.addoption("--ipc-random-order", action="store_true", default=False,
                    help="shuffle the cases (the seed is printed)")
    group.addoption("--ipc-seed", metavar="N", type=int, default=None,
                    help="shuffle the cases with this seed (implies --ipc-random-order)")
    group.addoption("--ipc-durations", metavar="PATH", default=None,
                    help="run the slowest cases first, by the durations in PATH (a JSON file "
                         "this option also updates at the end of the run); not with random order")
    group.addoption("--ipc-case", metavar="ID", action="append", default=[],
                    help="run only this case ID (repeatable)")
    group.addoption("--ipc-forbid", metavar="KIND", action="append", default=[],
                    help="a case of this kind fails the run too (repeatable; e.g. "
                         "UNIMPLEMENTED, NOT-CLAIMED, EXPECTED-FAIL, NON-STRICT)")
    group.addoption("--ipc-show-evidence", action="store_true", default=False,
                    help="print every case's evidence in the terminal summary")


class State:
    """One session's options and what the plugin gathers during it."""

    def __init__(self, config):
        self.config = config
        opt = config.option
        self.impl_path = Path(opt.ipc_impl or DEFAULT_MANIFEST).resolve()
        self.json_path = Path(opt.ipc_json).resolve() if opt.ipc_json else None
        self.repeat = max(1, int(opt.ipc_repeat or 1))
        self.only = {c.strip().upper() for c in (opt.ipc_case or []) if c.strip()}
        self.forbid = sorted({k.strip().upper() for k in (opt.ipc_forbid or []) if k.strip()})
        unknown = [k for k in self.forbid if k not in KINDS]
        if unknown:
            raise pytest.UsageError(f"--ipc-forbid: unknown kind(s) {', '.join(unknown)}"
                                    f" (kinds: {', '.join(KINDS)})")
        workerinput = getattr(config, "workerinput", None)
        self.is_worker = workerinput is not None
        if workerinput is not None and "ipc_seed" in workerinput:
            self.seed = workerinput["ipc_seed"]
        elif opt.ipc_seed is not None:
            self.seed = opt.ipc_seed
        elif opt.ipc_random_order:
            self.seed = random.SystemRandom().randrange(1, 2**31)
        else:
            self.seed = None
        self.durations_path = Path(opt.ipc_durations).resolve() if opt.ipc_durations else None
        if workerinput is not None and "ipc_durations" in workerinput:
            self.durations = workerinput["ipc_durations"]    # the controller's, so the order agrees
        else:
            self.durations = read_durations(self.durations_path) if self.durations_path else {}
        self._manifest = None
        self.unrunnable: dict[str, str] = {}
        self.started = time.time()
        self.records: list[CaseRecord] = []
        self.selected: set[str] | None = None         # base nodeids (no xdist)
        self.controller_ids: set[str] = set()          # base nodeids (xdist controller)
        self.non_ipc_done: set[str] = set()
        self.non_ipc_failed = False
        self.ipc_seen = False
        self.workers: set[str] = set()
        self.run: Run | None = None
        self.json_error: str | None = None
        self.active = False       # a conformance run: the plugin's side effects are on

    def manifest(self):
        if self._manifest is None:
            from ipc_conformance.conformance.runner import manifest_api
            try:
                load_manifest, ManifestError = manifest_api()
            except SystemExit as e:
                raise pytest.UsageError(str(e))
            try:
                self._manifest = load_manifest(self.impl_path)
            except ManifestError as e:
                raise pytest.UsageError(f"invalid manifest {self.impl_path}: {e}")
            except OSError as e:
                raise pytest.UsageError(
                    f"cannot read manifest {self.impl_path}: {e.strerror or e}")
            self.unrunnable = check_programs(self._manifest)
        return self._manifest

    def stop_if_unrunnable(self) -> None:
        """A declared role whose program cannot run stops the run (exit
        status 4) unless the manifest says required = false."""
        manifest = self.manifest()
        if self.unrunnable and getattr(manifest, "required", True):
            raise pytest.exit(f"ipc-conformance: {unrunnable_message(manifest, self.unrunnable)}",
                              returncode=EXIT_UNRUNNABLE)

    def manifest_or_none(self):
        try:
            return self.manifest()
        except pytest.UsageError:
            return None

    def implementation(self) -> dict:
        m = self.manifest_or_none()
        impl = {"name": getattr(m, "name", None) or self.impl_path.stem,
                "manifest": str(getattr(m, "path", None) or self.impl_path),
                "kind": "implementation"}
        try:  # pass the [implementation] table through (kind, bug, expected_catchers, ...)
            with open(impl["manifest"], "rb") as f:
                table = tomllib.load(f).get("implementation", {})
            for key, value in table.items():
                if key not in ("name", "manifest") and isinstance(value, (str, int, float, bool, list)):
                    impl[key] = value
        except (OSError, tomllib.TOMLDecodeError):
            pass
        return impl

    def probe(self) -> str | None:
        """Which probe child the cases stage (harness.staging.probe_kind):
        "native" or "python"; None when it cannot be told."""
        try:
            from ipc_conformance.harness.staging import probe_kind
            return probe_kind(getattr(self.manifest_or_none(), "protocol", None))
        except (ImportError, OSError, ValueError):
            return None


def state(config) -> State:
    return config.stash[STATE]


# ---------------------------------------------------------------- durations
# The last runs' case durations of one implementation, for the order of the
# next run (slowest first, conformance.plugin): {"format": 1, "durations":
# {base nodeid: seconds}}. A file that cannot be read is an empty one.

DURATIONS_FORMAT = 1


def read_durations(path: Path | None) -> dict[str, float]:
    import json
    try:
        with open(path) as f:
            data = json.load(f)
        return {str(k): float(v) for k, v in (data.get("durations") or {}).items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def write_durations(path: Path, durations: dict[str, float], old: dict[str, float]) -> None:
    """Merge this run's durations into the file (cases not run keep theirs)."""
    import json
    import os
    merged = {**old, **{k: round(v, 4) for k, v in durations.items()}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump({"format": DURATIONS_FORMAT, "durations": dict(sorted(merged.items()))}, f,
                  indent=1)
        f.write("\n")
    os.replace(tmp, path)


def slowest_first(items, durations: dict[str, float], base_nodeid) -> None:
    """Sort ``items`` in place: cases with no known duration first (in
    collection order), then by descending duration (ties in collection order)."""
    def key(item):
        d = durations.get(base_nodeid(item.nodeid))
        return (0, 0.0) if d is None else (1, -d)
    items.sort(key=key)
