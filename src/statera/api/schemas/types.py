"""Field types of the request bodies, with Octavia's (WSME's) rules and messages.

Every type here validates one attribute and, on failure, raises a
`PydanticCustomError` of type `wsme` whose message is the text WSME would put
after "Invalid input for field/attribute X. Value: 'v'." (`api/validation.py`
adds that prefix). Strings that can reach an HAProxy configuration (URL paths,
expected codes, domain names, cookie names) are matched with `re.fullmatch`
against strict patterns: no whitespace, quotes, backslashes or control
characters can pass, so nothing a tenant sends can add a directive.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Annotated, Any, NoReturn

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from statera.domain.enums import (
    Algorithm,
    HealthMonitorType,
    HttpMethod,
    ListenerProtocol,
    PoolProtocol,
    SessionPersistenceType,
)

MAX_INT32 = 2147483647
MAX_TIMEOUT_MS = 2073600000

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

URL_PATH_RE = re.compile(r"/[A-Za-z0-9\-._~!&()*+,;=:@%/?]*")
"""An absolute path with an optional query: RFC 3986 characters minus quotes, `$`, `#`."""
EXPECTED_CODES_RE = re.compile(r"\d{3}( *, *\d{3})*|\d{3}-\d{3}")
DOMAIN_NAME_RE = re.compile(
    r"(?=.{1,254}\Z)(?:(?!\d+\.|-)[a-zA-Z0-9_\-]{1,62}[a-zA-Z0-9]\.?)+(?:[a-zA-Z]{2,})"
)
"""Octavia's DOMAIN_NAME_REGEX, anchored at both ends."""
CIPHERS_RE = re.compile(r"[A-Za-z0-9:+\-_.!@=]*")
COOKIE_NAME_RE = re.compile(r"[A-Za-z0-9!#%&*+\-.^_`|~]+")
"""An RFC 6265 cookie-name token without `$` and `'` (HAProxy would interpret them)."""


def fail(message: str) -> NoReturn:
    """Reject the value with WSME's wording (the field name is added by the caller)."""
    raise PydanticCustomError("wsme", "{message}", {"message": message})


def wrong_type(expected: type, value: Any) -> NoReturn:
    fail(f"Wrong type. Expected '{expected}', got '{type(value)}'")


def _text(max_length: int, *, min_length: int = 0) -> Callable[[str], str]:
    def check(value: str) -> str:
        if len(value) < min_length:
            fail(f"Value should have a minimum character requirement of {min_length}")
        if len(value) > max_length:
            fail(f"Value should have a maximum character requirement of {max_length}")
        if _CONTROL.search(value):
            fail("Value should not contain control characters")
        return value

    return check


def _pattern(regex: re.Pattern[str], message: str, max_length: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if len(value) > max_length:
            fail(f"Value should have a maximum character requirement of {max_length}")
        if not regex.fullmatch(value):
            fail(message)
        return value

    return check


def one_of(values: Iterable[str]) -> Callable[[str], str]:
    allowed = tuple(values)
    listed = ", ".join(allowed)

    def check(value: str) -> str:
        if value not in allowed:
            fail(f"Value should be one of: {listed}")
        return value

    return check


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        fail("Value should be UUID format")


def _ip_address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        fail("Value should be IPv4 or IPv6 format")


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        fail("Value should be IPv4 or IPv6 CIDR format")


def _string_list(item: Callable[[str], str], *, unique: bool = True) -> Callable[[Any], list[str]]:
    def check(value: Any) -> list[str]:
        if not isinstance(value, list):
            wrong_type(list, value)
        out: list[str] = []
        for entry in value:
            if not isinstance(entry, str):
                wrong_type(str, entry)
            checked = item(entry)
            if not unique or checked not in out:
                out.append(checked)
        return out

    return check


def _int_range(lo: int, hi: int) -> Any:
    return Field(ge=lo, le=hi)


def _int_from_text(value: Any) -> Any:
    """WSME's IntegerType also takes a numeric string (python-octaviaclient sends
    `connection_limit` as one)."""
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,10}", value.strip()):
        return int(value)
    return value


