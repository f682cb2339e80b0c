"""Tenant ports through the Network view, and load balancers created with `vip_port_id`.

`POST /v2.0/ports` makes an unbound port on a declared network; a load
balancer created with it as `vip_port_id` takes its network, subnet and
address, binds it (`device_owner` Octavia, `device_id` the load balancer) and,
when deleted, leaves it unbound instead of deleting it, as Octavia does with a
port it does not own. Identity comes from X-Project-Id / X-Roles (the
`testing` strategy): a member sees and deletes only its project's ports.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from tests.integration.api.helpers import V2, fault, ok
from tests.integration.api.test_neutron import neutron_error
from tests.integration.controller.test_reconcile import (
    RecordingAmphora,
    make_controller,
    run_until_idle,
)

from statera.controller.service import Controller
from statera.db import models
from statera.db.session import Database
from statera.settings import NetworkSettings, Settings

P1 = {"X-Project-Id": "p1", "X-Roles": "member"}
P2 = {"X-Project-Id": "p2", "X-Roles": "member"}
ADMIN = {"X-Project-Id": "ops", "X-Roles": "admin"}
MISSING = "b4ca07d1-a31e-43e2-891a-7d14f419f342"


@pytest.fixture
def settings_overrides() -> str:
    return "[api_settings]\nauth_strategy = testing\n"


@pytest.fixture
def net(settings: Settings) -> NetworkSettings:
    found = settings.network_named("private")
    assert found is not None
    return found


@pytest.fixture
def controller(settings: Settings, database: Database) -> Controller:
    return make_controller(settings, database, RecordingAmphora(), owner="test-host:1")


def create_port(
    client: Any, net: NetworkSettings, *, headers: dict[str, str] = P1, **fields: Any
) -> dict[str, Any]:
    body = {"port": {"network_id": net.id, "name": "p", **fields}}
    return dict(ok(client.post("/v2.0/ports", json=body, headers=headers), 201)["port"])


def create_lb(client: Any, *, headers: dict[str, str] = P1, **fields: Any) -> Any:
    return client.post(f"{V2}/loadbalancers", json={"loadbalancer": fields}, headers=headers)


def port_row(database: Database, port_id: str) -> models.Port | None:
    with database.read() as s:
        row = s.get(models.Port, port_id)
        if row is not None:
            s.expunge(row)
        return row


# -- the Network view ---------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/v2.0", "/v2"])
def test_create_show_list_delete(client: Any, net: NetworkSettings, prefix: str) -> None:
    body = {"port": {"network_id": net.id, "name": "p1", "admin_state_up": True}}
    created = ok(client.post(f"{prefix}/ports", json=body, headers=P1), 201)["port"]
    assert created["name"] == "p1"
    assert created["network_id"] == net.id
    # The lowest free address of the allocation range, as for a VIP.
    assert created["fixed_ips"] == [{"subnet_id": net.subnet_id, "ip_address": "10.0.0.10"}]
    assert created["project_id"] == created["tenant_id"] == "p1"
    assert created["device_owner"] == created["device_id"] == ""
    assert created["mac_address"].startswith("fa:16:3e:")
    shown = ok(client.get(f"{prefix}/ports/{created['id']}", headers=P1))["port"]
    assert shown == created
    listed = ok(client.get(f"{prefix}/ports", params={"name": "p1"}, headers=P1))["ports"]
    assert listed == [created]
    response = client.delete(f"{prefix}/ports/{created['id']}", headers=P1)
    assert response.status_code == 204 and response.content == b""
    neutron_error(client.get(f"{prefix}/ports/{created['id']}", headers=P1), 404, "PortNotFound")


def test_no_extensions(client: Any) -> None:
    """`openstack port create` looks extensions up (`find_extension`) and does without."""
    assert ok(client.get("/v2.0/extensions", params={"name": "x"}, headers=P1)) == {
        "extensions": []
    }
    neutron_error(client.get("/v2/extensions/port-hints", headers=P1), 404, "ExtensionNotFound")


def test_fixed_address_is_taken_once_and_must_be_in_the_pool(
    client: Any, net: NetworkSettings
) -> None:
    port = create_port(
        client, net, fixed_ips=[{"subnet_id": net.subnet_id, "ip_address": "10.0.0.15"}]
    )
    assert port["fixed_ips"][0]["ip_address"] == "10.0.0.15"
    body = {"port": {"network_id": net.id, "fixed_ips": [{"ip_address": "10.0.0.15"}]}}
    message = neutron_error(
        client.post("/v2.0/ports", json=body, headers=P2), 409, "IpAddressAlreadyAllocated"
    )
    assert "10.0.0.15" in message
    for address in ("10.0.0.9", "10.0.0.21", "10.0.0.1", "192.168.0.10", "bogus"):
        body = {"port": {"network_id": net.id, "fixed_ips": [{"ip_address": address}]}}
        message = neutron_error(
            client.post("/v2.0/ports", json=body, headers=P1), 400, "InvalidIpForSubnet"
        )
        assert message == f"IP address {address} is not a valid IP for the specified subnet."
    # A VIP allocated afterwards skips the taken address.
    lb = ok(create_lb(client, vip_subnet_id=net.subnet_id), 201)["loadbalancer"]
    assert lb["vip_address"] == "10.0.0.10"


@pytest.mark.parametrize(
    ("port", "status", "kind"),
    [
        ({"network_id": MISSING}, 404, "NetworkNotFound"),
        ({"name": "no-network"}, 400, "HTTPBadRequest"),
        ({"network_id": "NET", "fixed_ips": [{"subnet_id": MISSING}]}, 400, "HTTPBadRequest"),
        ({"network_id": "NET", "fixed_ips": [{}, {}]}, 400, "HTTPBadRequest"),
        ({"network_id": "NET", "colour": "red"}, 400, "HTTPBadRequest"),
        ({"network_id": "NET", "admin_state_up": False}, 400, "HTTPBadRequest"),
        ({"network_id": "NET", "project_id": "p2"}, 403, "PolicyNotAuthorized"),
    ],
)
def test_create_errors(
    client: Any,
    database: Database,
    net: NetworkSettings,
    port: dict[str, Any],
    status: int,
    kind: str,
) -> None:
    if port.get("network_id") == "NET":
        port = {**port, "network_id": net.id}
    neutron_error(client.post("/v2.0/ports", json={"port": port}, headers=P1), status, kind)
    with database.read() as s:
        assert s.scalars(select(models.Port)).all() == []


def test_exhausted_pool_is_409(client: Any, net: NetworkSettings) -> None:
    for _ in range(11):  # 10.0.0.10 - 10.0.0.20
        create_port(client, net)
    message = neutron_error(
        client.post("/v2.0/ports", json={"port": {"network_id": net.id}}, headers=P1),
        409,
        "IpAddressGenerationFailure",
    )
    assert message == f"No more IP addresses available on network {net.id}."


def test_a_tenant_sees_and_deletes_only_its_own_ports(client: Any, net: NetworkSettings) -> None:
    mine = create_port(client, net, headers=P1)
    theirs = create_port(client, net, headers=P2)
    listed = ok(client.get("/v2.0/ports", headers=P1))["ports"]
    assert [p["id"] for p in listed] == [mine["id"]]
    neutron_error(client.get(f"/v2.0/ports/{theirs['id']}", headers=P1), 404, "PortNotFound")
    message = neutron_error(
        client.delete(f"/v2.0/ports/{theirs['id']}", headers=P1), 404, "PortNotFound"
    )
    assert message == f"Port {theirs['id']} could not be found."
    everyone = ok(client.get("/v2.0/ports", headers=ADMIN))["ports"]
    assert {p["id"] for p in everyone} == {mine["id"], theirs["id"]}
    # An administrator may create a port for another project and delete anyone's.
    for_p2 = create_port(client, net, headers=ADMIN, project_id="p2")
    assert for_p2["project_id"] == "p2"
    assert client.delete(f"/v2.0/ports/{theirs['id']}", headers=ADMIN).status_code == 204
    assert client.delete(f"/v2.0/ports/{for_p2['id']}", headers=P2).status_code == 204


def test_a_statera_vip_port_cannot_be_deleted(client: Any, net: NetworkSettings) -> None:
    lb = ok(create_lb(client, vip_subnet_id=net.subnet_id), 201)["loadbalancer"]
    message = neutron_error(
        client.delete(f"/v2.0/ports/{lb['vip_port_id']}", headers=P1), 409, "PortInUse"
    )
    assert message == (
        f"Unable to complete operation on port {lb['vip_port_id']} for network {net.id}. "
        f"Port already has an attached device {lb['id']}."
    )


# -- load balancers on a tenant's port ----------------------------------------------------


def test_load_balancer_takes_the_port(
    client: Any, database: Database, net: NetworkSettings
) -> None:
    port = create_port(client, net, fixed_ips=[{"ip_address": "10.0.0.17"}])
    lb = ok(create_lb(client, name="lb", vip_port_id=port["id"]), 201)["loadbalancer"]
    assert lb["vip_port_id"] == port["id"]
    assert lb["vip_address"] == "10.0.0.17"
    assert lb["vip_network_id"] == net.id
    assert lb["vip_subnet_id"] == net.subnet_id
    bound = ok(client.get(f"/v2.0/ports/{port['id']}", headers=P1))["port"]
    assert (bound["device_owner"], bound["device_id"]) == ("Octavia", lb["id"])
    # No second port was allocated for the VIP.
    assert [p["id"] for p in ok(client.get("/v2.0/ports", headers=P1))["ports"]] == [port["id"]]
    neutron_error(client.delete(f"/v2.0/ports/{port['id']}", headers=P1), 409, "PortInUse")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"vip_network_id": "NET"}, None),
        ({"vip_subnet_id": "SUBNET", "vip_address": "10.0.0.17"}, None),
        (
            {"vip_address": "10.0.0.18"},
            "Validation failure: Specified VIP address not found on the specified VIP port.",
        ),
        (
            {"vip_network_id": "BLUE"},
            "Validation failure: VIP port {port} is not on network BLUE.",
        ),
        (
            {"vip_subnet_id": "BLUE"},
            "Validation failure: VIP port {port} has no address on subnet BLUE.",
        ),
    ],
)
def test_vip_fields_given_with_the_port_must_match_it(
    client: Any, net: NetworkSettings, extra: dict[str, str], message: str | None
) -> None:
    port = create_port(client, net, fixed_ips=[{"ip_address": "10.0.0.17"}])
    names = {"NET": net.id, "SUBNET": net.subnet_id, "BLUE": MISSING}
    fields = {k: names.get(v, v) for k, v in extra.items()}
    response = create_lb(client, vip_port_id=port["id"], **fields)
    if message is None:
        assert ok(response, 201)["loadbalancer"]["vip_address"] == "10.0.0.17"
    else:
        expected = message.format(port=port["id"]).replace("BLUE", MISSING)
        assert fault(response, 400) == expected


def test_port_of_another_project_or_in_use_is_refused(
    client: Any, database: Database, net: NetworkSettings
) -> None:
    theirs = create_port(client, net, headers=P2)
    # Octavia asks Neutron as the caller: another project's port is "not found".
    assert fault(create_lb(client, vip_port_id=theirs["id"]), 400) == (
        f"Port {theirs['id']} not found."
    )
    first = ok(create_lb(client, headers=P2, vip_port_id=theirs["id"]), 201)["loadbalancer"]
    # Bound to a load balancer: refused, even for an administrator.
    assert fault(create_lb(client, headers=ADMIN, vip_port_id=theirs["id"]), 400) == (
        f"Validation failure: Port {theirs['id']} is already used by device {first['id']}."
    )
    # Statera's own VIP port is bound as well.
    assert fault(create_lb(client, headers=P2, vip_port_id=first["vip_port_id"]), 400).startswith(
        "Validation failure: Port "
    )
    with database.read() as s:
        assert len(s.scalars(select(models.LoadBalancer)).all()) == 1


def test_admin_may_use_any_projects_port(client: Any, net: NetworkSettings) -> None:
    port = create_port(client, net, headers=P2)
    lb = ok(create_lb(client, headers=ADMIN, project_id="p2", vip_port_id=port["id"]), 201)
    assert lb["loadbalancer"]["vip_port_id"] == port["id"]


def test_deleting_the_load_balancer_unbinds_the_users_port(
    client: Any, database: Database, controller: Controller, net: NetworkSettings
) -> None:
    port = create_port(client, net, fixed_ips=[{"ip_address": "10.0.0.12"}])
    own = ok(create_lb(client, vip_port_id=port["id"]), 201)["loadbalancer"]
    allocated = ok(create_lb(client, vip_subnet_id=net.subnet_id), 201)["loadbalancer"]
    run_until_idle(controller)
    # Failover keeps the VIP port (and its binding).
    assert client.put(f"{V2}/loadbalancers/{own['id']}/failover", headers=ADMIN).status_code == 202
    run_until_idle(controller)
    shown = ok(client.get(f"{V2}/loadbalancers/{own['id']}", headers=P1))["loadbalancer"]
    assert (shown["provisioning_status"], shown["vip_port_id"]) == ("ACTIVE", port["id"])
    row = port_row(database, port["id"])
    assert row is not None and row.device_id == own["id"]
    for lb in (own, allocated):
        r = client.delete(f"{V2}/loadbalancers/{lb['id']}", headers=P1)
        assert r.status_code == 204, r.text
    run_until_idle(controller)
    kept = ok(client.get(f"/v2.0/ports/{port['id']}", headers=P1))["port"]
    assert (kept["device_owner"], kept["device_id"]) == ("", "")
    assert kept["fixed_ips"][0]["ip_address"] == "10.0.0.12"
    assert port_row(database, allocated["vip_port_id"]) is None
    # Unbound again: usable for a new load balancer, or deletable.
    again = ok(create_lb(client, vip_port_id=port["id"]), 201)["loadbalancer"]
    assert again["vip_address"] == "10.0.0.12"


def test_cascade_delete_keeps_the_users_port(
    client: Any, database: Database, controller: Controller, net: NetworkSettings
) -> None:
    port = create_port(client, net)
    body = {
        "vip_port_id": port["id"],
        "listeners": [
            {
                "protocol": "HTTP",
                "protocol_port": 80,
                "default_pool": {"name": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"},
            }
        ],
    }
    lb = ok(create_lb(client, **body), 201)["loadbalancer"]
    run_until_idle(controller)
    r = client.delete(f"{V2}/loadbalancers/{lb['id']}", params={"cascade": "true"}, headers=P1)
    assert r.status_code == 204, r.text
    run_until_idle(controller)
    assert client.get(f"{V2}/loadbalancers/{lb['id']}", headers=P1).status_code == 404
    with database.read() as s:
        rows = s.scalars(select(models.Port)).all()
        assert [(p.id, p.device_id, p.octavia_owned) for p in rows] == [(port["id"], "", False)]
    assert client.delete(f"/v2.0/ports/{port['id']}", headers=P1).status_code == 204
