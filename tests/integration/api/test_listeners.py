"""Listeners: defaults, protocols, ports, headers, CIDRs, TLS fields, update, delete."""

from __future__ import annotations

from typing import Any

import pytest
from tests.integration.api.helpers import (
    V2,
    activate,
    create_lb,
    create_listener,
    create_pool,
    fault,
    lb_row,
    ok,
    statuses,
)

from statera.db.models import Listener, LoadBalancer


@pytest.fixture
def lb(client: Any, database: Any) -> dict[str, Any]:
    return create_lb(client, database)


def post(client: Any, lb_id: str, **fields: Any) -> Any:
    body = {"loadbalancer_id": lb_id, "protocol": "HTTP", "protocol_port": 80, **fields}
    return client.post(f"{V2}/listeners", json={"listener": body})


def test_defaults(client: Any, database: Any, lb: dict[str, Any]) -> None:
    listener = create_listener(client, database, lb["id"], active=False)
    expected = {
        "name": "",
        "description": "",
        "provisioning_status": "PENDING_CREATE",
        "operating_status": "OFFLINE",
        "admin_state_up": True,
        "protocol": "HTTP",
        "protocol_port": 80,
        "connection_limit": -1,
        "default_tls_container_ref": None,
        "sni_container_refs": [],
        "project_id": "project-a",
        "tenant_id": "project-a",
        "default_pool_id": None,
        "l7policies": [],
        "insert_headers": {},
        "updated_at": None,
        "loadbalancers": [{"id": lb["id"]}],
        "timeout_client_data": 50000,
        "timeout_member_connect": 5000,
        "timeout_member_data": 50000,
        "timeout_tcp_inspect": 0,
        "tags": [],
        "client_ca_tls_container_ref": None,
        "client_authentication": "NONE",
        "client_crl_container_ref": None,
        "allowed_cidrs": None,
        "tls_ciphers": None,
        "tls_versions": None,
        "alpn_protocols": None,
        "hsts_max_age": None,
        "hsts_include_subdomains": False,
        "hsts_preload": False,
    }
    assert {k: listener[k] for k in expected} == expected
    assert set(listener) == {*expected, "id", "created_at"}
    assert lb_row(database, lb["id"]).provisioning_status == "PENDING_UPDATE"


class TestTimeoutDefaults:
    @pytest.fixture
    def settings_overrides(self) -> str:
        return "[haproxy_amphora]\ntimeout_client_data = 1234\ntimeout_tcp_inspect = 7\n"

    def test_defaults_come_from_haproxy_amphora(self, client: Any, database: Any) -> None:
        lb = create_lb(client, database)
        listener = create_listener(client, database, lb["id"])
        assert listener["timeout_client_data"] == 1234
        assert listener["timeout_tcp_inspect"] == 7
        updated = ok(
            client.put(
                f"{V2}/listeners/{listener['id']}",
                json={"listener": {"timeout_client_data": 5, "timeout_tcp_inspect": None}},
            )
        )["listener"]
        assert updated["timeout_client_data"] == 5 and updated["timeout_tcp_inspect"] == 7


def test_every_field(client: Any, database: Any, lb: dict[str, Any]) -> None:
    listener = create_listener(
        client,
        database,
        lb["id"],
        name="web",
        description="port 80",
        admin_state_up=False,
        connection_limit=100,
        insert_headers={"X-Forwarded-For": "true", "X-Forwarded-Port": "False"},
        timeout_client_data=1,
        timeout_member_connect=2,
        timeout_member_data=3,
        timeout_tcp_inspect=4,
        allowed_cidrs=["192.168.0.0/16", "10.1.2.3/8", "192.168.0.0/16"],
        tags=["t"],
        client_authentication="NONE",
        hsts_include_subdomains=False,
    )
    assert listener["name"] == "web" and listener["admin_state_up"] is False
    assert listener["connection_limit"] == 100
    assert listener["insert_headers"] == {"X-Forwarded-For": "true", "X-Forwarded-Port": "false"}
    assert [
        listener[f"timeout_{k}"]
        for k in ("client_data", "member_connect", "member_data", "tcp_inspect")
    ] == [1, 2, 3, 4]
    assert listener["allowed_cidrs"] == ["192.168.0.0/16", "10.0.0.0/8"]
    assert listener["tags"] == ["t"]


