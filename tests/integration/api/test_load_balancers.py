"""Load balancers: defaults, the VIP, project rules, update, delete, status tree, stats."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from tests.integration.api.helpers import (
    V2,
    activate,
    create_lb,
    create_listener,
    create_pool,
    fault,
    lb_row,
    ok,
    stack,
    statuses,
)

from statera.db.models import (
    HealthMonitor,
    Listener,
    ListenerStatistics,
    LoadBalancer,
    Member,
    Pool,
    Port,
)
from statera.settings import derived_id

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
NETWORK_ID = derived_id("network", "private")
SUBNET_ID = derived_id("subnet", "private")


def test_create_defaults(client: Any, database: Any) -> None:
    lb = create_lb(client, database, active=False)
    assert lb["provisioning_status"] == "PENDING_CREATE"
    assert lb["operating_status"] == "OFFLINE"
    assert lb["name"] == "" and lb["description"] == ""
    assert lb["admin_state_up"] is True
    assert lb["project_id"] == lb["tenant_id"] == "project-a"
    assert TIMESTAMP.match(lb["created_at"]) and lb["updated_at"] is None
    assert lb["vip_address"] == "10.0.0.10"
    assert lb["vip_subnet_id"] == SUBNET_ID and lb["vip_network_id"] == NETWORK_ID
    assert lb["vip_port_id"] and lb["vip_qos_policy_id"] is None
    assert lb["provider"] == "amphora"
    assert lb["flavor_id"] is None and lb["availability_zone"] is None
    assert lb["listeners"] == [] and lb["pools"] == [] and lb["tags"] == []
    assert lb["vip_vnic_type"] == "normal" and lb["additional_vips"] == []
    shown = ok(client.get(f"{V2}/loadbalancers/{lb['id']}"))["loadbalancer"]
    assert shown == lb


def test_create_starts_the_reconciler_clock(client: Any, database: Any, changes: list[int]) -> None:
    lb = create_lb(client, database, active=False)
    row = lb_row(database, lb["id"])
    assert row.generation == 1 and row.applied_generation == 0
    assert row.pending_since is not None
    assert row.topology == "SINGLE"
    assert changes == [1]


def test_create_with_every_field(client: Any, database: Any) -> None:
    lb = create_lb(
        client,
        database,
        active=False,
        name="web",
        description="the web tier",
        admin_state_up=False,
        vip_address="10.0.0.15",
        project_id="project-b",
        provider="amphora",
        tags=["b", "a", "b"],
    )
    assert lb["name"] == "web" and lb["description"] == "the web tier"
    assert lb["admin_state_up"] is False
    assert lb["vip_address"] == "10.0.0.15"
    assert lb["project_id"] == "project-b"
    assert lb["tags"] == ["a", "b"]


def test_tenant_id_is_an_alias_of_project_id(client: Any, database: Any) -> None:
    lb = create_lb(client, database, active=False, tenant_id="project-t")
    assert lb["project_id"] == lb["tenant_id"] == "project-t"


def test_noauth_without_project_uses_the_default_project(client: Any, database: Any) -> None:
    # Octavia answers 400 here; Statera's noauth uses [api_settings] default_project_id.
    response = client.post(
        f"{V2}/loadbalancers",
        json={"loadbalancer": {"vip_subnet_id": "private-subnet"}},
        headers={"X-Project-Id": ""},
    )
    assert ok(response, 201)["loadbalancer"]["project_id"] == "admin"


def test_project_header_too_long_is_400(client: Any, database: Any) -> None:
    response = client.post(
        f"{V2}/loadbalancers",
        json={"loadbalancer": {"vip_subnet_id": "private-subnet"}},
        headers={"X-Project-Id": "p" * 37},
    )
    assert fault(response, 400).startswith("Invalid input for field/attribute project_id.")
    _assert_nothing_written(database)


@pytest.mark.parametrize(
    "field",
    [
        {"vip_subnet_id": SUBNET_ID},
        {"vip_subnet_id": "private-subnet"},
        {"vip_subnet_id": "private"},
        {"vip_network_id": NETWORK_ID},
        {"vip_network_id": "private"},
        {"vip_network_id": "private", "vip_subnet_id": SUBNET_ID},
    ],
)
def test_vip_network_by_uuid_or_name(client: Any, field: dict[str, str]) -> None:
    body = ok(client.post(f"{V2}/loadbalancers", json={"loadbalancer": field}), 201)
    lb = body["loadbalancer"]
    assert lb["vip_subnet_id"] == SUBNET_ID and lb["vip_network_id"] == NETWORK_ID


def test_vip_is_required(client: Any, database: Any) -> None:
    message = fault(client.post(f"{V2}/loadbalancers", json={"loadbalancer": {}}), 400)
    assert "VIP must contain one of" in message


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ({"vip_subnet_id": "nowhere"}, "Subnet nowhere not found."),
        ({"vip_network_id": "nowhere"}, "Network nowhere not found."),
    ],
)
def test_unknown_vip_network_is_400(client: Any, database: Any, field: Any, message: str) -> None:
    assert fault(client.post(f"{V2}/loadbalancers", json={"loadbalancer": field}), 400) == message
    _assert_nothing_written(database)


def test_unknown_vip_port_is_400(client: Any, database: Any) -> None:
    """Octavia's `validate.port_exists`; the rest is in test_vip_port.py."""
    port_id = "b4ca07d1-a31e-43e2-891a-7d14f419f342"
    body = {"loadbalancer": {"vip_port_id": port_id}}
    message = fault(client.post(f"{V2}/loadbalancers", json=body), 400)
    assert message == f"Port {port_id} not found."
    _assert_nothing_written(database)


