"""TLS termination and re-encryption with files work on the wire: a real HAProxy on loopback.

The rendered configuration names real files (written where the agent would keep
them, `<base_dir>/certs/`): two site certificates chosen by SNI, a client CA with
a CRL, and for re-encryption a client certificate the LB presents to a member
that requires it plus the CA the member's certificate is verified against.
Backends are Python servers in threads that echo what they saw. Needs the
haproxy binary (skipped without it); binds 127.0.0.1 only and stops the one
HAProxy process it started.
"""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from tests.integration.rendering.test_l7_live import free_port, running_haproxy
from tests.tls_material import Ca, cert_pem, make_ca, make_crl, make_server_cert
from tests.unit.rendering.test_rendering_golden import (
    DEFAULTS,
    HAPROXY,
    listener,
    member,
    pool,
    uid,
)

from statera.domain.enums import Algorithm, ListenerProtocol, PoolProtocol
from statera.domain.specs import AmphoraRuntime, ListenerTlsSpec, LoadBalancerSpec, PoolTlsSpec
from statera.rendering import render_haproxy

pytestmark = pytest.mark.skipif(not Path(HAPROXY).exists(), reason="no haproxy")

TLS_HEADERS = ("X-SSL-Client-Verify", "X-SSL-Client-Has-Cert", "X-SSL-Client-CN")


@dataclass(frozen=True)
class Issued:
    """A leaf certificate and its key, PEM."""

    cert_pem: bytes
    key_pem: bytes

    @property
    def bundle_pem(self) -> bytes:
        """Certificate then key, the one-file form HAProxy's `crt` reads."""
        return self.cert_pem + self.key_pem

    @property
    def serial(self) -> int:
        return x509.load_pem_x509_certificate(self.cert_pem).serial_number


def leaf(ca: Ca, common_name: str, *dns_names: str) -> Issued:
    return Issued(*make_server_cert(ca, dns_names, common_name=common_name))


@dataclass(frozen=True)
class Material:
    site_ca: Ca
    www: Issued
    api: Issued
    client_ca: Ca
    good_client: Issued
    revoked_client: Issued
    client_crl: bytes
    member_ca: Ca
    member: Issued
    lb_client_ca: Ca
    lb_client: Issued
    other_ca: Ca

    def tls_files(self) -> tuple[tuple[str, bytes], ...]:
        return (
            ("www.pem", self.www.bundle_pem),
            ("api.pem", self.api.bundle_pem),
            ("client-ca.pem", cert_pem(self.client_ca[0])),
            ("client-crl.pem", self.client_crl),
            ("lb-client.pem", self.lb_client.bundle_pem),
            ("member-ca.pem", cert_pem(self.member_ca[0])),
            ("other-ca.pem", cert_pem(self.other_ca[0])),
        )


@pytest.fixture(scope="module")
def material() -> Material:
    site_ca, client_ca, member_ca = make_ca("Site CA"), make_ca("Client CA"), make_ca("Member CA")
    lb_client_ca = make_ca("LB client CA")
    revoked = leaf(client_ca, "client-revoked")
    return Material(
        site_ca=site_ca,
        www=leaf(site_ca, "www.example.com", "www.example.com"),
        api=leaf(site_ca, "api.example.com", "api.example.com"),
        client_ca=client_ca,
        good_client=leaf(client_ca, "client-good"),
        revoked_client=revoked,
        client_crl=make_crl(client_ca, [revoked.serial]),
        member_ca=member_ca,
        # HAProxy checks the member's name against the SNI it sends (the client's).
        member=leaf(member_ca, "member.test", "www.example.com", "member.test"),
        lb_client_ca=lb_client_ca,
        lb_client=leaf(lb_client_ca, "lb-client"),
        other_ca=make_ca("Unrelated CA"),
    )


