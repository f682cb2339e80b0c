"""A VrrpSpec becomes the keepalived.conf of one amphora of an ACTIVE_STANDBY load balancer.

The controller renders one file per amphora and uploads it (`PUT /1.0/vrrp/upload`);
the agent checks it with `keepalived --config-test` inside the tenant namespace and
runs keepalived there with `--vrrp`. As in `haproxy.py`, every value passes a
`safety` check (or one below) into a frozen view-model, and the template only lays
it out. The check and notify scripts are not rendered: the agent writes them into
its base_dir (root-owned, 0700, as `enable_script_security` demands) under the
names below, which must stay equal to the agent's `LbPaths`.

keepalived 2.2.7 facts this file relies on (see dataplane-notes.md): `nopreempt`
with `state MASTER` is cleared with a warning that fails `--config-test`, so only
the BACKUP carries it (the effective configuration is the same); VRRPv3 (IPv6)
has no authentication, so it is rendered for IPv4 only.
"""

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

from statera.domain.specs import AmphoraRuntime, VrrpSpec
from statera.rendering import safety
from statera.rendering.environment import environment
from statera.rendering.errors import UnsafeValue, UnsupportedSpec

TEMPLATE = "keepalived.conf.j2"
CHECK_SCRIPT = "vrrp-check.sh"
"""`vrrp_script` the agent writes into its base_dir: exits 0 while HAProxy runs."""
NOTIFY_SCRIPT = "vrrp-notify.sh"
"""`notify` script the agent writes into its base_dir: records MASTER/BACKUP/FAULT."""
MASTER_PRIORITY = 100
"""Priorities from this one up start as MASTER; Octavia uses 100 and 90 for the BACKUP."""
GARP_MASTER_REFRESH_S = 5
"""Octavia's `[keepalived_vrrp] vrrp_garp_refresh_interval`."""
GARP_MASTER_REFRESH_REPEAT = 2
"""Octavia's `[keepalived_vrrp] vrrp_garp_refresh_count`."""
CHECK_INTERVAL_S = 1
CHECK_FALL = 2
CHECK_RISE = 2
MAX_ADVERT_INT_V2_S = 255
"""VRRPv2 carries the interval in 8 bits of seconds."""
MAX_ADVERT_INT_V3_S = 40
"""VRRPv3 carries it in 12 bits of centiseconds (40.95 s)."""

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_AUTH_PASS = re.compile(r"[A-Za-z0-9]{1,8}")
_INTERFACE = re.compile(r"[A-Za-z0-9_.\-]{1,15}")  # IFNAMSIZ is 16 with the NUL
_ROUTER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


@dataclass(frozen=True)
class KeepalivedView:
    """Checked values of one keepalived.conf; the template only lays them out."""

    router_id: str
    garp_master_refresh_s: int
    garp_master_refresh_repeat: int
    check_script: str
    check_interval_s: int
    check_fall: int
    check_rise: int
    instance: str
    state: Literal["MASTER", "BACKUP"]
    nopreempt: bool
    interface: str
    virtual_router_id: int
    priority: int
    advert_int_s: int
    auth_pass: str | None
    own_ip: str
    peer_ips: tuple[str, ...]
    vips: tuple[str, ...]
    """`<address>/<prefix>` in the instance's family (`virtual_ipaddress`)."""
    excluded_vips: tuple[str, ...]
    """`<address>/<prefix>` not announced in VRRP packets, any family."""
    notify_script: str


def render_keepalived(spec: VrrpSpec, *, runtime: AmphoraRuntime) -> str:
    """The complete keepalived.conf for the amphora `runtime` describes.

    Raises `UnsafeValue` (naming the field) for a value that is not what its
    field says, and `UnsupportedSpec` for a primary VIP of another IP family
    than the VRRP addresses.
    """
    view = keepalived_view(spec, runtime=runtime)
    return environment().get_template(TEMPLATE).render(view=view)


