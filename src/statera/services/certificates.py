"""TLS material of listeners and pools, loaded from the key manager (`/v1`) by reference.

A TERMINATED_HTTPS listener or a TLS pool names its certificates as Octavia does:
a secret or container href (`http(s)://<any host>/v1/secrets/<uuid>`,
`.../v1/containers/<uuid>`; the host is ignored, the key manager is ours) or a
bare UUID. `load_bundle` gives HAProxy's `crt` file from a secret holding a
PKCS#12 archive (no password) or a PEM certificate and key (and intermediates),
or from a `certificate` container (its `private_key_passphrase` decrypts an
encrypted key); `load_ca` and `load_crl` give CA and CRL files. The listener and
pool services call them inside their transaction to refuse a bad reference with
Octavia's 400; the controller calls them again when it builds an amphora's files.

The invariants a reader could break: the material must belong to the load
balancer's project; everything returned is re-serialised by `cryptography`
(no user text but base64 PEM blocks reaches HAProxy); and no payload or key
goes into an exception message or a log line (only references and reasons).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import NameOID
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from statera.db.base import utcnow
from statera.db.models import Secret, SecretContainer
from statera.db.secret_box import SecretBox, SecretUnreadable, secret_box
from statera.domain.errors import InvalidSpec

__all__ = [
    "CertificateRetrievalError",
    "SecretBox",
    "TlsBundle",
    "load_bundle",
    "load_ca",
    "load_crl",
    "secret_box",
]

log = logging.getLogger(__name__)

_REF = re.compile(r"(?:/v1/(secrets|containers)/)?([0-9a-fA-F-]{36})/?$")
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----", re.DOTALL)


@dataclass(frozen=True)
class TlsBundle:
    """One certificate with its chain and key, as HAProxy's `crt` file wants it."""

    pem: bytes
    """The certificate, then its intermediates, then the unencrypted private key (PKCS#8)."""
    common_name: str | None
    dns_names: tuple[str, ...]
    """The certificate's subjectAltName DNS entries, in order."""
    not_after: datetime
    """End of validity, timezone-aware UTC."""


class CertificateRetrievalError(InvalidSpec):
    """A reference that names nothing readable of the project (Octavia's 400).

    `reason` says why, for the log; the message is Octavia's own.
    """

    def __init__(self, refs: Sequence[str], *, reason: str = "") -> None:
        super().__init__(f"Could not retrieve certificate: {list(refs)!r}")
        self.refs = tuple(refs)
        self.reason = reason


class _Unusable(Exception):
    """Internal: why a reference cannot be used (turned into CertificateRetrievalError)."""


# -- references ----------------------------------------------------------------------------------


def _parse_ref(ref: str) -> tuple[str | None, str]:
    """(`secrets`, `containers` or None for a bare UUID, the UUID); _Unusable otherwise."""
    match = _REF.search(ref.strip())
    if match is None:
        raise _Unusable("not a key manager reference")
    try:
        object_id = str(uuid.UUID(match.group(2)))
    except ValueError:
        raise _Unusable("not a key manager reference") from None
    if match.group(1) is None and "/" in ref.strip():
        raise _Unusable("not a key manager reference")
    return match.group(1), object_id


def _secret(session: Session, secret_id: str, *, project_id: str) -> Secret | None:
    return session.scalars(
        select(Secret).where(
            Secret.id == secret_id,
            Secret.project_id == project_id,
            or_(Secret.expiration.is_(None), Secret.expiration > utcnow()),
        )
    ).one_or_none()


def _container(session: Session, container_id: str, *, project_id: str) -> SecretContainer | None:
    return session.scalars(
        select(SecretContainer)
        .options(selectinload(SecretContainer.secrets))
        .where(SecretContainer.id == container_id, SecretContainer.project_id == project_id)
    ).one_or_none()


