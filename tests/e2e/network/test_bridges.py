"""BridgeNetworkDriver on the real host: bridges, blackhole guards, VIP plugs, traffic."""

from __future__ import annotations

import errno
import ipaddress
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from pyroute2.netlink.exceptions import NetlinkError

from statera.compute.names import AmphoraNames
from statera.compute.plumbing import (
    HostPlumbingError,
    delete_link,
    ensure_namespace,
    iproute,
    ipv4_addresses,
    link_index,
    namespace_exists,
)
from statera.network.bridges import BLACKHOLE_METRIC, BridgeNetworkDriver, blackhole_routes
from statera.settings import NetworkSettings, Settings

pytestmark = pytest.mark.e2e

# Accepts connections on ADDRESS:PORT and answers each with REPLY; prints "ready" once bound.
SERVER = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen()
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.sendall(sys.argv[3].encode())
    c.close()
"""

CLIENT = """
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3) as c:
    print(c.recv(100).decode())
"""


def in_ns(namespace: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", namespace, *argv]


@pytest.fixture
def servers() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        proc.kill()
        proc.wait(timeout=5)


def serve_in(
    servers: list[subprocess.Popen[str]], namespace: str, address: str, port: int, reply: str
) -> None:
    proc = subprocess.Popen(
        in_ns(namespace, sys.executable, "-c", SERVER, address, str(port), reply),
        stdout=subprocess.PIPE,
        text=True,
    )
    servers.append(proc)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"


def fetch(address: str, port: int) -> str:
    with socket.create_connection((address, port), timeout=3) as conn:
        return conn.recv(100).decode()


def network(settings: Settings, name: str) -> NetworkSettings:
    found = settings.network_named(name)
    assert found is not None
    return found


def host_addr(net: NetworkSettings, offset: int) -> str:
    return str(ipaddress.ip_network(net.cidr)[offset])


def tenant_namespace(settings: Settings) -> AmphoraNames:
    names = AmphoraNames(settings.default.name_prefix, str(uuid.uuid4()))
    ensure_namespace(names.tenant_namespace)
    return names


def test_ensure_creates_bridges_and_blackholes_and_teardown_removes_them(
    host_settings: Settings,
) -> None:
    driver = BridgeNetworkDriver(host_settings)
    nets = driver.host_networks()
    assert [n.bridge for n in nets] == [
        host_settings.management_bridge,
        *(n.bridge for n in host_settings.networks),
    ]

    driver.ensure_host_networks()
    driver.ensure_host_networks()  # idempotent

    with iproute() as host:
        guards = blackhole_routes(host)
        for net in nets:
            index = link_index(host, net.bridge)
            assert index is not None
            link = host.link("get", index=index)[0]
            data = link.get("IFLA_LINKINFO").get("IFLA_INFO_DATA")
            assert data.get("IFLA_BR_STP_STATE") == 0
            assert data.get("IFLA_BR_FORWARD_DELAY") == 0
            assert link["flags"] & 1  # IFF_UP
            assert net.gateway in ipv4_addresses(host, index)
            assert (net.cidr, BLACKHOLE_METRIC) in guards

    driver.teardown_host_networks()
    driver.teardown_host_networks()  # idempotent

    with iproute() as host:
        guards = blackhole_routes(host)
        for net in nets:
            assert link_index(host, net.bridge) is None
            assert (net.cidr, BLACKHOLE_METRIC) not in guards


def test_traffic_is_dropped_not_routed_when_a_bridge_disappears(
    network_driver: BridgeNetworkDriver, host_settings: Settings
) -> None:
    red = network(host_settings, "red")
    target = host_addr(red, 10)
    with iproute() as host:
        assert host.route("get", dst=target)[0].get("RTA_OIF") == link_index(host, red.bridge)
        delete_link(host, red.bridge)
        with pytest.raises(NetlinkError) as caught:
            host.route("get", dst=target)  # a blackhole answers EINVAL; eth0 would answer a route
        assert caught.value.code == errno.EINVAL
    network_driver.ensure_host_networks()  # repairs the missing bridge
    with iproute() as host:
        assert host.route("get", dst=target)[0].get("RTA_OIF") == link_index(host, red.bridge)


def test_host_reaches_a_plugged_amphora(
    network_driver: BridgeNetworkDriver,
    host_settings: Settings,
    servers: list[subprocess.Popen[str]],
) -> None:
    red = network(host_settings, "red")
    names = tenant_namespace(host_settings)
    vrrp_ip, vip = host_addr(red, 10), host_addr(red, 20)

    network_driver.plug_vip(amphora_id=names.amphora_id, network=red, vrrp_ip=vrrp_ip, vip=vip)

    with iproute(names.tenant_namespace) as inside:
        index = link_index(inside, "eth1")
        assert index is not None
        assert ipv4_addresses(inside, index) == {
            ipaddress.IPv4Interface(f"{vrrp_ip}/24"),
            ipaddress.IPv4Interface(f"{vip}/32"),
        }
        default = inside.route("get", dst="192.0.2.99")[0]
        assert default.get("RTA_GATEWAY") == red.gateway
    sysctl = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            names.tenant_namespace,
            "sysctl",
            "-n",
            "net.ipv4.ip_nonlocal_bind",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert sysctl.stdout.strip() == "1"

    serve_in(servers, names.tenant_namespace, "0.0.0.0", 8080, "amphora")
    assert fetch(vip, 8080) == "amphora"
    assert fetch(vrrp_ip, 8080) == "amphora"


def test_two_namespaces_on_a_tenant_bridge_reach_each_other(
    network_driver: BridgeNetworkDriver,
    host_settings: Settings,
    servers: list[subprocess.Popen[str]],
) -> None:
    blue = network(host_settings, "blue")
    a, b = tenant_namespace(host_settings), tenant_namespace(host_settings)
    for n, names in enumerate((a, b)):
        network_driver.plug_vip(
            amphora_id=names.amphora_id,
            network=blue,
            vrrp_ip=host_addr(blue, 10 + n),
            vip=host_addr(blue, 20 + n),
        )
    serve_in(servers, b.tenant_namespace, host_addr(blue, 21), 9000, "from b")

    done = subprocess.run(
        in_ns(a.tenant_namespace, sys.executable, "-c", CLIENT, host_addr(blue, 21), "9000"),
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    assert done.stdout.strip() == "from b"


def test_plug_is_idempotent_and_repairs_a_half_made_plug(
    network_driver: BridgeNetworkDriver,
    host_settings: Settings,
    servers: list[subprocess.Popen[str]],
) -> None:
    red = network(host_settings, "red")
    names = tenant_namespace(host_settings)
    plug = {
        "amphora_id": names.amphora_id,
        "network": red,
        "vrrp_ip": host_addr(red, 10),
        "vip": host_addr(red, 20),
    }
    network_driver.plug_vip(**plug)  # type: ignore[arg-type]
    with iproute() as host:
        first = link_index(host, names.tenant_veth)
    network_driver.plug_vip(**plug)  # type: ignore[arg-type]
    with iproute() as host:
        assert link_index(host, names.tenant_veth) == first  # kept, not re-made

    # Half-made: the host end exists, but its peer is not eth1 in the namespace; plus a
    # stray address inside.
    with iproute() as host:
        delete_link(host, names.tenant_veth)
        host.link(
            "add", ifname=names.tenant_veth, kind="veth", peer={"ifname": f"{names.prefix}-x1"}
        )
    network_driver.plug_vip(**plug)  # type: ignore[arg-type]
    with iproute(names.tenant_namespace) as inside:
        index = link_index(inside, "eth1")
        assert index is not None
        inside.addr("add", index=index, address=host_addr(red, 99), prefixlen=24)
    network_driver.plug_vip(**plug)  # type: ignore[arg-type]

    with iproute() as host:
        assert link_index(host, f"{names.prefix}-x1") is None
    with iproute(names.tenant_namespace) as inside:
        index = link_index(inside, "eth1")
        assert index is not None
        assert {str(i.ip) for i in ipv4_addresses(inside, index)} == {
            plug["vrrp_ip"],
            plug["vip"],
        }
    serve_in(servers, names.tenant_namespace, "0.0.0.0", 8080, "repaired")
    assert fetch(host_addr(red, 20), 8080) == "repaired"


def test_unplug_removes_the_veth_and_is_idempotent(
    network_driver: BridgeNetworkDriver, host_settings: Settings
) -> None:
    red = network(host_settings, "red")
    names = tenant_namespace(host_settings)
    network_driver.plug_vip(
        amphora_id=names.amphora_id, network=red, vrrp_ip=host_addr(red, 10), vip=host_addr(red, 20)
    )
    network_driver.unplug_vip(names.amphora_id)
    network_driver.unplug_vip(names.amphora_id)
    with iproute() as host:
        assert link_index(host, names.tenant_veth) is None
    with iproute(names.tenant_namespace) as inside:
        assert link_index(inside, "eth1") is None
    assert namespace_exists(names.tenant_namespace)  # the namespace is compute's to remove


def test_plug_needs_the_tenant_namespace_and_addresses_inside_the_network(
    network_driver: BridgeNetworkDriver, host_settings: Settings
) -> None:
    red = network(host_settings, "red")
    missing = str(uuid.uuid4())
    with pytest.raises(HostPlumbingError, match="no tenant namespace"):
        network_driver.plug_vip(
            amphora_id=missing, network=red, vrrp_ip=host_addr(red, 10), vip=host_addr(red, 20)
        )
    names = tenant_namespace(host_settings)
    with pytest.raises(ValueError, match="vip"):
        network_driver.plug_vip(
            amphora_id=names.amphora_id, network=red, vrrp_ip=host_addr(red, 10), vip="192.0.2.7"
        )
    with pytest.raises(ValueError, match="vrrp_ip"):
        network_driver.plug_vip(
            amphora_id=names.amphora_id, network=red, vrrp_ip=red.gateway, vip=host_addr(red, 20)
        )
