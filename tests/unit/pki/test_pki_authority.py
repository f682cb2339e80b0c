"""The private CA: files and modes, idempotence, racing creators, issued certificates."""

from __future__ import annotations

import datetime
import multiprocessing
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from statera.pki.authority import (
    CA_BUNDLE_FILE,
    CA_CERT_FILE,
    CONTROLLER_CERT_FILE,
    CertificateAuthority,
    controller_client_cert,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_use_creates_the_ca_with_private_files(tmp_path: Path) -> None:
    directory = tmp_path / "pki"
    authority = CertificateAuthority.load_or_create(directory)

    assert _mode(directory) == 0o700
    assert _mode(directory / CA_BUNDLE_FILE) == 0o600
    assert _mode(directory / CA_CERT_FILE) == 0o600
    assert (directory / CA_CERT_FILE).read_bytes() == authority.ca_cert_pem
    ca = x509.load_pem_x509_certificate(authority.ca_cert_pem)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    assert ca.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    assert sorted(p.name for p in directory.iterdir()) == [CA_BUNDLE_FILE, CA_CERT_FILE]


def test_load_or_create_is_idempotent(tmp_path: Path) -> None:
    first = CertificateAuthority.load_or_create(tmp_path)
    second = CertificateAuthority.load_or_create(tmp_path)
    assert first.ca_cert_pem == second.ca_cert_pem


def test_a_lost_ca_pem_is_rewritten_from_the_bundle(tmp_path: Path) -> None:
    authority = CertificateAuthority.load_or_create(tmp_path)
    (tmp_path / CA_CERT_FILE).unlink()
    CertificateAuthority.load_or_create(tmp_path)
    assert (tmp_path / CA_CERT_FILE).read_bytes() == authority.ca_cert_pem


def _create(directory: str) -> bytes:
    return CertificateAuthority.load_or_create(Path(directory)).ca_cert_pem


def test_racing_processes_end_up_with_one_ca(tmp_path: Path) -> None:
    directory = tmp_path / "race"
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        results = pool.map(_create, [str(directory)] * 8)
    assert len(set(results)) == 1
    assert results[0] == (directory / CA_CERT_FILE).read_bytes()
    assert not [p for p in directory.iterdir() if p.name.startswith(".")]  # no temp files left


def test_server_cert_names_the_amphora_as_cn_and_dns_san(tmp_path: Path) -> None:
    authority = CertificateAuthority.load_or_create(tmp_path)
    before = datetime.datetime.now(datetime.UTC)
    issued = authority.issue("9a3e6c1f-amphora", validity_s=3600, server=True)

    cert = x509.load_pem_x509_certificate(issued.cert_pem)
    ca = x509.load_pem_x509_certificate(authority.ca_cert_pem)
    cert.verify_directly_issued_by(ca)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "9a3e6c1f-amphora"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["9a3e6c1f-amphora"]
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    expected_end = before + datetime.timedelta(seconds=3600)
    assert abs((issued.not_after - expected_end).total_seconds()) < 5
    assert issued.not_after == cert.not_valid_after_utc
    assert b"PRIVATE KEY" in issued.key_pem


def test_client_cert_has_no_san_and_client_usage(tmp_path: Path) -> None:
    authority = CertificateAuthority.load_or_create(tmp_path)
    cert = x509.load_pem_x509_certificate(
        authority.issue("controller", validity_s=60, server=False).cert_pem
    )
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]


@pytest.mark.parametrize("name", ["", "x" * 65])
def test_issue_refuses_bad_common_names(tmp_path: Path, name: str) -> None:
    authority = CertificateAuthority.load_or_create(tmp_path)
    with pytest.raises(ValueError, match="common name"):
        authority.issue(name, validity_s=60, server=True)


def test_controller_client_cert_is_created_once_and_reused(tmp_path: Path) -> None:
    paths = controller_client_cert(tmp_path)
    assert paths.cert == paths.key == tmp_path / CONTROLLER_CERT_FILE
    assert paths.ca_cert == tmp_path / CA_CERT_FILE
    assert _mode(paths.cert) == 0o600
    first = paths.cert.read_bytes()
    assert b"CERTIFICATE" in first and b"PRIVATE KEY" in first

    assert controller_client_cert(tmp_path).cert.read_bytes() == first


def test_controller_client_cert_is_renewed_near_expiry(tmp_path: Path) -> None:
    first = controller_client_cert(tmp_path, validity_s=3600).cert.read_bytes()
    renewed = controller_client_cert(tmp_path, renew_before_s=7200).cert.read_bytes()
    assert renewed != first


def test_controller_client_cert_from_another_ca_is_replaced(tmp_path: Path) -> None:
    other = CertificateAuthority.load_or_create(tmp_path / "other")
    foreign = other.issue("statera-controller", validity_s=3600, server=False)
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / CONTROLLER_CERT_FILE).write_bytes(foreign.cert_pem + foreign.key_pem)

    paths = controller_client_cert(tmp_path / "pki")

    cert = x509.load_pem_x509_certificate(paths.cert.read_bytes())
    assert CertificateAuthority.load_or_create(tmp_path / "pki").signed(cert)
    assert not other.signed(cert)
