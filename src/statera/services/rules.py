"""Octavia's cross-field rules and this release's protocol support, as pure checks.

Each function raises `InvalidSpec` (400) or its subclass `NotSupported` (400,
"not yet supported") with Octavia's wording where Octavia has one. The
protocol tables are in `domain.enums` (octavia-spec §1.12).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from statera.domain.enums import (
    MONITOR_TYPES_FOR_POOL,
    POOL_PROTOCOLS_FOR_LISTENER,
    SUPPORTED_LISTENER_PROTOCOLS,
    SUPPORTED_MONITOR_TYPES,
    SUPPORTED_POOL_PROTOCOLS,
    HealthMonitorType,
    ListenerProtocol,
    PoolProtocol,
    SessionPersistenceType,
)
from statera.domain.errors import InvalidSpec, NotSupported

HTTP_HEADERS = frozenset(
    {
        "X-Forwarded-For",
        "X-Forwarded-Port",
        "X-Forwarded-Proto",
        "X-Forwarded-IP",
        "X-Client-IP",
        "X-Real-IP",
    }
)
SSL_HEADERS = frozenset(
    {
        "X-SSL-Client-Verify",
        "X-SSL-Client-Has-Cert",
        "X-SSL-Client-DN",
        "X-SSL-Client-CN",
        "X-SSL-Issuer",
        "X-SSL-Client-SHA1",
        "X-SSL-Client-Not-Before",
        "X-SSL-Client-Not-After",
    }
)
HEADER_INSERTION_PROTOCOLS = frozenset({ListenerProtocol.HTTP, ListenerProtocol.TERMINATED_HTTPS})
HTTP_MONITOR_FIELDS = ("http_method", "url_path", "expected_codes")
LISTENER_TLS_REFS = (
    "default_tls_container_ref",
    "sni_container_refs",
    "client_ca_tls_container_ref",
    "client_crl_container_ref",
)
LISTENER_TLS_OPTIONS = ("tls_ciphers", "tls_versions", "alpn_protocols")
POOL_TLS_REFS = ("tls_container_ref", "ca_tls_container_ref", "crl_container_ref")
TLS_VERSIONS = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
"""Octavia's TLS_ALL_VERSIONS, oldest first."""
RESERVED_MEMBER_ADDRESSES = frozenset({"169.254.169.254"})


def _names(values: frozenset[Any]) -> str:
    return ", ".join(sorted(str(v) for v in values))


def listener_protocol(protocol: str) -> None:
    if protocol not in SUPPORTED_LISTENER_PROTOCOLS:
        raise NotSupported(
            f"Listener protocol {protocol} is not yet supported by this release "
            f"(supported: {_names(SUPPORTED_LISTENER_PROTOCOLS)})."
        )


def pool_protocol(protocol: str) -> None:
    if protocol not in SUPPORTED_POOL_PROTOCOLS:
        raise NotSupported(
            f"Pool protocol {protocol} is not yet supported by this release "
            f"(supported: {_names(SUPPORTED_POOL_PROTOCOLS)})."
        )


def monitor_type(kind: str, *, allow_ping: bool) -> None:
    if kind not in SUPPORTED_MONITOR_TYPES:
        raise NotSupported(
            f"Health monitor type {kind} is not yet supported by this release "
            f"(supported: {_names(SUPPORTED_MONITOR_TYPES)})."
        )
    if kind == HealthMonitorType.PING and not allow_ping:
        raise InvalidSpec(f"The selected type is not allowed in this deployment: {kind}")


def pool_for_listener(*, listener_protocol: str, pool_protocol: str) -> None:
    allowed = POOL_PROTOCOLS_FOR_LISTENER[ListenerProtocol(listener_protocol)]
    if PoolProtocol(pool_protocol) not in allowed:
        raise InvalidSpec(
            f"Validation failure: The pool protocol '{pool_protocol}' is invalid while "
            f"the listener protocol is '{listener_protocol}'."
        )


def monitor_for_pool(*, pool_protocol: str, monitor_type: str) -> None:
    allowed = MONITOR_TYPES_FOR_POOL[PoolProtocol(pool_protocol)]
    if HealthMonitorType(monitor_type) not in allowed:
        raise InvalidSpec(
            f"Validation failure: The {monitor_type} health monitor type is invalid for "
            f"a pool of protocol {pool_protocol} (allowed: {_names(allowed)})."
        )


def insert_headers(headers: Mapping[str, str], *, protocol: str) -> None:
    if not headers:
        return
    if protocol not in HEADER_INSERTION_PROTOCOLS:
        raise InvalidSpec(
            f"insert-headers is not a valid option for a {protocol} protocol listener."
        )
    unknown = sorted(set(headers) - HTTP_HEADERS - SSL_HEADERS)
    if unknown:
        raise InvalidSpec(f"{unknown} is not a valid option for insert_headers")
    ssl = sorted(set(headers) & SSL_HEADERS)
    if ssl and protocol != ListenerProtocol.TERMINATED_HTTPS:
        raise InvalidSpec(f"{ssl} is not a valid option for {protocol} protocol listener.")


