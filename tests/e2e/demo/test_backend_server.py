"""The demo backend server: HTTP/1.1 semantics on a fake transport, then real sockets on loopback.

Needs no root: nothing here leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from statera.demo.backend_server import EchoProtocol, HttpProtocol, Responses


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.sent = bytearray()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.sent += data

    def close(self) -> None:
        self.closed = True


def feed(*chunks: bytes) -> FakeTransport:
    transport = FakeTransport()
    protocol = HttpProtocol(Responses("web-1"))
    protocol.connection_made(transport)
    for chunk in chunks:
        protocol.data_received(chunk)
    return transport


def responses(transport: FakeTransport) -> list[bytes]:
    return [part for part in bytes(transport.sent).split(b"HTTP/1.1 ") if part]


def test_keep_alive_and_pipelining() -> None:
    t = feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\n\r\n")
    first, second = responses(t)
    assert first.startswith(b"200 OK") and first.endswith(b"\r\n\r\nbackend web-1\n")
    assert b"Content-Length: 14\r\n" in first and b"X-Backend: web-1" in first
    assert second.endswith(b"\r\n\r\nok\n")
    assert not t.closed


def test_a_request_split_across_reads_and_a_body_are_handled() -> None:
    t = feed(b"POST /x HTTP/1.1\r\nContent-Le", b"ngth: 5\r\n\r\nhel", b"loGET / HTTP/1.1\r\n\r\n")
    assert len(responses(t)) == 2


@pytest.mark.parametrize(
    ("request_head", "closes"),
    [
        (b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", True),
        (b"GET / HTTP/1.0\r\n\r\n", True),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", False),
        (b"GET / HTTP/1.1\r\n\r\n", False),
    ],
)
def test_connection_close_rules(request_head: bytes, closes: bool) -> None:
    t = feed(request_head)
    assert t.closed is closes
    assert (b"Connection: close" in t.sent) is closes


def test_head_has_no_body_and_bad_requests_close() -> None:
    head = feed(b"HEAD / HTTP/1.1\r\n\r\n")
    assert head.sent.endswith(b"\r\n\r\n") and b"Content-Length: 14" in head.sent
    for bad, status in [
        (b"NONSENSE\r\n\r\n", b"400"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", b"501"),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", b"413"),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 20000, b"431"),
    ]:
        t = feed(bad)
        assert t.sent.startswith(b"HTTP/1.1 " + status) and t.closed


def test_echo_protocol_echoes() -> None:
    transport = FakeTransport()
    protocol = EchoProtocol()
    protocol.connection_made(transport)
    protocol.data_received(b"ping")
    assert transport.sent == b"ping"


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[int]:
    mode = request.param
    port = free_port(socket.SOCK_DGRAM if mode == "udp-echo" else socket.SOCK_STREAM)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "statera.demo.backend_server", "--mode", mode),
            *("--name", "loop-1", "--host", "127.0.0.1", "--port", str(port)),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    try:
        assert "listening" in proc.stderr.readline()
        yield port
        proc.terminate()
        assert proc.wait(timeout=5) == 0  # SIGTERM is a clean stop
    finally:
        proc.kill()  # no-op once it has exited
        proc.wait(timeout=5)
        proc.stderr.close()


@pytest.mark.parametrize("server", ["http"], indirect=True)
def test_http_server_on_loopback(server: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=3)
    started = time.monotonic()
    for _ in range(200):  # one keep-alive connection
        conn.request("GET", "/")
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"backend loop-1\n")
    assert time.monotonic() - started < 5
    conn.close()


@pytest.mark.parametrize("server", ["echo"], indirect=True)
def test_tcp_echo_on_loopback(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=3) as conn:
        conn.sendall(b"hello")
        assert conn.recv(100) == b"hello"


@pytest.mark.parametrize("server", ["udp-echo"], indirect=True)
def test_udp_echo_on_loopback(server: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        sock.sendto(b"hello", ("127.0.0.1", server))
        assert sock.recv(100) == b"hello"
        sock.sendto(b"name?", ("127.0.0.1", server))
        assert sock.recv(100).startswith(b"backend ")