def _http_version(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        wrong_type(float, value)
    if float(value) not in (1.0, 1.1):
        fail("Value should be one of: 1.0, 1.1")
    return float(value)


def _insert_headers(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        wrong_type(dict, value)
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(item, str):
            wrong_type(str, item)
        if item.lower() not in ("true", "false"):
            fail(f"Value of {key} should be one of: true, false")
        out[key] = item.lower()
    return out


Name = Annotated[str, AfterValidator(_text(255))]
Description = Annotated[str, AfterValidator(_text(255))]
ProjectId = Annotated[str, AfterValidator(_text(36))]
NetworkRef = Annotated[str, AfterValidator(_text(255, min_length=1))]
"""A network or subnet: its UUID or, as a convenience, its configured name."""
Ref = Annotated[str, AfterValidator(_text(255))]
"""A secret or container reference (stored, never dereferenced in this release)."""
Uuid = Annotated[str, AfterValidator(_uuid)]
IpAddress = Annotated[str, AfterValidator(_ip_address)]
Port = Annotated[int, _int_range(1, 65535)]
Weight = Annotated[int, _int_range(0, 256)]
ConnectionLimit = Annotated[int, BeforeValidator(_int_from_text), _int_range(-1, MAX_INT32)]
TimeoutMs = Annotated[int, _int_range(0, MAX_TIMEOUT_MS)]
Seconds = Annotated[int, _int_range(0, MAX_INT32)]
Retries = Annotated[int, _int_range(1, 10)]
NonNegative = Annotated[int, _int_range(0, MAX_INT32)]
Tags = Annotated[list[str], BeforeValidator(_string_list(_text(255)))]
Cidrs = Annotated[list[str], BeforeValidator(_string_list(_cidr))]
RefList = Annotated[list[str], BeforeValidator(_string_list(_text(255)))]
TlsVersions = Annotated[
    list[str],
    BeforeValidator(_string_list(one_of(("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")))),
]
AlpnProtocols = Annotated[
    list[str], BeforeValidator(_string_list(one_of(("h2", "http/1.1", "http/1.0"))))
]
Ciphers = Annotated[
    str,
    AfterValidator(_pattern(CIPHERS_RE, "Value should be an OpenSSL cipher list", 2048)),
]
InsertHeaders = Annotated[dict[str, str], BeforeValidator(_insert_headers)]
UrlPath = Annotated[
    str, AfterValidator(_pattern(URL_PATH_RE, "Value must be a valid URL Path string", 2048))
]
ExpectedCodes = Annotated[
    str,
    AfterValidator(
        _pattern(
            EXPECTED_CODES_RE, f"Value should match the pattern {EXPECTED_CODES_RE.pattern}", 64
        )
    ),
]
DomainName = Annotated[
    str,
    AfterValidator(
        _pattern(DOMAIN_NAME_RE, f"Value should match the pattern {DOMAIN_NAME_RE.pattern}", 255)
    ),
]
CookieName = Annotated[
    str,
    AfterValidator(
        _pattern(COOKIE_NAME_RE, f"Value should match the pattern {COOKIE_NAME_RE.pattern}", 255)
    ),
]
HttpVersion = Annotated[float, BeforeValidator(_http_version)]


ListenerProtocolName = Annotated[str, AfterValidator(one_of(ListenerProtocol))]
PoolProtocolName = Annotated[str, AfterValidator(one_of(PoolProtocol))]
AlgorithmName = Annotated[str, AfterValidator(one_of(Algorithm))]
MonitorTypeName = Annotated[str, AfterValidator(one_of(HealthMonitorType))]
HttpMethodName = Annotated[str, AfterValidator(one_of(HttpMethod))]
PersistenceTypeName = Annotated[str, AfterValidator(one_of(SessionPersistenceType))]
ClientAuthentication = Annotated[str, AfterValidator(one_of(("NONE", "OPTIONAL", "MANDATORY")))]
ProviderName = Annotated[str, AfterValidator(_text(64))]