def keepalived_view(spec: VrrpSpec, *, runtime: AmphoraRuntime) -> KeepalivedView:
    base_dir = safety.absolute_path("runtime.base_dir", runtime.base_dir)
    lb_id = safety.uuid_id("vrrp.lb_id", spec.lb_id)
    own = _address("vrrp.own_ip", spec.own_ip)
    peers = tuple(_address("vrrp.peer_ips", peer) for peer in spec.peer_ips)
    if not peers:
        raise UnsafeValue("vrrp.peer_ips", spec.peer_ips, "expected at least one peer")
    for peer in peers:
        if peer.version != own.version:
            raise UnsafeValue("vrrp.peer_ips", str(peer), f"not IPv{own.version} like own_ip")
        if peer == own:
            raise UnsafeValue("vrrp.peer_ips", str(peer), "is own_ip")
    if len(set(peers)) != len(peers):
        raise UnsafeValue("vrrp.peer_ips", spec.peer_ips, "lists an address twice")
    vip = _address("vrrp.vip", spec.vip)
    if vip.version != own.version:
        raise UnsupportedSpec(
            f"vrrp.vip: {vip} is not IPv{own.version} like the VRRP address {own}; "
            "keepalived announces the primary VIP in the instance's own family"
        )
    additional = tuple(_address("vrrp.additional_vips", a) for a in spec.additional_vips)
    if len({vip, *additional}) != len(additional) + 1:
        raise UnsafeValue("vrrp.additional_vips", spec.additional_vips, "repeats a VIP")
    prefixes = vip_prefix_lengths(spec.vip_prefixes, vips=(vip, *additional))
    ipv4 = own.version == 4
    priority = safety.integer("vrrp.priority", spec.priority, low=1, high=254)
    if spec.auth_pass and not _AUTH_PASS.fullmatch(spec.auth_pass):
        raise UnsafeValue("vrrp.auth_pass", spec.auth_pass, "expected 1 to 8 of [A-Za-z0-9]")
    state: Literal["MASTER", "BACKUP"] = "MASTER" if priority >= MASTER_PRIORITY else "BACKUP"
    return KeepalivedView(
        router_id=_word("runtime.amphora_id", runtime.amphora_id, _ROUTER_ID),
        garp_master_refresh_s=GARP_MASTER_REFRESH_S,
        garp_master_refresh_repeat=GARP_MASTER_REFRESH_REPEAT,
        check_script=f"{base_dir}/{CHECK_SCRIPT}",
        check_interval_s=CHECK_INTERVAL_S,
        check_fall=CHECK_FALL,
        check_rise=CHECK_RISE,
        instance="lb_" + lb_id.replace("-", ""),
        state=state,
        nopreempt=state == "BACKUP",
        interface=_word("vrrp.interface", spec.interface, _INTERFACE),
        virtual_router_id=safety.integer("vrrp.router_id", spec.router_id, low=1, high=255),
        priority=priority,
        advert_int_s=safety.integer(
            "vrrp.advert_int",
            spec.advert_int,
            low=1,
            high=MAX_ADVERT_INT_V2_S if ipv4 else MAX_ADVERT_INT_V3_S,
        ),
        auth_pass=spec.auth_pass if spec.auth_pass and ipv4 else None,
        own_ip=str(own),
        peer_ips=tuple(str(peer) for peer in peers),
        vips=(f"{vip}/{prefixes[vip]}",),
        excluded_vips=tuple(f"{a}/{prefixes[a]}" for a in additional),
        notify_script=f"{base_dir}/{NOTIFY_SCRIPT}",
    )


def vip_prefix_lengths(
    pairs: tuple[tuple[str, int], ...], *, vips: tuple[Address, ...]
) -> dict[Address, int]:
    """Prefix length of each VIP: its subnet's from `pairs`, a host route if absent."""
    lengths: dict[Address, int] = {vip: vip.max_prefixlen for vip in vips}
    given: set[Address] = set()
    for pair in pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise UnsafeValue("vrrp.vip_prefixes", pair, "expected (address, prefix length)")
        address = _address("vrrp.vip_prefixes", pair[0])
        if address not in lengths:
            raise UnsafeValue("vrrp.vip_prefixes", pair[0], "is not one of the VIPs")
        if address in given:
            raise UnsafeValue("vrrp.vip_prefixes", pair[0], "is given twice")
        given.add(address)
        lengths[address] = safety.integer(
            "vrrp.vip_prefixes", pair[1], low=1, high=address.max_prefixlen
        )
    return lengths


def _address(field: str, value: object) -> Address:
    """A unicast address, parsed; `safety.ip_address` refuses scoped and malformed ones."""
    address = ipaddress.ip_address(safety.ip_address(field, value))
    if address.is_multicast or address.is_unspecified or address.is_loopback:
        raise UnsafeValue(field, value, "expected a unicast address")
    return address


def _word(field: str, value: object, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise UnsafeValue(field, value, f"expected {pattern.pattern}")
    return value