@pytest.mark.parametrize("protocol", ["SCTP"])
def test_other_protocols_are_not_yet_supported(
    client: Any, database: Any, lb: dict[str, Any], protocol: str
) -> None:
    message = fault(post(client, lb["id"], protocol=protocol), 400)
    assert f"protocol {protocol} is not yet supported" in message
    assert statuses(database, Listener) == {}
    assert lb_row(database, lb["id"]).provisioning_status == "ACTIVE"


def test_https_passthrough_listener(client: Any, database: Any, lb: dict[str, Any]) -> None:
    """TLS passes through: HTTPS, TCP, PROXY or PROXYV2 pools, no HTTP one, no headers."""
    listener = create_listener(
        client,
        database,
        lb["id"],
        protocol="HTTPS",
        protocol_port=443,
        allowed_cidrs=["192.0.2.0/24"],
        timeout_client_data=1000,
    )
    assert listener["protocol"] == "HTTPS" and listener["allowed_cidrs"] == ["192.0.2.0/24"]
    assert listener["timeout_client_data"] == 1000
    url = f"{V2}/listeners/{listener['id']}"
    for protocol in ("HTTPS", "TCP", "PROXY", "PROXYV2"):
        pool = create_pool(client, database, lb["id"], protocol=protocol)
        shown = ok(client.put(url, json={"listener": {"default_pool_id": pool["id"]}}))
        assert shown["listener"]["default_pool_id"] == pool["id"]
        activate(database, lb["id"])
    http = create_pool(client, database, lb["id"])
    message = fault(client.put(url, json={"listener": {"default_pool_id": http["id"]}}), 400)
    assert message == (
        "Validation failure: The pool protocol 'HTTP' is invalid while the listener "
        "protocol is 'HTTPS'."
    )
    headers = {"listener": {"insert_headers": {"X-Forwarded-For": "true"}}}
    assert fault(client.put(url, json=headers), 400) == (
        "insert-headers is not a valid option for a HTTPS protocol listener."
    )
    tls = {"listener": {"default_tls_container_ref": "https://barbican/v1/containers/x"}}
    assert fault(client.put(url, json=tls), 400).startswith(
        "Validation failure: Certificate container references are only allowed on TERMINATED_HTTPS"
    )


def test_prometheus_listener_has_no_children(
    client: Any, database: Any, lb: dict[str, Any]
) -> None:
    """Octavia 2.25: metrics on the port; no pool, no L7 policy, no headers, no TLS."""
    listener = create_listener(
        client, database, lb["id"], protocol="PROMETHEUS", protocol_port=9100
    )
    assert listener["protocol"] == "PROMETHEUS" and listener["default_pool_id"] is None
    url = f"{V2}/listeners/{listener['id']}"
    pool = create_pool(client, database, lb["id"])
    message = fault(client.put(url, json={"listener": {"default_pool_id": pool["id"]}}), 400)
    assert message == (
        "Validation failure: The pool protocol 'HTTP' is invalid while the listener "
        "protocol is 'PROMETHEUS'."
    )
    attached = {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "listener_id": listener["id"]}
    assert "is invalid while the listener protocol is 'PROMETHEUS'" in fault(
        client.post(f"{V2}/pools", json={"pool": attached}), 400
    )
    policy = {"listener_id": listener["id"], "action": "REJECT"}
    assert fault(client.post(f"{V2}/l7policies", json={"l7policy": policy}), 400) == (
        "Validation failure: Listeners of type PROMETHEUS cannot have child objects."
    )
    headers = {"listener": {"insert_headers": {"X-Forwarded-For": "true"}}}
    assert fault(client.put(url, json=headers), 400) == (
        "insert-headers is not a valid option for a PROMETHEUS protocol listener."
    )
    tls = fault(
        post(
            client,
            lb["id"],
            protocol="PROMETHEUS",
            protocol_port=9101,
            default_tls_container_ref="https://barbican/v1/containers/x",
        ),
        400,
    )
    assert tls.startswith("Validation failure: Certificate container references")
    clash = fault(post(client, lb["id"], protocol="HTTP", protocol_port=9100), 409)
    assert clash == "Another Listener on this Load Balancer is already using protocol_port 9100"


