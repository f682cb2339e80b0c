"""TERMINATED_HTTPS through the whole stack, as Octavia's TLS cookbook does it.

The certificates go into Statera's key manager (`/v1/secrets`, `/v1/containers`)
exactly as `openstack secret store` puts them into Barbican: a PKCS12 bundle for
the default certificate, a certificate container of PEM secrets for an SNI one,
PEM secrets for the client CA and its CRL. A client of the VIP then sees: the
certificate chosen by the name it asked for, HSTS, HTTP/2 by ALPN, client
certificates required, a revoked one refused, an L7 policy on a client
certificate, and a rotated certificate served after a PUT.
"""

from __future__ import annotations

import base64
import socket
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from tests.e2e.stack import Stack, wait_for
from tests.tls_material import Ca, cert_pem, make_ca, make_crl, make_server_cert, pkcs12

from statera.demo.backends import Backend, start_backends

WWW = "www.example.test"
API = "api.example.test"
Pair = tuple[bytes, bytes]
"""(certificate PEM, key PEM)"""


@pytest.fixture(scope="module")
def backends(stack: Stack) -> Iterator[list[Backend]]:
    yield start_backends(stack.settings, network="private", count=2, port=8080)


def _serial(pair: Pair) -> int:
    return x509.load_pem_x509_certificate(pair[0]).serial_number


@pytest.fixture(scope="module")
def pki() -> dict[str, Any]:
    server_ca = make_ca("Example Server CA")
    client_ca = make_ca("Example Client CA")
    mallory = make_server_cert(client_ca, [], common_name="mallory")
    return {
        "server_ca": server_ca,
        "www": make_server_cert(server_ca, [WWW]),
        "api": make_server_cert(server_ca, [API]),
        "www2": make_server_cert(server_ca, [WWW]),
        "client_ca": client_ca,
        "alice": make_server_cert(client_ca, [], common_name="alice"),
        "mallory": mallory,
        "crl": make_crl(client_ca, [_serial(mallory)]),
    }


def _secret(stack: Stack, name: str, payload: bytes, content_type: str) -> str:
    body: dict[str, Any] = {"name": name, "payload_content_type": content_type}
    if content_type == "application/octet-stream":
        body["payload"] = base64.b64encode(payload).decode()
        body["payload_content_encoding"] = "base64"
    else:
        body["payload"] = payload.decode()
    r = stack.api.post("/v1/secrets", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["secret_ref"])


def _container(stack: Stack, name: str, pair: Pair) -> str:
    refs = [
        {"name": "certificate", "secret_ref": _secret(stack, f"{name}-crt", pair[0], "text/plain")},
        {"name": "private_key", "secret_ref": _secret(stack, f"{name}-key", pair[1], "text/plain")},
    ]
    r = stack.api.post(
        "/v1/containers", json={"name": name, "type": "certificate", "secret_refs": refs}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["container_ref"])


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str
    cert: x509.Certificate
    alpn: str | None


def _get(
    vip: str,
    name: str,
    ca: Ca,
    *,
    client: Pair | None = None,
    alpn: list[str] | None = None,
) -> Answer:
    """One HTTPS/1.1 request to the VIP with SNI `name`, verifying the server by `ca`."""
    context = ssl.create_default_context(cadata=cert_pem(ca[0]).decode())
    if alpn:
        context.set_alpn_protocols(alpn)
    if client is not None:
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = Path(tmp) / "c.pem", Path(tmp) / "k.pem"
            cert.write_bytes(client[0])
            key.write_bytes(client[1])
            context.load_cert_chain(cert, key)
    with (
        socket.create_connection((vip, 443), timeout=3) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        negotiated = tls.selected_alpn_protocol()
        if negotiated == "h2":
            return Answer(0, {}, "", x509.load_der_x509_certificate(der), negotiated)
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return Answer(
        int(lines[0].split()[1]),
        headers,
        body.decode(),
        x509.load_der_x509_certificate(der),
        negotiated,
    )


def _refused(vip: str, name: str, ca: Ca, *, client: Pair | None = None) -> bool:
    """The handshake or the first request fails (TLS 1.3 reports a refused client
    certificate only when the client reads)."""
    try:
        answer = _get(vip, name, ca, client=client)
    except (ssl.SSLError, ConnectionError, OSError):
        return True
    return answer.status >= 400 and answer.status != 404


def _names(cert: x509.Certificate) -> list[str]:
    return cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.DNSName)