def common_name(peer: dict[str, Any] | None) -> str | None:
    """The subject CN of a certificate as `SSLSocket.getpeercert()` describes it."""
    for rdn in (peer or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


class EchoHandler(http.server.BaseHTTPRequestHandler):
    """Answers 200 with JSON: the TLS headers it got, and the TLS client's CN if any."""

    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        seen: dict[str, str | None] = {h: self.headers.get(h) for h in TLS_HEADERS}
        seen["X-Forwarded-Proto"] = self.headers.get("X-Forwarded-Proto")
        if isinstance(self.connection, ssl.SSLSocket):
            seen["peer"] = common_name(self.connection.getpeercert())
        body = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def servers(
    material: Material, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, int]]:
    """A plain echo server and a TLS one that requires the LB's client certificate."""
    directory = tmp_path_factory.mktemp("members")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(write(directory, "member.pem", material.member.bundle_pem))
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=cert_pem(material.lb_client_ca[0]).decode())
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    secure = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    secure.socket = context.wrap_socket(secure.socket, server_side=True)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (plain, secure)]
    for thread in threads:
        thread.start()
    try:
        yield {"plain": int(plain.server_address[1]), "tls": int(secure.server_address[1])}
    finally:
        for server in (plain, secure):
            server.shutdown()
            server.server_close()
        for thread in threads:
            thread.join(timeout=5)


def spec(material: Material, servers: dict[str, int], ports: dict[str, int]) -> LoadBalancerSpec:
    echo = pool(
        "live-echo",
        PoolProtocol.HTTP,
        Algorithm.ROUND_ROBIN,
        member("live-echo-1", "127.0.0.1", servers["plain"]),
    )
    reencrypt = pool(
        "live-reencrypt",
        PoolProtocol.HTTP,
        Algorithm.ROUND_ROBIN,
        member("live-reencrypt-1", "127.0.0.1", servers["tls"]),
        tls=PoolTlsSpec(certificate="lb-client.pem", ca="member-ca.pem"),
    )
    wrong_ca = pool(
        "live-wrong-ca",
        PoolProtocol.HTTP,
        Algorithm.ROUND_ROBIN,
        member("live-wrong-ca-1", "127.0.0.1", servers["tls"]),
        tls=PoolTlsSpec(certificate="lb-client.pem", ca="other-ca.pem"),
    )
    headers = (("X-Forwarded-Proto", "true"), *((h, "true") for h in TLS_HEADERS))
    mandatory = listener(
        "live-mandatory",
        ListenerProtocol.TERMINATED_HTTPS,
        ports["mandatory"],
        "live-echo",
        insert_headers=headers,
        tls=ListenerTlsSpec(
            certificates=("www.pem", "api.pem"),
            client_ca="client-ca.pem",
            client_crl="client-crl.pem",
            client_authentication="MANDATORY",
            versions=("TLSv1.2", "TLSv1.3"),
            alpn_protocols=("http/1.1",),
            hsts_max_age=31536000,
            hsts_include_subdomains=True,
        ),
    )
    optional = listener(
        "live-optional",
        ListenerProtocol.TERMINATED_HTTPS,
        ports["optional"],
        "live-echo",
        insert_headers=headers,
        tls=ListenerTlsSpec(
            certificates=("www.pem",), client_ca="client-ca.pem", client_authentication="OPTIONAL"
        ),
    )
    reencrypting = listener(
        "live-reencrypting",
        ListenerProtocol.TERMINATED_HTTPS,
        ports["reencrypt"],
        "live-reencrypt",
        tls=ListenerTlsSpec(certificates=("www.pem",)),
    )
    unverifiable = listener(
        "live-wrong-ca-l", ListenerProtocol.HTTP, ports["wrong_ca"], "live-wrong-ca"
    )
    return LoadBalancerSpec(
        id=uid("live-tls-termination"),
        vip_address="127.0.0.1",
        listeners=(mandatory, optional, reencrypting, unverifiable),
        pools=(echo, reencrypt, wrong_ca),
        tls_files=material.tls_files(),
    )


@dataclass(frozen=True)
class Live:
    ports: dict[str, int]
    directory: Path
    material: Material


