"""Loads the wire schemas once per process.

The schema files under ``reference_impl/schemas`` carry upstream's file IDs,
so the type IDs of Init, Echo, ThreadMap, Thread and Context are upstream's.
"""
import functools
from dataclasses import dataclass
from pathlib import Path

import capnp

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


@dataclass(frozen=True)
class Schemas:
    proxy: object
    init: object
    echo: object


@functools.cache
def schemas() -> Schemas:
    imports = [str(SCHEMA_DIR)]
    return Schemas(
        proxy=capnp.load(str(SCHEMA_DIR / "mp" / "proxy.capnp"), imports=imports),
        init=capnp.load(str(SCHEMA_DIR / "init.capnp"), imports=imports),
        echo=capnp.load(str(SCHEMA_DIR / "echo.capnp"), imports=imports),
    )
