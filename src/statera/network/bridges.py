"""The `network_bridge_driver`: tenant and management networks as Linux bridges on this host.

Each network of the settings (the management network and every `[network:<name>]`)
is a bridge holding the network's gateway address, so the host itself reaches every
VIP and member directly:

    <prefix>-mgmt      management.gateway/prefix     e.g. 172.31.250.1/24
    <bridge>           network.gateway/prefix        e.g. 10.0.0.1/24 on <prefix>-private

Bridges forward at once (`stp_state 0`, `forward_delay 0`). Beside each bridge's
connected route the driver keeps a blackhole route for the same prefix with metric
4000: while the bridge is up its connected route (metric 0) wins, and if the bridge
goes away the traffic is dropped instead of leaving through the host's default route.

`plug_vip` gives an amphora's tenant namespace (`compute.names`) a veth on the
tenant bridge: host end `<prefix><hex8>t`, inside end `eth1` with `vrrp_ip/prefix`
and `vip/32`, a default route via the network's gateway, and
`net.ipv4.ip_nonlocal_bind=1` (a BACKUP amphora binds the VIP it does not hold).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

from pyroute2.netlink.exceptions import NetlinkError

from statera.compute.names import TENANT_IFNAME, AmphoraNames
from statera.compute.plumbing import (
    HostPlumbingError,
    add_ipv4_addresses,
    delete_link,
    ensure_veth,
    iproute,
    link_index,
    link_kind,
    namespace_exists,
    set_default_route,
    set_ipv4_addresses,
    set_namespace_sysctl,
    set_up,
)
from statera.settings import NetworkSettings, Settings

BLACKHOLE_METRIC = 4000
"""Metric of the guard routes: above any connected route, so they only win when it is gone."""

_RTN_BLACKHOLE = 6


@dataclass(frozen=True)
class HostNetwork:
    """One bridge on the host and the subnet it carries."""

    bridge: str
    gateway: ipaddress.IPv4Interface
    """The host's address on the bridge, with the subnet's prefix length."""

    @property
    def cidr(self) -> ipaddress.IPv4Network:
        return self.gateway.network


class BridgeNetworkDriver:
    """Linux bridges and veths on this host. Needs root (see `compute.preflight`)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._prefix = settings.default.name_prefix

    def host_networks(self) -> list[HostNetwork]:
        """The management network first, then every tenant network."""
        mgmt = self._settings.management
        found = [_host_network(self._settings.management_bridge, mgmt.cidr, mgmt.gateway)]
        for net in self._settings.networks:
            found.append(_host_network(net.bridge, net.cidr, net.gateway))
        return found

    def ensure_host_networks(self) -> None:
        with iproute() as host:
            for net in self.host_networks():
                _ensure_bridge(host, net)

    def teardown_host_networks(self) -> None:
        """Delete the configured bridges and their blackhole routes (and nothing else)."""
        with iproute() as host:
            for net in self.host_networks():
                delete_link(host, net.bridge)
                try:
                    host.route(
                        "del",
                        dst=str(net.cidr),
                        type="blackhole",
                        priority=BLACKHOLE_METRIC,
                    )
                except NetlinkError as exc:
                    if exc.code != errno.ESRCH:
                        raise

    def plug_vip(
        self, *, amphora_id: str, network: NetworkSettings, vrrp_ip: str, vip: str
    ) -> None:
        """Plug (or repair the plug of) the amphora's `eth1` on `network`'s bridge.

        The amphora's tenant namespace must exist (`ComputeDriver.create_amphora`).
        Addresses on `eth1` other than `vrrp_ip` and `vip` are removed.
        """
        names = AmphoraNames(self._prefix, amphora_id)
        hostnet = _host_network(network.bridge, network.cidr, network.gateway)
        wanted = [_inside(hostnet, vrrp_ip, "vrrp_ip")]
        if vip != vrrp_ip:
            wanted.append(ipaddress.IPv4Interface(f"{_inside(hostnet, vip, 'vip').ip}/32"))
        namespace = names.tenant_namespace
        if not namespace_exists(namespace):
            raise HostPlumbingError(
                f"amphora {names.amphora_id} has no tenant namespace {namespace}: create it first"
            )
        with iproute() as host, iproute(namespace) as inside:
            bridge_index = _ensure_bridge(host, hostnet)
            index = ensure_veth(
                host,
                inside,
                host_ifname=names.tenant_veth,
                namespace=namespace,
                peer_ifname=TENANT_IFNAME,
                bridge=network.bridge,
            )
            set_up(inside, "lo")
            # A VIP that moves here from another amphora (failover) must be announced:
            # with arp_notify the kernel sends a gratuitous ARP for every address when
            # eth1 comes up, so neighbours (the host first) forget the old amphora's MAC.
            set_namespace_sysctl(namespace, f"net.ipv4.conf.{TENANT_IFNAME}.arp_notify", "1")
            set_ipv4_addresses(inside, index, wanted)
            inside.link("set", index=index, state="up")
            set_default_route(inside, network.gateway)
            # That ARP can race the bridge port's move to forwarding; the host (the
            # clients' side) also forgets its entry, so it asks again at once.
            _forget_neighbour(host, bridge_index, vip)
        set_namespace_sysctl(namespace, "net.ipv4.ip_nonlocal_bind", "1")

    def unplug_vip(self, amphora_id: str) -> None:
        """Delete the amphora's tenant veth (both ends)."""
        names = AmphoraNames(self._prefix, amphora_id)
        with iproute() as host:
            delete_link(host, names.tenant_veth)