@pytest.mark.parametrize(
    "field",
    [
        {"vip_qos_policy_id": "b4ca07d1-a31e-43e2-891a-7d14f419f342"},
        {"vip_sg_ids": ["b4ca07d1-a31e-43e2-891a-7d14f419f342"]},
    ],
)
def test_unsupported_options_are_400(client: Any, database: Any, field: Any) -> None:
    body = {"loadbalancer": {"vip_subnet_id": "private-subnet", **field}}
    assert "not" in fault(client.post(f"{V2}/loadbalancers", json=body), 400)
    _assert_nothing_written(database)


def test_other_provider_is_400(client: Any, database: Any) -> None:
    body = {"loadbalancer": {"vip_subnet_id": "private-subnet", "provider": "octavia-ovn"}}
    message = fault(client.post(f"{V2}/loadbalancers", json=body), 400)
    assert message == "Provider 'octavia-ovn' is not enabled."


def test_vip_addresses_come_from_the_bottom_of_the_range(client: Any, database: Any) -> None:
    addresses = [create_lb(client, database)["vip_address"] for _ in range(3)]
    assert addresses == ["10.0.0.10", "10.0.0.11", "10.0.0.12"]
    with database.read() as s:
        ports = s.scalars(select(Port).order_by(Port.ip_address)).all()
        assert [p.ip_address for p in ports] == addresses
        lb = s.scalars(select(LoadBalancer).where(LoadBalancer.vip_address == "10.0.0.10")).one()
        port = s.get(Port, lb.vip_port_id)
        assert port is not None
        assert port.name == f"octavia-lb-{lb.id}" and port.device_id == lb.id
        assert port.device_owner == "Octavia" and port.project_id == "project-a"
        assert port.network_id == NETWORK_ID and port.subnet_id == SUBNET_ID


def test_freed_address_is_reused_lowest_first(client: Any, database: Any) -> None:
    create_lb(client, database, vip_address="10.0.0.10")
    create_lb(client, database, vip_address="10.0.0.12")
    assert create_lb(client, database)["vip_address"] == "10.0.0.11"
    assert create_lb(client, database)["vip_address"] == "10.0.0.13"