def _payload(secret: Secret, box: SecretBox) -> bytes:
    if secret.ciphertext is None:
        raise _Unusable(f"secret {secret.id} has no payload")
    try:
        return box.open(secret.ciphertext, secret_id=secret.id)
    except SecretUnreadable as exc:
        raise _Unusable(str(exc)) from None


def _secret_payload(session: Session, ref: str, *, project_id: str, box: SecretBox) -> bytes:
    kind, object_id = _parse_ref(ref)
    if kind == "containers":
        raise _Unusable("a container where a secret is expected")
    secret = _secret(session, object_id, project_id=project_id)
    if secret is None:
        raise _Unusable(f"no secret {object_id} in project {project_id}")
    return _payload(secret, box)


# -- parsing -------------------------------------------------------------------------------------


def _pem_blocks(data: bytes, *labels: str) -> list[bytes]:
    return [m.group(0) for m in _PEM_BLOCK.finditer(data) if m.group(1).decode() in labels]


def _certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in PEM blocks, a PKCS#7 bundle, or one DER certificate."""
    blocks = _pem_blocks(data, "CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE")
    if blocks:
        return [x509.load_pem_x509_certificate(b) for b in blocks]
    if _pem_blocks(data, "PKCS7"):
        return list(pkcs7.load_pem_pkcs7_certificates(data))
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        pass
    try:
        return list(pkcs7.load_der_pkcs7_certificates(data))
    except ValueError:
        return []


def _private_key(data: bytes, passphrase: bytes | None) -> PrivateKeyTypes:
    blocks = _pem_blocks(
        data, "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"
    )
    try:
        if blocks:
            # PKCS#8 "ENCRYPTED PRIVATE KEY" or a traditional key with a Proc-Type header.
            encrypted = b"ENCRYPTED" in blocks[0]
            if encrypted and passphrase is None:
                raise _Unusable("Passphrase needed to decrypt key but client did not provide one.")
            return serialization.load_pem_private_key(
                blocks[0], password=passphrase if encrypted else None
            )
        return serialization.load_der_private_key(data, password=passphrase)
    except (ValueError, TypeError) as exc:
        raise _Unusable(f"Could not read the private key: {exc}") from None


def _same_key(cert: x509.Certificate, key: PrivateKeyTypes) -> bool:
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    return key.public_key().public_bytes(enc, fmt) == cert.public_key().public_bytes(enc, fmt)


