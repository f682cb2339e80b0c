"""Pool TLS (re-encryption to members): Octavia's defaults, validation and updates.

Certificate references are refused elsewhere (test_pools.py); these are the
options that work without a secret store: `tls_enabled`, `tls_versions`,
`tls_ciphers` and `alpn_protocols`.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.integration.api.helpers import V2, activate, create_lb, create_pool, fault, ok

from statera.settings import ApiSettings

DEFAULT_CIPHERS = ApiSettings().default_pool_ciphers
TLS_FIELDS = ("tls_enabled", "tls_ciphers", "tls_versions", "alpn_protocols")


@pytest.fixture
def lb(client: Any, database: Any) -> dict[str, Any]:
    return create_lb(client, database)


def tls(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc[k] for k in TLS_FIELDS}


def post(client: Any, lb_id: str, **fields: Any) -> Any:
    body = {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "loadbalancer_id": lb_id, **fields}
    return client.post(f"{V2}/pools", json={"pool": body})


def test_tls_enabled_gets_octavias_defaults(client: Any, database: Any, lb: dict[str, Any]) -> None:
    pool = create_pool(client, database, lb["id"], tls_enabled=True)
    expected = {
        "tls_enabled": True,
        "tls_ciphers": DEFAULT_CIPHERS,
        "tls_versions": ["TLSv1.2", "TLSv1.3"],
        "alpn_protocols": ["h2", "http/1.1", "http/1.0"],
    }
    assert tls(pool) == expected
    assert tls(ok(client.get(f"{V2}/pools/{pool['id']}"))["pool"]) == expected
    listed = ok(client.get(f"{V2}/pools"))["pools"]
    assert [tls(p) for p in listed if p["id"] == pool["id"]] == [expected]


def test_tls_disabled_returns_nulls_and_keeps_given_options(
    client: Any, database: Any, lb: dict[str, Any]
) -> None:
    plain = create_pool(client, database, lb["id"])
    assert tls(plain) == dict.fromkeys(TLS_FIELDS) | {"tls_enabled": False}
    given = create_pool(client, database, lb["id"], tls_versions=["TLSv1.3"])
    assert tls(given) == {
        "tls_enabled": False,
        "tls_ciphers": None,
        "tls_versions": ["TLSv1.3"],
        "alpn_protocols": None,
    }


def test_given_options_are_kept(client: Any, database: Any, lb: dict[str, Any]) -> None:
    fields = {
        "tls_enabled": True,
        "tls_ciphers": "ECDHE-RSA-AES128-GCM-SHA256:!aNULL",
        "tls_versions": ["TLSv1.3", "TLSv1.2"],
        "alpn_protocols": ["http/1.1"],
    }
    pool = create_pool(client, database, lb["id"], **fields)
    assert tls(pool) == fields


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"tls_versions": []},
            "Validation failure: Empty TLS version list. Either specify at least one TLS "
            "version or remove this parameter to use the default.",
        ),
        (
            {"alpn_protocols": []},
            "Validation failure: Empty ALPN protocol list. Either specify at least one ALPN "
            "protocol or remove this parameter to use the default.",
        ),
    ],
)
def test_empty_lists_are_400(
    client: Any, database: Any, lb: dict[str, Any], fields: dict[str, Any], message: str
) -> None:
    assert fault(post(client, lb["id"], tls_enabled=True, **fields), 400) == message
    pool = create_pool(client, database, lb["id"], tls_enabled=True)
    assert fault(client.put(f"{V2}/pools/{pool['id']}", json={"pool": fields}), 400) == message


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"tls_versions": ["TLSv1.4"]}, "tls_versions"),
        ({"alpn_protocols": ["spdy/3"]}, "alpn_protocols"),
        ({"tls_ciphers": "ECDHE ; bind :80"}, "tls_ciphers"),
        ({"tls_ciphers": "ECDHE\nserver x"}, "tls_ciphers"),
        ({"tls_ciphers": "A" * 2049}, "tls_ciphers"),
        ({"tls_enabled": "maybe"}, "tls_enabled"),
    ],
)
def test_bad_values_name_the_field(
    client: Any, database: Any, lb: dict[str, Any], fields: dict[str, Any], field: str
) -> None:
    message = fault(post(client, lb["id"], **{"tls_enabled": True, **fields}), 400)
    assert f"Invalid input for field/attribute {field}." in message


@pytest.mark.parametrize(
    "versions", [["SSLv3", "TLSv1"], ["TLSv1", "TLSv1.2"], ["TLSv1.1", "TLSv1.3"]]
)
def test_versions_haproxy_cannot_express_are_not_yet_supported(
    client: Any, database: Any, lb: dict[str, Any], versions: list[str]
) -> None:
    message = fault(post(client, lb["id"], tls_enabled=True, tls_versions=versions), 400)
    assert "tls_versions" in message and "not yet supported" in message


def test_update_enables_with_defaults_and_changes_options(
    client: Any, database: Any, lb: dict[str, Any]
) -> None:
    pool = create_pool(client, database, lb["id"])
    url = f"{V2}/pools/{pool['id']}"
    enabled = ok(client.put(url, json={"pool": {"tls_enabled": True}}))["pool"]
    assert tls(enabled) == {
        "tls_enabled": True,
        "tls_ciphers": DEFAULT_CIPHERS,
        "tls_versions": ["TLSv1.2", "TLSv1.3"],
        "alpn_protocols": ["h2", "http/1.1", "http/1.0"],
    }
    assert enabled["provisioning_status"] == "PENDING_UPDATE"
    activate(database, lb["id"])
    changed = ok(
        client.put(url, json={"pool": {"tls_versions": ["TLSv1.3"], "alpn_protocols": ["h2"]}})
    )["pool"]
    assert changed["tls_versions"] == ["TLSv1.3"] and changed["alpn_protocols"] == ["h2"]
    assert changed["tls_ciphers"] == DEFAULT_CIPHERS
    activate(database, lb["id"])
    # null puts the default back (Octavia: "remove this parameter to use the default").
    reset = ok(client.put(url, json={"pool": {"tls_versions": None}}))["pool"]
    assert reset["tls_versions"] == ["TLSv1.2", "TLSv1.3"]
    activate(database, lb["id"])
    disabled = ok(client.put(url, json={"pool": {"tls_enabled": False}}))["pool"]
    assert disabled["tls_enabled"] is False
    assert ok(client.get(url))["pool"]["tls_enabled"] is False


def test_graph_create(client: Any, database: Any) -> None:
    graph = {
        "vip_subnet_id": "private-subnet",
        "listeners": [
            {
                "protocol": "HTTP",
                "protocol_port": 80,
                "default_pool": {
                    "name": "secure",
                    "protocol": "HTTP",
                    "lb_algorithm": "ROUND_ROBIN",
                    "tls_enabled": True,
                    "tls_versions": ["TLSv1.3"],
                },
            }
        ],
        "pools": [{"name": "plain", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}],
    }
    lb = ok(client.post(f"{V2}/loadbalancers", json={"loadbalancer": graph}), 201)["loadbalancer"]
    by_name = {p["name"]: p for p in lb["pools"]}
    assert tls(by_name["secure"]) == {
        "tls_enabled": True,
        "tls_ciphers": DEFAULT_CIPHERS,
        "tls_versions": ["TLSv1.3"],
        "alpn_protocols": ["h2", "http/1.1", "http/1.0"],
    }
    assert by_name["plain"]["tls_enabled"] is False
    bad = dict(graph, listeners=[dict(graph["listeners"][0])])
    bad["listeners"][0]["default_pool"] = dict(
        graph["listeners"][0]["default_pool"], tls_versions=[]
    )
    assert "Empty TLS version list" in fault(
        client.post(f"{V2}/loadbalancers", json={"loadbalancer": bad}), 400
    )
