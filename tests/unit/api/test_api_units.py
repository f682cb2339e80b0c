"""Pure pieces of the API: WSME messages, content negotiation, list query parsing."""

from __future__ import annotations

import pytest
from starlette.datastructures import QueryParams

from statera.api.middleware import accepts_json
from statera.api.pagination import parse_list_query
from statera.api.routes.load_balancers import COLLECTION
from statera.api.schemas.listeners import ListenerRootPOST
from statera.api.schemas.types import DOMAIN_NAME_RE, EXPECTED_CODES_RE, URL_PATH_RE
from statera.api.validation import parse_body
from statera.domain.errors import InvalidSpec
from statera.settings import ApiSettings

LB = "9b7b3d8e-5e5c-4a34-9c8b-1f0e0b8f0f11"


def message(raw: bytes) -> str:
    with pytest.raises(InvalidSpec) as info:
        parse_body(ListenerRootPOST, raw)
    return info.value.message


def test_wsme_messages() -> None:
    base = b'{"listener": {"loadbalancer_id": "%s", "protocol": "HTTP", %s}}'
    assert message(base % (LB.encode(), b'"protocol_port": 0')) == (
        "Invalid input for field/attribute protocol_port. Value: '0'. "
        "Value should be greater or equal to 1"
    )
    assert message(base % (LB.encode(), b'"protocol_port": 80, "x": 1, "y": 2')) == (
        "Unknown attributes for argument listener: x, y"
    )
    assert message(base % (LB.encode(), b'"protocol_port": null')) == (
        "Invalid input for field/attribute protocol_port. Value: 'None'. Mandatory field missing."
    )
    assert message(b"{") == "Request is not in valid JSON format"
    assert message(b"") == "Missing argument: request body"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("", True),
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("*/*", True),
        ("text/html", False),
        ("application/json;q=0", False),
        ("application/json;q=bad", False),
        ("text/html;q=1, application/*;q=0.2", True),
    ],
)
def test_accepts_json(accept: str, expected: bool) -> None:
    assert accepts_json(accept) is expected


def test_list_query_defaults_and_tie_breakers() -> None:
    query = parse_list_query(QueryParams("sort=name:desc"), COLLECTION, settings=ApiSettings())
    assert query.limit == 1000 and query.marker is None and not query.page_reverse
    assert [k.descending for k in query.page.sort] == [True, False, False]
    reverse = parse_list_query(
        QueryParams("sort=name:desc&page_reverse=True&limit=5"), COLLECTION, settings=ApiSettings()
    )
    assert [k.descending for k in reverse.page.sort] == [False, True, True]
    assert reverse.limit == 5


def test_disabled_features_are_ignored() -> None:
    settings = ApiSettings(allow_filtering=False, allow_sorting=False, allow_field_selection=False)
    query = parse_list_query(
        QueryParams("bogus=1&sort=nope&fields=id"), COLLECTION, settings=settings
    )
    assert list(query.page.where) == [] and query.fields is None
    assert len(query.page.sort) == 2


@pytest.mark.parametrize("path", ["/", "/healthz", "/a/b?c=d&e=%20f", "/x;y=1", "/~user/@:!*+,="])
def test_url_path_accepts(path: str) -> None:
    assert URL_PATH_RE.fullmatch(path)


@pytest.mark.parametrize(
    "path", ["", "x", "/a b", "/a\n", "/a\r\nX: y", "/'", '/"', "/#", "/\\", "/$x", "/a\t"]
)
def test_url_path_refuses(path: str) -> None:
    assert not URL_PATH_RE.fullmatch(path)


@pytest.mark.parametrize("codes", ["200", "200,202", "200, 202", "200-204"])
def test_expected_codes_accepts(codes: str) -> None:
    assert EXPECTED_CODES_RE.fullmatch(codes)


@pytest.mark.parametrize("codes", ["200\n", "200,\n202", "2000", "200-", "200 202", "abc"])
def test_expected_codes_refuses(codes: str) -> None:
    assert not EXPECTED_CODES_RE.fullmatch(codes)


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("example.com", True),
        ("www.example.com", True),
        ("a-b.example.org", True),
        ("example.com\n", False),
        ("-x.com", False),
        ("a b.com", False),
        ("x" * 300 + ".com", False),
        ("localhost", True),
    ],
)
def test_domain_name(name: str, ok: bool) -> None:
    assert bool(DOMAIN_NAME_RE.fullmatch(name)) is ok
