"""The read-only Neutron view (`/v2.0/networks`, `/v2.0/subnets`, `/v2.0/ports`).

Built from the declared networks and the `port` rows; these tests pin the
field names and wrapper keys clients read, the lookups python-octaviaclient
makes (`?id=`, `?name=`), Neutron's error body, and that Octavia's
`/v2.0/lbaas/...` alias is untouched.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert
from tests.integration.api.helpers import SUBNET, V2, ok

from statera.db.models import Port
from statera.settings import Settings

SECOND_NETWORK = """
[network:blue]
cidr = 192.168.50.0/24
subnet_name = blue-sub
"""


@pytest.fixture
def settings_overrides() -> str:
    return SECOND_NETWORK


def _private(settings: Settings) -> Any:
    net = settings.network_named("private")
    assert net is not None
    return net


def _create_lb(client: Any, **extra: Any) -> dict[str, Any]:
    body = {"loadbalancer": {"name": "lb", "vip_subnet_id": SUBNET, **extra}}
    return dict(ok(client.post(f"{V2}/loadbalancers", json=body), 201)["loadbalancer"])


def neutron_error(response: Any, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"NeutronError"}, body
    assert body["NeutronError"]["type"] == kind
    return str(body["NeutronError"]["message"])


@pytest.mark.parametrize("prefix", ["/v2.0", "/v2"])
def test_networks_list_and_show(client: Any, settings: Settings, prefix: str) -> None:
    net = _private(settings)
    docs = ok(client.get(f"{prefix}/networks"))["networks"]
    assert sorted(d["name"] for d in docs) == ["blue", "private"]
    doc = ok(client.get(f"{prefix}/networks/{net.id}"))["network"]
    assert doc == next(d for d in docs if d["id"] == net.id)
    assert doc["name"] == "private"
    assert doc["subnets"] == [net.subnet_id]
    assert doc["status"] == "ACTIVE"
    assert doc["admin_state_up"] is True
    assert doc["shared"] is True
    assert doc["port_security_enabled"] is True
    assert doc["project_id"] == doc["tenant_id"]
    assert doc["router:external"] is False


def test_subnets_fields(client: Any, settings: Settings) -> None:
    net = _private(settings)
    doc = ok(client.get(f"/v2.0/subnets/{net.subnet_id}"))["subnet"]
    assert doc["id"] == net.subnet_id
    assert doc["name"] == "private-subnet"
    assert doc["network_id"] == net.id
    assert doc["cidr"] == "10.0.0.0/24"
    assert doc["gateway_ip"] == "10.0.0.1"
    assert doc["ip_version"] == 4
    assert doc["allocation_pools"] == [{"start": "10.0.0.10", "end": "10.0.0.20"}]
    assert doc["enable_dhcp"] is False
    blue = ok(client.get("/v2.0/subnets", params={"name": "blue-sub"}))["subnets"]
    assert [(s["cidr"], s["gateway_ip"]) for s in blue] == [("192.168.50.0/24", "192.168.50.1")]


def test_lookups_the_client_makes(client: Any, settings: Settings) -> None:
    """openstacksdk's find: `?id=<name or id>` first, then `?name=<name or id>`."""
    net = _private(settings)
    assert ok(client.get("/v2.0/subnets", params={"id": "private-subnet"}))["subnets"] == []
    by_name = ok(client.get("/v2.0/subnets", params={"name": "private-subnet"}))["subnets"]
    assert [s["id"] for s in by_name] == [net.subnet_id]
    by_id = ok(client.get("/v2.0/subnets", params={"id": net.subnet_id}))["subnets"]
    assert [s["name"] for s in by_id] == ["private-subnet"]
    nets = ok(client.get("/v2.0/networks", params={"name": ["blue", "private"]}))["networks"]
    assert len(nets) == 2
    on_net = ok(client.get("/v2.0/subnets", params={"network_id": net.id}))["subnets"]
    assert [s["id"] for s in on_net] == [net.subnet_id]
    shared = ok(client.get("/v2.0/networks", params={"shared": "True"}))["networks"]
    assert len(shared) == 2
    assert ok(client.get("/v2.0/networks", params={"shared": "false"}))["networks"] == []


