"""Length-prefixed frames on a unix socket: how the grader, the zygote and the monitors talk."""
from __future__ import annotations

import socket
import struct


def send_frame(conn: socket.socket, payload: bytes) -> None:
    conn.sendall(struct.pack("!Q", len(payload)) + payload)


def recv_exact(conn: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = conn.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("connection closed early")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv_frame(conn: socket.socket, limit: int) -> bytes:
    """One frame, refusing (before reading it) one longer than ``limit`` bytes."""
    (size,) = struct.unpack("!Q", recv_exact(conn, 8))
    if size > limit:
        raise ConnectionError(f"frame of {size} bytes is over the limit")
    return recv_exact(conn, size)
