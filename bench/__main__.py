"""``python -m bench``: the same command as ``ipc-conformance bench``."""
import sys

from bench.runner import main

sys.exit(main())
