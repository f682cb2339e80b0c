"""HTTPS passthrough, TLS-HELLO checks and the PROMETHEUS listener on a real HAProxy.

One rendered configuration runs on loopback: an HTTPS listener passes TLS
through to a pool with a TLS-HELLO monitor and three members: a Python HTTPS
server (self-signed, nothing verifies it), a plain HTTP server, and a port
that answers every connection with a TLS alert (a TLS endpoint that cannot
complete a handshake). The TLS-HELLO check is a complete TLS handshake, so
only the first is UP. Octavia's `option ssl-hello-chk` would mark the third UP
as well: HAProxy accepts an alert (`^1[56]`) as the reply to its SSLv3 hello.
Member states are read from the stats socket with the agent's own `show stat`
parser. A PROMETHEUS listener answers `GET /metrics` with HAProxy's exporter.
Needs the haproxy binary (skipped without it); binds 127.0.0.1 only and stops
the one process it started.
"""

from __future__ import annotations

import http.server
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from tests.integration.rendering.test_l7_live import free_port, running_haproxy
from tests.integration.rendering.test_pool_tls_live import self_signed
from tests.unit.rendering.test_rendering_golden import (
    DEFAULTS,
    HAPROXY,
    listener,
    member,
    monitor,
    pool,
    uid,
)

from statera.agent.stats import parse_show_stat
from statera.domain.enums import Algorithm, HealthMonitorType, ListenerProtocol, PoolProtocol
from statera.domain.specs import AmphoraRuntime, LoadBalancerSpec
from statera.rendering import render_haproxy

pytestmark = pytest.mark.skipif(not Path(HAPROXY).exists(), reason="no haproxy")

TLS_MEMBER = uid("live-pt-tls-member")
PLAIN_MEMBER = uid("live-pt-plain-member")
ALERT_MEMBER = uid("live-pt-alert-member")
SETTLED = {TLS_MEMBER: "UP", PLAIN_MEMBER: "DOWN", ALERT_MEMBER: "DOWN"}
HANDSHAKE_FAILURE = bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])
"""A TLS record: fatal alert, handshake_failure."""
HTTPS_LISTENER = uid("live-pt-https")
BACKEND = f"{uid('live-pt-pool')}:{HTTPS_LISTENER}"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        tls = self.connection.version() if isinstance(self.connection, ssl.SSLSocket) else "none"
        body = f"member tls={tls}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _AlertHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.recv(4096)
        self.request.sendall(HANDSHAKE_FAILURE)


@dataclass(frozen=True)
class Members:
    tls_port: int
    plain_port: int
    alert_port: int
    tls_certificate: bytes
    """DER of the TLS member's certificate."""


@pytest.fixture
def members(tmp_path: Path) -> Iterator[Members]:
    """A TLS server (TLS 1.2 and 1.3), a plain HTTP server and an alert-only port."""
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    tls = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    tls.socket = context.wrap_socket(tls.socket, server_side=True)
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    alert = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _AlertHandler)
    alert.daemon_threads = True
    servers: tuple[socketserver.TCPServer, ...] = (tls, plain, alert)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    der = x509.load_pem_x509_certificate(cert.read_bytes()).public_bytes(Encoding.DER)
    try:
        yield Members(
            int(tls.server_address[1]),
            int(plain.server_address[1]),
            int(alert.server_address[1]),
            der,
        )
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        for thread in threads:
            thread.join(timeout=5)


def spec(members: Members, *, https_port: int, metrics_port: int) -> LoadBalancerSpec:
    hello = monitor(
        "live-pt-hello",
        HealthMonitorType.TLS_HELLO,
        delay_s=1,
        timeout_s=1,
        max_retries=1,
        max_retries_down=1,
    )
    passthrough = pool(
        "live-pt-pool",
        PoolProtocol.HTTPS,
        Algorithm.ROUND_ROBIN,
        member("live-pt-tls-member", "127.0.0.1", members.tls_port),
        member("live-pt-plain-member", "127.0.0.1", members.plain_port),
        member("live-pt-alert-member", "127.0.0.1", members.alert_port),
        health_monitor=hello,
    )
    return LoadBalancerSpec(
        id=uid("live-pt-lb"),
        vip_address="127.0.0.1",
        listeners=(
            listener("live-pt-https", ListenerProtocol.HTTPS, https_port, "live-pt-pool"),
            listener("live-pt-metrics", ListenerProtocol.PROMETHEUS, metrics_port, None),
        ),
        pools=(passthrough,),
    )


@dataclass(frozen=True)
class Running:
    https_port: int
    metrics_port: int
    stats_socket: str


@pytest.fixture
def haproxy(tmp_path: Path, members: Members) -> Iterator[Running]:
    https_port, metrics_port = free_port(), free_port()
    runtime = AmphoraRuntime(amphora_id=uid("live-pt-amp"), base_dir=str(tmp_path))
    config = tmp_path / "haproxy.cfg"
    text = render_haproxy(
        spec(members, https_port=https_port, metrics_port=metrics_port),
        runtime=runtime,
        defaults=DEFAULTS,
    )
    config.write_text(text)
    with running_haproxy(config, [https_port, metrics_port]):
        yield Running(https_port, metrics_port, runtime.stats_socket)


def get(port: int, path: str) -> tuple[int, bytes]:
    request = f"GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def show_stat(stats_socket: str) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(stats_socket)
        s.sendall(b"show stat\n")
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    return reply.decode()


def member_states(stats_socket: str, expected: dict[str, str]) -> dict[str, str]:
    """The backend's member states, once they equal `expected` or after 10 s."""
    deadline = time.monotonic() + 10
    while True:
        _, pools = parse_show_stat(show_stat(stats_socket))
        states = dict(pools[BACKEND]["members"])
        if states == expected or time.monotonic() > deadline:
            return states
        time.sleep(0.2)


def test_tls_hello_needs_a_complete_handshake(haproxy: Running) -> None:
    """Only the TLS member is UP: plain HTTP and a TLS alert are not a handshake."""
    assert member_states(haproxy.stats_socket, SETTLED) == SETTLED


def test_https_listener_passes_tls_through_to_the_member(
    haproxy: Running, members: Members
) -> None:
    """The client's TLS session is with the member: its certificate, its TLS version."""
    member_states(haproxy.stats_socket, SETTLED)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    for _ in range(3):
        with (
            socket.create_connection(("127.0.0.1", haproxy.https_port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="member.test") as tls,
        ):
            assert tls.getpeercert(binary_form=True) == members.tls_certificate
            version = tls.version()
            tls.sendall(b"GET / HTTP/1.1\r\nHost: member.test\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := tls.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.0 200")
        assert answer.endswith(f"member tls={version}".encode())


def test_prometheus_listener_serves_haproxy_metrics(haproxy: Running) -> None:
    member_states(haproxy.stats_socket, SETTLED)
    status, body = get(haproxy.metrics_port, "/metrics")
    assert status == 200
    text = body.decode()
    assert "# TYPE haproxy_process_uptime_seconds gauge" in text
    assert f'haproxy_frontend_current_sessions{{proxy="{HTTPS_LISTENER}"}}' in text
    assert f'haproxy_server_check_status{{proxy="{BACKEND}",server="{TLS_MEMBER}"' in text


def test_prometheus_listener_answers_404_elsewhere(haproxy: Running) -> None:
    assert get(haproxy.metrics_port, "/")[0] == 404
