"""Descriptor tables of other processes, from /proc.

A descriptor is identified by the kernel object it points to (the inode in
``socket:[N]``), never by its number: the same socket has different numbers
in the parent and the child. Close-on-exec comes from fdinfo's flags."""
import os
import re
from dataclasses import dataclass

O_CLOEXEC = 0o2000000
_INODE = re.compile(r"^(socket|pipe):\[(\d+)\]$")


@dataclass(frozen=True)
class FdEntry:
    fd: int
    target: str
    flags: int
    cloexec: bool
    inode: int | None
    kind: str          # socket, pipe, file, anon, other

    def brief(self) -> str:
        return f"{self.fd} -> {self.target}{' (cloexec)' if self.cloexec else ''}"


def _kind(target: str) -> str:
    if target.startswith("socket:"):
        return "socket"
    if target.startswith("pipe:"):
        return "pipe"
    if target.startswith("anon_inode:"):
        return "anon"
    if target.startswith("/"):
        return "file"
    return "other"


def fd_table(pid: int | str = "self") -> dict[int, FdEntry]:
    """Every open descriptor of ``pid``; ones that close while we read are skipped."""
    table = {}
    base = f"/proc/{pid}"
    for name in os.listdir(f"{base}/fd"):
        try:
            target = os.readlink(f"{base}/fd/{name}")
            with open(f"{base}/fdinfo/{name}") as f:
                info = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        flags = int(re.search(r"^flags:\s+(\d+)", info, re.M).group(1), 8)
        m = _INODE.match(target)
        table[int(name)] = FdEntry(int(name), target, flags, bool(flags & O_CLOEXEC),
                                   int(m.group(2)) if m else None, _kind(target))
    return table


def socket_inode(sock_or_fd) -> int:
    fd = sock_or_fd if isinstance(sock_or_fd, int) else sock_or_fd.fileno()
    return os.fstat(fd).st_ino


def inherited(table: dict[int, FdEntry]) -> dict[int, FdEntry]:
    """The descriptors a process would pass on through exec."""
    return {fd: e for fd, e in table.items() if not e.cloexec}


def holders_of(inode: int) -> list[tuple[int, int]]:
    """(pid, fd) of every process that holds the socket or pipe ``inode``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            names = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for name in names:
            try:
                m = _INODE.match(os.readlink(f"/proc/{pid}/fd/{name}"))
            except OSError:
                continue
            if m and int(m.group(2)) == inode:
                found.append((int(pid), int(name)))
    return found
