"""Pools: defaults, protocols, algorithms, session persistence, listener attachment."""

from __future__ import annotations

from typing import Any

import pytest
from tests.integration.api.helpers import (
    V2,
    create_hm,
    create_lb,
    create_listener,
    create_member,
    create_pool,
    fault,
    ok,
    statuses,
)

from statera.db.models import HealthMonitor, Listener, LoadBalancer, Member, Pool


@pytest.fixture
def lb(client: Any, database: Any) -> dict[str, Any]:
    return create_lb(client, database)


def post(client: Any, **fields: Any) -> Any:
    body = {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", **fields}
    return client.post(f"{V2}/pools", json={"pool": body})


def test_defaults(client: Any, database: Any, lb: dict[str, Any]) -> None:
    pool = create_pool(client, database, lb["id"], active=False)
    expected = {
        "name": "",
        "description": "",
        "provisioning_status": "PENDING_CREATE",
        "operating_status": "OFFLINE",
        "admin_state_up": True,
        "protocol": "HTTP",
        "lb_algorithm": "ROUND_ROBIN",
        "session_persistence": None,
        "project_id": "project-a",
        "tenant_id": "project-a",
        "loadbalancers": [{"id": lb["id"]}],
        "listeners": [],
        "updated_at": None,
        "healthmonitor_id": None,
        "members": [],
        "tags": [],
        "tls_container_ref": None,
        "ca_tls_container_ref": None,
        "crl_container_ref": None,
        "tls_enabled": False,
        "tls_ciphers": None,
        "tls_versions": None,
        "alpn_protocols": None,
    }
    assert {k: pool[k] for k in expected} == expected
    assert set(pool) == {*expected, "id", "created_at"}
    assert statuses(database, LoadBalancer)[lb["id"]] == "PENDING_UPDATE"


@pytest.mark.parametrize(
    "algorithm", ["ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"]
)
def test_every_algorithm(client: Any, database: Any, lb: dict[str, Any], algorithm: str) -> None:
    assert (
        create_pool(client, database, lb["id"], lb_algorithm=algorithm)["lb_algorithm"] == algorithm
    )


@pytest.mark.parametrize("protocol", ["HTTP", "HTTPS", "TCP", "PROXY", "PROXYV2"])
def test_supported_protocols(client: Any, database: Any, lb: dict[str, Any], protocol: str) -> None:
    assert create_pool(client, database, lb["id"], protocol=protocol)["protocol"] == protocol


def test_https_pool_follows_the_listener_table(
    client: Any, database: Any, lb: dict[str, Any]
) -> None:
    """HTTPS pools sit behind HTTPS (passthrough) and TCP listeners, not HTTP ones (§1.12)."""
    for protocol, port in (("HTTPS", 443), ("TCP", 8443)):
        listener = create_listener(
            client, database, lb["id"], protocol=protocol, protocol_port=port
        )
        pool = create_pool(
            client,
            database,
            lb["id"],
            protocol="HTTPS",
            listener_id=listener["id"],
            session_persistence={"type": "SOURCE_IP"},
        )
        assert pool["listeners"] == [{"id": listener["id"]}]
        assert pool["session_persistence"]["type"] == "SOURCE_IP"
    http = create_listener(client, database, lb["id"], protocol_port=80)
    message = fault(post(client, protocol="HTTPS", listener_id=http["id"]), 400)
    assert message == (
        "Validation failure: The pool protocol 'HTTPS' is invalid while the listener "
        "protocol is 'HTTP'."
    )


@pytest.mark.parametrize("protocol", ["SCTP"])
def test_other_protocols_are_not_yet_supported(
    client: Any, database: Any, lb: dict[str, Any], protocol: str
) -> None:
    message = fault(post(client, loadbalancer_id=lb["id"], protocol=protocol), 400)
    assert f"Pool protocol {protocol} is not yet supported" in message
    assert statuses(database, Pool) == {}


def test_needs_a_load_balancer_or_listener(client: Any) -> None:
    message = fault(post(client), 400)
    assert message == "Validation failure: loadbalancer_id or listener_id must be specified."


def test_with_listener_becomes_its_default_pool(
    client: Any, database: Any, lb: dict[str, Any]
) -> None:
    listener = create_listener(client, database, lb["id"])
    pool = create_pool(client, database, lb["id"], listener_id=listener["id"], active=False)
    assert pool["listeners"] == [{"id": listener["id"]}]
    shown = ok(client.get(f"{V2}/listeners/{listener['id']}"))["listener"]
    assert shown["default_pool_id"] == pool["id"]
    assert shown["provisioning_status"] == "PENDING_UPDATE"
    message = fault(post(client, listener_id=listener["id"]), 409)
    assert "immutable" in message


def test_listener_already_has_a_default_pool(
    client: Any, database: Any, lb: dict[str, Any]
) -> None:
    listener = create_listener(client, database, lb["id"])
    create_pool(client, database, lb["id"], listener_id=listener["id"])
    message = fault(post(client, listener_id=listener["id"]), 409)
    assert message == "This listener already has a default pool"


@pytest.mark.parametrize(
    ("listener_protocol", "pool_protocol", "status"),
    [
        ("HTTP", "HTTP", 201),
        ("HTTP", "PROXY", 201),
        ("HTTP", "PROXYV2", 201),
        ("HTTP", "TCP", 400),
        ("TCP", "HTTP", 201),
        ("TCP", "TCP", 201),
        ("TCP", "PROXY", 201),
        ("TCP", "PROXYV2", 201),
    ],
)
def test_protocol_compatibility(
    client: Any,
    database: Any,
    lb: dict[str, Any],
    listener_protocol: str,
    pool_protocol: str,
    status: int,
) -> None:
    listener = create_listener(client, database, lb["id"], protocol=listener_protocol)
    response = post(client, listener_id=listener["id"], protocol=pool_protocol)
    assert response.status_code == status, response.text
    if status == 400:
        assert "is invalid while the listener protocol" in response.json()["faultstring"]
        assert statuses(database, Pool) == {}


def test_listener_on_another_load_balancer(client: Any, database: Any, lb: dict[str, Any]) -> None:
    other = create_lb(client, database)
    listener = create_listener(client, database, other["id"])
    fault(post(client, listener_id=listener["id"], loadbalancer_id=lb["id"]), 400)


def test_unknown_listener_is_404(client: Any) -> None:
    listener_id = "9b7b3d8e-5e5c-4a34-9c8b-1f0e0b8f0f11"
    assert fault(post(client, listener_id=listener_id), 404) == f"Listener {listener_id} not found."


@pytest.mark.parametrize(
    ("sp", "status"),
    [
        ({"type": "SOURCE_IP"}, 201),
        ({"type": "HTTP_COOKIE"}, 201),
        ({"type": "APP_COOKIE", "cookie_name": "JSESSIONID"}, 201),
        ({"type": "APP_COOKIE"}, 400),
        ({"type": "HTTP_COOKIE", "cookie_name": "x"}, 400),
        ({"type": "SOURCE_IP", "persistence_timeout": 10}, 400),
        ({"type": "SOURCE_IP", "persistence_granularity": "255.255.255.0"}, 400),
        ({"cookie_name": "x"}, 400),
        ({"type": "APP_COOKIE", "cookie_name": "a b"}, 400),
        ({"type": "APP_COOKIE", "cookie_name": "a\nb"}, 400),
        ({"type": "APP_COOKIE", "cookie_name": "a'b"}, 400),
        ({"type": "APP_COOKIE", "cookie_name": 'a"b'}, 400),
        ({"type": "APP_COOKIE", "cookie_name": "a;b"}, 400),
    ],
)
def test_session_persistence(client: Any, lb: dict[str, Any], sp: Any, status: int) -> None:
    response = post(client, loadbalancer_id=lb["id"], session_persistence=sp)
    assert response.status_code == status, response.text
    if status == 201:
        stored = response.json()["pool"]["session_persistence"]
        assert stored == {
            "type": sp["type"],
            "cookie_name": sp.get("cookie_name"),
            "persistence_timeout": None,
            "persistence_granularity": None,
        }


def test_update_session_persistence_merges(client: Any, database: Any, lb: dict[str, Any]) -> None:
    pool = create_pool(
        client, database, lb["id"], session_persistence={"type": "APP_COOKIE", "cookie_name": "a"}
    )
    body = {"pool": {"session_persistence": {"cookie_name": "b"}}}
    updated = ok(client.put(f"{V2}/pools/{pool['id']}", json=body))["pool"]
    assert updated["session_persistence"]["type"] == "APP_COOKIE"
    assert updated["session_persistence"]["cookie_name"] == "b"
    from tests.integration.api.helpers import activate

    activate(database)
    body = {"pool": {"session_persistence": {"type": "SOURCE_IP"}}}
    updated = ok(client.put(f"{V2}/pools/{pool['id']}", json=body))["pool"]
    assert updated["session_persistence"]["cookie_name"] is None
    activate(database)
    updated = ok(
        client.put(f"{V2}/pools/{pool['id']}", json={"pool": {"session_persistence": None}})
    )["pool"]
    assert updated["session_persistence"] is None


@pytest.mark.parametrize(
    "fields",
    [
        {"tls_container_ref": "https://barbican/x"},
        {"ca_tls_container_ref": "https://barbican/x"},
        {"crl_container_ref": "https://barbican/x"},
    ],
)
def test_pool_tls_refs_must_load_from_the_key_manager(
    client: Any, database: Any, lb: dict[str, Any], fields: Any
) -> None:
    """A reference the key manager does not hold is a 400 naming it (CRL: no CA first)."""
    expected = (
        "A CA reference is required"
        if "crl_container_ref" in fields
        else "Could not retrieve certificate"
    )
    assert expected in fault(post(client, loadbalancer_id=lb["id"], **fields), 400)
    pool = create_pool(client, database, lb["id"])
    assert expected in fault(client.put(f"{V2}/pools/{pool['id']}", json={"pool": fields}), 400)
    ok(client.put(f"{V2}/pools/{pool['id']}", json={"pool": {"tls_enabled": False}}))


def test_update(client: Any, database: Any, lb: dict[str, Any]) -> None:
    listener = create_listener(client, database, lb["id"])
    pool = create_pool(
        client, database, lb["id"], listener_id=listener["id"], name="a", admin_state_up=False
    )
    body = {
        "pool": {
            "name": None,
            "description": "d",
            "lb_algorithm": "SOURCE_IP",
            "admin_state_up": None,
            "tags": ["x"],
        }
    }
    updated = ok(client.put(f"{V2}/pools/{pool['id']}", json=body))["pool"]
    assert updated["name"] == "" and updated["description"] == "d"
    assert updated["lb_algorithm"] == "SOURCE_IP" and updated["admin_state_up"] is True
    assert updated["tags"] == ["x"] and updated["provisioning_status"] == "PENDING_UPDATE"
    assert statuses(database, Listener)[listener["id"]] == "PENDING_UPDATE"
    assert statuses(database, LoadBalancer)[lb["id"]] == "PENDING_UPDATE"


def test_update_algorithm_null_is_400(client: Any, database: Any, lb: dict[str, Any]) -> None:
    pool = create_pool(client, database, lb["id"])
    response = client.put(f"{V2}/pools/{pool['id']}", json={"pool": {"lb_algorithm": None}})
    assert fault(response, 400) == "None is not a valid option for lb_algorithm"


@pytest.mark.parametrize(
    "field", ["protocol", "loadbalancer_id", "listener_id", "members", "healthmonitor"]
)
def test_immutable_fields_are_unknown_in_put(
    client: Any, database: Any, lb: dict[str, Any], field: str
) -> None:
    pool = create_pool(client, database, lb["id"])
    response = client.put(f"{V2}/pools/{pool['id']}", json={"pool": {field: "x"}})
    assert fault(response, 400) == f"Unknown attribute for argument pool: {field}"


def test_delete_marks_members_and_monitor(client: Any, database: Any, lb: dict[str, Any]) -> None:
    listener = create_listener(client, database, lb["id"])
    pool = create_pool(client, database, lb["id"], listener_id=listener["id"])
    member = create_member(client, database, lb["id"], pool["id"])
    hm = create_hm(client, database, lb["id"], pool["id"])
    assert client.delete(f"{V2}/pools/{pool['id']}").status_code == 204
    assert statuses(database, Pool)[pool["id"]] == "PENDING_DELETE"
    assert statuses(database, Member)[member["id"]] == "PENDING_DELETE"
    assert statuses(database, HealthMonitor)[hm["id"]] == "PENDING_DELETE"
    assert statuses(database, Listener)[listener["id"]] == "PENDING_UPDATE"
    assert statuses(database, LoadBalancer)[lb["id"]] == "PENDING_UPDATE"


def test_inline_members_and_monitor(client: Any, database: Any, lb: dict[str, Any]) -> None:
    body = {
        "loadbalancer_id": lb["id"],
        "members": [
            {"address": "10.0.0.5", "protocol_port": 80},
            {"address": "10.0.0.6", "protocol_port": 80},
        ],
        "healthmonitor": {"type": "TCP", "delay": 1, "timeout": 1, "max_retries": 1},
    }
    pool = ok(post(client, **body), 201)["pool"]
    assert len(pool["members"]) == 2 and pool["healthmonitor_id"]
    members = ok(client.get(f"{V2}/pools/{pool['id']}/members"))["members"]
    assert {m["operating_status"] for m in members} == {"OFFLINE"}
    duplicate = {**body, "members": [{"address": "10.0.0.5", "protocol_port": 80}] * 2}
    fault(post(client, **duplicate), 409)


def test_unknown_pool_is_404(client: Any) -> None:
    assert fault(client.get(f"{V2}/pools/x"), 404) == "Pool x not found."
    fault(client.put(f"{V2}/pools/x", json={"pool": {}}), 404)
    fault(client.delete(f"{V2}/pools/x"), 404)
