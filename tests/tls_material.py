"""Certificates made on the spot for TLS tests: a CA, server certs, PKCS#12 archives, CRLs.

Everything is EC P-256 (fast) unless a test asks otherwise; validity starts a
minute in the past. `make_ca` returns the objects, the others PEM or DER bytes,
the forms users store in the key manager.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12 as pkcs12_format
from cryptography.x509.oid import NameOID

Ca = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def make_ca(name: str, *, issuer: Ca | None = None) -> Ca:
    """A CA certificate and key; with `issuer`, an intermediate CA signed by it."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    signer_cert, signer_key = issuer if issuer is not None else (None, key)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer_cert.subject if signer_cert is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=1))
        .not_valid_after(_now() + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(signer_key, hashes.SHA256())
    )
    return cert, key


def make_server_cert(
    ca: Ca,
    dns_names: Sequence[str],
    *,
    common_name: str | None = None,
    days: int = 90,
    passphrase: bytes | None = None,
) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for `dns_names`, signed by `ca`.

    `days` may be negative for an already expired certificate; `passphrase`
    encrypts the key (PKCS#8, best available encryption).
    """
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    cn = common_name or (dns_names[0] if dns_names else "server")
    not_after = _now() + datetime.timedelta(days=days)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(min(_now(), not_after) - datetime.timedelta(days=1))
        .not_valid_after(not_after)
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False
        )
    cert = builder.sign(ca_key, hashes.SHA256())
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def pkcs12(cert_pem: bytes, key_pem: bytes, cas: Sequence[x509.Certificate] = ()) -> bytes:
    """A PKCS#12 archive without password, as `openssl pkcs12 -export -passout pass:` makes."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return pkcs12_format.serialize_key_and_certificates(
        b"tls", key, cert, list(cas) or None, serialization.NoEncryption()
    )


def make_crl(ca: Ca, revoked_serials: Sequence[int] = ()) -> bytes:
    """A PEM CRL signed by `ca`, revoking `revoked_serials`."""
    ca_cert, ca_key = ca
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(_now() - datetime.timedelta(minutes=1))
        .next_update(_now() + datetime.timedelta(days=30))
    )
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(_now() - datetime.timedelta(minutes=1))
            .build()
        )
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)
