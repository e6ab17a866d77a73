"""ipc-conformance's one import name.

Installed (``pip install .``), the suite, the harness, the reference
implementation and the benchmarks are subpackages of this package
(``ipc_conformance.conformance``, ``.harness``, ``.reference_impl``,
``.bench``), so the distribution claims no generic top-level name such as
``harness`` or ``fixtures``. In a checkout they stay the repository's
top-level folders; this file then adds the repository root to the package's
path, so the same imports work there, in an editable install, and in
processes started without the site module (the probe child).
"""
import os as _os

_HERE = _os.path.dirname(_os.path.abspath(__file__))
if not _os.path.isdir(_os.path.join(_HERE, "harness")):       # a checkout
    __path__.append(_os.path.dirname(_HERE))                   # noqa: F821 (the package's own)
