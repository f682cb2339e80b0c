"""Statera's private certificate authority: agent server certs and the controller's client cert.

The controller and each amphora agent talk over mutual TLS, both sides trusting
only this CA (octavia-spec §4.3). `CertificateAuthority.load_or_create` makes
the CA on first use and loads it afterwards; `issue` signs short EC P-256 leaf
certificates, server certs carrying their common name (the amphora id) as a DNS
SAN because the controller checks the agent's hostname against it.

Invariant: a file under the CA directory is either absent or complete. Every
file is written to a temporary name first and then published with `os.link`
(first writer wins, for the CA itself, so two racing processes end up with the
same CA) or `os.replace` (for derived copies); all are mode 0600.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CA_BUNDLE_FILE",
    "CA_CERT_FILE",
    "CONTROLLER_CERT_FILE",
    "CertificateAuthority",
    "ControllerCertPaths",
    "IssuedCert",
    "controller_client_cert",
]

CA_BUNDLE_FILE = "ca-bundle.pem"
"""Private: the CA key followed by the CA certificate, published once with os.link."""
CA_CERT_FILE = "ca.pem"
"""The CA certificate alone, what agents and the controller trust."""
CONTROLLER_CERT_FILE = "controller.pem"
"""The controller's client certificate followed by its key (like Octavia's client.pem)."""

CA_VALIDITY_S = 10 * 365 * 24 * 3600
CONTROLLER_VALIDITY_S = 365 * 24 * 3600
CONTROLLER_RENEW_BEFORE_S = 30 * 24 * 3600
CONTROLLER_COMMON_NAME = "statera-controller"
# Certificates start a little in the past so that a peer whose clock lags accepts them.
_BACKDATE = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class IssuedCert:
    """A leaf certificate and its private key, both PEM; `not_after` is timezone-aware UTC."""

    cert_pem: bytes
    key_pem: bytes
    not_after: datetime.datetime


@dataclass(frozen=True)
class ControllerCertPaths:
    """Files the controller hands to `AgentClient`: its cert and key (one file) and the CA."""

    cert: Path
    key: Path
    ca_cert: Path


class CertificateAuthority:
    """A CA key and certificate in memory; build it with `load_or_create`."""

    def __init__(self, *, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
        self._key = key
        self._cert = cert

    @classmethod
    def load_or_create(cls, directory: Path) -> CertificateAuthority:
        """Load the CA kept in `directory`, creating both directory and CA on first use."""
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        bundle = directory / CA_BUNDLE_FILE
        if not bundle.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            cert = _self_signed_ca(key)
            # Whoever links first wins; a loser drops its own CA and loads the winner's.
            _publish_exclusive(
                bundle, _key_pem(key) + cert.public_bytes(serialization.Encoding.PEM)
            )
        authority = cls._from_bundle(bundle.read_bytes())
        ca_pem = authority.ca_cert_pem
        ca_file = directory / CA_CERT_FILE
        if not ca_file.exists() or ca_file.read_bytes() != ca_pem:
            _publish_replace(ca_file, ca_pem)
        return authority

    @classmethod
    def _from_bundle(cls, data: bytes) -> CertificateAuthority:
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the CA bundle does not hold an EC private key")
        return cls(key=key, cert=x509.load_pem_x509_certificate(data))

    @property
    def ca_cert_pem(self) -> bytes:
        return self._cert.public_bytes(serialization.Encoding.PEM)

    def signed(self, cert: x509.Certificate) -> bool:
        """Whether this CA signed `cert` (a leaf from an older or foreign CA does not count)."""
        try:
            cert.verify_directly_issued_by(self._cert)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True

    def issue(self, common_name: str, *, validity_s: int, server: bool) -> IssuedCert:
        """Sign a new key for `common_name`: a TLS server cert (with a DNS SAN) or a client cert."""
        if not common_name or len(common_name) > 64:
            raise ValueError(f"common name must have 1-64 characters, got {common_name!r}")
        if validity_s <= 0:
            raise ValueError(f"validity_s must be positive, got {validity_s}")
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        not_after = now + datetime.timedelta(seconds=validity_s)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_leaf_key_usage(), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), False
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False
            )
        cert = builder.sign(self._key, hashes.SHA256())
        return IssuedCert(
            cert_pem=cert.public_bytes(serialization.Encoding.PEM),
            key_pem=_key_pem(key),
            not_after=cert.not_valid_after_utc,
        )


def controller_client_cert(
    directory: Path,
    *,
    validity_s: int = CONTROLLER_VALIDITY_S,
    renew_before_s: int = CONTROLLER_RENEW_BEFORE_S,
) -> ControllerCertPaths:
    """Create or reuse the controller's client cert, signed by the CA in `directory`.

    An existing cert is reused until it is within `renew_before_s` of expiry or
    was signed by another CA; then a new one replaces it atomically.
    """
    authority = CertificateAuthority.load_or_create(directory)
    path = directory / CONTROLLER_CERT_FILE
    if not _controller_cert_usable(path, authority, renew_before_s=renew_before_s):
        issued = authority.issue(CONTROLLER_COMMON_NAME, validity_s=validity_s, server=False)
        _publish_replace(path, issued.cert_pem + issued.key_pem)
    return ControllerCertPaths(cert=path, key=path, ca_cert=directory / CA_CERT_FILE)


def _controller_cert_usable(
    path: Path, authority: CertificateAuthority, *, renew_before_s: int
) -> bool:
    try:
        data = path.read_bytes()
        cert = x509.load_pem_x509_certificate(data)
        serialization.load_pem_private_key(data, password=None)
    except (FileNotFoundError, ValueError):
        return False
    if not authority.signed(cert):
        return False
    remaining = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    return remaining.total_seconds() > renew_before_s


def _self_signed_ca(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Statera"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Statera private CA"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + datetime.timedelta(seconds=CA_VALIDITY_S))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )


def _leaf_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_temp(final: Path, data: bytes) -> Path:
    fd, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


def _publish_exclusive(final: Path, data: bytes) -> None:
    """Make `final` hold `data` unless it already exists (then leave it as it is)."""
    temp = _write_temp(final, data)
    try:
        os.link(temp, final)
    except FileExistsError:
        pass
    finally:
        os.unlink(temp)


def _publish_replace(final: Path, data: bytes) -> None:
    temp = _write_temp(final, data)
    try:
        os.replace(temp, final)
    except BaseException:
        os.unlink(temp)
        raise