@pytest.mark.parametrize(
    "settings_overrides", ["[api_settings]\nallow_prometheus_listeners = false\n"]
)
def test_prometheus_listeners_may_be_disabled(
    client: Any, database: Any, lb: dict[str, Any]
) -> None:
    message = fault(post(client, lb["id"], protocol="PROMETHEUS", protocol_port=9100), 400)
    assert message == "The selected protocol is not allowed in this deployment: PROMETHEUS"
    assert statuses(database, Listener) == {}
    assert create_listener(client, database, lb["id"], protocol="HTTPS")["protocol"] == "HTTPS"


def test_tcp_listener(client: Any, database: Any, lb: dict[str, Any]) -> None:
    listener = create_listener(client, database, lb["id"], protocol="TCP", protocol_port=5432)
    assert listener["protocol"] == "TCP"


def test_duplicate_port_is_409(client: Any, database: Any, lb: dict[str, Any]) -> None:
    create_listener(client, database, lb["id"], protocol_port=80)
    message = fault(post(client, lb["id"], protocol="TCP", protocol_port=80), 409)
    assert message == "Another Listener on this Load Balancer is already using protocol_port 80"
    other = create_lb(client, database)
    create_listener(client, database, other["id"], protocol_port=80)


def test_unknown_load_balancer_is_404(client: Any) -> None:
    lb_id = "9b7b3d8e-5e5c-4a34-9c8b-1f0e0b8f0f11"
    assert fault(post(client, lb_id), 404) == f"Load Balancer {lb_id} not found."


@pytest.mark.parametrize(
    ("protocol", "headers", "message"),
    [
        (
            "TCP",
            {"X-Forwarded-For": "true"},
            "insert-headers is not a valid option for a TCP protocol listener.",
        ),
        ("HTTP", {"X-Bogus": "true"}, "['X-Bogus'] is not a valid option for insert_headers"),
        (
            "HTTP",
            {"X-SSL-Client-CN": "true"},
            "['X-SSL-Client-CN'] is not a valid option for HTTP protocol listener.",
        ),
    ],
)
def test_insert_headers_rules(
    client: Any, lb: dict[str, Any], protocol: str, headers: Any, message: str
) -> None:
    assert fault(post(client, lb["id"], protocol=protocol, insert_headers=headers), 400) == message


@pytest.mark.parametrize(
    "value",
    [
        {"X-Forwarded-For": "yes"},
        {"X-Forwarded-For": True},
        {"X-Forwarded-For": "true\n"},
        ["X-Forwarded-For"],
    ],
)
def test_insert_header_values_are_true_or_false(
    client: Any, lb: dict[str, Any], value: Any
) -> None:
    message = fault(post(client, lb["id"], insert_headers=value), 400)
    assert message.startswith("Invalid input for field/attribute insert_headers.")


