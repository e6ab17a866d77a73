"""How the conformance suite reaches an implementation: from outside, through
processes, sockets and terminals. Nothing here imports ``reference_impl``:
a bug shared by the reference and the suite would otherwise be invisible."""
