"""The `network_bridge_driver`: tenant and management networks as Linux bridges on this host.

Each network of the settings (the management network and every `[network:<name>]`)
is a bridge holding the network's gateway address, so the host itself reaches every
VIP and member directly:

    <prefix>-mgmt      management.gateway/prefix     e.g. 172.31.250.1/24
    <bridge>           network.gateway/prefix        e.g. 10.0.0.1/24 on <prefix>-private
                       + each extra subnet's gateway e.g. fd00:5a::1/64 ([subnet:<name>])

Bridges forward at once (`stp_state 0`, `forward_delay 0`). Beside each bridge's
connected route the driver keeps a blackhole route for the same prefix with metric
4000: while the bridge is up its connected route (metric 0) wins, and if the bridge
goes away the traffic is dropped instead of leaving through the host's default route.

`plug_vip` gives an amphora's tenant namespace (`compute.names`) a veth on the
tenant bridge: host end `<prefix><hex8>t`, inside end `eth1` with `vrrp_ip/prefix`
and `vip/32`, a default route via the network's gateway, and
`net.ipv4.ip_nonlocal_bind=1` (a BACKUP amphora binds the VIP it does not hold).
Additional VIPs (other subnets of the same network) are added to `eth1` with their
subnet's prefix, so the amphora reaches that subnet directly; the first address of
each family chooses that family's default route (its subnet's gateway). IPv6
addresses skip duplicate address detection and router advertisements are ignored:
Statera allocates every address on its bridges.

`set_vip_security` enforces a load balancer's `vip_sg_ids` (Neutron security
groups) with an nftables table in the amphora's tenant namespace, where Neutron
would enforce them on the VIP port (`network/security_groups.py`).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyroute2.netlink.exceptions import NetlinkError

from statera.compute.names import TENANT_IFNAME, AmphoraNames
from statera.compute.plumbing import (
    HostPlumbingError,
    IPInterface,
    add_addresses,
    addresses,
    delete_link,
    ensure_veth,
    forget_neighbour,
    iproute,
    link_index,
    link_kind,
    namespace_exists,
    set_addresses,
    set_default_route,
    set_namespace_sysctl,
    set_up,
)
from statera.domain.security_groups import SecurityGroupRuleSpec
from statera.network.security_groups import apply_in_namespace, remove_in_namespace, render_ruleset
from statera.settings import NetworkSettings, Settings, SubnetSettings

BLACKHOLE_METRIC = 4000
"""Metric of the guard routes: above any connected route, so they only win when it is gone."""

_RTN_BLACKHOLE = 6

VIP_SECURITY_TABLE = "statera_vip_sg"
"""The nftables table (family inet) that enforces a load balancer's `vip_sg_ids`."""


