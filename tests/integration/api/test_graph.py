"""Octavia's single-call create: a whole load balancer tree in one POST and one transaction."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from tests.integration.api.helpers import V2, fault, lb_row, ok, statuses

from statera.db.models import HealthMonitor, Listener, LoadBalancer, Member, Pool, Port


def full_graph() -> dict[str, Any]:
    return {
        "name": "graph",
        "vip_subnet_id": "private-subnet",
        "listeners": [
            {
                "name": "http",
                "protocol": "HTTP",
                "protocol_port": 80,
                "insert_headers": {"X-Forwarded-For": "true"},
                "default_pool": {
                    "name": "web",
                    "protocol": "HTTP",
                    "lb_algorithm": "ROUND_ROBIN",
                    "session_persistence": {"type": "HTTP_COOKIE"},
                    "members": [
                        {"address": "10.0.0.101", "protocol_port": 8080, "name": "a"},
                        {"address": "10.0.0.102", "protocol_port": 8080, "weight": 5},
                    ],
                    "healthmonitor": {
                        "type": "HTTP",
                        "delay": 2,
                        "timeout": 1,
                        "max_retries": 2,
                        "url_path": "/healthz",
                    },
                },
            },
            {
                "name": "tcp",
                "protocol": "TCP",
                "protocol_port": 443,
                "default_pool": {"name": "tls"},
            },
            {
                "name": "alt",
                "protocol": "HTTP",
                "protocol_port": 8080,
                "default_pool": {"name": "web"},
            },
        ],
        "pools": [
            {
                "name": "tls",
                "protocol": "TCP",
                "lb_algorithm": "SOURCE_IP_PORT",
                "members": [{"address": "10.0.0.103", "protocol_port": 443}],
            },
            {"name": "spare", "protocol": "PROXYV2", "lb_algorithm": "LEAST_CONNECTIONS"},
        ],
        "tags": ["graph"],
    }


def test_graph_create(client: Any, database: Any, changes: list[int]) -> None:
    lb = ok(client.post(f"{V2}/loadbalancers", json={"loadbalancer": full_graph()}), 201)[
        "loadbalancer"
    ]
    assert lb["provisioning_status"] == "PENDING_CREATE" and lb["tags"] == ["graph"]
    listeners = {li["name"]: li for li in lb["listeners"]}
    pools = {p["name"]: p for p in lb["pools"]}
    assert set(listeners) == {"http", "tcp", "alt"}
    assert set(pools) == {"web", "tls", "spare"}
    assert listeners["http"]["default_pool_id"] == pools["web"]["id"]
    assert listeners["alt"]["default_pool_id"] == pools["web"]["id"]
    assert listeners["tcp"]["default_pool_id"] == pools["tls"]["id"]
    assert "loadbalancers" not in listeners["http"]
    web = pools["web"]
    assert "loadbalancers" not in web
    assert {m["address"] for m in web["members"]} == {"10.0.0.101", "10.0.0.102"}
    assert {m["operating_status"] for m in web["members"]} == {"OFFLINE"}
    assert web["healthmonitor"]["url_path"] == "/healthz"
    assert web["healthmonitor_id"] == web["healthmonitor"]["id"]
    assert "pools" not in web["healthmonitor"]
    assert sorted(li["id"] for li in web["listeners"]) == sorted(
        [listeners["http"]["id"], listeners["alt"]["id"]]
    )
    assert pools["tls"]["members"][0]["operating_status"] == "NO_MONITOR"
    assert pools["spare"]["healthmonitor"] is None and pools["spare"]["listeners"] == []
    for model in (LoadBalancer, Listener, Pool, Member, HealthMonitor):
        assert set(statuses(database, model).values()) == {"PENDING_CREATE"}, model
    row = lb_row(database, lb["id"])
    assert row.generation == 1 and row.pending_since is not None
    assert changes == [1]
    shown = ok(client.get(f"{V2}/loadbalancers/{lb['id']}"))["loadbalancer"]
    assert {p["id"] for p in shown["pools"]} == {p["id"] for p in lb["pools"]}


def test_graph_with_passthrough_and_metrics(client: Any, database: Any) -> None:
    """An HTTPS listener with an HTTPS pool and a TLS-HELLO monitor, and a PROMETHEUS
    listener, in one call."""
    graph = {
        "vip_subnet_id": "private-subnet",
        "listeners": [
            {
                "name": "tls",
                "protocol": "HTTPS",
                "protocol_port": 443,
                "default_pool": {
                    "name": "tls",
                    "protocol": "HTTPS",
                    "lb_algorithm": "ROUND_ROBIN",
                    "members": [{"address": "10.0.0.101", "protocol_port": 8443}],
                    "healthmonitor": {
                        "type": "TLS-HELLO",
                        "delay": 2,
                        "timeout": 1,
                        "max_retries": 2,
                    },
                },
            },
            {"name": "metrics", "protocol": "PROMETHEUS", "protocol_port": 9100},
        ],
    }
    lb = ok(client.post(f"{V2}/loadbalancers", json={"loadbalancer": graph}), 201)["loadbalancer"]
    listeners = {li["name"]: li for li in lb["listeners"]}
    assert listeners["tls"]["protocol"] == "HTTPS"
    assert listeners["metrics"]["protocol"] == "PROMETHEUS"
    assert listeners["metrics"]["default_pool_id"] is None
    (pool,) = lb["pools"]
    assert listeners["tls"]["default_pool_id"] == pool["id"]
    assert pool["healthmonitor"]["type"] == "TLS-HELLO"
    assert pool["members"][0]["operating_status"] == "OFFLINE"


@pytest.mark.parametrize(
    ("spoil", "status", "fragment"),
    [
        (
            lambda g: g["listeners"][1].update(default_pool={"name": "missing"}),
            400,
            "Missing details for Pool object: missing",
        ),
        (
            lambda g: g["pools"].append(
                {"name": "web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}
            ),
            400,
            "defined more than once",
        ),
        (
            lambda g: g["listeners"][2].update(protocol_port=80),
            409,
            "already using protocol_port 80",
        ),
        (
            lambda g: g["listeners"][0]["default_pool"].update(protocol="TCP"),
            400,
            "is invalid while the listener protocol",
        ),
        (
            lambda g: g["listeners"][0]["default_pool"]["healthmonitor"].update(type="UDP-CONNECT"),
            400,
            "The UDP-CONNECT health monitor type is invalid for a pool of protocol HTTP",
        ),
        (
            lambda g: g["listeners"][0]["default_pool"]["members"].append(
                {"address": "10.0.0.101", "protocol_port": 8080}
            ),
            409,
            "already using ip 10.0.0.101",
        ),
        (lambda g: g["listeners"][0].update(protocol="SCTP"), 400, "not yet supported"),
        (
            lambda g: g["listeners"][1].update(protocol="PROMETHEUS"),
            400,
            "The pool protocol 'TCP' is invalid while the listener protocol is 'PROMETHEUS'.",
        ),
        (lambda g: g["pools"][1].pop("lb_algorithm"), 400, "field/attribute lb_algorithm"),
        (
            lambda g: g["listeners"][0].update(
                default_pool_id="9b7b3d8e-5e5c-4a34-9c8b-1f0e0b8f0f11", default_pool=None
            ),
            404,
            "not found",
        ),
    ],
)
def test_graph_is_all_or_nothing(
    client: Any, database: Any, spoil: Any, status: int, fragment: str
) -> None:
    graph = full_graph()
    spoil(graph)
    message = fault(client.post(f"{V2}/loadbalancers", json={"loadbalancer": graph}), status)
    assert fragment in message
    for model in (LoadBalancer, Listener, Pool, Member, HealthMonitor):
        assert statuses(database, model) == {}, model
    with database.read() as s:
        assert s.scalars(select(Port)).all() == []
