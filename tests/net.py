"""Loopback helpers shared by the server tests and the HTTP benchmark."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listeners(port: int) -> int:
    """Sockets listening on the port (one per worker under api.server)."""
    wanted = f":{port:04X} "
    with open("/proc/net/tcp") as table:
        return sum(1 for row in table if wanted in row and row.split()[3] == "0A")