@dataclass(frozen=True)
class HostNetwork:
    """One bridge on the host and the subnets it carries (the primary one first)."""

    bridge: str
    gateways: tuple[IPInterface, ...]
    """The host's addresses on the bridge, each with its subnet's prefix length."""

    @property
    def gateway(self) -> IPInterface:
        return self.gateways[0]

    @property
    def cidr(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return self.gateway.network

    @property
    def cidrs(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(g.network for g in self.gateways)


class BridgeNetworkDriver:
    """Linux bridges and veths on this host. Needs root (see `compute.preflight`)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._prefix = settings.default.name_prefix

    def host_networks(self) -> list[HostNetwork]:
        """The management network first, then every tenant network."""
        mgmt = self._settings.management
        found = [_host_network(self._settings.management_bridge, [(mgmt.cidr, mgmt.gateway)])]
        for net in self._settings.networks:
            found.append(_tenant_network(net))
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
                for cidr in net.cidrs:
                    try:
                        host.route(
                            "del",
                            dst=str(cidr),
                            type="blackhole",
                            priority=BLACKHOLE_METRIC,
                            family=_family(cidr),
                        )
                    except NetlinkError as exc:
                        if exc.code != errno.ESRCH:
                            raise

    def plug_vip(
        self,
        *,
        amphora_id: str,
        network: NetworkSettings,
        vrrp_ip: str,
        vip: str,
        additional_vips: Sequence[str] = (),
        hold_vips: bool = True,
    ) -> None:
        """Plug (or repair the plug of) the amphora's `eth1` on `network`'s bridge.

        The amphora's tenant namespace must exist (`ComputeDriver.create_amphora`).
        Addresses on `eth1` other than `vrrp_ip`, `vip` and `additional_vips` are removed.
        Without `hold_vips` (ACTIVE_STANDBY) only `vrrp_ip` is set: keepalived adds the
        VIPs on whichever amphora is MASTER, and a VIP it holds already is kept.
        """
        names = AmphoraNames(self._prefix, amphora_id)
        hostnet = _tenant_network(network)
        vips = (vip, *additional_vips)
        wanted, gateways = _eth1_plan(network, vrrp_ip, vips if hold_vips else ())
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
            if not hold_vips:
                held = addresses(inside, index) | addresses(inside, index, family=socket.AF_INET6)
                wanted += [i for i in held if str(i.ip) in vips and i not in wanted]
            # A VIP that moves here from another amphora (failover) must be announced:
            # with arp_notify the kernel sends a gratuitous ARP for every address when
            # eth1 comes up, so neighbours (the host first) forget the old amphora's MAC.
            set_namespace_sysctl(namespace, f"net.ipv4.conf.{TENANT_IFNAME}.arp_notify", "1")
            if any(i.version == 6 for i in wanted):
                set_namespace_sysctl(namespace, f"net.ipv6.conf.{TENANT_IFNAME}.accept_ra", "0")
            set_addresses(inside, index, wanted)
            inside.link("set", index=index, state="up")
            for gateway in gateways:
                set_default_route(inside, gateway)
            # That ARP can race the bridge port's move to forwarding; the host (the
            # clients' side) also forgets its entry, so it asks again at once.
            for address in vips:
                forget_neighbour(host, bridge_index, address)
        set_namespace_sysctl(namespace, "net.ipv4.ip_nonlocal_bind", "1")
        if any(i.version == 6 for i in wanted):
            set_namespace_sysctl(namespace, "net.ipv6.ip_nonlocal_bind", "1")

    def set_vip_security(
        self,
        *,
        amphora_id: str,
        rules: Sequence[SecurityGroupRuleSpec] | None,
        vip_addresses: Sequence[str],
    ) -> None:
        """Load (or remove) the nftables table `VIP_SECURITY_TABLE` in the amphora's tenant
        namespace: Neutron's security group semantics on `eth1` for the VIPs."""
        namespace = AmphoraNames(self._prefix, amphora_id).tenant_namespace
        if rules is None:
            remove_in_namespace(namespace, VIP_SECURITY_TABLE)
            return
        if not namespace_exists(namespace):
            raise HostPlumbingError(f"amphora {amphora_id} has no tenant namespace {namespace}")
        script = render_ruleset(VIP_SECURITY_TABLE, TENANT_IFNAME, rules, vip_addresses)
        apply_in_namespace(namespace, script)

    def unplug_vip(self, amphora_id: str) -> None:
        """Delete the amphora's tenant veth (both ends)."""
        names = AmphoraNames(self._prefix, amphora_id)
        with iproute() as host:
            delete_link(host, names.tenant_veth)


def _family(cidr: ipaddress.IPv4Network | ipaddress.IPv6Network) -> int:
    return socket.AF_INET6 if cidr.version == 6 else socket.AF_INET


def _host_network(bridge: str, subnets: Sequence[tuple[str, str]]) -> HostNetwork:
    """A bridge and its (cidr, gateway) pairs."""
    gateways = []
    for cidr, gateway in subnets:
        net = ipaddress.ip_network(cidr)
        gateways.append(ipaddress.ip_interface(f"{gateway}/{net.prefixlen}"))
    return HostNetwork(bridge=bridge, gateways=tuple(gateways))


def _tenant_network(net: NetworkSettings) -> HostNetwork:
    return _host_network(net.bridge, [(s.cidr, s.gateway) for s in net.subnets])


def _subnet_of(network: NetworkSettings, address: str, what: str) -> SubnetSettings:
    """The subnet of `network` that `address` is a free host address of."""
    addr = ipaddress.ip_address(address)
    subnet = network.subnet_containing(address)
    if subnet is not None:
        cidr = subnet.network
        reserved = {cidr.network_address, ipaddress.ip_address(subnet.gateway)}
        if cidr.version == 4:
            reserved.add(cidr.broadcast_address)
        if addr not in reserved:
            return subnet
    raise ValueError(f"{what} {address} is not a free host address of network {network.name}")


def _eth1_plan(
    network: NetworkSettings, vrrp_ip: str, vips: Sequence[str]
) -> tuple[list[IPInterface], list[str]]:
    """The addresses of `eth1` and the gateways of its default routes (one per family).

    Each subnet gets one address with its prefix (the connected route); a second
    address in the same subnet (the VIP beside the VRRP address) is a host address.
    """
    wanted: list[IPInterface] = []
    gateways: dict[int, str] = {}
    connected: set[str] = set()
    for what, address in (
        ("vrrp_ip", vrrp_ip),
        *(("vip" if i == 0 else "additional vip", a) for i, a in enumerate(vips)),
    ):
        subnet = _subnet_of(network, address, what)
        ip = ipaddress.ip_address(address)
        if subnet.id in connected:
            iface = ipaddress.ip_interface(f"{ip}/{ip.max_prefixlen}")
        else:
            iface = ipaddress.ip_interface(f"{ip}/{subnet.network.prefixlen}")
            connected.add(subnet.id)
        if iface.ip not in {i.ip for i in wanted}:
            wanted.append(iface)
        gateways.setdefault(ip.version, subnet.gateway)
    return wanted, list(gateways.values())


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
    add_addresses(host, index, net.gateways)
    host.link("set", index=index, state="up")
    for cidr in net.cidrs:
        _ensure_blackhole(host, cidr)
    return index


def _ensure_blackhole(host: Any, cidr: ipaddress.IPv4Network | ipaddress.IPv6Network) -> None:
    try:
        host.route(
            "add", dst=str(cidr), type="blackhole", priority=BLACKHOLE_METRIC, family=_family(cidr)
        )
    except NetlinkError as exc:
        if exc.code != errno.EEXIST:
            raise


def blackhole_routes(
    host: Any,
) -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int]]:
    """(prefix, metric) of every IPv4 and IPv6 blackhole route in the host's main table."""
    found: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int]] = []
    for family, zero in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        for msg in host.route("dump", family=family):
            if msg["type"] == _RTN_BLACKHOLE and msg.get("RTA_TABLE", msg["table"]) == 254:
                dst = msg.get("RTA_DST") or zero
                prefix = ipaddress.ip_network(f"{dst}/{msg['dst_len']}")
                found.append((prefix, int(msg.get("RTA_PRIORITY") or 0)))
    return found
