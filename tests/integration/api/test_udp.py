"""UDP listeners, pools and UDP-CONNECT monitors: Octavia's rules and this release's limits.

The data plane (nftables in the amphora, health checks by the agent) is proven
by tests/e2e/test_udp.py; these are the API's answers.
"""

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
    ok,
    statuses,
)

from statera.db.models import HealthMonitor, Pool


@pytest.fixture
def lb(client: Any, database: Any) -> dict[str, Any]:
    return create_lb(client, database)


@pytest.fixture
def udp_pool(client: Any, database: Any, lb: dict[str, Any]) -> dict[str, Any]:
    listener = create_listener(client, database, lb["id"], protocol="UDP", protocol_port=53)
    return dict(
        create_pool(
            client, database, lb["id"], listener_id=listener["id"], protocol="UDP",
            session_persistence={"type": "SOURCE_IP", "persistence_timeout": 60,
                                 "persistence_granularity": "255.255.255.0"},
        )
    )  # fmt: skip


def test_a_udp_listener_and_pool(client: Any, udp_pool: dict[str, Any]) -> None:
    assert udp_pool["protocol"] == "UDP"
    assert udp_pool["session_persistence"] == {
        "type": "SOURCE_IP",
        "cookie_name": None,
        "persistence_timeout": 60,
        "persistence_granularity": "255.255.255.0",
    }
    listener = ok(client.get(f"{V2}/listeners"))["listeners"][0]
    assert (listener["protocol"], listener["default_pool_id"]) == ("UDP", udp_pool["id"])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"lb_algorithm": "LEAST_CONNECTIONS"}, "LEAST_CONNECTIONS is not yet supported for UDP"),
        (
            {"session_persistence": {"type": "HTTP_COOKIE"}},
            "Session persistence of type HTTP_COOKIE is not supported for UDP protocol pools.",
        ),
        (
            {"session_persistence": {"type": "SOURCE_IP", "persistence_granularity": "1.2.3.4"}},
            "persistence_granularity '1.2.3.4' is not a netmask",
        ),
    ],
)
def test_udp_pool_rules(
    client: Any, database: Any, lb: dict[str, Any], fields: Any, message: str
) -> None:
    body = {"loadbalancer_id": lb["id"], "protocol": "UDP", "lb_algorithm": "ROUND_ROBIN"}
    response = client.post(f"{V2}/pools", json={"pool": body | fields})
    assert message in fault(response, 400)
    assert statuses(database, Pool) == {}


def test_a_udp_pool_behind_a_tcp_listener_is_refused(
    client: Any, database: Any, lb: dict[str, Any]
) -> None:
    listener = create_listener(client, database, lb["id"], protocol="TCP", protocol_port=53)
    body = {"listener_id": listener["id"], "protocol": "UDP", "lb_algorithm": "ROUND_ROBIN"}
    assert "The pool protocol 'UDP' is invalid while the listener protocol is 'TCP'." in fault(
        client.post(f"{V2}/pools", json={"pool": body}), 400
    )


def test_udp_and_tcp_listeners_share_a_port(client: Any, database: Any, lb: dict[str, Any]) -> None:
    create_listener(client, database, lb["id"], protocol="UDP", protocol_port=53)
    create_listener(client, database, lb["id"], protocol="TCP", protocol_port=53)
    body = {"loadbalancer_id": lb["id"], "protocol": "UDP", "protocol_port": 53}
    assert "already using protocol_port 53" in fault(
        client.post(f"{V2}/listeners", json={"listener": body}), 409
    )


def test_udp_listeners_refuse_tls_and_headers_and_keep_allowed_cidrs(
    client: Any, database: Any, lb: dict[str, Any]
) -> None:
    body = {"loadbalancer_id": lb["id"], "protocol": "UDP", "protocol_port": 53}
    for extra, message in (
        ({"insert_headers": {"X-Forwarded-For": "true"}}, "insert-headers is not a valid option"),
        ({"tls_versions": ["TLSv1.2"]}, "can only be set on TERMINATED_HTTPS"),
    ):
        response = client.post(f"{V2}/listeners", json={"listener": body | extra})
        assert message in fault(response, 400)
    listener = ok(
        client.post(f"{V2}/listeners", json={"listener": body | {"allowed_cidrs": ["10.0.0.0/8"]}}),
        201,
    )["listener"]
    assert listener["allowed_cidrs"] == ["10.0.0.0/8"]


def test_udp_connect_monitor_needs_a_long_enough_delay(
    client: Any, database: Any, lb: dict[str, Any], udp_pool: dict[str, Any]
) -> None:
    body = {
        "pool_id": udp_pool["id"], "type": "UDP-CONNECT", "delay": 1, "timeout": 1,
        "max_retries": 2,
    }  # fmt: skip
    assert fault(client.post(f"{V2}/healthmonitors", json={"healthmonitor": body}), 400) == (
        "Validation failure: The request delay value 1 should be larger than 3 for "
        "UDP-CONNECT health monitor type."
    )
    assert statuses(database, HealthMonitor) == {}
    body["delay"] = 3
    hm = ok(client.post(f"{V2}/healthmonitors", json={"healthmonitor": body}), 201)
    assert hm["healthmonitor"]["type"] == "UDP-CONNECT"
    activate(database)
    url = f"{V2}/healthmonitors/{hm['healthmonitor']['id']}"
    assert "should be larger than 3" in fault(
        client.put(url, json={"healthmonitor": {"delay": 2}}), 400
    )


@pytest.mark.parametrize("kind", ["TLS-HELLO", "HTTPS", "PING"])
def test_tcp_only_monitors_do_not_fit_a_udp_pool(
    client: Any, udp_pool: dict[str, Any], kind: str
) -> None:
    body = {"pool_id": udp_pool["id"], "type": kind, "delay": 5, "timeout": 3, "max_retries": 2}
    message = fault(client.post(f"{V2}/healthmonitors", json={"healthmonitor": body}), 400)
    assert f"The {kind} health monitor type is invalid for a pool of protocol UDP" in message
