"""Octavia's cross-field rules and this release's protocol support, as pure checks.

Each function raises `InvalidSpec` (400) or its subclass `NotSupported` (400,
"not yet supported") with Octavia's wording where Octavia has one. The
protocol tables are in `domain.enums` (octavia-spec §1.12).
"""

from __future__ import annotations

import ipaddress
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


def listener_protocol(
    protocol: str, *, allow_terminated_https: bool = True, allow_prometheus: bool = True
) -> None:
    """Refuse a protocol this deployment disabled (`[api_settings] allow_*`) or this
    release does not build."""
    disabled = (protocol == ListenerProtocol.TERMINATED_HTTPS and not allow_terminated_https) or (
        protocol == ListenerProtocol.PROMETHEUS and not allow_prometheus
    )
    if disabled:
        raise InvalidSpec(f"The selected protocol is not allowed in this deployment: {protocol}")
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


LISTENER_TLS_HSTS = ("hsts_max_age", "hsts_include_subdomains", "hsts_preload")
CLIENT_AUTH_NONE = "NONE"


def listener_tls(
    values: Mapping[str, Any], *, protocol: str, current: Mapping[str, Any] | None = None
) -> None:
    """A listener's TLS attributes as Octavia checks them.

    `values` is the request; `current` the stored TLS attributes (`Listener.extra`) on
    PUT, None on create. Only TERMINATED_HTTPS listeners carry certificates; they need a
    default or an SNI certificate, always (Octavia checks on create only; a PUT that
    removed the last one would leave HAProxy nothing to serve).
    """
    if protocol != ListenerProtocol.TERMINATED_HTTPS:
        _no_listener_tls(values)
        return
    merged = {**(current or {}), **values}
    certificates = merged.get("default_tls_container_ref") or merged.get("sni_container_refs")
    if merged.get("client_ca_tls_container_ref") and not certificates:
        raise InvalidSpec(
            "Validation failure: An SNI or default certificate container reference must be "
            "provided with a client CA container reference."
        )
    if not certificates:
        raise InvalidSpec(
            "Validation failure: An SNI or default certificate container reference must be "
            "provided for TERMINATED_HTTPS protocol listeners."
        )
    auth = merged.get("client_authentication") or CLIENT_AUTH_NONE
    if auth != CLIENT_AUTH_NONE and not merged.get("client_ca_tls_container_ref"):
        raise InvalidSpec(
            f"Validation failure: Client authentication setting {auth} requires a client CA "
            "container reference."
        )
    if merged.get("client_crl_container_ref") and not merged.get("client_ca_tls_container_ref"):
        raise InvalidSpec(
            "Validation failure: A client authentication CA reference is required to specify "
            "a client authentication revocation list."
        )
    if merged.get("hsts_max_age") is None and (
        merged.get("hsts_include_subdomains") or merged.get("hsts_preload")
    ):
        raise InvalidSpec(
            "Validation failure: HSTS configuration options hsts_include_subdomains and "
            "hsts_preload only make sense if hsts_max_age is set as well."
        )
    if values.get("tls_versions") is not None:
        tls_versions(values["tls_versions"], owner="Listener")
    _alpn(values)


def _no_listener_tls(values: Mapping[str, Any]) -> None:
    if any(values.get(k) for k in LISTENER_TLS_REFS):
        raise InvalidSpec(
            "Validation failure: Certificate container references are only allowed on "
            "TERMINATED_HTTPS protocol listeners."
        )
    auth = values.get("client_authentication")
    if auth not in (None, CLIENT_AUTH_NONE):
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


def _alpn(values: Mapping[str, Any]) -> None:
    if values.get("alpn_protocols") == []:
        raise InvalidSpec(
            "Validation failure: Empty ALPN protocol list. Either specify at least one ALPN "
            "protocol or remove this parameter to use the default."
        )


def pool_tls(values: Mapping[str, Any], *, current: Mapping[str, Any] | None = None) -> None:
    """Pool TLS options as Octavia checks them (`current`: the stored ones on PUT).

    Certificates are checked against the key manager by `services.tls_refs`. Two
    limits of HAProxy (a version range, OpenSSL without SSLv3) are refused here
    rather than failing the configuration push later.
    """
    merged = {**(current or {}), **values}
    if merged.get("crl_container_ref") and not merged.get("ca_tls_container_ref"):
        raise InvalidSpec(
            "Validation failure: A CA reference is required to specify a certificate "
            "revocation list."
        )
    versions = values.get("tls_versions")
    if versions is not None:
        tls_versions(versions, owner="Pool")
    _alpn(values)


def tls_versions(versions: list[str], *, owner: str) -> None:
    if not versions:
        raise InvalidSpec(
            "Validation failure: Empty TLS version list. Either specify at least one TLS "
            "version or remove this parameter to use the default."
        )
    if "SSLv3" in versions:
        raise NotSupported(
            f"{owner} tls_versions SSLv3 is not yet supported by this release (its OpenSSL "
            "has no SSLv3)."
        )
    ranks = sorted({TLS_VERSIONS.index(v) for v in versions})
    if ranks[-1] - ranks[0] + 1 != len(ranks):
        raise NotSupported(
            f"{owner} tls_versions with a gap (e.g. TLSv1 and TLSv1.2 without TLSv1.1) are not "
            "yet supported by this release: HAProxy takes a range of versions."
        )


def udp_algorithm(algorithm: str | None, *, pool_protocol: str) -> None:
    """UDP is balanced by nftables in the amphora, which has no least-connections."""
    if pool_protocol == PoolProtocol.UDP and algorithm == "LEAST_CONNECTIONS":
        raise NotSupported(
            "lb_algorithm LEAST_CONNECTIONS is not yet supported for UDP pools by this release "
            "(UDP is balanced with nftables: use ROUND_ROBIN, SOURCE_IP or SOURCE_IP_PORT)."
        )


def udp_connect_delay(*, monitor_type: str, delay: int | None, minimum: int) -> None:
    if monitor_type == HealthMonitorType.UDP_CONNECT and delay is not None and delay < minimum:
        raise InvalidSpec(
            f"Validation failure: The request delay value {delay} should be larger than "
            f"{minimum} for {monitor_type} health monitor type."
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
    if pool_protocol in (PoolProtocol.UDP, PoolProtocol.SCTP):
        if kind != SessionPersistenceType.SOURCE_IP:
            raise InvalidSpec(
                f"Validation failure: Session persistence of type {kind} is not supported "
                f"for {pool_protocol} protocol pools."
            )
        granularity = sp.get("persistence_granularity")
        if granularity is not None and not _is_netmask(granularity):
            raise InvalidSpec(
                f"Validation failure: persistence_granularity {granularity!r} is not a netmask "
                "(e.g. 255.255.255.0)."
            )


def _is_netmask(value: object) -> bool:
    try:
        mask = ipaddress.ip_address(str(value))
    except ValueError:
        return False
    host_bits = ~int(mask) & ((1 << mask.max_prefixlen) - 1)
    return host_bits & (host_bits + 1) == 0


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