@pytest.fixture(scope="module")
def live(
    material: Material, servers: dict[str, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    base_dir = tmp_path_factory.mktemp("amp")
    certs = base_dir / "certs"
    certs.mkdir(mode=0o700)
    for name, data in material.tls_files():
        write(certs, name, data).chmod(0o600)
    ports = {name: free_port() for name in ("mandatory", "optional", "reencrypt", "wrong_ca")}
    runtime = AmphoraRuntime(amphora_id=uid("live-tls-termination-amp"), base_dir=str(base_dir))
    config = base_dir / "haproxy.cfg"
    config.write_text(
        render_haproxy(spec(material, servers, ports), runtime=runtime, defaults=DEFAULTS)
    )
    check = subprocess.run(
        [HAPROXY, "-c", "-f", str(config)], capture_output=True, text=True, timeout=30, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    with running_haproxy(config, ports.values()):
        yield Live(ports, base_dir, material)


@dataclass(frozen=True)
class Answer:
    server_cn: str | None
    status: int
    headers: dict[str, str]
    body: bytes


def https_get(
    live: Live, listener_name: str, *, sni: str | None, client: Issued | None = None
) -> Answer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False  # the CN is compared below; SNI may be absent
    context.load_verify_locations(cadata=cert_pem(live.material.site_ca[0]).decode())
    if client is not None:
        key = write(live.directory, f"client-{id(client)}.pem", client.bundle_pem)
        context.load_cert_chain(key)
    request = b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    address = ("127.0.0.1", live.ports[listener_name])
    with (
        socket.create_connection(address, timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=sni) as tls,
    ):
        server_cn = common_name(tls.getpeercert())
        tls.sendall(request)
        answer = b""
        while chunk := tls.recv(4096):
            answer += chunk
    if not answer:
        raise ConnectionResetError("closed without an answer")
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return Answer(server_cn, int(lines[0].split(" ")[1]), headers, body)


def refused(live: Live, listener_name: str, *, client: Issued | None = None) -> bool:
    try:
        https_get(live, listener_name, sni="www.example.com", client=client)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return True
    return False


def test_sni_chooses_the_certificate_and_the_first_is_the_default(live: Live) -> None:
    good = live.material.good_client
    assert (
        https_get(live, "mandatory", sni="www.example.com", client=good).server_cn
        == "www.example.com"
    )
    assert (
        https_get(live, "mandatory", sni="api.example.com", client=good).server_cn
        == "api.example.com"
    )
    assert (
        https_get(live, "mandatory", sni="other.example.com", client=good).server_cn
        == "www.example.com"
    )
    assert https_get(live, "mandatory", sni=None, client=good).server_cn == "www.example.com"


def test_mandatory_client_auth_with_crl(live: Live) -> None:
    answer = https_get(live, "mandatory", sni="www.example.com", client=live.material.good_client)
    assert answer.status == 200
    seen = json.loads(answer.body)
    assert seen["X-Forwarded-Proto"] == "https"
    assert seen["X-SSL-Client-Verify"] == "0"
    assert seen["X-SSL-Client-Has-Cert"] == "1"
    # `%{+Q}` (Octavia's) does not add quotes in a set-header value on HAProxy 2.6.
    assert seen["X-SSL-Client-CN"] == "client-good"
    assert answer.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains;"
    assert refused(live, "mandatory")
    assert refused(live, "mandatory", client=live.material.revoked_client)
    assert refused(live, "mandatory", client=leaf(make_ca("Stranger"), "x"))


def test_optional_client_auth(live: Live) -> None:
    without = https_get(live, "optional", sni="www.example.com")
    assert without.status == 200
    assert json.loads(without.body)["X-SSL-Client-Has-Cert"] == "0"
    assert "strict-transport-security" not in without.headers
    with_cert = https_get(live, "optional", sni="www.example.com", client=live.material.good_client)
    assert json.loads(with_cert.body)["X-SSL-Client-Has-Cert"] == "1"


def test_reencryption_presents_the_client_certificate_and_verifies_the_member(live: Live) -> None:
    answer = https_get(live, "reencrypt", sni="www.example.com")
    assert answer.status == 200
    assert json.loads(answer.body)["peer"] == "lb-client"


def test_a_member_signed_by_another_ca_is_refused(live: Live) -> None:
    request = b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", live.ports["wrong_ca"]), timeout=5) as s:
        s.sendall(request)
        head = s.recv(64)
    assert int(head.split(b" ")[1]) == 503