def test_exhausted_range_is_409(client: Any, database: Any) -> None:
    for _ in range(11):  # 10.0.0.10 - 10.0.0.20
        create_lb(client, database)
    body = {"loadbalancer": {"vip_subnet_id": "private-subnet"}}
    assert "No more IP addresses" in fault(client.post(f"{V2}/loadbalancers", json=body), 409)
    assert len(statuses(database, LoadBalancer)) == 11


@pytest.mark.parametrize("address", ["10.0.0.5", "10.0.0.21", "10.0.1.10", "10.0.0.1", "fd00::1"])
def test_vip_address_outside_the_range_is_400(client: Any, database: Any, address: str) -> None:
    body = {"loadbalancer": {"vip_subnet_id": "private-subnet", "vip_address": address}}
    assert "allocation range" in fault(client.post(f"{V2}/loadbalancers", json=body), 400)
    _assert_nothing_written(database)


def test_vip_address_taken_is_409(client: Any, database: Any) -> None:
    create_lb(client, database, vip_address="10.0.0.14")
    body = {"loadbalancer": {"vip_subnet_id": "private-subnet", "vip_address": "10.0.0.14"}}
    assert "already allocated" in fault(client.post(f"{V2}/loadbalancers", json=body), 409)
    assert len(statuses(database, LoadBalancer)) == 1


def test_update(client: Any, database: Any, changes: list[int]) -> None:
    lb = create_lb(client, database, name="a", description="d", tags=["x"])
    before = lb_row(database, lb["id"])
    body = {"loadbalancer": {"name": "b", "admin_state_up": False, "tags": ["y", "z"]}}
    updated = ok(client.put(f"{V2}/loadbalancers/{lb['id']}", json=body))["loadbalancer"]
    assert updated["name"] == "b" and updated["description"] == "d"
    assert updated["admin_state_up"] is False and updated["tags"] == ["y", "z"]
    assert updated["provisioning_status"] == "PENDING_UPDATE"
    assert TIMESTAMP.match(updated["updated_at"])
    after = lb_row(database, lb["id"])
    assert after.generation == before.generation + 1
    assert after.pending_since is not None
    assert len(changes) == 2


def test_update_null_resets_to_default(client: Any, database: Any) -> None:
    lb = create_lb(client, database, name="a", description="d", admin_state_up=False, tags=["x"])
    body = {
        "loadbalancer": {"name": None, "description": None, "admin_state_up": None, "tags": None}
    }
    updated = ok(client.put(f"{V2}/loadbalancers/{lb['id']}", json=body))["loadbalancer"]
    assert updated["name"] == "" and updated["description"] == ""
    assert updated["admin_state_up"] is True and updated["tags"] == []


@pytest.mark.parametrize(
    "field", ["vip_address", "vip_subnet_id", "provider", "project_id", "listeners"]
)
def test_update_of_immutable_field_is_400(client: Any, database: Any, field: str) -> None:
    lb = create_lb(client, database)
    body = {"loadbalancer": {field: "x"}}
    message = fault(client.put(f"{V2}/loadbalancers/{lb['id']}", json=body), 400)
    assert message == f"Unknown attribute for argument loadbalancer: {field}"


def test_writes_while_pending_are_409(client: Any, database: Any, changes: list[int]) -> None:
    lb = create_lb(client, database, active=False)
    expected = f"Load Balancer {lb['id']} is immutable and cannot be updated."
    put = client.put(f"{V2}/loadbalancers/{lb['id']}", json={"loadbalancer": {"name": "x"}})
    assert fault(put, 409) == expected
    assert fault(client.delete(f"{V2}/loadbalancers/{lb['id']}"), 409) == expected
    listener = {"listener": {"loadbalancer_id": lb["id"], "protocol": "TCP", "protocol_port": 1}}
    assert fault(client.post(f"{V2}/listeners", json=listener), 409) == expected
    assert lb_row(database, lb["id"]).generation == 1
    assert changes == [1]