def listener_tls(values: Mapping[str, Any], *, protocol: str) -> None:
    """TLS attributes: only TERMINATED_HTTPS may carry them (not built in this release)."""
    if protocol == ListenerProtocol.TERMINATED_HTTPS:
        return
    if any(values.get(k) for k in LISTENER_TLS_REFS):
        raise InvalidSpec(
            "Validation failure: Certificate container references are only allowed on "
            "TERMINATED_HTTPS protocol listeners."
        )
    auth = values.get("client_authentication")
    if auth not in (None, "NONE"):
        raise InvalidSpec(
            f"Validation failure: Client authentication setting {auth} requires a client "
            "CA container reference."
        )
    given = [k for k in LISTENER_TLS_OPTIONS if values.get(k) is not None]
    if given:
        raise InvalidSpec(
            f"Validation failure: {', '.join(given)} can only be set on TERMINATED_HTTPS "
            "protocol listeners."
        )
    if (
        values.get("hsts_max_age") is not None
        or values.get("hsts_include_subdomains")
        or values.get("hsts_preload")
    ):
        raise InvalidSpec(
            "Validation failure: The HSTS feature can only be used for listeners using the "
            "TERMINATED_HTTPS protocol."
        )


def pool_tls(values: Mapping[str, Any]) -> None:
    """Pool TLS options as Octavia checks them; certificate references are refused.

    Without a secret store there is no client certificate, CA or CRL to load, so
    `tls_enabled` re-encrypts with `verify none`, as Octavia does without a CA.
    Two limits of HAProxy (a version range, OpenSSL without SSLv3) are refused
    here rather than failing the configuration push later.
    """
    refs = [k for k in POOL_TLS_REFS if values.get(k)]
    if refs:
        raise NotSupported(
            f"Pool TLS certificate references ({', '.join(refs)}) are not yet supported by "
            "this release (there is no secret store); tls_enabled without them re-encrypts "
            "to members without verifying their certificates."
        )
    versions = values.get("tls_versions")
    if versions is not None:
        pool_tls_versions(versions)
    if values.get("alpn_protocols") == []:
        raise InvalidSpec(
            "Validation failure: Empty ALPN protocol list. Either specify at least one ALPN "
            "protocol or remove this parameter to use the default."
        )


def pool_tls_versions(versions: list[str]) -> None:
    if not versions:
        raise InvalidSpec(
            "Validation failure: Empty TLS version list. Either specify at least one TLS "
            "version or remove this parameter to use the default."
        )
    if "SSLv3" in versions:
        raise NotSupported(
            "Pool tls_versions SSLv3 is not yet supported by this release (its OpenSSL "
            "has no SSLv3)."
        )
    ranks = sorted({TLS_VERSIONS.index(v) for v in versions})
    if ranks[-1] - ranks[0] + 1 != len(ranks):
        raise NotSupported(
            "Pool tls_versions with a gap (e.g. TLSv1 and TLSv1.2 without TLSv1.1) are not "
            "yet supported by this release: HAProxy takes a range of versions."
        )


def session_persistence(sp: Mapping[str, Any] | None, *, pool_protocol: str) -> None:
    if not sp:
        return
    kind = sp.get("type")
    if kind is None:
        raise InvalidSpec(
            "Invalid input for field/attribute type. Value: 'None'. Mandatory field missing."
        )
    if kind == SessionPersistenceType.APP_COOKIE and not sp.get("cookie_name"):
        raise InvalidSpec(
            "Validation failure: Field cookie_name must be specified when using the "
            "APP_COOKIE session persistence type."
        )
    if kind != SessionPersistenceType.APP_COOKIE and sp.get("cookie_name"):
        raise InvalidSpec(
            "Validation failure: Field cookie_name can only be specified when using the "
            "APP_COOKIE session persistence type."
        )
    if pool_protocol not in (PoolProtocol.UDP, PoolProtocol.SCTP) and (
        sp.get("persistence_timeout") is not None or sp.get("persistence_granularity") is not None
    ):
        raise InvalidSpec(
            "Validation failure: persistence_timeout and persistence_granularity is only "
            "for UDP and SCTP protocol pools."
        )


def monitor_http_fields(values: Mapping[str, Any], *, monitor_type: str, present: bool) -> None:
    """HTTP-only attributes on another type are refused (given at all, for PUT: `present`)."""
    if monitor_type in (HealthMonitorType.HTTP, HealthMonitorType.HTTPS):
        return
    for key in HTTP_MONITOR_FIELDS:
        if (key in values) if present else values.get(key) is not None:
            raise InvalidSpec(
                f"{key} is not a valid option for health monitors of type {monitor_type}"
            )


def monitor_domain_name(*, domain_name: str | None, http_version: float | None) -> None:
    if domain_name and http_version is None:
        raise InvalidSpec(
            "Validation failure: 'http_version' must be specified when 'domain_name' is provided."
        )
    if domain_name and http_version is not None and http_version < 1.1:
        raise InvalidSpec(
            f"http_version {http_version} is not a valid option for health monitors HTTP 1.1 "
            "domain name health check"
        )


def member_address(address: str) -> None:
    if address in RESERVED_MEMBER_ADDRESSES:
        raise InvalidSpec(
            f"Validation failure: The member address {address} is a reserved IP address."
        )


def mandatory(field: str) -> InvalidSpec:
    return InvalidSpec(
        f"Invalid input for field/attribute {field}. Value: 'None'. Mandatory field missing."
    )