def _host_network(bridge: str, cidr: str, gateway: str) -> HostNetwork:
    net = ipaddress.ip_network(cidr)
    if not isinstance(net, ipaddress.IPv4Network):
        raise ValueError(f"{bridge}: {cidr} is not an IPv4 network")
    return HostNetwork(bridge=bridge, gateway=ipaddress.IPv4Interface(f"{gateway}/{net.prefixlen}"))


def _inside(net: HostNetwork, address: str, what: str) -> ipaddress.IPv4Interface:
    addr = ipaddress.ip_address(address)
    cidr = net.cidr
    if addr not in cidr or addr in (cidr.network_address, cidr.broadcast_address, net.gateway.ip):
        raise ValueError(f"{what} {address} is not a free host address of {cidr}")
    return ipaddress.IPv4Interface(f"{addr}/{cidr.prefixlen}")


def _forget_neighbour(host: Any, bridge_index: int, address: str) -> None:
    """Drop the host's ARP entry for `address` on the bridge (none is fine)."""
    try:
        host.neigh("del", dst=address, ifindex=bridge_index)
    except NetlinkError as exc:
        if exc.code not in (errno.ENOENT, errno.ESRCH):
            raise


def _ensure_bridge(host: Any, net: HostNetwork) -> int:
    index = link_index(host, net.bridge)
    if index is None:
        try:
            host.link("add", ifname=net.bridge, kind="bridge")
        except NetlinkError as exc:
            if exc.code != errno.EEXIST:
                raise
        index = link_index(host, net.bridge)
        if index is None:
            raise HostPlumbingError(f"bridge {net.bridge} vanished right after its creation")
    kind = link_kind(host, index)
    if kind != "bridge":
        raise HostPlumbingError(f"{net.bridge} exists and is a {kind}, not a bridge")
    host.link("set", index=index, kind="bridge", br_stp_state=0, br_forward_delay=0)
    add_ipv4_addresses(host, index, [net.gateway])
    host.link("set", index=index, state="up")
    _ensure_blackhole(host, net.cidr)
    return index


def _ensure_blackhole(host: Any, cidr: ipaddress.IPv4Network) -> None:
    try:
        host.route("add", dst=str(cidr), type="blackhole", priority=BLACKHOLE_METRIC)
    except NetlinkError as exc:
        if exc.code != errno.EEXIST:
            raise


def blackhole_routes(host: Any) -> list[tuple[ipaddress.IPv4Network, int]]:
    """(prefix, metric) of every IPv4 blackhole route in the host's main table."""
    found = []
    for msg in host.route("dump", family=socket.AF_INET):
        if msg["type"] == _RTN_BLACKHOLE and msg.get("RTA_TABLE", msg["table"]) == 254:
            dst = msg.get("RTA_DST") or "0.0.0.0"
            prefix = ipaddress.IPv4Network(f"{dst}/{msg['dst_len']}")
            found.append((prefix, int(msg.get("RTA_PRIORITY") or 0)))
    return found
