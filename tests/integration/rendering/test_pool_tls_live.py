"""Pool TLS works on the wire: a real HAProxy on loopback re-encrypts to a TLS member.

The member is a Python HTTPS server in a thread with a throwaway self-signed
certificate (nothing verifies it: `verify none`, as Octavia without a CA). It
answers with the TLS version it negotiated, so the test sees that HAProxy
spoke TLS and honoured `tls_versions`. Needs the haproxy binary (skipped
without it); binds 127.0.0.1 only and stops the one process it started.
"""

from __future__ import annotations

import datetime
import http.server
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tests.integration.rendering.test_l7_live import free_port, running_haproxy
from tests.unit.rendering.test_rendering_golden import (
    DEFAULTS,
    HAPROXY,
    listener,
    member,
    pool,
    uid,
)

from statera.domain.enums import Algorithm, ListenerProtocol, PoolProtocol
from statera.domain.specs import AmphoraRuntime, LoadBalancerSpec, PoolTlsSpec
from statera.rendering import render_haproxy

pytestmark = pytest.mark.skipif(not Path(HAPROXY).exists(), reason="no haproxy")


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "member.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "member.crt", directory / "member.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        assert isinstance(self.connection, ssl.SSLSocket)
        body = f"tls-member {self.connection.version()}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def tls_member(tmp_path: Path) -> Iterator[int]:
    """An HTTPS server on 127.0.0.1 speaking TLS 1.2 at most (so 1.3-only must fail)."""
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def spec(member_port: int, ports: dict[str, int]) -> LoadBalancerSpec:
    cases = {
        "default": PoolTlsSpec(versions=("TLSv1.2", "TLSv1.3"), alpn_protocols=("http/1.1",)),
        "only13": PoolTlsSpec(versions=("TLSv1.3",)),
        "plain": None,
    }
    pools = tuple(
        pool(
            f"live-tls-{name}",
            PoolProtocol.HTTP,
            Algorithm.ROUND_ROBIN,
            member(f"live-tls-m-{name}", "127.0.0.1", member_port),
            tls=tls,
        )
        for name, tls in cases.items()
    )
    listeners = tuple(
        listener(f"live-tls-l-{name}", ListenerProtocol.HTTP, ports[name], f"live-tls-{name}")
        for name in cases
    )
    return LoadBalancerSpec(
        id=uid("live-tls-lb"), vip_address="127.0.0.1", listeners=listeners, pools=pools
    )


@pytest.fixture
def haproxy_ports(tmp_path: Path, tls_member: int) -> Iterator[dict[str, int]]:
    ports = {name: free_port() for name in ("default", "only13", "plain")}
    runtime = AmphoraRuntime(amphora_id=uid("live-tls-amp"), base_dir=str(tmp_path))
    config = tmp_path / "haproxy.cfg"
    config.write_text(render_haproxy(spec(tls_member, ports), runtime=runtime, defaults=DEFAULTS))
    with running_haproxy(config, ports.values()):
        yield ports


def get(port: int) -> tuple[int, bytes]:
    request = b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def test_tls_pool_reaches_a_tls_member(haproxy_ports: dict[str, int]) -> None:
    assert get(haproxy_ports["default"]) == (200, b"tls-member TLSv1.2")


def test_tls_versions_are_enforced(haproxy_ports: dict[str, int]) -> None:
    # The member stops at TLS 1.2; a TLSv1.3-only pool cannot complete a handshake.
    assert get(haproxy_ports["only13"])[0] == 503


def test_plain_pool_does_not_speak_tls(haproxy_ports: dict[str, int]) -> None:
    # Plain HTTP to a TLS port fails: the TLS on the other pools is the pool's doing.
    assert get(haproxy_ports["plain"])[0] in (502, 503)