def test_delete(client: Any, database: Any) -> None:
    lb = create_lb(client, database)
    generation = lb_row(database, lb["id"]).generation
    assert client.delete(f"{V2}/loadbalancers/{lb['id']}").status_code == 204
    row = lb_row(database, lb["id"])
    assert row.provisioning_status == "PENDING_DELETE"
    assert row.generation == generation + 1 and row.pending_since is not None
    shown = ok(client.get(f"{V2}/loadbalancers/{lb['id']}"))["loadbalancer"]
    assert shown["provisioning_status"] == "PENDING_DELETE"


def test_delete_from_error_is_allowed(client: Any, database: Any) -> None:
    lb = create_lb(client, database)
    with database.write() as s:
        row = s.get(LoadBalancer, lb["id"])
        assert row is not None
        row.provisioning_status = "ERROR"
        row.last_error = "boom"
    assert client.delete(f"{V2}/loadbalancers/{lb['id']}").status_code == 204
    row = lb_row(database, lb["id"])
    assert row.provisioning_status == "PENDING_DELETE" and row.last_error is None


def test_update_from_error_is_409(client: Any, database: Any) -> None:
    lb = create_lb(client, database)
    with database.write() as s:
        row = s.get(LoadBalancer, lb["id"])
        assert row is not None
        row.provisioning_status = "ERROR"
    put = client.put(f"{V2}/loadbalancers/{lb['id']}", json={"loadbalancer": {"name": "x"}})
    fault(put, 409)


def test_delete_with_children_needs_cascade(client: Any, database: Any) -> None:
    lb = create_lb(client, database)
    create_pool(client, database, lb["id"])
    message = fault(client.delete(f"{V2}/loadbalancers/{lb['id']}"), 400)
    assert (
        message == f"Validation failure: Cannot delete Load Balancer {lb['id']} - it has children"
    )
    assert lb_row(database, lb["id"]).provisioning_status == "ACTIVE"


def test_cascade_delete_marks_everything_pending_delete(client: Any, database: Any) -> None:
    objects = stack(client, database)
    other = create_lb(client, database)
    lb_id = objects["lb"]["id"]
    response = client.delete(f"{V2}/loadbalancers/{lb_id}?cascade=true")
    assert response.status_code == 204
    for model, key in (
        (LoadBalancer, "lb"),
        (Listener, "listener"),
        (Pool, "pool"),
        (Member, "member"),
        (HealthMonitor, "hm"),
    ):
        assert statuses(database, model)[objects[key]["id"]] == "PENDING_DELETE", key
    assert statuses(database, LoadBalancer)[other["id"]] == "ACTIVE"
    # rows stay until the controller removes them
    assert ok(client.get(f"{V2}/listeners/{objects['listener']['id']}"))


def test_deleted_load_balancer_is_invisible(client: Any, database: Any) -> None:
    lb = create_lb(client, database)
    with database.write() as s:
        row = s.get(LoadBalancer, lb["id"])
        assert row is not None
        row.provisioning_status = "DELETED"
    message = fault(client.get(f"{V2}/loadbalancers/{lb['id']}"), 404)
    assert message == f"Load Balancer {lb['id']} not found."
    assert ok(client.get(f"{V2}/loadbalancers"))["loadbalancers"] == []
    fault(client.get(f"{V2}/loadbalancers/{lb['id']}/status"), 404)
    fault(client.get(f"{V2}/loadbalancers/{lb['id']}/stats"), 404)
    fault(client.delete(f"{V2}/loadbalancers/{lb['id']}"), 404)
    fault(client.put(f"{V2}/loadbalancers/{lb['id']}", json={"loadbalancer": {}}), 404)


def test_unknown_load_balancer_is_404(client: Any) -> None:
    message = fault(client.get(f"{V2}/loadbalancers/nope"), 404)
    assert message == "Load Balancer nope not found."


