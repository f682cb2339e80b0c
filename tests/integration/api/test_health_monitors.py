"""Health monitors: defaults per type, HTTP-only fields, domain names, one per pool."""

from __future__ import annotations

from typing import Any

import pytest
from tests.integration.api.helpers import (
    V2,
    create_hm,
    create_lb,
    create_listener,
    create_pool,
    fault,
    ok,
    statuses,
)

from statera.db.models import HealthMonitor, Listener, LoadBalancer, Pool


@pytest.fixture
def objects(client: Any, database: Any) -> dict[str, Any]:
    lb = create_lb(client, database)
    listener = create_listener(client, database, lb["id"])
    pool = create_pool(client, database, lb["id"], listener_id=listener["id"])
    return {"lb": lb, "listener": listener, "pool": pool}


def post(client: Any, pool_id: str, **fields: Any) -> Any:
    body = {
        "pool_id": pool_id,
        "type": "HTTP",
        "delay": 5,
        "timeout": 3,
        "max_retries": 2,
        **fields,
    }
    return client.post(f"{V2}/healthmonitors", json={"healthmonitor": body})


def test_http_defaults(client: Any, database: Any, objects: dict[str, Any]) -> None:
    hm = create_hm(client, database, objects["lb"]["id"], objects["pool"]["id"], active=False)
    expected = {
        "name": "",
        "type": "HTTP",
        "delay": 5,
        "timeout": 3,
        "max_retries": 2,
        "max_retries_down": 3,
        "http_method": "GET",
        "url_path": "/",
        "expected_codes": "200",
        "admin_state_up": True,
        "project_id": "project-a",
        "tenant_id": "project-a",
        "pools": [{"id": objects["pool"]["id"]}],
        "provisioning_status": "PENDING_CREATE",
        "operating_status": "OFFLINE",
        "updated_at": None,
        "tags": [],
        "http_version": None,
        "domain_name": None,
    }
    assert {k: hm[k] for k in expected} == expected
    assert set(hm) == {*expected, "id", "created_at"}
    assert statuses(database, Pool)[objects["pool"]["id"]] == "PENDING_UPDATE"
    assert statuses(database, Listener)[objects["listener"]["id"]] == "PENDING_UPDATE"
    assert statuses(database, LoadBalancer)[objects["lb"]["id"]] == "PENDING_UPDATE"
    pool = ok(client.get(f"{V2}/pools/{objects['pool']['id']}"))["pool"]
    assert pool["healthmonitor_id"] == hm["id"]


@pytest.mark.parametrize("kind", ["TCP", "PING"])
def test_non_http_types_have_no_http_fields(
    client: Any, database: Any, objects: dict[str, Any], kind: str
) -> None:
    hm = create_hm(client, database, objects["lb"]["id"], objects["pool"]["id"], type=kind)
    assert hm["http_method"] is None and hm["url_path"] is None and hm["expected_codes"] is None
    for field, value in (("http_method", "GET"), ("url_path", "/"), ("expected_codes", "200")):
        response = client.put(
            f"{V2}/healthmonitors/{hm['id']}", json={"healthmonitor": {field: value}}
        )
        assert (
            fault(response, 400)
            == f"{field} is not a valid option for health monitors of type {kind}"
        )


@pytest.mark.parametrize(
    "field", [{"http_method": "GET"}, {"url_path": "/x"}, {"expected_codes": "200"}]
)
def test_http_fields_on_tcp_are_400(
    client: Any, database: Any, objects: dict[str, Any], field: Any
) -> None:
    fault(post(client, objects["pool"]["id"], type="TCP", **field), 400)
    assert statuses(database, HealthMonitor) == {}


def test_sctp_monitors_are_not_yet_supported(client: Any, objects: dict[str, Any]) -> None:
    assert "not yet supported" in fault(post(client, objects["pool"]["id"], type="SCTP"), 400)


def test_https_monitor_has_http_defaults(
    client: Any, database: Any, objects: dict[str, Any]
) -> None:
    hm = create_hm(client, database, objects["lb"]["id"], objects["pool"]["id"], type="HTTPS")
    assert (hm["type"], hm["http_method"], hm["url_path"], hm["expected_codes"]) == (
        "HTTPS",
        "GET",
        "/",
        "200",
    )


def test_tls_hello_monitor_on_an_https_pool(client: Any, database: Any) -> None:
    lb = create_lb(client, database)
    listener = create_listener(client, database, lb["id"], protocol="HTTPS", protocol_port=443)
    pool = create_pool(client, database, lb["id"], protocol="HTTPS", listener_id=listener["id"])
    hm = create_hm(client, database, lb["id"], pool["id"], type="TLS-HELLO")
    assert hm["type"] == "TLS-HELLO" and hm["pools"] == [{"id": pool["id"]}]
    assert (hm["http_method"], hm["url_path"], hm["expected_codes"]) == (None, None, None)
    shown = ok(client.get(f"{V2}/pools/{pool['id']}"))["pool"]
    assert shown["healthmonitor_id"] == hm["id"]


