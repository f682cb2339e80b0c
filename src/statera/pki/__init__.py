"""Statera's private CA (see authority.py): agent server certs and the controller's client cert."""

from statera.pki.authority import (
    CertificateAuthority,
    ControllerCertPaths,
    IssuedCert,
    controller_client_cert,
)

__all__ = ["CertificateAuthority", "ControllerCertPaths", "IssuedCert", "controller_client_cert"]