def test_fields_selects_keys(client: Any) -> None:
    docs = ok(client.get("/v2.0/networks", params={"fields": ["id", "name"]}))["networks"]
    assert all(set(d) == {"id", "name"} for d in docs)


def test_unknown_filter_is_400_and_missing_is_404(client: Any) -> None:
    message = neutron_error(
        client.get("/v2.0/networks", params={"colour": "red"}), 400, "HTTPBadRequest"
    )
    assert "colour" in message
    missing = "9d6c4b4e-0000-4000-8000-000000000000"
    assert neutron_error(client.get(f"/v2.0/networks/{missing}"), 404, "NetworkNotFound") == (
        f"Network {missing} could not be found."
    )
    neutron_error(client.get(f"/v2.0/subnets/{missing}"), 404, "SubnetNotFound")
    neutron_error(client.get(f"/v2.0/ports/{missing}"), 404, "PortNotFound")


def test_read_only(client: Any) -> None:
    response = client.post("/v2.0/networks", json={"network": {"name": "x"}})
    assert response.status_code == 405


def test_vip_port_is_listed(client: Any, settings: Settings) -> None:
    net = _private(settings)
    assert ok(client.get("/v2.0/ports"))["ports"] == []
    lb = _create_lb(client)
    ports = ok(client.get("/v2.0/ports"))["ports"]
    assert len(ports) == 1
    port = ports[0]
    assert port["id"] == lb["vip_port_id"]
    assert port["name"] == f"octavia-lb-{lb['id']}"
    assert port["network_id"] == net.id
    assert port["fixed_ips"] == [{"subnet_id": net.subnet_id, "ip_address": lb["vip_address"]}]
    assert port["device_owner"] == "Octavia"
    assert port["device_id"] == lb["id"]
    assert port["status"] == "ACTIVE"
    assert port["project_id"] == port["tenant_id"] == "project-a"
    assert port["mac_address"].startswith("fa:16:3e:")
    assert ok(client.get(f"/v2.0/ports/{port['id']}"))["port"] == port
    for params in (
        {"device_id": lb["id"]},
        {"fixed_ips": f"ip_address={lb['vip_address']}"},
        {"ip_address": lb["vip_address"]},
        {"network_id": net.id, "name": port["name"]},
    ):
        assert ok(client.get("/v2.0/ports", params=params))["ports"] == [port], params
    assert ok(client.get("/v2.0/ports", params={"fixed_ips": "ip_address=10.9.9.9"}))["ports"] == []


def test_management_ports_are_hidden(client: Any, database: Any) -> None:
    with database.write() as s:
        s.execute(
            insert(Port).values(
                id="a6f0e3a8-8a4c-4c1b-9c6e-000000000001",
                network_id="not-a-declared-network",
                subnet_id="not-a-declared-subnet",
                ip_address="172.31.248.2",
                name="octavia-lb-mgmt-x",
                device_owner="compute:amphora",
                device_id="x",
            )
        )
    assert ok(client.get("/v2.0/ports"))["ports"] == []


def test_pagination_follows_links(client: Any) -> None:
    for _ in range(3):
        _create_lb(client)
    seen: list[str] = []
    url: str | None = "/v2.0/ports?limit=2"
    while url:
        body = ok(client.get(url))
        seen += [p["id"] for p in body["ports"]]
        nxt = [link["href"] for link in body.get("ports_links", []) if link["rel"] == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else None
    assert len(seen) == 3 == len(set(seen))
    assert seen == sorted(seen)


def test_octavia_alias_untouched(client: Any) -> None:
    assert ok(client.get("/v2.0/lbaas/loadbalancers"))["loadbalancers"] == []
    assert client.get("/").json()["versions"][-1]["status"] == "CURRENT"
