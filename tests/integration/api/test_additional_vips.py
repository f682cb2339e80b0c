"""Additional VIPs (Octavia v2.26): more addresses of one load balancer on other subnets
of its VIP network, IPv4 or IPv6, and the subnets that hold them.

The deployment here declares the network `private` with its primary IPv4 subnet,
a second IPv4 subnet and an IPv6 subnet (`[subnet:<name>]` sections), and a second
network `other` whose subnet no additional VIP of a `private` load balancer may use.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.integration.api.helpers import V2, fault, ok
from tests.integration.controller.test_reconcile import (
    RecordingAmphora,
    make_controller,
    run_until_idle,
)

from statera.controller.service import Controller
from statera.db import models
from statera.db.session import Database
from statera.network.noop import NoopNetworkDriver
from statera.settings import Settings

EXTRA_SUBNETS = """
[subnet:private-b]
network = private
cidr = 10.0.1.0/24
allocation_pool_start = 10.0.1.10
allocation_pool_end = 10.0.1.11
[subnet:private-v6]
network = private
cidr = fd00:5a::/64
[network:other]
cidr = 10.9.0.0/24
bridge = st-other
"""


@pytest.fixture
def settings_overrides() -> str:
    return EXTRA_SUBNETS


@pytest.fixture
def controller(settings: Settings, database: Database) -> Controller:
    return make_controller(settings, database, RecordingAmphora(), owner="test-host:1")


def subnet_id(settings: Settings, name: str) -> str:
    found = settings.subnet_named(name)
    assert found is not None
    return found[1].id


def create(client: Any, **fields: Any) -> Any:
    return client.post(f"{V2}/loadbalancers", json={"loadbalancer": fields})


def test_settings_declare_the_subnets(settings: Settings) -> None:
    net = settings.network_named("private")
    assert net is not None
    assert [(s.name, s.ip_version) for s in net.subnets] == [
        ("private-subnet", 4),
        ("private-b", 4),
        ("private-v6", 6),
    ]
    v6 = net.subnets[2]
    assert (v6.gateway, v6.allocation_pool_start) == ("fd00:5a::1", "fd00:5a::2")
    assert v6.allocation_pool_end == "fd00:5a::ffff:ffff:ffff:ffff"


def test_network_view_lists_every_subnet(client: Any, settings: Settings) -> None:
    net = settings.network_named("private")
    assert net is not None
    shown = ok(client.get(f"/v2.0/networks/{net.id}"))["network"]
    assert shown["subnets"] == [s.id for s in net.subnets]
    v6 = ok(client.get("/v2.0/subnets", params={"name": "private-v6"}))["subnets"]
    assert len(v6) == 1
    assert v6[0]["ip_version"] == 6 and v6[0]["cidr"] == "fd00:5a::/64"
    assert v6[0]["network_id"] == net.id and v6[0]["gateway_ip"] == "fd00:5a::1"
    assert ok(client.get(f"/v2.0/subnets/{v6[0]['id']}"))["subnet"] == v6[0]


def test_create_with_additional_vips(
    client: Any, settings: Settings, database: Database, controller: Controller
) -> None:
    v6 = subnet_id(settings, "private-v6")
    b = subnet_id(settings, "private-b")
    lb = ok(
        create(
            client,
            vip_subnet_id="private-subnet",
            additional_vips=[{"subnet_id": v6}, {"subnet_id": b, "ip_address": "10.0.1.11"}],
            listeners=[{"protocol": "TCP", "protocol_port": 80}],
        ),
        201,
    )["loadbalancer"]
    assert lb["vip_address"] == "10.0.0.10"
    assert lb["additional_vips"] == [
        {"subnet_id": v6, "ip_address": "fd00:5a::2"},
        {"subnet_id": b, "ip_address": "10.0.1.11"},
    ]
    shown = ok(client.get(f"{V2}/loadbalancers/{lb['id']}"))["loadbalancer"]
    assert shown["additional_vips"] == lb["additional_vips"]
    listed = ok(client.get(f"{V2}/loadbalancers", params={"id": lb["id"]}))["loadbalancers"]
    assert listed[0]["additional_vips"] == lb["additional_vips"]
    # Each address is a port of the load balancer, so no other one can take it.
    message = fault(
        create(
            client,
            vip_subnet_id="private-subnet",
            additional_vips=[{"subnet_id": b, "ip_address": "10.0.1.11"}],
        ),
        409,
    )
    assert "10.0.1.11" in message
    # The controller plugs every address into the amphora and binds every listener to it.
    run_until_idle(controller)
    network = controller._drivers.network
    assert isinstance(network, NoopNetworkDriver)
    (plug,) = network.plugs.values()
    assert plug.vip == "10.0.0.10"
    assert plug.additional_vips == ("fd00:5a::2", "10.0.1.11")
    amphora = controller._drivers.amphora
    assert isinstance(amphora, RecordingAmphora)
    config = amphora.configs[-1][1]
    binds = [line.strip() for line in config.splitlines() if line.strip().startswith("bind ")]
    assert binds == ["bind 10.0.0.10:80", "bind [fd00:5a::2]:80", "bind 10.0.1.11:80"]
    # Deleting the load balancer frees every address.
    assert client.delete(f"{V2}/loadbalancers/{lb['id']}?cascade=true").status_code == 204
    run_until_idle(controller)
    with database.read() as s:
        assert s.query(models.Port).filter(models.Port.device_id == lb["id"]).count() == 0
    again = ok(
        create(
            client,
            vip_subnet_id="private-subnet",
            additional_vips=[{"subnet_id": b, "ip_address": "10.0.1.11"}],
        ),
        201,
    )["loadbalancer"]
    assert again["additional_vips"][0]["ip_address"] == "10.0.1.11"


def test_ipv6_vip_with_an_ipv4_additional_vip(client: Any, settings: Settings) -> None:
    lb = ok(
        create(client, vip_subnet_id="private-v6", additional_vips=[{"subnet_id": "private-b"}]),
        201,
    )["loadbalancer"]
    assert lb["vip_address"] == "fd00:5a::2"
    assert lb["vip_subnet_id"] == subnet_id(settings, "private-v6")
    assert lb["additional_vips"] == [
        {"subnet_id": subnet_id(settings, "private-b"), "ip_address": "10.0.1.10"}
    ]


def test_network_with_vip_address_picks_its_subnet(client: Any, settings: Settings) -> None:
    net = settings.network_named("private")
    assert net is not None
    lb = ok(create(client, vip_network_id=net.id, vip_address="fd00:5a::99"), 201)["loadbalancer"]
    assert lb["vip_subnet_id"] == subnet_id(settings, "private-v6")
    plain = ok(create(client, vip_network_id=net.id), 201)["loadbalancer"]
    assert plain["vip_subnet_id"] == net.subnet_id  # the IPv4 one, as Octavia prefers
    message = fault(create(client, vip_network_id=net.id, vip_address="192.168.7.7"), 400)
    assert message == (
        "Validation failure: Supplied network does not contain a subnet for VIP address specified."
    )


@pytest.mark.parametrize(
    ("additional", "status", "expected"),
    [
        ([{"subnet_id": "nope"}], 400, "Subnet nope not found."),
        ([{"subnet_id": "other-subnet"}], 400, "all VIP subnets must belong to the same network"),
        ([{"subnet_id": "private-subnet"}], 400, "Duplicate VIP subnet(s) specified"),
        (
            [{"subnet_id": "private-v6"}, {"subnet_id": "private-v6"}],
            400,
            "Only one IP can be bound per subnet.",
        ),
        (
            [{"subnet_id": "private-b", "ip_address": "10.0.1.99"}],
            400,
            "VIP address 10.0.1.99 is not in the allocation range",
        ),
        (
            [{"subnet_id": "private-b", "ip_address": "fd00:5a::5"}],
            400,
            "VIP address fd00:5a::5 is not in the allocation range",
        ),
        ([{"ip_address": "10.0.1.10"}], 400, "subnet_id"),
        ([{"subnet_id": "private-b", "port_id": "x"}], 400, "port_id"),
        ([{"subnet_id": "private-b", "ip_address": "not-an-ip"}], 400, "ip_address"),
    ],
)
def test_invalid_additional_vips_change_nothing(
    client: Any, database: Database, additional: list[dict[str, str]], status: int, expected: str
) -> None:
    message = fault(
        create(client, vip_subnet_id="private-subnet", additional_vips=additional), status
    )
    assert expected in message
    with database.read() as s:
        assert s.query(models.LoadBalancer).count() == 0
        assert s.query(models.Port).count() == 0


def test_allowed_cidrs_follow_the_families_of_all_vips(client: Any, controller: Controller) -> None:
    dual = ok(
        create(
            client, vip_subnet_id="private-subnet", additional_vips=[{"subnet_id": "private-v6"}]
        ),
        201,
    )["loadbalancer"]
    v4_only = ok(create(client, vip_subnet_id="private-subnet"), 201)["loadbalancer"]
    run_until_idle(controller)
    listener = {
        "loadbalancer_id": dual["id"],
        "protocol": "TCP",
        "protocol_port": 80,
        "allowed_cidrs": ["192.0.2.0/24", "2001:db8::/32"],
    }
    created = ok(client.post(f"{V2}/listeners", json={"listener": listener}), 201)["listener"]
    assert created["allowed_cidrs"] == ["192.0.2.0/24", "2001:db8::/32"]
    listener["loadbalancer_id"] = v4_only["id"]
    message = fault(client.post(f"{V2}/listeners", json={"listener": listener}), 400)
    assert message == (
        "Validation failure: CIDR 2001:db8::/32 IP version incompatible with VIP 10.0.0.11 "
        "IP version."
    )


def test_ports_on_any_subnet_and_a_vip_on_one(client: Any, settings: Settings) -> None:
    net = settings.network_named("private")
    assert net is not None
    v6 = subnet_id(settings, "private-v6")
    by_address = {"network_id": net.id, "fixed_ips": [{"ip_address": "fd00:5a::77"}]}
    port = ok(client.post("/v2.0/ports", json={"port": by_address}), 201)["port"]
    assert port["fixed_ips"] == [{"subnet_id": v6, "ip_address": "fd00:5a::77"}]
    by_subnet = {"network_id": net.id, "fixed_ips": [{"subnet_id": v6}]}
    lowest = ok(client.post("/v2.0/ports", json={"port": by_subnet}), 201)["port"]
    assert lowest["fixed_ips"] == [{"subnet_id": v6, "ip_address": "fd00:5a::2"}]
    lb = ok(create(client, vip_port_id=port["id"]), 201)["loadbalancer"]
    assert (lb["vip_address"], lb["vip_subnet_id"]) == ("fd00:5a::77", v6)
