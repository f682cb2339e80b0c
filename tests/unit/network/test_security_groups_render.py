"""render_ruleset: Neutron's semantics as an nftables script, and no value unchecked in it.

When run as root with `nft` installed, every rendered script is also checked by
`nft -c` inside a throwaway network namespace (`unshare --net`), as the golden
HAProxy configurations are checked by `haproxy -c`.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from typing import Any

import pytest

from statera.domain.security_groups import SecurityGroupRuleSpec
from statera.network.security_groups import render_ruleset

VIPS = ["10.0.0.2", "2001:db8::2"]


def rule(**fields: Any) -> SecurityGroupRuleSpec:
    defaults: dict[str, Any] = {
        "id": "r",
        "security_group_id": "g",
        "direction": "ingress",
        "ethertype": "IPv4",
        "protocol": None,
        "port_range_min": None,
        "port_range_max": None,
        "remote_ip_prefix": None,
    }
    return SecurityGroupRuleSpec(**{**defaults, **fields})


DEFAULT_EGRESS = [
    rule(direction="egress", ethertype="IPv4"),
    rule(direction="egress", ethertype="IPv6"),
]


def nft_check(script: str) -> None:
    """`nft -c` the script in a private network namespace, where root and nft allow it."""
    if os.geteuid() != 0 or shutil.which("nft") is None or shutil.which("unshare") is None:
        return
    done = subprocess.run(
        ["unshare", "--net", "nft", "-c", "-f", "-"],
        input=script,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def chain(script: str, name: str) -> list[str]:
    """The rule lines of chain `name`."""
    lines = script.splitlines()
    start = lines.index(f"\tchain {name} {{")
    end = lines.index("\t}", start)
    return [line.strip() for line in lines[start + 1 : end]]


def test_representative_rules() -> None:
    rules = [
        rule(protocol=6, port_range_min=80, port_range_max=80),
        rule(protocol=6, port_range_min=8000, port_range_max=8080, remote_ip_prefix="10.1.0.0/16"),
        rule(protocol=17, port_range_min=53, port_range_max=53, ethertype="IPv6"),
        rule(protocol=1, port_range_min=8, port_range_max=0),
        rule(protocol=1),
        rule(protocol=58, port_range_min=128, ethertype="IPv6", remote_ip_prefix="2001:db8::/32"),
        rule(protocol=132, port_range_min=1, port_range_max=65535),
        rule(protocol=112, remote_ip_prefix="0.0.0.0/0"),
        *DEFAULT_EGRESS,
        rule(direction="egress", protocol=6, remote_ip_prefix="192.168.1.7/32"),
    ]
    script = render_ruleset("st-sg-lb1", "eth1", rules, VIPS)
    nft_check(script)
    assert script.splitlines()[1:4] == [
        "table inet st-sg-lb1",
        "delete table inet st-sg-lb1",
        "table inet st-sg-lb1 {",
    ]
    assert "\t\telements = { 10.0.0.2 }" in script
    assert "\t\telements = { 2001:db8::2 }" in script
    assert chain(script, "ingress") == [
        "type filter hook prerouting priority mangle; policy accept;",
        'iifname != "eth1" accept',
        "icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, "
        "nd-neighbor-advert, nd-redirect } accept",
        "ip daddr @vip4 jump sg_ingress",
        "ip6 daddr @vip6 jump sg_ingress",
    ]
    assert chain(script, "sg_ingress") == [
        "ct state established,related accept",
        "ct state invalid drop",
        "meta nfproto ipv4 meta l4proto 6 th dport 80 accept",
        "meta nfproto ipv4 ip saddr 10.1.0.0/16 meta l4proto 6 th dport 8000-8080 accept",
        "meta nfproto ipv6 meta l4proto 17 th dport 53 accept",
        "meta nfproto ipv4 meta l4proto 1 icmp type 8 icmp code 0 accept",
        "meta nfproto ipv4 meta l4proto 1 accept",
        "meta nfproto ipv6 ip6 saddr 2001:db8::/32 meta l4proto 58 icmpv6 type 128 accept",
        "meta nfproto ipv4 meta l4proto 132 th dport 1-65535 accept",
        "meta nfproto ipv4 meta l4proto 112 accept",
        "drop",
    ]
    assert chain(script, "egress") == [
        "type filter hook postrouting priority filter; policy accept;",
        'oifname != "eth1" accept',
        "icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, "
        "nd-neighbor-advert, nd-redirect } accept",
        "ip saddr @vip4 jump sg_egress",
        "ip6 saddr @vip6 jump sg_egress",
    ]
    assert chain(script, "sg_egress") == [
        "ct state established,related accept",
        "ct state invalid drop",
        "meta nfproto ipv4 accept",
        "meta nfproto ipv6 accept",
        "meta nfproto ipv4 ip daddr 192.168.1.7/32 meta l4proto 6 accept",
        "drop",
    ]


def test_no_rules_lets_only_replies_and_neighbour_discovery_through() -> None:
    script = render_ruleset("sg", "eth1", [], ["10.0.0.2"])
    nft_check(script)
    assert chain(script, "sg_ingress") == [
        "ct state established,related accept",
        "ct state invalid drop",
        "drop",
    ]
    assert chain(script, "sg_egress") == chain(script, "sg_ingress")
    assert "set vip6 {\n\t\ttype ipv6_addr\n\t}" in script  # an empty set, no elements


def test_stateless_groups_track_nothing() -> None:
    rules = [
        rule(protocol=6, port_range_min=80, port_range_max=80, stateful=False),
        rule(direction="egress", stateful=False),
    ]
    script = render_ruleset("sg", "eth1", rules, ["10.0.0.2"])
    nft_check(script)
    assert chain(script, "sg_ingress") == [
        "meta nfproto ipv4 meta l4proto 6 th dport 80 accept",
        "drop",
    ]
    assert "ct state" not in script
    with pytest.raises(ValueError, match="stateful and stateless"):
        render_ruleset("sg", "eth1", [rules[0], rule()], ["10.0.0.2"])


def test_values_are_respelt() -> None:
    rules = [
        rule(ethertype="IPv6", remote_ip_prefix="2001:0DB8:0:0::1/64"),
        rule(remote_ip_prefix="10.1.2.3/8"),
    ]
    script = render_ruleset("sg", "eth1", rules, ["2001:0db8::0002", "10.0.0.2", "10.0.0.2"])
    nft_check(script)
    assert "ip6 saddr 2001:db8::/64" in script
    assert "ip saddr 10.0.0.0/8" in script
    assert "elements = { 10.0.0.2 }" in script
    assert "elements = { 2001:db8::2 }" in script


@pytest.mark.parametrize(
    ("table", "interface", "vips"),
    [
        ("sg; flush ruleset", "eth1", VIPS),
        ("sg\nflush ruleset", "eth1", VIPS),
        ("1sg", "eth1", VIPS),
        ("", "eth1", VIPS),
        ("sg", 'eth1" accept #', VIPS),
        ("sg", "eth1 ", VIPS),
        ("sg", "a-very-long-interface-name", VIPS),
        ("sg", "", VIPS),
        ("sg", "eth1", ["10.0.0.2 } ; flush ruleset"]),
        ("sg", "eth1", ["10.0.0.0/24"]),
        ("sg", "eth1", "10.0.0.2"),  # a string is not a list of addresses
    ],
)
def test_hostile_names_and_addresses_are_refused(table: str, interface: str, vips: Any) -> None:
    with pytest.raises(ValueError):
        render_ruleset(table, interface, DEFAULT_EGRESS, vips)


@pytest.mark.parametrize(
    "fields",
    [
        {"direction": "sideways"},
        {"direction": "ingress; flush ruleset"},
        {"ethertype": "IPv5"},
        {"ethertype": "ip"},
        {"protocol": "tcp"},  # a number, never a name
        {"protocol": "6 accept"},
        {"protocol": 256},
        {"protocol": -1},
        {"protocol": True},
        {"protocol": 6.0},
        {"protocol": 6, "port_range_min": 0, "port_range_max": 80},
        {"protocol": 6, "port_range_min": 80, "port_range_max": 70000},
        {"protocol": 6, "port_range_min": 90, "port_range_max": 80},
        {"protocol": 6, "port_range_min": "80", "port_range_max": "80"},
        {"protocol": 6, "port_range_min": 80},
        {"protocol": 17, "port_range_max": 80},
        {"protocol": 47, "port_range_min": 80, "port_range_max": 80},
        {"port_range_min": 80, "port_range_max": 80},
        {"protocol": 1, "port_range_min": 256},
        {"protocol": 1, "port_range_max": 0},
        {"protocol": 58},  # ICMPv6 on an IPv4 rule
        {"protocol": 1, "ethertype": "IPv6"},
        {"remote_ip_prefix": "2001:db8::/32"},  # an IPv6 peer on an IPv4 rule
        {"remote_ip_prefix": "10.0.0.0/24 accept"},
        {"remote_ip_prefix": "10.0.0.0/33"},
        {"remote_ip_prefix": "any"},
        {"remote_ip_prefix": 167772160},
    ],
)
def test_hostile_rules_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        render_ruleset("sg", "eth1", [rule(**fields)], VIPS)


def test_any_peer_and_all_ports_render_as_no_match() -> None:
    """`0.0.0.0/0` (what the CLI sends by default) is no address match at all."""
    script = render_ruleset("sg", "eth1", [rule(remote_ip_prefix="0.0.0.0/0")], VIPS)
    assert chain(script, "sg_ingress")[2] == "meta nfproto ipv4 accept"
    same = dataclasses.replace(rule(), remote_ip_prefix=None)
    assert render_ruleset("sg", "eth1", [same], VIPS) == script
