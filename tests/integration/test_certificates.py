"""`services/certificates.py`: TLS material loaded from key-manager rows by reference.

Secrets and containers are written with `services/key_manager.py` into a real
(migrated) database, as the API writes them, with certificates made on the spot
(`tests/tls_material.py`); the loaders must give HAProxy-ready PEM for every
form Octavia's cookbook stores (PKCS#12, PEM bundle, certificate container with
an encrypted key), refuse anything else with Octavia's messages, and keep to
the load balancer's project.
"""

from __future__ import annotations

import base64
import datetime
import os
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy.orm import Session
from tests.tls_material import cert_pem, make_ca, make_crl, make_server_cert, pkcs12

from statera.db.secret_box import KEY_BYTES, SecretBox
from statera.db.session import Database
from statera.domain.errors import InvalidSpec
from statera.services import key_manager as km
from statera.services.certificates import (
    CertificateRetrievalError,
    load_bundle,
    load_ca,
    load_crl,
)

BASE = "https://keys.example.org:9311/v1"
BOX = SecretBox(os.urandom(KEY_BYTES))


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    with database.write() as s:
        yield s


def store(session: Session, payload: bytes, *, project_id: str = "p1", binary: bool = True) -> str:
    body: dict[str, Any] = (
        {
            "payload": base64.b64encode(payload).decode(),
            "payload_content_type": "application/octet-stream",
            "payload_content_encoding": "base64",
        }
        if binary
        else {"payload": payload.decode(), "payload_content_type": "text/plain"}
    )
    secret = km.create_secret(
        session, km.parse_new_secret(body), project_id=project_id, creator_id=None, box=BOX
    )
    return f"{BASE}/secrets/{secret.id}"


def container(session: Session, refs: dict[str, str], *, project_id: str = "p1") -> str:
    body = {
        "type": "certificate",
        "secret_refs": [{"name": n, "secret_ref": r} for n, r in refs.items()],
    }
    made = km.create_container(
        session, km.parse_new_container(body), project_id=project_id, creator_id=None
    )
    return f"{BASE}/containers/{made.id}"


def blocks(pem: bytes) -> list[str]:
    return [line.decode() for line in pem.splitlines() if line.startswith(b"-----BEGIN")]


def test_pkcs12_secret(session: Session) -> None:
    root = make_ca("root")
    inter = make_ca("intermediate", issuer=root)
    cert, key = make_server_cert(inter, ["www.example.com", "example.com"])
    ref = store(session, pkcs12(cert, key, [inter[0]]))
    bundle = load_bundle(session, ref, project_id="p1", box=BOX)
    assert blocks(bundle.pem) == [
        "-----BEGIN CERTIFICATE-----",
        "-----BEGIN CERTIFICATE-----",
        "-----BEGIN PRIVATE KEY-----",
    ]
    assert bundle.pem.startswith(cert)
    assert cert_pem(inter[0]) in bundle.pem
    assert bundle.common_name == "www.example.com"
    assert bundle.dns_names == ("www.example.com", "example.com")
    assert bundle.not_after == x509.load_pem_x509_certificate(cert).not_valid_after_utc
    # A bare UUID and a root-relative href name the same secret.
    secret_id = ref.rsplit("/", 1)[1]
    assert load_bundle(session, secret_id, project_id="p1", box=BOX) == bundle


def test_pem_secret_normalised(session: Session) -> None:
    ca = make_ca("ca")
    cert, key = make_server_cert(ca, ["a.example"], common_name="A")
    text = b"friendly words\n" + key + b"\n# comment\n" + cert_pem(ca[0]) + cert
    bundle = load_bundle(session, store(session, text, binary=False), project_id="p1", box=BOX)
    assert bundle.pem.startswith(cert)  # the leaf is the key's certificate, whatever the order
    assert b"friendly" not in bundle.pem and b"comment" not in bundle.pem
    assert bundle.common_name == "A" and bundle.dns_names == ("a.example",)