def test_http_fields_on_tls_hello_are_400(client: Any, objects: dict[str, Any]) -> None:
    message = fault(post(client, objects["pool"]["id"], type="TLS-HELLO", url_path="/x"), 400)
    assert message == "url_path is not a valid option for health monitors of type TLS-HELLO"


def test_every_field(client: Any, database: Any, objects: dict[str, Any]) -> None:
    hm = create_hm(
        client,
        database,
        objects["lb"]["id"],
        objects["pool"]["id"],
        name="check",
        delay=0,
        timeout=0,
        max_retries=10,
        max_retries_down=1,
        http_method="HEAD",
        url_path="/health?full=1&x=%20",
        expected_codes="200-204",
        admin_state_up=False,
        tags=["x"],
        http_version=1.1,
        domain_name="www.example.com",
    )
    assert hm["http_method"] == "HEAD" and hm["url_path"] == "/health?full=1&x=%20"
    assert hm["expected_codes"] == "200-204" and hm["http_version"] == 1.1
    assert hm["domain_name"] == "www.example.com" and hm["admin_state_up"] is False


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"domain_name": "example.com"}, "'http_version' must be specified"),
        (
            {"domain_name": "example.com", "http_version": 1.0},
            "http_version 1.0 is not a valid option",
        ),
    ],
)
def test_domain_name_needs_http_1_1(
    client: Any, objects: dict[str, Any], fields: Any, message: str
) -> None:
    assert message in fault(post(client, objects["pool"]["id"], **fields), 400)


def test_one_monitor_per_pool(client: Any, database: Any, objects: dict[str, Any]) -> None:
    create_hm(client, database, objects["lb"]["id"], objects["pool"]["id"])
    assert (
        fault(post(client, objects["pool"]["id"]), 409) == "This pool already has a health monitor"
    )


def test_monitor_type_must_suit_the_pool(
    client: Any, database: Any, objects: dict[str, Any]
) -> None:
    pool = create_pool(client, database, objects["lb"]["id"], protocol="TCP")
    create_hm(client, database, objects["lb"]["id"], pool["id"], type="HTTP")


def test_update_and_null_defaults(client: Any, database: Any, objects: dict[str, Any]) -> None:
    hm = create_hm(
        client,
        database,
        objects["lb"]["id"],
        objects["pool"]["id"],
        http_method="POST",
        url_path="/x",
        expected_codes="201",
        max_retries_down=5,
    )
    body = {
        "healthmonitor": {
            "http_method": None,
            "url_path": None,
            "expected_codes": None,
            "max_retries_down": None,
            "delay": 9,
            "name": "n",
        }
    }
    updated = ok(client.put(f"{V2}/healthmonitors/{hm['id']}", json=body))["healthmonitor"]
    assert (updated["http_method"], updated["url_path"], updated["expected_codes"]) == (
        "GET",
        "/",
        "200",
    )
    assert updated["max_retries_down"] == 3 and updated["delay"] == 9 and updated["name"] == "n"
    assert updated["provisioning_status"] == "PENDING_UPDATE"
    assert statuses(database, Pool)[objects["pool"]["id"]] == "PENDING_UPDATE"


@pytest.mark.parametrize("field", ["delay", "timeout", "max_retries"])
def test_update_required_to_null_is_400(
    client: Any, database: Any, objects: dict[str, Any], field: str
) -> None:
    hm = create_hm(client, database, objects["lb"]["id"], objects["pool"]["id"])
    response = client.put(f"{V2}/healthmonitors/{hm['id']}", json={"healthmonitor": {field: None}})
    assert fault(response, 400) == f"None is not a valid option for {field}"


@pytest.mark.parametrize("field", ["type", "pool_id", "project_id"])
def test_immutable_fields_are_unknown_in_put(
    client: Any, database: Any, objects: dict[str, Any], field: str
) -> None:
    hm = create_hm(client, database, objects["lb"]["id"], objects["pool"]["id"])
    response = client.put(f"{V2}/healthmonitors/{hm['id']}", json={"healthmonitor": {field: "x"}})
    assert fault(response, 400) == f"Unknown attribute for argument healthmonitor: {field}"


def test_delete(client: Any, database: Any, objects: dict[str, Any]) -> None:
    hm = create_hm(client, database, objects["lb"]["id"], objects["pool"]["id"])
    assert client.delete(f"{V2}/healthmonitors/{hm['id']}").status_code == 204
    assert statuses(database, HealthMonitor)[hm["id"]] == "PENDING_DELETE"
    assert statuses(database, Pool)[objects["pool"]["id"]] == "PENDING_UPDATE"
    assert statuses(database, LoadBalancer)[objects["lb"]["id"]] == "PENDING_UPDATE"


def test_unknown_monitor_and_pool(client: Any) -> None:
    assert fault(client.get(f"{V2}/healthmonitors/x"), 404) == "Health Monitor x not found."
    pool_id = "9b7b3d8e-5e5c-4a34-9c8b-1f0e0b8f0f11"
    assert fault(post(client, pool_id), 404) == f"Pool {pool_id} not found."
