"""Talk to HAProxy's UNIX sockets: the master CLI (`master.sock`) and the runtime API (`haproxy.sock`).

One connection per command, closed by us after sending (HAProxy then answers
and closes), so a reply is simply everything read until EOF. Every call has a
timeout: a wedged HAProxy must not wedge an agent thread.
"""

from __future__ import annotations

import socket
from pathlib import Path

DEFAULT_TIMEOUT_S = 5.0
_MAX_REPLY_BYTES = 64 * 1024 * 1024


class SocketUnavailable(OSError):
    """The socket is missing, refuses connections, or did not answer in time."""


def query(path: Path, command: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> str:
    """Send one command line to the HAProxy socket at `path` and return its whole reply."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout_s)
    try:
        sock.connect(str(path))
        sock.sendall(command.encode() + b"\n")
        # Without the half-close HAProxy's master CLI keeps the session open.
        sock.shutdown(socket.SHUT_WR)
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                # HAProxy may reset after its full reply; on a UNIX socket queued
                # data is read before the reset, so what we have is the reply.
                if not chunks:
                    raise
                break
            if not chunk:
                break
            size += len(chunk)
            if size > _MAX_REPLY_BYTES:
                raise SocketUnavailable(f"{path}: reply to {command!r} exceeds {size} bytes")
            chunks.append(chunk)
    except SocketUnavailable:
        raise
    except OSError as exc:
        raise SocketUnavailable(f"{path}: {command!r}: {exc}") from exc
    finally:
        sock.close()
    return b"".join(chunks).decode("utf-8", errors="replace")