def _put_listener(stack: Stack, lb_id: str, listener_id: str, values: dict[str, Any]) -> None:
    r = stack.api.put(f"/v2/lbaas/listeners/{listener_id}", json={"listener": values})
    assert r.status_code == 200, r.text
    stack.wait_active(lb_id)


def test_terminated_https_end_to_end(
    stack: Stack, backends: list[Backend], pki: dict[str, Any]
) -> None:
    ca: Ca = pki["server_ca"]
    www = _secret(stack, "www-p12", pkcs12(*pki["www"]), "application/octet-stream")
    api = _container(stack, "api", pki["api"])
    body = {
        "loadbalancer": {
            "name": "tls-lb",
            "vip_subnet_id": "private-subnet",
            "listeners": [
                {
                    "name": "https",
                    "protocol": "TERMINATED_HTTPS",
                    "protocol_port": 443,
                    "default_tls_container_ref": www,
                    "sni_container_refs": [api],
                    "hsts_max_age": 31536000,
                    "hsts_include_subdomains": True,
                    "insert_headers": {"X-Forwarded-Proto": "true"},
                    "default_pool": {
                        "name": "web",
                        "protocol": "HTTP",
                        "lb_algorithm": "ROUND_ROBIN",
                        "members": [
                            {"address": b.address, "protocol_port": 8080} for b in backends
                        ],
                    },
                }
            ],
        }
    }
    lb = stack.post("/v2/lbaas/loadbalancers", body)["loadbalancer"]
    stack.wait_active(lb["id"])
    vip = lb["vip_address"]
    listener = stack.api.get(f"/v2/lbaas/listeners/{lb['listeners'][0]['id']}").json()["listener"]
    assert listener["default_tls_container_ref"] == www
    assert listener["sni_container_refs"] == [api]
    assert listener["tls_versions"] == ["TLSv1.2", "TLSv1.3"]

    # The certificate is chosen by SNI; both backends answer through the VIP.
    seen = set()
    for _ in range(4):
        answer = _get(vip, WWW, ca)
        assert answer.status == 200, answer.body
        assert _names(answer.cert) == [WWW]
        assert answer.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains;"
        seen.add(answer.body.strip())
    assert seen == {f"backend {b.name}" for b in backends}
    assert _names(_get(vip, API, ca).cert) == [API]
    # A name no certificate has gets the default one (the client's name check then fails).
    with pytest.raises(ssl.SSLCertVerificationError):
        _get(vip, "other.example.test", ca)
    assert _get(vip, WWW, ca, alpn=["h2", "http/1.1"]).alpn == "h2"

    # Client authentication: required, and a revoked certificate is refused.
    client_ca = _secret(stack, "client-ca", cert_pem(pki["client_ca"][0]), "text/plain")
    crl = _secret(stack, "client-crl", pki["crl"], "text/plain")
    listener_id = listener["id"]
    _put_listener(
        stack,
        lb["id"],
        listener_id,
        {
            "client_ca_tls_container_ref": client_ca,
            "client_crl_container_ref": crl,
            "client_authentication": "MANDATORY",
        },
    )
    wait_for(
        lambda: _refused(vip, WWW, ca),
        timeout_s=15,
        what="a client without a certificate to be refused",
    )
    assert _get(vip, WWW, ca, client=pki["alice"]).status == 200
    assert _refused(vip, WWW, ca, client=pki["mallory"])

    # OPTIONAL plus an L7 policy: requests without a certificate are rejected by the policy.
    _put_listener(stack, lb["id"], listener_id, {"client_authentication": "OPTIONAL"})
    r = stack.api.post(
        "/v2/lbaas/l7policies",
        json={
            "l7policy": {
                "listener_id": listener_id,
                "action": "REJECT",
                "rules": [
                    {
                        "type": "SSL_CONN_HAS_CERT",
                        "compare_type": "EQUAL_TO",
                        "value": "True",
                        "invert": True,
                    }
                ],
            }
        },
    )
    assert r.status_code == 201, r.text
    stack.wait_active(lb["id"])
    assert _get(vip, WWW, ca).status == 403
    assert _get(vip, WWW, ca, client=pki["alice"]).status == 200

    # Rotation: a new default certificate is served after the PUT.
    www2 = _secret(stack, "www2-p12", pkcs12(*pki["www2"]), "application/octet-stream")
    _put_listener(stack, lb["id"], listener_id, {"default_tls_container_ref": www2})
    wait_for(
        lambda: _get(vip, WWW, ca, client=pki["alice"]).cert.serial_number == _serial(pki["www2"]),
        timeout_s=15,
        what="the rotated certificate",
    )