def _bundle(
    cert: x509.Certificate, key: PrivateKeyTypes, intermediates: Sequence[x509.Certificate]
) -> TlsBundle:
    if not _same_key(cert, key):
        raise _Unusable("Key and x509 certificate do not match")
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    chain = [c for c in intermediates if c != cert]
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (cert, *chain)) + key_pem
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = str(names[0].value) if names else None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = tuple(san.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        dns_names = ()
    return TlsBundle(
        pem=pem, common_name=common_name, dns_names=dns_names, not_after=cert.not_valid_after_utc
    )


def _bundle_from_secret(payload: bytes) -> TlsBundle:
    """A PKCS#12 archive without password, or PEM certificate(s) and a key."""
    if b"-----BEGIN" not in payload:
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(payload, None)
        except (ValueError, TypeError) as exc:
            raise _Unusable(f"Could not read the PKCS12 archive: {exc}") from None
        if cert is None or key is None:
            raise _Unusable("the PKCS12 archive holds no certificate and key")
        return _bundle(cert, key, extra)
    certs = _certificates(payload)
    if not certs:
        raise _Unusable("Could not read X509 from PEM")
    key = _private_key(payload, None)
    leaf = next((c for c in certs if _same_key(c, key)), certs[0])
    return _bundle(leaf, key, [c for c in certs if c is not leaf])


def _bundle_from_container(
    session: Session, container: SecretContainer, *, project_id: str, box: SecretBox
) -> TlsBundle:
    if container.type != "certificate":
        raise _Unusable(f"container {container.id} is of type {container.type}, not certificate")
    payloads: dict[str, bytes] = {}
    for member in container.secrets:
        secret = _secret(session, member.secret_id, project_id=project_id)
        if secret is None:
            raise _Unusable(f"container {container.id}: secret {member.secret_id} is gone")
        payloads[member.name or ""] = _payload(secret, box)
    if "certificate" not in payloads or "private_key" not in payloads:
        raise _Unusable(f"container {container.id} holds no certificate and private key")
    certs = _certificates(payloads["certificate"])
    if not certs:
        raise _Unusable("Could not read X509 from PEM")
    passphrase = payloads.get("private_key_passphrase")
    key = _private_key(payloads["private_key"], passphrase.strip() if passphrase else None)
    intermediates = _certificates(payloads.get("intermediates", b""))
    return _bundle(certs[0], key, [*certs[1:], *intermediates])


# -- the interface -------------------------------------------------------------------------------


def load_bundle(session: Session, ref: str, *, project_id: str, box: SecretBox) -> TlsBundle:
    """The certificate, chain and key `ref` names; CertificateRetrievalError if unusable."""
    try:
        kind, object_id = _parse_ref(ref)
        if kind in ("secrets", None):
            secret = _secret(session, object_id, project_id=project_id)
            if secret is not None:
                return _bundle_from_secret(_payload(secret, box))
            if kind == "secrets":
                raise _Unusable(f"no secret {object_id} in project {project_id}")
        container = _container(session, object_id, project_id=project_id)
        if container is None:
            raise _Unusable(f"no secret or container {object_id} in project {project_id}")
        return _bundle_from_container(session, container, project_id=project_id, box=box)
    except _Unusable as exc:
        log.info("certificate reference %s refused: %s", ref, exc)
        raise CertificateRetrievalError([ref], reason=str(exc)) from None


def load_ca(session: Session, ref: str, *, project_id: str, box: SecretBox) -> bytes:
    """The PEM of the one or more CA certificates in the secret `ref` names."""
    try:
        payload = _secret_payload(session, ref, project_id=project_id, box=box)
    except _Unusable as exc:
        log.info("CA reference %s refused: %s", ref, exc)
        raise CertificateRetrievalError([ref], reason=str(exc)) from None
    try:
        blocks = _pem_blocks(payload, "CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE")
        if not blocks:
            raise ValueError("no PEM certificate found")
        certs = [x509.load_pem_x509_certificate(b) for b in blocks]
    except ValueError as exc:
        raise InvalidSpec(
            "Validation failure: The client authentication CA certificate is invalid. "
            f"It must be a valid x509 PEM format certificate. Error: {exc}"
        ) from None
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def load_crl(session: Session, ref: str, *, project_id: str, box: SecretBox) -> bytes:
    """The PEM of the certificate revocation list in the secret `ref` names."""
    try:
        payload = _secret_payload(session, ref, project_id=project_id, box=box)
    except _Unusable as exc:
        log.info("CRL reference %s refused: %s", ref, exc)
        raise CertificateRetrievalError([ref], reason=str(exc)) from None
    try:
        blocks = _pem_blocks(payload, "X509 CRL")
        if len(blocks) != 1:
            raise ValueError("expected one PEM X509 CRL block")
        crl = x509.load_pem_x509_crl(blocks[0])
    except ValueError as exc:
        raise InvalidSpec(
            "Validation failure: The client authentication certificate revocation list is "
            "invalid. It must be a valid x509 PEM format certificate revocation list. "
            f"Error: {exc}"
        ) from None
    return crl.public_bytes(serialization.Encoding.PEM)


def load_pem(session: Session, kind: str, ref: str, *, project_id: str, box: SecretBox) -> bytes:
    """The PEM file a reference stands for in the amphora: `bundle` (certificate,
    intermediates, key), `ca` or `crl` (`db.snapshots.TlsKind`)."""
    if kind == "bundle":
        return load_bundle(session, ref, project_id=project_id, box=box).pem
    if kind == "ca":
        return load_ca(session, ref, project_id=project_id, box=box)
    return load_crl(session, ref, project_id=project_id, box=box)
