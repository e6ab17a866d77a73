"""``python -m bench``: the same command as ``ipc-conformance bench``."""
import sys

from ipc_conformance.bench.runner import main

sys.exit(main())
