"""What the kernel knows of unix sockets, through iproute2's ``ss``: how many
clients wait in a listener's backlog (the only honest sign that a connection
limit holds clients back) and which socket is the peer of which (a
socketpair's two ends have no path; only the inodes tie them)."""
import shutil
import subprocess



def _ss(*args) -> list[list[str]]:
    ss = shutil.which("ss")
    if ss is None:
        raise RuntimeError("iproute2's 'ss' is needed to read the socket table (apt-get install iproute2)")
    out = subprocess.run([ss, "-xnH", *args], capture_output=True, text=True, check=True).stdout
    return [line.split() for line in out.splitlines() if line.strip()]


def backlog(path: str) -> int:
    """Connections waiting to be accepted on the listener at ``path``.
    A blocking connect() returns once the kernel queued the client, so
    right after it this count is exact: no waiting is needed."""
    for f in _ss("-l"):
        # Netid State Recv-Q Send-Q Local-Address Local-Inode Peer Peer-Inode
        if len(f) >= 6 and f[4] == path:
            return int(f[2])
    raise LookupError(f"nothing listens at {path}")


def listening_inode(path: str) -> int:
    """The inode of the socket listening at ``path`` (to find it in
    descriptor tables, where a socket shows only as ``socket:[inode]``)."""
    for f in _ss("-l"):
        if len(f) >= 6 and f[4] == path and f[5].isdigit():
            return int(f[5])
    raise LookupError(f"nothing listens at {path}")


def peer_inodes() -> dict[int, int]:
    """Inode -> the inode of its peer, for every connected unix socket."""
    peers = {}
    for f in _ss():
        if len(f) >= 8 and f[5].isdigit() and f[7].isdigit():
            peers[int(f[5])] = int(f[7])
    return peers
