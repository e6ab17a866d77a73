"""OS level of the reference: addresses, unix sockets, spawning a child and
recognising that we are one. Nothing here imports pycapnp."""
