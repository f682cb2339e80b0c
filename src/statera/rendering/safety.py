"""Checks that every value written into a generated configuration is inert.

Each function takes the field name (for the error) and the value, and returns
the value in the exact form to render, or raises `UnsafeValue`. The patterns
are deliberately narrower than what HTTP allows: nothing that HAProxy's
tokenizer treats specially (whitespace, quotes, `#`, backslash, `$`) and no
control character may pass, so no value can end a directive or start another.
`jinja_finalize` is the last net: the template environment calls it on every
expression and it refuses the same characters again.
"""

import ipaddress
import re
import string

from statera.domain.enums import HttpMethod
from statera.protocol.agent_api import is_certificate_name
from statera.rendering.errors import UnsafeValue

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# RFC 3986 path and query characters minus quotes, `#`, `$` and backslash.
_URL_PATH = re.compile(r"/[A-Za-z0-9\-._~%!&()*+,;=:@/?]{0,2047}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
_DOMAIN_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
# RFC 6265 cookie-name token minus `#`, `$`, quotes and backquote.
_COOKIE_NAME = re.compile(r"[A-Za-z0-9!%&*+.^_|~\-]{1,255}")
_STATUS_LIST = re.compile(r"[1-5][0-9]{2}(?:,[1-5][0-9]{2})*")
_STATUS_RANGE = re.compile(r"([1-5][0-9]{2})-([1-5][0-9]{2})")
_ABSOLUTE_PATH = re.compile(r"/[A-Za-z0-9._/\-]{1,200}")
_UNIX_SOCKET_PATH_MAX = 107  # sun_path is 108 bytes including the NUL
# Characters no rendered expression may contain, whatever its field.
_FORBIDDEN_IN_OUTPUT = re.compile(r"[\x00-\x1f\x7f\"'`\\#]")
# Characters an escaped word keeps as they are; every other byte becomes `\xNN`.
_WORD_SAFE = frozenset(string.ascii_letters + string.digits + "._~/:@%&*+,;=?^|()-")
_ESCAPED_WORD = re.compile(r"(?:[A-Za-z0-9._~/:@%&*+,;=?^|()\-]|\\x[0-9a-f]{2})+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# OpenSSL cipher-list characters: names, `:` separators, `+`/`-`/`!` operators, `@` keywords.
_CIPHERS = re.compile(r"[A-Za-z0-9:+\-_.!@=]{1,2048}")
# Octavia's TLS version names → HAProxy's `ssl-min-ver`/`ssl-max-ver` words, oldest first.
TLS_VERSION_WORDS = {
    "TLSv1": "TLSv1.0",
    "TLSv1.1": "TLSv1.1",
    "TLSv1.2": "TLSv1.2",
    "TLSv1.3": "TLSv1.3",
}
ALPN_PROTOCOLS = frozenset({"h2", "http/1.1", "http/1.0"})
# Octavia's client_authentication → HAProxy's `verify` word on a bind line.
CLIENT_VERIFY_WORDS = {"NONE": "none", "OPTIONAL": "optional", "MANDATORY": "required"}


def uuid_id(field: str, value: object) -> str:
    """An object id: a UUID in its canonical 8-4-4-4-12 form."""
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise UnsafeValue(field, value, "expected a UUID")
    return value


def ip_address(field: str, value: object) -> str:
    """A literal IPv4 or IPv6 address, normalised; scoped IPv6 is refused."""
    # `ipaddress` accepts "fe80::1%<anything>" (even a newline) as a scope id.
    if not isinstance(value, str) or "%" in value:
        raise UnsafeValue(field, value, "expected an IP address")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise UnsafeValue(field, value, "expected an IP address") from None


def cidr(field: str, value: object) -> str:
    """An IP network such as 10.0.0.0/8, normalised (host bits cleared)."""
    if not isinstance(value, str) or "%" in value:
        raise UnsafeValue(field, value, "expected a CIDR")
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise UnsafeValue(field, value, "expected a CIDR") from None


def integer(field: str, value: object, *, low: int, high: int) -> int:
    """An int (not a bool) in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UnsafeValue(field, value, f"expected an integer in [{low}, {high}]")
    return value


def port(field: str, value: object) -> int:
    return integer(field, value, low=1, high=65535)


def url_path(field: str, value: object) -> str:
    """A health-check URL path: starts with `/`, RFC 3986 characters only."""
    if not isinstance(value, str) or not _URL_PATH.fullmatch(value):
        raise UnsafeValue(field, value, "expected a URL path of unreserved characters")
    return value


def domain_name(field: str, value: object) -> str:
    """An RFC 1123 host name."""
    if not isinstance(value, str) or len(value) > 255 or not _DOMAIN_NAME.fullmatch(value):
        raise UnsafeValue(field, value, "expected a host name")
    return value


def cookie_name(field: str, value: object) -> str:
    """An RFC 6265 cookie name without `$`, `#`, quotes or separators."""
    if not isinstance(value, str) or not _COOKIE_NAME.fullmatch(value):
        raise UnsafeValue(field, value, "expected a cookie name token")
    return value


def http_method(field: str, value: object) -> str:
    """One of Octavia's HTTP methods."""
    if not isinstance(value, str) or value not in HttpMethod.__members__:
        raise UnsafeValue(field, value, "expected an HTTP method")
    return value


def expected_codes_regex(field: str, value: object) -> str:
    """Turn Octavia's `200`, `200,202` or `200-204` into an anchored regex.

    A range is spelled out code by code so HAProxy needs no numeric matcher.
    """
    if isinstance(value, str) and _STATUS_LIST.fullmatch(value):
        codes = value.split(",")
    elif isinstance(value, str) and (match := _STATUS_RANGE.fullmatch(value)):
        low, high = int(match.group(1)), int(match.group(2))
        if low > high:
            raise UnsafeValue(field, value, "range runs backwards")
        codes = [str(code) for code in range(low, high + 1)]
    else:
        raise UnsafeValue(field, value, "expected 200, 200,202 or 200-204")
    if len(codes) == 1:
        return f"^{codes[0]}$"
    return "^(" + "|".join(codes) + ")$"


def http_version(field: str, value: object) -> str:
    """1.0 or 1.1 as HAProxy's `HTTP/1.x`."""
    if value == 1.0:
        return "HTTP/1.0"
    if value == 1.1:
        return "HTTP/1.1"
    raise UnsafeValue(field, value, "expected 1.0 or 1.1")


def absolute_path(field: str, value: object) -> str:
    """A directory or file path of plain characters, such as the agent's base_dir."""
    if not isinstance(value, str) or not _ABSOLUTE_PATH.fullmatch(value) or ".." in value:
        raise UnsafeValue(field, value, "expected an absolute path of [A-Za-z0-9._/-]")
    return value


def unix_socket_path(field: str, value: object) -> str:
    path = absolute_path(field, value)
    if len(path.encode()) > _UNIX_SOCKET_PATH_MAX:
        raise UnsafeValue(field, value, f"longer than {_UNIX_SOCKET_PATH_MAX} bytes")
    return path


class EscapedWord(str):
    """One HAProxy configuration word made by `haproxy_word`: safe characters and
    `\\xNN` escapes only. `jinja_finalize` lets it through after checking that shape."""


def haproxy_word(field: str, value: object, *, max_length: int = 2048) -> EscapedWord:
    """Any printable text as one HAProxy word that HAProxy reads back as exactly `value`.

    Every byte of its UTF-8 form outside a small safe set (letters, digits,
    `._~/:@%&*+,;=?^|()-`) is written as `\\xNN`, which HAProxy's line parser
    decodes; so spaces, quotes, `#`, `$` and backslashes can neither end the
    word nor start a comment or a variable. Control characters (other than tab)
    and the empty string are refused: no L7 value needs them.
    """
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise UnsafeValue(field, value, f"expected 1 to {max_length} characters")
    if _CONTROL.search(value):
        raise UnsafeValue(field, value, "contains a control character")
    out = []
    for char in value:
        if char in _WORD_SAFE:
            out.append(char)
        else:
            out.extend(f"\\x{byte:02x}" for byte in char.encode())
    return EscapedWord("".join(out))


def jinja_finalize(value: object) -> object:
    """Refuse any rendered expression that contains a character HAProxy parses.

    Wired into the environment as `finalize`, so it runs on every `{{ ... }}`.
    Spaces are allowed: view-models join validated tokens with them.
    """
    if isinstance(value, EscapedWord):
        if not _ESCAPED_WORD.fullmatch(value):
            raise UnsafeValue("template expression", value, "not an escaped word")
        return value
    if _FORBIDDEN_IN_OUTPUT.search(str(value)):
        raise UnsafeValue("template expression", value, "contains a forbidden character")
    return value


def ciphers(field: str, value: object) -> str:
    """An OpenSSL cipher list: cipher names, separators and operators only."""
    if not isinstance(value, str) or not _CIPHERS.fullmatch(value):
        raise UnsafeValue(field, value, "expected an OpenSSL cipher list")
    return value


def tls_version(field: str, value: object) -> str:
    """An Octavia TLS version name, as HAProxy's `ssl-min-ver`/`ssl-max-ver` spell it."""
    if not isinstance(value, str) or value not in TLS_VERSION_WORDS:
        raise UnsafeValue(field, value, f"expected one of {', '.join(TLS_VERSION_WORDS)}")
    return TLS_VERSION_WORDS[value]


def alpn_protocol(field: str, value: object) -> str:
    if not isinstance(value, str) or value not in ALPN_PROTOCOLS:
        raise UnsafeValue(field, value, f"expected one of {', '.join(sorted(ALPN_PROTOCOLS))}")
    return value


def certificate_name(field: str, value: object) -> str:
    """A TLS file name as the agent stores it in `certs/`: [A-Za-z0-9_.-]+.pem, no `..`."""
    if not isinstance(value, str) or not is_certificate_name(value):
        raise UnsafeValue(field, value, "expected a file name of [A-Za-z0-9_.-] ending in .pem")
    return value


def client_verify(field: str, value: object) -> str:
    """Octavia's client_authentication as HAProxy's `verify none|optional|required`."""
    if not isinstance(value, str) or value not in CLIENT_VERIFY_WORDS:
        raise UnsafeValue(field, value, f"expected one of {', '.join(CLIENT_VERIFY_WORDS)}")
    return CLIENT_VERIFY_WORDS[value]
