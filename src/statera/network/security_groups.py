"""Security groups enforced with nftables on the VIP's interface, with Neutron's semantics.

`render_ruleset` turns the rules of a load balancer's `vip_sg_ids`
(`services/security_groups.rules_for`) into one nftables script; the
reconciler applies it inside the amphora's tenant namespace with
`apply_in_namespace` and drops it with `remove_in_namespace`. The script
replaces the table `inet <table_name>` in a single `nft -f` transaction (add,
delete, define), so the old rules stay in force until the new ones are in.

What it enforces, for packets on `interface` to (ingress) or from (egress)
the VIP addresses only: a stateful group accepts replies of accepted
connections (`ct state established,related`) and drops `invalid` ones; every
other packet must match a rule of its direction or is dropped, as with a
Neutron port (default groups allow all egress). Neighbour discovery (ICMPv6
NS/NA/RS/RA/redirect) is always accepted so that the VIP stays reachable; ARP
is not seen by `inet` tables at all. Other addresses on the interface (the
amphora's own, VRRP) are left alone. Ingress is filtered at prerouting
(priority mangle, -150): after conntrack, before any DNAT of UDP listeners,
so the destination is still the VIP.

The invariant a reader could break: nothing reaches the script as given.
Names are matched against fixed patterns, addresses and networks are
re-spelt by `ipaddress`, ports and ICMP values are integers in range, and
protocols are numbers 0-255; anything else raises ValueError.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
from collections.abc import Sequence

from statera.compute.plumbing import HostPlumbingError, namespace_exists
from statera.domain.security_groups import (
    DIRECTIONS,
    ETHERTYPES,
    ICMP,
    ICMPV6,
    PORT_PROTOCOLS,
    SecurityGroupRuleSpec,
)

NFT_TIMEOUT_S = 10.0
"""How long `nft -f` may take inside a namespace before it counts as failed."""

_TABLE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_IFNAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}")
_NAMESPACE_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")
_NEIGHBOUR_DISCOVERY = (
    "icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, "
    "nd-neighbor-advert, nd-redirect } accept"
)
_FAMILY = {"IPv4": ("ipv4", "ip", "icmp"), "IPv6": ("ipv6", "ip6", "icmpv6")}
"""ethertype → (nfproto, address expression, ICMP expression)."""


class NftablesError(HostPlumbingError):
    """`nft` refused a ruleset or could not run in the namespace; `stderr` is nft's own."""

    def __init__(self, message: str, *, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr


# -- rendering ------------------------------------------------------------------------------


def _check_name(kind: str, value: object, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{kind} {value!r} does not match {pattern.pattern}")
    return value


def _int(kind: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{kind} {value!r} is not an integer from {low} to {high}")
    return value


def _addresses(values: Sequence[str]) -> tuple[list[str], list[str]]:
    """The VIP addresses re-spelt, IPv4 and IPv6 apart."""
    v4: list[str] = []
    v6: list[str] = []
    for value in values:
        address = ipaddress.ip_address(value)  # ValueError for anything but one address
        (v4 if address.version == 4 else v6).append(str(address))
    return sorted(set(v4)), sorted(set(v6))


def _peer(rule: SecurityGroupRuleSpec, family: str) -> str | None:
    """`ip saddr <net>` (ingress) or `ip daddr <net>` (egress), or None for any peer."""
    if rule.remote_ip_prefix is None:
        return None
    if not isinstance(rule.remote_ip_prefix, str):
        raise ValueError(f"remote_ip_prefix {rule.remote_ip_prefix!r} is not a string")
    network = ipaddress.ip_network(rule.remote_ip_prefix, strict=False)
    if f"IPv{network.version}" != rule.ethertype:
        raise ValueError(f"remote_ip_prefix {network} is not an {rule.ethertype} network")
    if network.prefixlen == 0:
        return None
    side = "saddr" if rule.direction == "ingress" else "daddr"
    return f"{family} {side} {network}"


def _match(rule: SecurityGroupRuleSpec) -> str:
    """The nft match of one rule (everything before its verdict)."""
    if rule.ethertype not in ETHERTYPES:
        raise ValueError(f"ethertype {rule.ethertype!r} is not one of {ETHERTYPES}")
    nfproto, family, icmp = _FAMILY[rule.ethertype]
    parts = [f"meta nfproto {nfproto}"]
    peer = _peer(rule, family)
    if peer is not None:
        parts.append(peer)
    low, high = rule.port_range_min, rule.port_range_max
    if rule.protocol is None:
        if low is not None or high is not None:
            raise ValueError("a port range needs a protocol")
        return " ".join(parts)
    protocol = _int("protocol", rule.protocol, 0, 255)
    parts.append(f"meta l4proto {protocol}")
    if protocol in PORT_PROTOCOLS:
        if low is not None or high is not None:
            first = _int("port_range_min", low, 1, 65535)
            last = _int("port_range_max", high, first, 65535)
            parts.append(f"th dport {first}" if first == last else f"th dport {first}-{last}")
    elif protocol in (ICMP, ICMPV6):
        if (protocol == ICMP) != (rule.ethertype == "IPv4"):
            raise ValueError(f"protocol {protocol} does not belong to {rule.ethertype}")
        if low is not None:
            parts.append(f"{icmp} type {_int('ICMP type', low, 0, 255)}")
        if high is not None:
            if low is None:
                raise ValueError("an ICMP code needs an ICMP type")
            parts.append(f"{icmp} code {_int('ICMP code', high, 0, 255)}")
    elif low is not None or high is not None:
        raise ValueError(f"protocol {protocol} has no ports")
    return " ".join(parts)


def _chain(name: str, rules: Sequence[SecurityGroupRuleSpec], *, stateful: bool) -> list[str]:
    lines = [f"\tchain {name} {{"]
    if stateful:
        lines += ["\t\tct state established,related accept", "\t\tct state invalid drop"]
    lines += [f"\t\t{_match(rule)} accept" for rule in rules]
    lines += ["\t\tdrop", "\t}"]
    return lines


def render_ruleset(
    table_name: str,
    interface: str,
    rules: Sequence[SecurityGroupRuleSpec],
    vip_addresses: Sequence[str],
) -> str:
    """The nftables script enforcing `rules` on `interface` for `vip_addresses`.

    All rules must come from groups of one kind, stateful or stateless (Neutron
    refuses to mix them on one port); with no rules at all the table is
    stateful and lets nothing in or out of the VIP but replies and neighbour
    discovery.
    """
    table = _check_name("table name", table_name, _TABLE_RE)
    ifname = _check_name("interface", interface, _IFNAME_RE)
    v4, v6 = _addresses(vip_addresses)
    kinds = {rule.stateful for rule in rules}
    if len(kinds) > 1:
        raise ValueError("stateful and stateless security groups cannot guard one VIP together")
    stateful = kinds != {False}
    for rule in rules:
        if rule.direction not in DIRECTIONS:
            raise ValueError(f"direction {rule.direction!r} is not one of {DIRECTIONS}")
    ingress = [r for r in rules if r.direction == "ingress"]
    egress = [r for r in rules if r.direction == "egress"]
    lines = [
        f"# Security groups of the VIPs on {ifname}; generated by Statera, replaced whole.",
        f"table inet {table}",
        f"delete table inet {table}",
        f"table inet {table} {{",
        "\tset vip4 {",
        "\t\ttype ipv4_addr",
        *([f"\t\telements = {{ {', '.join(v4)} }}"] if v4 else []),
        "\t}",
        "\tset vip6 {",
        "\t\ttype ipv6_addr",
        *([f"\t\telements = {{ {', '.join(v6)} }}"] if v6 else []),
        "\t}",
        "\tchain ingress {",
        "\t\ttype filter hook prerouting priority mangle; policy accept;",
        f'\t\tiifname != "{ifname}" accept',
        f"\t\t{_NEIGHBOUR_DISCOVERY}",
        "\t\tip daddr @vip4 jump sg_ingress",
        "\t\tip6 daddr @vip6 jump sg_ingress",
        "\t}",
        *_chain("sg_ingress", ingress, stateful=stateful),
        "\tchain egress {",
        "\t\ttype filter hook postrouting priority filter; policy accept;",
        f'\t\toifname != "{ifname}" accept',
        f"\t\t{_NEIGHBOUR_DISCOVERY}",
        "\t\tip saddr @vip4 jump sg_egress",
        "\t\tip6 saddr @vip6 jump sg_egress",
        "\t}",
        *_chain("sg_egress", egress, stateful=stateful),
        "}",
    ]
    return "\n".join(lines) + "\n"


# -- applying -------------------------------------------------------------------------------


def _nft(namespace: str, script: str, *, what: str, timeout_s: float) -> None:
    _check_name("namespace", namespace, _NAMESPACE_RE)
    argv = ["ip", "netns", "exec", namespace, "nft", "-f", "-"]
    try:
        done = subprocess.run(
            argv, input=script, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise NftablesError(f"cannot {what} in {namespace}: nft took over {timeout_s}s") from exc
    except OSError as exc:
        raise NftablesError(f"cannot {what} in {namespace}: {exc}") from exc
    if done.returncode != 0:
        stderr = (done.stderr or done.stdout).strip()
        raise NftablesError(
            f"cannot {what} in {namespace}: nft exited {done.returncode}: {stderr[:2000]}",
            stderr=stderr,
        )


def apply_in_namespace(namespace: str, script: str, *, timeout_s: float = NFT_TIMEOUT_S) -> None:
    """Run `script` (from `render_ruleset`) with `nft -f -` inside `namespace`, atomically."""
    _nft(namespace, script, what="apply security group rules", timeout_s=timeout_s)


def remove_in_namespace(
    namespace: str, table_name: str, *, timeout_s: float = NFT_TIMEOUT_S
) -> None:
    """Drop the table `inet <table_name>` in `namespace`; nothing happens if it (or the
    namespace) is already gone."""
    table = _check_name("table name", table_name, _TABLE_RE)
    if not namespace_exists(_check_name("namespace", namespace, _NAMESPACE_RE)):
        return
    script = f"table inet {table}\ndelete table inet {table}\n"
    _nft(namespace, script, what="remove security group rules", timeout_s=timeout_s)