@pytest.mark.parametrize(
    "fields",
    [
        {"default_tls_container_ref": "https://barbican/v1/containers/x"},
        {"sni_container_refs": ["https://barbican/v1/containers/x"]},
        {"client_ca_tls_container_ref": "https://barbican/v1/containers/x"},
        {"client_crl_container_ref": "https://barbican/v1/containers/x"},
        {"client_authentication": "MANDATORY"},
        {"tls_ciphers": "ECDHE-RSA-AES256-GCM-SHA384"},
        {"tls_versions": ["TLSv1.2"]},
        {"alpn_protocols": ["h2"]},
        {"hsts_max_age": 10},
        {"hsts_preload": True},
    ],
)
@pytest.mark.parametrize("protocol", ["HTTP", "TCP"])
def test_tls_fields_are_refused_on_http_and_tcp(
    client: Any, database: Any, lb: dict[str, Any], fields: Any, protocol: str
) -> None:
    message = fault(post(client, lb["id"], protocol=protocol, **fields), 400)
    assert message.startswith("Validation failure:")
    assert statuses(database, Listener) == {}
    listener = create_listener(client, database, lb["id"], protocol=protocol)
    response = client.put(f"{V2}/listeners/{listener['id']}", json={"listener": fields})
    assert fault(response, 400).startswith("Validation failure:")


def test_tls_fields_may_be_null(client: Any, database: Any, lb: dict[str, Any]) -> None:
    nulls = {
        "default_tls_container_ref": None,
        "sni_container_refs": [],
        "client_ca_tls_container_ref": None,
        "client_crl_container_ref": None,
        "tls_ciphers": None,
        "tls_versions": None,
        "alpn_protocols": None,
        "hsts_max_age": None,
        "hsts_include_subdomains": False,
        "hsts_preload": False,
    }
    listener = ok(post(client, lb["id"], **nulls), 201)["listener"]
    assert listener["sni_container_refs"] == []


@pytest.mark.parametrize("cidr", ["fd00::/64", "::/0"])
def test_ipv6_cidr_is_incompatible_with_the_ipv4_vip(
    client: Any, lb: dict[str, Any], cidr: str
) -> None:
    message = fault(post(client, lb["id"], allowed_cidrs=[cidr]), 400)
    assert "IP version incompatible with VIP" in message


@pytest.mark.parametrize("cidr", ["10.0.0.0/33", "nope", "10.0.0.0/8\n", ""])
def test_bad_cidr_is_400(client: Any, lb: dict[str, Any], cidr: str) -> None:
    message = fault(post(client, lb["id"], allowed_cidrs=[cidr]), 400)
    assert message.startswith("Invalid input for field/attribute allowed_cidrs.")


def test_l7policies_inline(client: Any, lb: dict[str, Any]) -> None:
    """Inline policies are built with the listener (tests/integration/api/test_l7.py has more)."""
    tcp = post(client, lb["id"], protocol="TCP", l7policies=[{"action": "REJECT"}])
    message = fault(tcp, 501)
    listener = ok(post(client, lb["id"], l7policies=[{"action": "REJECT"}]), 201)["listener"]
    assert len(listener["l7policies"]) == 1
    assert "TCP protocol listeners do not support L7 policies" in message


def test_default_pool_id(client: Any, database: Any, lb: dict[str, Any]) -> None:
    pool = create_pool(client, database, lb["id"])
    listener = create_listener(client, database, lb["id"], default_pool_id=pool["id"])
    assert listener["default_pool_id"] == pool["id"]
    shown = ok(client.get(f"{V2}/pools/{pool['id']}"))["pool"]
    assert shown["listeners"] == [{"id": listener["id"]}]


def test_default_pool_must_be_compatible(client: Any, database: Any, lb: dict[str, Any]) -> None:
    pool = create_pool(client, database, lb["id"], protocol="TCP")
    message = fault(post(client, lb["id"], default_pool_id=pool["id"]), 400)
    assert message == (
        "Validation failure: The pool protocol 'TCP' is invalid while the listener protocol is 'HTTP'."
    )


