"""The key-manager references of listeners and pools: what is stored, and their check.

A TERMINATED_HTTPS listener names its certificates (`default_tls_container_ref`,
`sni_container_refs`) and, for client authentication, a CA and a CRL; a pool
names the certificate it presents to members and the CA (and CRL) it verifies
them with. They are kept, as given, in the object's `extra` column with the TLS
options, and each one is loaded from the key manager (`/v1`, `services.certificates`)
and checked when it is set, as Octavia's `_validate_tls_refs` and
`_validate_client_ca_and_crl_refs` do: an unreadable reference is a 400, not an
ERROR later on the amphora.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography import x509
from sqlalchemy.orm import Session

from statera.domain.enums import ListenerProtocol
from statera.domain.errors import InvalidSpec
from statera.services import certificates
from statera.services.certificates import secret_box
from statera.settings import Settings

LISTENER_REFS = (
    "default_tls_container_ref",
    "sni_container_refs",
    "client_ca_tls_container_ref",
    "client_crl_container_ref",
)
LISTENER_KEYS = (
    *LISTENER_REFS,
    "client_authentication",
    "tls_ciphers",
    "tls_versions",
    "alpn_protocols",
    "hsts_max_age",
    "hsts_include_subdomains",
    "hsts_preload",
)
"""Everything of a listener's TLS kept in `Listener.extra`."""
POOL_REFS = ("tls_container_ref", "ca_tls_container_ref", "crl_container_ref")


def listener_extra(
    values: Mapping[str, Any],
    *,
    protocol: str,
    settings: Settings,
    current: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The listener's stored TLS attributes after `values` (create: `current` None).

    A TERMINATED_HTTPS listener gets Octavia's defaults for the options it leaves
    out or sets to null (`[api_settings] default_listener_*`); other protocols keep
    nothing.
    """
    if protocol != ListenerProtocol.TERMINATED_HTTPS:
        return dict(current or {})
    out = {k: (current or {}).get(k) for k in LISTENER_KEYS}
    out.update({k: values[k] for k in LISTENER_KEYS if k in values})
    api = settings.api
    out["sni_container_refs"] = list(dict.fromkeys(out["sni_container_refs"] or ()))
    out["client_authentication"] = out["client_authentication"] or "NONE"
    out["hsts_include_subdomains"] = bool(out["hsts_include_subdomains"])
    out["hsts_preload"] = bool(out["hsts_preload"])
    if out["tls_ciphers"] is None:
        out["tls_ciphers"] = api.default_listener_ciphers
    if out["tls_versions"] is None:
        out["tls_versions"] = api.listener_tls_versions
    if out["alpn_protocols"] is None:
        out["alpn_protocols"] = api.listener_alpn_protocols
    return out


def check_listener(
    session: Session,
    extra: Mapping[str, Any],
    *,
    changed: Mapping[str, Any],
    project_id: str,
    settings: Settings,
) -> None:
    """Load every reference of `extra` when the request (`changed`) set one."""
    if any(changed.get(k) for k in LISTENER_REFS):
        refs = [extra.get("default_tls_container_ref"), *(extra.get("sni_container_refs") or ())]
        _check(
            session,
            bundles=refs,
            ca=extra.get("client_ca_tls_container_ref"),
            crl=extra.get("client_crl_container_ref"),
            project_id=project_id,
            settings=settings,
            owner="client certificate authority",
        )


def check_pool(
    session: Session,
    extra: Mapping[str, Any],
    *,
    changed: Mapping[str, Any],
    project_id: str,
    settings: Settings,
) -> None:
    if any(changed.get(k) for k in POOL_REFS):
        _check(
            session,
            bundles=[extra.get("tls_container_ref")],
            ca=extra.get("ca_tls_container_ref"),
            crl=extra.get("crl_container_ref"),
            project_id=project_id,
            settings=settings,
            owner="certificate authority",
        )


def _check(
    session: Session,
    *,
    bundles: list[str | None],
    ca: str | None,
    crl: str | None,
    project_id: str,
    settings: Settings,
    owner: str,
) -> None:
    box = secret_box(settings)
    for ref in dict.fromkeys(r for r in bundles if r):
        certificates.load_bundle(session, ref, project_id=project_id, box=box)
    if ca:
        ca_pem = certificates.load_ca(session, ca, project_id=project_id, box=box)
        if crl:
            crl_pem = certificates.load_crl(session, crl, project_id=project_id, box=box)
            _crl_of_ca(ca_pem, crl_pem, owner=owner)


def _crl_of_ca(ca_pem: bytes, crl_pem: bytes, *, owner: str) -> None:
    """The CRL must be signed by one of the CA file's certificates."""
    crl = x509.load_pem_x509_crl(crl_pem)
    for ca in x509.load_pem_x509_certificates(ca_pem):
        try:
            if crl.is_signature_valid(ca.public_key()):  # type: ignore[arg-type]
                return
        except TypeError:
            continue
    raise InvalidSpec(
        f"Validation failure: The CRL specified is not valid for {owner} reference supplied."
    )