@pytest.mark.parametrize("suffix", ["status", "statuses"])
def test_status_tree(client: Any, database: Any, suffix: str) -> None:
    objects = stack(client, database)
    lb, listener, pool = objects["lb"], objects["listener"], objects["pool"]
    member, hm = objects["member"], objects["hm"]
    create_listener(client, database, lb["id"], protocol="TCP", protocol_port=22)
    tree = ok(client.get(f"{V2}/loadbalancers/{lb['id']}/{suffix}"))
    root = tree["statuses"]["loadbalancer"]
    assert set(root) == {"id", "name", "operating_status", "provisioning_status", "listeners"}
    assert (root["id"], root["name"]) == (lb["id"], "lb")
    first, second = root["listeners"]
    assert first == {
        "id": listener["id"],
        "name": "listener",
        "operating_status": "OFFLINE",
        "provisioning_status": "ACTIVE",
        "pools": [
            {
                "id": pool["id"],
                "name": "pool",
                "provisioning_status": "ACTIVE",
                "operating_status": "OFFLINE",
                "health_monitor": {
                    "id": hm["id"],
                    "name": "hm",
                    "type": "HTTP",
                    "provisioning_status": "ACTIVE",
                    "operating_status": "OFFLINE",
                },
                "members": [
                    {
                        "id": member["id"],
                        "name": "member",
                        "operating_status": "NO_MONITOR",
                        "provisioning_status": "ACTIVE",
                        "address": "10.0.0.100",
                        "protocol_port": 8080,
                    }
                ],
            }
        ],
    }
    assert second["name"] == "" and second["pools"] == []


def test_stats_sum_listener_rows(client: Any, database: Any) -> None:
    lb = create_lb(client, database)
    a = create_listener(client, database, lb["id"], protocol_port=80)
    b = create_listener(client, database, lb["id"], protocol_port=81)
    zero = {
        "bytes_in": 0,
        "bytes_out": 0,
        "active_connections": 0,
        "total_connections": 0,
        "request_errors": 0,
    }
    assert ok(client.get(f"{V2}/loadbalancers/{lb['id']}/stats")) == {"stats": zero}
    with database.write() as s:
        for listener_id, amphora, n in (
            (a["id"], "amp1", 1),
            (a["id"], "amp2", 10),
            (b["id"], "amp1", 100),
        ):
            s.add(
                ListenerStatistics(
                    listener_id=listener_id,
                    amphora_id=amphora,
                    bytes_in=n,
                    bytes_out=2 * n,
                    active_connections=3 * n,
                    total_connections=4 * n,
                    request_errors=5 * n,
                )
            )
    total = ok(client.get(f"{V2}/loadbalancers/{lb['id']}/stats"))["stats"]
    assert total == {
        "bytes_in": 111,
        "bytes_out": 222,
        "active_connections": 333,
        "total_connections": 444,
        "request_errors": 555,
    }
    one = ok(client.get(f"{V2}/listeners/{a['id']}/stats"))["stats"]
    assert one == {
        "bytes_in": 11,
        "bytes_out": 22,
        "active_connections": 33,
        "total_connections": 44,
        "request_errors": 55,
    }
    fault(client.get(f"{V2}/listeners/nope/stats"), 404)


def test_list_shows_children_ids(client: Any, database: Any) -> None:
    objects = stack(client, database)
    lbs = ok(client.get(f"{V2}/loadbalancers"))["loadbalancers"]
    assert lbs[0]["listeners"] == [{"id": objects["listener"]["id"]}]
    assert lbs[0]["pools"] == [{"id": objects["pool"]["id"]}]
    activate(database)


def _assert_nothing_written(database: Any) -> None:
    assert statuses(database, LoadBalancer) == {}
    with database.read() as s:
        assert s.scalars(select(Port)).all() == []