def test_default_pool_must_be_on_the_same_load_balancer(
    client: Any, database: Any, lb: dict[str, Any]
) -> None:
    other = create_lb(client, database)
    pool = create_pool(client, database, other["id"])
    assert (
        fault(post(client, lb["id"], default_pool_id=pool["id"]), 404)
        == f"Pool {pool['id']} not found."
    )


def test_inline_default_pool(client: Any, database: Any, lb: dict[str, Any]) -> None:
    pool = {
        "protocol": "PROXY",
        "lb_algorithm": "LEAST_CONNECTIONS",
        "members": [{"address": "10.0.0.5", "protocol_port": 80}],
    }
    listener = ok(post(client, lb["id"], protocol="TCP", default_pool=pool), 201)["listener"]
    shown = ok(client.get(f"{V2}/pools/{listener['default_pool_id']}"))["pool"]
    assert shown["protocol"] == "PROXY" and len(shown["members"]) == 1
    assert shown["provisioning_status"] == "PENDING_CREATE"


def test_update(client: Any, database: Any, lb: dict[str, Any], changes: list[int]) -> None:
    pool = create_pool(client, database, lb["id"])
    listener = create_listener(
        client,
        database,
        lb["id"],
        connection_limit=5,
        insert_headers={"X-Forwarded-For": "true"},
        allowed_cidrs=["10.0.0.0/8"],
    )
    generation = lb_row(database, lb["id"]).generation
    body = {
        "listener": {
            "name": "n",
            "connection_limit": None,
            "insert_headers": None,
            "allowed_cidrs": None,
            "default_pool_id": pool["id"],
            "admin_state_up": False,
            "tags": ["a"],
        }
    }
    updated = ok(client.put(f"{V2}/listeners/{listener['id']}", json=body))["listener"]
    assert updated["name"] == "n" and updated["connection_limit"] == -1
    assert updated["insert_headers"] == {} and updated["allowed_cidrs"] is None
    assert updated["default_pool_id"] == pool["id"] and updated["admin_state_up"] is False
    assert updated["tags"] == ["a"] and updated["provisioning_status"] == "PENDING_UPDATE"
    row = lb_row(database, lb["id"])
    assert row.provisioning_status == "PENDING_UPDATE" and row.generation == generation + 1
    assert changes[-1] == 1


def test_update_clears_default_pool(client: Any, database: Any, lb: dict[str, Any]) -> None:
    pool = create_pool(client, database, lb["id"])
    listener = create_listener(client, database, lb["id"], default_pool_id=pool["id"])
    body = {"listener": {"default_pool_id": None}}
    assert (
        ok(client.put(f"{V2}/listeners/{listener['id']}", json=body))["listener"]["default_pool_id"]
        is None
    )


@pytest.mark.parametrize(
    "field", ["protocol", "protocol_port", "loadbalancer_id", "project_id", "default_pool"]
)
def test_immutable_fields_are_unknown_in_put(
    client: Any, database: Any, lb: dict[str, Any], field: str
) -> None:
    listener = create_listener(client, database, lb["id"])
    response = client.put(f"{V2}/listeners/{listener['id']}", json={"listener": {field: 1}})
    assert fault(response, 400) == f"Unknown attribute for argument listener: {field}"


def test_delete(client: Any, database: Any, lb: dict[str, Any]) -> None:
    listener = create_listener(client, database, lb["id"])
    assert client.delete(f"{V2}/listeners/{listener['id']}").status_code == 204
    assert statuses(database, Listener)[listener["id"]] == "PENDING_DELETE"
    assert statuses(database, LoadBalancer)[lb["id"]] == "PENDING_UPDATE"
    fault(client.delete(f"{V2}/listeners/{listener['id']}"), 409)


def test_unknown_listener_is_404(client: Any) -> None:
    assert fault(client.get(f"{V2}/listeners/x"), 404) == "Listener x not found."
    fault(client.put(f"{V2}/listeners/x", json={"listener": {}}), 404)
    fault(client.delete(f"{V2}/listeners/x"), 404)