def test_certificate_container_with_encrypted_key(session: Session) -> None:
    root = make_ca("root")
    inter = make_ca("intermediate", issuer=root)
    cert, key = make_server_cert(inter, ["c.example"], passphrase=b"hunter2")
    refs = {
        "certificate": store(session, cert, binary=False),
        "private_key": store(session, key, binary=False),
        "private_key_passphrase": store(session, b"hunter2", binary=False),
        "intermediates": store(session, cert_pem(inter[0]), binary=False),
    }
    bundle = load_bundle(session, container(session, refs), project_id="p1", box=BOX)
    assert blocks(bundle.pem)[-1] == "-----BEGIN PRIVATE KEY-----"  # decrypted
    key_start = bundle.pem.index(b"-----BEGIN PRIVATE KEY-----")
    serialization.load_pem_private_key(bundle.pem[key_start:], password=None)
    assert cert_pem(inter[0]) in bundle.pem
    # Without the passphrase the key cannot be read.
    del refs["private_key_passphrase"]
    with pytest.raises(CertificateRetrievalError) as caught:
        load_bundle(session, container(session, refs), project_id="p1", box=BOX)
    assert "Passphrase needed" in caught.value.reason


def test_expired_certificate_loads_with_its_end(session: Session) -> None:
    cert, key = make_server_cert(make_ca("ca"), ["old.example"], days=-1)
    bundle = load_bundle(session, store(session, pkcs12(cert, key)), project_id="p1", box=BOX)
    assert bundle.not_after < datetime.datetime.now(datetime.UTC)


def refused(session: Session, ref: str, *, project_id: str = "p1") -> CertificateRetrievalError:
    with pytest.raises(CertificateRetrievalError) as caught:
        load_bundle(session, ref, project_id=project_id, box=BOX)
    assert caught.value.message == f"Could not retrieve certificate: ['{ref}']"
    return caught.value


def test_bad_bundles_are_refused(session: Session) -> None:
    ca = make_ca("ca")
    cert, key = make_server_cert(ca, ["x.example"])
    _, other_key = make_server_cert(ca, ["y.example"])
    assert "do not match" in refused(session, store(session, cert + other_key, binary=False)).reason
    assert "PKCS12" in refused(session, store(session, b"\x30\x03garbage")).reason
    assert refused(session, store(session, cert, binary=False)).reason  # no key
    ok = store(session, pkcs12(cert, key))
    refused(session, ok, project_id="p2")  # another project's secret
    refused(session, f"{BASE}/secrets/b4ca07d1-a31e-43e2-891a-7d14f419f342")
    refused(session, "not-a-reference")
    refused(session, ok.replace("/secrets/", "/containers/"))


def test_dangling_container_reference_is_refused(session: Session) -> None:
    cert, key = make_server_cert(make_ca("ca"), ["d.example"])
    key_ref = store(session, key, binary=False)
    ref = container(
        session, {"certificate": store(session, cert, binary=False), "private_key": key_ref}
    )
    assert load_bundle(session, ref, project_id="p1", box=BOX).dns_names == ("d.example",)
    km.delete_secret(session, key_ref.rsplit("/", 1)[1])
    assert "is gone" in refused(session, ref).reason


def test_ca_and_crl(session: Session) -> None:
    ca, other = make_ca("ca"), make_ca("other")
    two = b"# two CAs\n" + cert_pem(ca[0]) + cert_pem(other[0])
    got = load_ca(session, store(session, two, binary=False), project_id="p1", box=BOX)
    assert got == cert_pem(ca[0]) + cert_pem(other[0])
    crl = make_crl(ca, [1234])
    assert load_crl(session, store(session, crl, binary=False), project_id="p1", box=BOX) == crl
    with pytest.raises(InvalidSpec) as caught:
        load_ca(session, store(session, b"junk", binary=False), project_id="p1", box=BOX)
    assert caught.value.message.startswith(
        "Validation failure: The client authentication CA certificate is invalid. "
        "It must be a valid x509 PEM format certificate. Error: "
    )
    with pytest.raises(InvalidSpec) as caught:
        load_crl(session, store(session, cert_pem(ca[0]), binary=False), project_id="p1", box=BOX)
    assert caught.value.message.startswith(
        "Validation failure: The client authentication certificate revocation list is "
        "invalid. It must be a valid x509 PEM format certificate revocation list. Error: "
    )
    ref = store(session, crl, binary=False)
    with pytest.raises(CertificateRetrievalError, match=r"Could not retrieve certificate: \["):
        load_crl(session, ref, project_id="p2", box=BOX)
