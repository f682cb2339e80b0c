"""A small, fast backend to put behind a load balancer (stdlib asyncio only).

    python -m statera.demo.backend_server --name web-1 --port 8080          # HTTP/1.1
    python -m statera.demo.backend_server --mode echo --port 7000           # TCP echo
    python -m statera.demo.backend_server --mode udp-echo --port 7000       # UDP echo ("name?": name)

HTTP mode answers every request with `backend <name>\\n` (200, `X-Backend: <name>`),
except `/health`, which answers `ok\\n`. It speaks HTTP/1.1 keep-alive and
pipelining, honours `Connection: close` (and HTTP/1.0's default close), reads
and discards request bodies sent with Content-Length, and refuses chunked request
bodies (501). `python -m http.server` is HTTP/1.0 and slow; this one is meant to
be faster than the HAProxy in front of it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
from typing import cast

MAX_HEAD = 16 * 1024
MAX_BODY = 1024 * 1024


def _response(status: str, body: bytes, *, name: str, close: bool, head: bool) -> bytes:
    headers = [
        f"HTTP/1.1 {status}",
        "Content-Type: text/plain; charset=utf-8",
        f"Content-Length: {len(body)}",
        f"X-Backend: {name}",
    ]
    if close:
        headers.append("Connection: close")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + (b"" if head else body)


class Responses:
    """Every response the server sends, encoded once."""

    def __init__(self, name: str) -> None:
        if not name.isprintable():
            raise ValueError(f"backend name {name!r}: use printable characters only")
        self.cache: dict[tuple[bool, bool, bool], bytes] = {}
        for health in (False, True):
            body = b"ok\n" if health else f"backend {name}\n".encode()
            for close in (False, True):
                for head in (False, True):
                    self.cache[(health, close, head)] = _response(
                        "200 OK", body, name=name, close=close, head=head
                    )
        self.name = name

    def error(self, status: str) -> bytes:
        return _response(status, f"{status}\n".encode(), name=self.name, close=True, head=False)


class HttpProtocol(asyncio.Protocol):
    def __init__(self, responses: Responses) -> None:
        self._responses = responses
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        out = []
        close = False
        while not close:
            request = self._next_request()
            if request is None:
                break
            payload, close = request
            out.append(payload)
        if out and self._transport is not None:
            self._transport.write(b"".join(out))
            if close:
                self._transport.close()

    def _next_request(self) -> tuple[bytes, bool] | None:
        """The answer to the next complete request in the buffer and whether to close after it."""
        buf = self._buffer
        while buf.startswith(b"\r\n"):  # tolerate blank lines between requests
            del buf[:2]
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEAD:
                return self._responses.error("431 Request Header Fields Too Large"), True
            return None
        line_end = buf.find(b"\r\n")
        parts = bytes(buf[:line_end]).split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            return self._responses.error("400 Bad Request"), True
        method, target, version = parts
        # Header names are case-insensitive: search the lower-cased head (it ends with CRLF).
        head = bytes(buf[line_end : end + 2]).lower()
        if _header(head, b"transfer-encoding") is not None:
            return self._responses.error("501 Not Implemented"), True
        length = 0
        raw_length = _header(head, b"content-length")
        if raw_length is not None:
            if not raw_length.isdigit():
                return self._responses.error("400 Bad Request"), True
            length = int(raw_length)
        if length > MAX_BODY:
            return self._responses.error("413 Content Too Large"), True
        if len(buf) < end + 4 + length:
            return None  # wait for the rest of the body
        del buf[: end + 4 + length]
        connection = _header(head, b"connection")
        # HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless told not to.
        close = connection != b"keep-alive" if version == b"HTTP/1.0" else connection == b"close"
        health = target.split(b"?", 1)[0] == b"/health"
        return self._responses.cache[(health, close, method == b"HEAD")], close


def _header(head: bytes, name: bytes) -> bytes | None:
    """The stripped value of header `name` in a lower-cased head starting and ending with CRLF."""
    start = head.find(b"\r\n" + name + b":")
    if start < 0:
        return None
    start += len(name) + 3
    return head[start : head.find(b"\r\n", start)].strip()


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._transport.write(data)


class UdpEchoProtocol(asyncio.DatagramProtocol):
    """Echoes each datagram; `name?` is answered with `backend <name>` (which member
    answered, for load-balancing checks)."""

    def __init__(self, name: str = "") -> None:
        self._name = f"backend {name}".encode()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # 3.11's selector datagram transport does not subclass DatagramTransport.
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        self._transport.sendto(self._name if data == b"name?" else data, addr)


async def serve(*, mode: str, name: str, host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    closer: asyncio.BaseTransport | asyncio.Server
    if mode == "udp-echo":
        closer, _ = await loop.create_datagram_endpoint(
            lambda: UdpEchoProtocol(name), local_addr=(host, port)
        )
    else:
        responses = Responses(name)

        def factory() -> asyncio.Protocol:
            return HttpProtocol(responses) if mode == "http" else EchoProtocol()

        closer = await loop.create_server(factory, host, port, backlog=4096, reuse_address=True)
    print(f"{mode} backend {name} listening on {host}:{port}", file=sys.stderr, flush=True)
    await stop.wait()
    closer.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m statera.demo.backend_server")
    parser.add_argument("--mode", choices=("http", "echo", "udp-echo"), default="http")
    parser.add_argument("--name", default=socket.gethostname(), help="named in every answer")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(mode=args.mode, name=args.name, host=args.host, port=args.port))


if __name__ == "__main__":
    main()
