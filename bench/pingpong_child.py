"""The physical floor of a round trip between two Python processes: echo
every message back on an inherited socket until EOF, with nothing else.
``python pingpong_child.py FD``."""
import socket
import sys


def main(fd: int):
    sock = socket.socket(fileno=fd)
    while True:
        data = sock.recv(65536)
        if not data:
            return
        sock.sendall(data)


if __name__ == "__main__":
    main(int(sys.argv[1]))
