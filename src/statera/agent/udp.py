"""UDP listeners in the kernel: nftables DNAT in the tenant namespace, health-checked by the agent.

HAProxy has no UDP proxying and these kernels have no IPVS (dataplane-notes), so
where Octavia writes a keepalived LVS `virtual_server` (octavia-spec §5) the agent
renders one nftables table, `inet statera_udp`, and replaces it whole with
`nft -f -` inside the tenant namespace (one transaction: the old rules stay in
force until the new ones are in). Per listener: `prerouting` DNATs
`<vip>:<port>/udp` to the forwarding members (weighted round robin with
`numgen inc`, SOURCE_IP / SOURCE_IP_PORT with a seeded `jhash`), optional
SOURCE_IP persistence in a dynamic map with timeout, `ct count over N drop` for
the connection limit, `postrouting` masquerades DNATed flows (members answer the
amphora's own address on eth1, conntrack turns the answer back into VIP:port),
and `input` rejects what was not DNATed (no member UP: ICMP port unreachable,
as IPVS answers for a virtual service without destinations). Counters in a
`forward` chain feed `GET /1.0/status`.

Health checks run in one thread that has entered the tenant namespace with
`setns(2)` (`os.setns` from Python 3.12, libc through ctypes before): sockets
belong to the namespace of the thread that creates them, and the probe threads
it starts inherit its namespace, so probes leave from the tenant side as the
members see real traffic arrive. When a member changes state the table is
rendered and applied again.

The invariant a reader could break: nothing reaches the ruleset as received.
`parse_udp_config` re-spells every address with `ipaddress`, accepts ids only as
UUIDs and every number only as an int in range; the renderer uses nothing else.
Standard library only (the agent's rule); ctypes is imported only where needed.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
import shutil
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple, cast

from statera.agent.errors import AgentError, BadRequest
from statera.agent.files import LbPaths, atomic_write, read_text
from statera.agent.logs import log
from statera.protocol.agent_api import (
    UDP_ALGORITHMS,
    UDP_MONITOR_TYPES,
    ListenerReport,
    MemberState,
    PoolReport,
    UdpConfig,
    UdpListener,
    UdpMember,
    UdpMonitor,
)

TABLE = "statera_udp"
NFT_TIMEOUT_S = 10.0
MAX_LISTENERS = 128
MAX_VIPS = 16
MAX_MEMBERS = 512
MAX_CIDRS = 64
MAX_WEIGHT = 256
MAX_PERSISTENCE_S = 31_536_000
MAX_CONNECTION_LIMIT = 2_147_483_647
MAX_DELAY_S = 86_400
MAX_SMOOTH_SLOTS = 4096
"""Weighted round robin interleaves members up to this many slots, then uses blocks."""
MAX_PARALLEL_PROBES = 32
MAX_CONNTRACK_LINES = 2_000_000
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH")
_CLONE_NEWNET = 0x40000000
_NETNS_DIR = "/var/run/netns"

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_URL_PATH = re.compile(r"/[!-~]{0,2047}")
_CODES = re.compile(r"\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*")

_LISTENER_KEYS = frozenset(UdpListener.__annotations__)
_MEMBER_KEYS = frozenset(UdpMember.__annotations__)
_MONITOR_KEYS = frozenset(UdpMonitor.__annotations__)

Health = Literal["UP", "DOWN"]


class UdpFailed(AgentError):
    """nft or sysctl failed in the tenant namespace (500)."""


# -- validation -------------------------------------------------------------------------------


def _bad(where: str, problem: str) -> BadRequest:
    return BadRequest("Invalid UDP configuration", f"{where}: {problem}")


def _object(value: object, where: str, keys: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(where, f"expected an object, got {type(value).__name__}")
    unknown = sorted(set(value) - keys)
    if unknown:
        raise _bad(where, f"unknown key(s) {', '.join(map(str, unknown))}")
    missing = sorted(keys - set(value))
    if missing:
        raise _bad(where, f"missing key(s) {', '.join(missing)}")
    return cast(dict[str, Any], value)


def _int(value: object, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(where, f"{value!r} is not an integer from {low} to {high}")
    return value


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise _bad(where, f"{value!r} is not true or false")
    return value


def _uuid(value: object, where: str) -> str:
    if not isinstance(value, str) or not _UUID.fullmatch(value.lower()):
        raise _bad(where, f"{value!r} is not a UUID")
    return value.lower()


def _address(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise _bad(where, f"{value!r} is not an IP address")
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise _bad(where, f"{value!r} is not an IP address") from None
    if address.is_unspecified or address.is_multicast or address.is_loopback:
        raise _bad(where, f"{value!r} cannot be used here")
    return str(address)


def _version(address: str) -> int:
    return ipaddress.ip_address(address).version


def _monitor(raw: object, where: str) -> UdpMonitor | None:
    if raw is None:
        return None
    data = _object(raw, where, _MONITOR_KEYS)
    kind = data["type"]
    if kind not in UDP_MONITOR_TYPES:
        raise _bad(f"{where}.type", f"{kind!r} is not one of {', '.join(UDP_MONITOR_TYPES)}")
    method, path, codes = data["http_method"], data["url_path"], data["expected_codes"]
    if kind != "HTTP" and (method, path, codes) != (None, None, None):
        raise _bad(where, "http_method, url_path and expected_codes are for HTTP monitors only")
    if method is not None and method not in HTTP_METHODS:
        raise _bad(f"{where}.http_method", f"{method!r} is not one of {', '.join(HTTP_METHODS)}")
    if path is not None and (not isinstance(path, str) or not _URL_PATH.fullmatch(path)):
        raise _bad(f"{where}.url_path", f"{path!r} is not a path starting with / (no spaces)")
    if codes is not None and (not isinstance(codes, str) or not _CODES.fullmatch(codes)):
        raise _bad(f"{where}.expected_codes", f"{codes!r} is not like 200, 200,202 or 200-204")
    return {
        "type": kind,
        "delay": _int(data["delay"], f"{where}.delay", 1, MAX_DELAY_S),
        "timeout": _int(data["timeout"], f"{where}.timeout", 1, MAX_DELAY_S),
        "max_retries": _int(data["max_retries"], f"{where}.max_retries", 1, 10),
        "max_retries_down": _int(data["max_retries_down"], f"{where}.max_retries_down", 1, 10),
        "http_method": method,
        "url_path": path,
        "expected_codes": codes,
    }


def _member(raw: object, where: str, families: set[int]) -> UdpMember:
    data = _object(raw, where, _MEMBER_KEYS)
    address = _address(data["address"], f"{where}.address")
    if _version(address) not in families:
        raise _bad(f"{where}.address", f"{address} is not of the IP family of a VIP")
    monitor_address = data["monitor_address"]
    if monitor_address is not None:
        monitor_address = _address(monitor_address, f"{where}.monitor_address")
    monitor_port = data["monitor_port"]
    if monitor_port is not None:
        monitor_port = _int(monitor_port, f"{where}.monitor_port", 1, 65535)
    return {
        "id": _uuid(data["id"], f"{where}.id"),
        "address": address,
        "port": _int(data["port"], f"{where}.port", 1, 65535),
        "weight": _int(data["weight"], f"{where}.weight", 0, MAX_WEIGHT),
        "enabled": _bool(data["enabled"], f"{where}.enabled"),
        "backup": _bool(data["backup"], f"{where}.backup"),
        "monitor_address": monitor_address,
        "monitor_port": monitor_port,
    }


def _granularity(value: object, where: str) -> str | None:
    """A netmask (`255.255.255.0`, `ffff:ffff::`), re-spelt; None = whole address."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(where, f"{value!r} is not a netmask")
    try:
        mask = ipaddress.ip_address(value)
    except ValueError:
        raise _bad(where, f"{value!r} is not a netmask") from None
    full = (1 << mask.max_prefixlen) - 1
    host_bits = ~int(mask) & full
    if host_bits & (host_bits + 1):  # the ones must be contiguous from the left
        raise _bad(where, f"{value!r} is not a netmask")
    return str(mask)


def _cidrs(value: object, where: str) -> list[str]:
    """Networks, re-spelt by ipaddress (host bits refused), at most MAX_CIDRS."""
    if not isinstance(value, list) or len(value) > MAX_CIDRS:
        raise _bad(where, f"expected a list of at most {MAX_CIDRS} networks")
    out: list[str] = []
    for i, item in enumerate(value):
        try:
            out.append(str(ipaddress.ip_network(str(item))))
        except ValueError:
            raise _bad(f"{where}[{i}]", f"{item!r} is not a network") from None
    return sorted(set(out))


def _listener(raw: object, where: str) -> UdpListener:
    raw_cidrs: object = []
    if isinstance(raw, dict) and "allowed_cidrs" in raw:  # optional: older controllers
        raw_cidrs = raw["allowed_cidrs"]
        raw = {k: v for k, v in raw.items() if k != "allowed_cidrs"}
    data = _object(raw, where, _LISTENER_KEYS - {"allowed_cidrs"})
    vips_raw = data["vips"]
    if not isinstance(vips_raw, list) or not 1 <= len(vips_raw) <= MAX_VIPS:
        raise _bad(f"{where}.vips", f"expected a list of 1-{MAX_VIPS} addresses")
    vips = sorted({_address(v, f"{where}.vips[{i}]") for i, v in enumerate(vips_raw)}, key=_order)
    families = {_version(v) for v in vips}
    algorithm = data["algorithm"]
    if algorithm not in UDP_ALGORITHMS:
        raise _bad(f"{where}.algorithm", f"{algorithm!r} is not one of {', '.join(UDP_ALGORITHMS)}")
    timeout = data["persistence_timeout"]
    if timeout is not None:
        timeout = _int(timeout, f"{where}.persistence_timeout", 1, MAX_PERSISTENCE_S)
    pool_id = data["pool_id"]
    if pool_id is not None:
        pool_id = _uuid(pool_id, f"{where}.pool_id")
    members_raw = data["members"]
    if not isinstance(members_raw, list) or len(members_raw) > MAX_MEMBERS:
        raise _bad(f"{where}.members", f"expected a list of at most {MAX_MEMBERS} members")
    members = [_member(m, f"{where}.members[{i}]", families) for i, m in enumerate(members_raw)]
    if pool_id is None and members:
        raise _bad(f"{where}.members", "members need a pool_id")
    if len({m["id"] for m in members}) != len(members):
        raise _bad(f"{where}.members", "member ids must be unique")
    monitor = _monitor(data["monitor"], f"{where}.monitor")
    if monitor is not None and pool_id is None:
        raise _bad(f"{where}.monitor", "a monitor needs a pool_id")
    return {
        "id": _uuid(data["id"], f"{where}.id"),
        "vips": vips,
        "port": _int(data["port"], f"{where}.port", 1, 65535),
        "algorithm": algorithm,
        "connection_limit": _int(
            data["connection_limit"], f"{where}.connection_limit", -1, MAX_CONNECTION_LIMIT
        ),
        "persistence_timeout": timeout,
        "persistence_granularity": _granularity(
            data["persistence_granularity"], f"{where}.persistence_granularity"
        ),
        "pool_id": pool_id,
        "members": members,
        "monitor": monitor,
        "allowed_cidrs": _cidrs(raw_cidrs, f"{where}.allowed_cidrs"),
    }


def _order(address: str) -> tuple[int, int]:
    parsed = ipaddress.ip_address(address)
    return parsed.version, int(parsed)


def parse_udp_config(raw: object) -> UdpConfig:
    """Check a decoded JSON body against `UdpConfig`; BadRequest names the field and why."""
    data = _object(raw, "config", frozenset(UdpConfig.__annotations__))
    listeners_raw = data["listeners"]
    if not isinstance(listeners_raw, list) or len(listeners_raw) > MAX_LISTENERS:
        raise _bad("listeners", f"expected a list of at most {MAX_LISTENERS} listeners")
    listeners = [_listener(item, f"listeners[{i}]") for i, item in enumerate(listeners_raw)]
    if len({item["id"] for item in listeners}) != len(listeners):
        raise _bad("listeners", "listener ids must be unique")
    bound: set[tuple[str, int]] = set()
    for item in listeners:
        for vip in item["vips"]:
            if (vip, item["port"]) in bound:
                raise _bad("listeners", f"two listeners on {vip} port {item['port']}")
            bound.add((vip, item["port"]))
    return {"listeners": listeners}


# -- health state -----------------------------------------------------------------------------


class ProbeTarget(NamedTuple):
    kind: str
    address: str
    port: int
    timeout_s: float
    http_method: str = "GET"
    url_path: str = "/"
    expected_codes: str = "200"


MemberKey = tuple[str, str, ProbeTarget]
"""(listener id, member id, what is probed): a member whose target changes starts afresh."""


class MemberHealth:
    """Rise/fall counting: `rise` successes in a row bring a DOWN member UP, `fall`
    failures in a row take an UP one DOWN. Members start UP, as HAProxy's servers do."""

    def __init__(self) -> None:
        self.state: Health = "UP"
        self.streak = 0

    def record(self, ok: bool, *, rise: int, fall: int) -> bool:
        """Count one result; True if the state changed."""
        if ok == (self.state == "UP"):
            self.streak = 0
            return False
        self.streak += 1
        if self.streak >= (rise if ok else fall):
            self.state = "UP" if ok else "DOWN"
            self.streak = 0
            return True
        return False


def probe_target(member: UdpMember, monitor: UdpMonitor) -> ProbeTarget:
    return ProbeTarget(
        kind=monitor["type"],
        address=member["monitor_address"] or member["address"],
        port=member["monitor_port"] or member["port"],
        timeout_s=float(monitor["timeout"]),
        http_method=monitor["http_method"] or "GET",
        url_path=monitor["url_path"] or "/",
        expected_codes=monitor["expected_codes"] or "200",
    )


def member_keys(config: UdpConfig) -> dict[MemberKey, tuple[UdpListener, UdpMember]]:
    """Every enabled member under a monitor, by key (disabled members are not checked)."""
    keys: dict[MemberKey, tuple[UdpListener, UdpMember]] = {}
    for listener in config["listeners"]:
        monitor = listener["monitor"]
        if monitor is None:
            continue
        for member in listener["members"]:
            if member["enabled"]:
                keys[(listener["id"], member["id"], probe_target(member, monitor))] = (
                    listener,
                    member,
                )
    return keys


def member_state(
    listener: UdpListener, member: UdpMember, health: dict[MemberKey, MemberHealth]
) -> MemberState:
    """What `GET /1.0/status` reports: MAINT (disabled), "no check", UP, DRAIN (weight 0), DOWN."""
    if not member["enabled"]:
        return "MAINT"
    monitor = listener["monitor"]
    if monitor is None:
        return "no check"
    found = health.get((listener["id"], member["id"], probe_target(member, monitor)))
    state = found.state if found is not None else "UP"
    if state == "UP" and member["weight"] == 0:
        return "DRAIN"
    return state


def forwarding_members(
    listener: UdpListener, health: dict[MemberKey, MemberHealth], version: int
) -> list[UdpMember]:
    """The members of one IP family new flows go to: UP (or unchecked), enabled, weight > 0;
    the backup members only while no other member of the family qualifies."""
    usable = [
        m
        for m in listener["members"]
        if _version(m["address"]) == version
        and m["weight"] > 0
        and member_state(listener, m, health) in ("UP", "no check")
    ]
    primary = [m for m in usable if not m["backup"]]
    return primary or [m for m in usable if m["backup"]]


# -- rendering --------------------------------------------------------------------------------


def _slots(weights: Sequence[int], *, smooth: bool) -> list[tuple[int, int, int]]:
    """(first slot, last slot, member index) covering 0..sum-1 in proportion to `weights`
    (divided by their gcd). Smooth interleaves the members as nginx's weighted round
    robin does (a, b, a, c, a, ...); otherwise each member gets one block."""
    divisor = math.gcd(*weights)
    reduced = [w // divisor for w in weights]
    total = sum(reduced)
    order: list[int] = []
    if smooth and total <= MAX_SMOOTH_SLOTS:
        current = [0] * len(reduced)
        for _ in range(total):
            for i, weight in enumerate(reduced):
                current[i] += weight
            best = max(range(len(current)), key=current.__getitem__)
            current[best] -= total
            order.append(best)
    else:
        for i, weight in enumerate(reduced):
            order += [i] * weight
    runs: list[tuple[int, int, int]] = []
    for slot, index in enumerate(order):
        if runs and runs[-1][2] == index and runs[-1][1] == slot - 1:
            runs[-1] = (runs[-1][0], slot, index)
        else:
            runs.append((slot, slot, index))
    return runs


def _hex(uuid: str) -> str:
    return uuid.replace("-", "")


def _family(version: int) -> tuple[str, str, str]:
    """(nfproto, address keyword, nft type) of an IP version."""
    return ("ipv4", "ip", "ipv4_addr") if version == 4 else ("ipv6", "ip6", "ipv6_addr")


def _client_key(listener: UdpListener, version: int) -> str:
    """The persistence key: the client address, masked by an IPv4 granularity (IPv6
    persistence is hashing on the whole address, see `_listener_rules`)."""
    addr = f"{_family(version)[1]} saddr"
    mask = listener["persistence_granularity"]
    if version == 4 and mask is not None and _version(mask) == 4 and mask != "255.255.255.255":
        return f"{addr} & {mask}"
    return addr


def _counter(name: str, counters: dict[str, tuple[int, int]]) -> str:
    """A named counter, starting from its values in the table being replaced."""
    packets, octets = counters.get(name, (0, 0))
    start = f"\t\tpackets {int(packets)} bytes {int(octets)}\n" if packets or octets else ""
    return f"\tcounter {name} {{\n{start}\t}}"


def _listener_rules(
    listener: UdpListener,
    health: dict[MemberKey, MemberHealth],
    counters: dict[str, tuple[int, int]],
) -> tuple[list[str], list[str], list[str], list[str]]:
    """(declarations, its own chain, forward rules, input rules) of one listener."""
    lid = _hex(listener["id"])
    port = listener["port"]
    declarations = [_counter(f"{kind}_{lid}", counters) for kind in ("new", "rx", "tx")]
    chain = [f"\tchain l_{lid} {{"]
    cidrs = listener.get("allowed_cidrs") or []
    if cidrs:  # other clients are dropped before they count or reach a member
        for version in (4, 6):
            nfproto, ip, _ = _family(version)
            mine = [c for c in cidrs if ipaddress.ip_network(c).version == version]
            allowed = f" {ip} saddr != {{ {', '.join(mine)} }}" if mine else ""
            chain.append(f"\t\tmeta nfproto {nfproto}{allowed} drop")
    chain.append(f'\t\tcounter name "new_{lid}"')
    limit = listener["connection_limit"]
    if limit > 0:
        chain.append(f"\t\tct count over {limit} drop")
    forward: list[str] = []
    inputs: list[str] = []
    timeout = listener["persistence_timeout"]
    seed = f"0x{lid[:8]}"
    for version in (4, 6):
        vips = [v for v in listener["vips"] if _version(v) == version]
        if not vips:
            continue
        nfproto, ip, nft_type = _family(version)
        for vip in vips:
            original = f"ct original {ip} daddr {vip} meta l4proto udp ct original proto-dst {port}"
            forward.append(f'\t\tct direction original {original} counter name "rx_{lid}"')
            forward.append(f'\t\tct direction reply {original} counter name "tx_{lid}"')
            inputs.append(f"\t\t{ip} daddr {vip} udp dport {port} reject")
        members = forwarding_members(listener, health, version)
        if not members:
            continue
        key = _client_key(listener, version)
        prefix = f"\t\tmeta nfproto {nfproto} meta l4proto udp"
        algorithm = listener["algorithm"]
        if timeout is not None and version == 6:
            # nft 1.0.6 aborts on an IPv6 key with address . port data in a dynamic map
            # (netlink_linearize.c:799): IPv6 persistence is source-address hashing,
            # stable while the forwarding members stay the same.
            algorithm = "SOURCE_IP"
        elif timeout is not None:
            persist = f"p{version}_{lid}"
            declarations.append(
                f"\tmap {persist} {{\n\t\ttype {nft_type} : {nft_type} . inet_service\n"
                f"\t\tflags dynamic,timeout\n\t\ttimeout {timeout}s\n\t}}"
            )
            chain.append(f"{prefix} dnat {ip} to {key} map @{persist}")
            for vip in vips:
                forward.append(
                    f"\t\tct direction original ct status dnat ct original {ip} daddr {vip} "
                    f"meta l4proto udp ct original proto-dst {port} "
                    f"update @{persist} {{ {key} : {ip} daddr . udp dport }}"
                )
        runs = _slots(
            [m["weight"] for m in members], smooth=algorithm in ("ROUND_ROBIN", "LEAST_CONNECTIONS")
        )
        modulus = runs[-1][1] + 1
        if algorithm == "SOURCE_IP":
            selector = f"jhash {ip} saddr mod {modulus} seed {seed}"
        elif algorithm == "SOURCE_IP_PORT":
            selector = f"jhash {ip} saddr . udp sport mod {modulus} seed {seed}"
        else:  # ROUND_ROBIN; LEAST_CONNECTIONS has no nftables counterpart
            selector = f"numgen inc mod {modulus}"
        elements = ", ".join(
            f"{first if first == last else f'{first}-{last}'} : "
            f"{members[i]['address']} . {members[i]['port']}"
            for first, last, i in runs
        )
        chain.append(f"{prefix} dnat {ip} to {selector} map {{ {elements} }}")
    chain.append("\t}")
    return declarations, chain, forward, inputs


def render_ruleset(
    config: UdpConfig,
    health: dict[MemberKey, MemberHealth],
    counters: dict[str, tuple[int, int]] | None = None,
) -> str:
    """The nftables script that replaces table `inet statera_udp` for `config`.

    `config` must come from `parse_udp_config`; `health` holds the checked
    members' states (absent = UP); `counters` (name -> packets, bytes) carries
    the replaced table's counters over, so the reported totals do not restart
    at each member change. With no listener the script only deletes the table.
    """
    header = [
        "# UDP listeners of the load balancer; generated by the Statera agent, replaced whole.",
        f"table inet {TABLE}",
        f"delete table inet {TABLE}",
    ]
    if not config["listeners"]:
        return "\n".join(header) + "\n"
    declarations: list[str] = []
    chains: list[str] = []
    prerouting: list[str] = []
    forward: list[str] = []
    inputs: list[str] = []
    vips: dict[int, set[str]] = {4: set(), 6: set()}
    for listener in config["listeners"]:
        lid = _hex(listener["id"])
        for vip in listener["vips"]:
            ip = _family(_version(vip))[1]
            vips[_version(vip)].add(vip)
            prerouting.append(f"\t\t{ip} daddr {vip} udp dport {listener['port']} jump l_{lid}")
        d, c, f, i = _listener_rules(listener, health, counters or {})
        declarations += d
        chains += c
        forward += f
        inputs += i
    masquerade = [
        f"\t\tct status dnat meta l4proto udp ct original {_family(v)[1]} daddr "
        f"{{ {', '.join(sorted(vips[v], key=_order))} }} masquerade"
        for v in (4, 6)
        if vips[v]
    ]
    lines = [
        *header,
        f"table inet {TABLE} {{",
        *declarations,
        "\tchain prerouting {",
        "\t\ttype nat hook prerouting priority dstnat; policy accept;",
        *prerouting,
        "\t}",
        *chains,
        "\tchain forward {",
        "\t\ttype filter hook forward priority filter; policy accept;",
        *forward,
        "\t}",
        "\tchain postrouting {",
        "\t\ttype nat hook postrouting priority srcnat; policy accept;",
        *masquerade,
        "\t}",
        "\tchain input {",
        "\t\ttype filter hook input priority filter; policy accept;",
        *inputs,
        "\t}",
        "}",
    ]
    return "\n".join(lines) + "\n"


# -- running nft in the namespace -------------------------------------------------------------


class NftResult(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


NamespaceRunner = Callable[[Sequence[str], str], NftResult]
"""Runs argv inside the tenant namespace with `stdin`; the seam unit tests replace."""


def namespace_runner(namespace: str) -> NamespaceRunner:
    """Run commands through `ip netns exec <namespace>` (directly when `namespace` is "")."""
    ip = shutil.which("ip") or "/usr/sbin/ip"

    def run(argv: Sequence[str], stdin: str) -> NftResult:
        full = [ip, "netns", "exec", namespace, *argv] if namespace else list(argv)
        try:
            done = subprocess.run(
                full,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=NFT_TIMEOUT_S,
                check=False,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired:
            return NftResult(124, "", f"{argv[0]} took over {NFT_TIMEOUT_S:g}s")
        except OSError as exc:
            return NftResult(127, "", f"cannot run {argv[0]}: {exc}")
        return NftResult(done.returncode, done.stdout, done.stderr)

    return run


def _sysctls(config: UdpConfig) -> list[str]:
    """Forwarding on for the families in use; no ICMP redirects, since DNATed packets leave
    through the interface they came in on."""
    wanted = ["net.ipv4.ip_forward=1", "net.ipv4.conf.all.send_redirects=0"]
    if any(_version(v) == 6 for listener in config["listeners"] for v in listener["vips"]):
        wanted.append("net.ipv6.conf.all.forwarding=1")
    return wanted


# -- probes (run by threads inside the tenant namespace) ------------------------------------


def enter_namespace(namespace: str) -> None:
    """Move the calling thread (only it) into network namespace `namespace`."""
    if not namespace:
        return
    fd = os.open(os.path.join(_NETNS_DIR, namespace), os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns = getattr(os, "setns", None)
        if setns is not None:  # Python >= 3.12
            setns(fd, _CLONE_NEWNET)
            return
        import ctypes  # only here: it costs every amphora memory

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns({namespace}): {os.strerror(errno)}")
    finally:
        os.close(fd)


def _family_of(address: str) -> socket.AddressFamily:
    return socket.AF_INET if _version(address) == 4 else socket.AF_INET6


def probe_udp_connect(target: ProbeTarget) -> bool:
    """Octavia's UDP-CONNECT: a datagram to the member; an ICMP port unreachable (read as
    ECONNREFUSED on the connected socket) means DOWN, an answer or silence means UP."""
    with socket.socket(_family_of(target.address), socket.SOCK_DGRAM) as sock:
        sock.settimeout(target.timeout_s)
        try:
            sock.connect((target.address, target.port))
            sock.send(b"\n")
            sock.recv(512)
        except TimeoutError:
            return True
        except OSError:
            return False
    return True


def probe_tcp(target: ProbeTarget) -> bool:
    try:
        with socket.create_connection((target.address, target.port), timeout=target.timeout_s):
            return True
    except OSError:
        return False


def _codes(expected: str) -> set[int]:
    codes: set[int] = set()
    for part in expected.split(","):
        first, _, last = part.partition("-")
        codes.update(range(int(first), int(last or first) + 1))
    return codes


def probe_http(target: ProbeTarget) -> bool:
    """One HTTP/1.0 request; UP if the status is among the expected codes."""
    deadline = time.monotonic() + target.timeout_s
    host = f"[{target.address}]" if ":" in target.address else target.address
    request = (
        f"{target.http_method} {target.url_path} HTTP/1.0\r\nHost: {host}\r\n"
        "User-Agent: statera-health-check\r\nConnection: close\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection((target.address, target.port), timeout=target.timeout_s) as s:
            s.sendall(request)
            head = b""
            while b"\r\n" not in head and len(head) < 4096:
                s.settimeout(max(deadline - time.monotonic(), 0.001))
                chunk = s.recv(4096)
                if not chunk:
                    break
                head += chunk
    except OSError:
        return False
    parts = head.split(b"\r\n", 1)[0].split()
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return False
    return int(parts[1]) in _codes(target.expected_codes)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return int(~total & 0xFFFF)


def probe_ping(target: ProbeTarget) -> bool:
    """One ICMP echo over a raw socket (the agent runs as root)."""
    v6 = _version(target.address) == 6
    family, proto = (socket.AF_INET6, 58) if v6 else (socket.AF_INET, socket.IPPROTO_ICMP)
    request_type, reply_type = (128, 129) if v6 else (8, 0)
    ident = (threading.get_native_id() ^ os.getpid()) & 0xFFFF
    payload = b"statera"
    header = struct.pack("!BBHHH", request_type, 0, 0, ident, 1)
    if not v6:  # the kernel fills in ICMPv6 checksums
        header = struct.pack("!BBHHH", request_type, 0, _checksum(header + payload), ident, 1)
    deadline = time.monotonic() + target.timeout_s
    try:
        with socket.socket(family, socket.SOCK_RAW, proto) as sock:
            sock.sendto(header + payload, (target.address, 0))
            for _ in range(256):  # other echo replies arrive on a raw socket too
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                sock.settimeout(remaining)
                data, peer = sock.recvfrom(2048)
                icmp = data if v6 else data[(data[0] & 0x0F) * 4 :]
                if (
                    len(icmp) >= 8
                    and icmp[0] == reply_type
                    and struct.unpack("!H", icmp[4:6])[0] == ident
                    and ipaddress.ip_address(peer[0].split("%")[0])
                    == ipaddress.ip_address(target.address)
                ):
                    return True
    except OSError:
        return False
    return False


PROBES: dict[str, Callable[[ProbeTarget], bool]] = {
    "UDP-CONNECT": probe_udp_connect,
    "TCP": probe_tcp,
    "HTTP": probe_http,
    "PING": probe_ping,
}


def probe(target: ProbeTarget) -> bool:
    """Run the check `target.kind` names; any exception is a failed check."""
    try:
        return PROBES[target.kind](target)
    except Exception as exc:  # a bug in a probe must not stop the checker
        log(f"UDP health check of {target.address}:{target.port} failed: {exc!r}")
        return False


Prober = Callable[[ProbeTarget], bool]


# -- the agent's UDP state --------------------------------------------------------------------


class Udp:
    """The amphora's UDP listeners: config, member health, the applied table, the checker.

    Thread-safe: the route handlers and the checker thread share `_lock`; the checker
    is started and stopped outside it (its rounds take `_lock` to record results).
    """

    def __init__(
        self,
        paths: LbPaths,
        *,
        namespace: str,
        run: NamespaceRunner | None = None,
        prober: Prober = probe,
        clock: Callable[[], float] = time.monotonic,
        start_checker: bool = True,
    ) -> None:
        self.paths = paths
        self.namespace = namespace
        self._run = run or namespace_runner(namespace)
        self._prober = prober
        self._clock = clock
        self._start_checker = start_checker
        self._lock = threading.Lock()
        self._config: UdpConfig = {"listeners": []}
        self._health: dict[MemberKey, MemberHealth] = {}
        self._due: dict[MemberKey, float] = {}
        self._applied: str | None = None
        self._unrendered: str | None = None
        """The last script applied, rendered without counters: what `record` compares."""
        self._checker: HealthChecker | None = None

    @property
    def config(self) -> UdpConfig:
        with self._lock:
            return self._config

    def restore(self) -> None:
        """At agent start: re-apply the config saved by the last PUT (members start UP)."""
        text = read_text(self.paths.udp_config)
        if text is None:
            return
        try:
            config = parse_udp_config(json.loads(text))
            self.apply(config, save=False)
        except (ValueError, AgentError) as exc:
            log(f"UDP listeners not restored from {self.paths.udp_config}: {exc}")

    def apply(self, config: UdpConfig, *, save: bool = True) -> None:
        """Make `config` (from `parse_udp_config`) the UDP listeners; UdpFailed if nft refuses.

        Health of members whose check did not change is kept, so a controller
        repeating the same PUT does not bring a DOWN member back.
        """
        with self._lock:
            keys = member_keys(config)
            health = {key: self._health.get(key) or MemberHealth() for key in keys}
            if config["listeners"]:
                self._sysctl(config)
            kept = self._counters() if config["listeners"] else {}
            self._nft(render_ruleset(config, health, kept))
            self._config, self._health = config, health
            self._unrendered = render_ruleset(config, health)
            self._due = {key: self._due.get(key, 0.0) for key in keys}
            if save:
                if config["listeners"]:
                    atomic_write(self.paths.udp_config, json.dumps(config))
                else:
                    self.paths.udp_config.unlink(missing_ok=True)
            checker, wanted = self._checker, bool(keys) and self._start_checker
            if wanted and checker is None:
                self._checker = HealthChecker(self, namespace=self.namespace, prober=self._prober)
                self._checker.start()
            elif not wanted:
                self._checker = None
        if checker is not None and not wanted:
            checker.stop()

    def remove(self) -> None:
        """Drop the table and stop checking (DELETE of the load balancer)."""
        self.apply({"listeners": []})

    def stop(self) -> None:
        with self._lock:
            checker, self._checker = self._checker, None
        if checker is not None:
            checker.stop()

    def _nft(self, script: str) -> None:
        result = self._run(["nft", "-f", "-"], script)
        if result.returncode != 0:
            raise UdpFailed("nft refused the UDP ruleset", (result.stderr or result.stdout)[:4000])
        self._applied = script

    def _sysctl(self, config: UdpConfig) -> None:
        result = self._run(["sysctl", "-q", "-w", *_sysctls(config)], "")
        if result.returncode != 0:
            raise UdpFailed("cannot enable forwarding in the tenant namespace", result.stderr)

    @property
    def applied(self) -> str | None:
        """The ruleset last applied (for tests and diagnosis)."""
        return self._applied

    # checker side

    def due_checks(self, now: float) -> list[tuple[MemberKey, ProbeTarget]]:
        """The checks due at `now`; each is scheduled again `delay` seconds later."""
        with self._lock:
            keys = member_keys(self._config)
            due: list[tuple[MemberKey, ProbeTarget]] = []
            for key, (listener, _) in keys.items():
                if self._due.get(key, 0.0) <= now:
                    monitor = cast(UdpMonitor, listener["monitor"])
                    self._due[key] = now + monitor["delay"]
                    due.append((key, key[2]))
            return due

    def seconds_until_due(self, now: float) -> float:
        with self._lock:
            return min(self._due.values(), default=now + 1.0) - now

    def record(self, results: Sequence[tuple[MemberKey, bool]]) -> bool:
        """Count check results; re-apply the table if a member changed state. Results for
        members no longer configured are ignored. Returns whether anything changed."""
        with self._lock:
            keys = member_keys(self._config)
            changed = False
            for key, ok in results:
                found = keys.get(key)
                health = self._health.get(key)
                if found is None or health is None:
                    continue
                monitor = cast(UdpMonitor, found[0]["monitor"])
                if health.record(ok, rise=monitor["max_retries"], fall=monitor["max_retries_down"]):
                    log(f"UDP member {key[1]} of listener {key[0]} is {health.state}")
                    changed = True
            script = render_ruleset(self._config, self._health)
            if script != self._unrendered:
                try:
                    self._nft(render_ruleset(self._config, self._health, self._counters()))
                    self._unrendered = script
                except UdpFailed as exc:  # retried after the next round
                    log(f"UDP ruleset not applied after a member change: {exc.details}")
            return changed

    # status side

    def report(self) -> tuple[dict[str, ListenerReport], dict[str, PoolReport]]:
        """Listener and pool reports of the UDP listeners, in HAProxy's report shape."""
        with self._lock:
            config, health = self._config, dict(self._health)
        if not config["listeners"]:
            return {}, {}
        counters = self._counters()
        conns = self._active_flows(config)
        listeners: dict[str, ListenerReport] = {}
        pools: dict[str, PoolReport] = {}
        for listener in config["listeners"]:
            lid = listener["id"]
            hexid = _hex(lid)
            active = conns.get(lid, 0)
            limit = listener["connection_limit"]
            listeners[lid] = {
                "status": "FULL" if 0 < limit <= active else "OPEN",
                "stats": {
                    "tx": counters.get(f"tx_{hexid}", (0, 0))[1],
                    "rx": counters.get(f"rx_{hexid}", (0, 0))[1],
                    "conns": active,
                    "totconns": counters.get(f"new_{hexid}", (0, 0))[0],
                    "ereq": 0,
                },
            }
            if listener["pool_id"] is None:
                continue
            members = {m["id"]: member_state(listener, m, health) for m in listener["members"]}
            up = any(state in ("UP", "no check", "DRAIN") for state in members.values())
            pools[f"{listener['pool_id']}:{lid}"] = {
                "status": "UP" if up else "DOWN",
                "members": members,
            }
        return listeners, pools

    def _counters(self) -> dict[str, tuple[int, int]]:
        """Counter name -> (packets, bytes) of the table; empty if nft cannot list it."""
        result = self._run(["nft", "-j", "list", "counters", "table", "inet", TABLE], "")
        if result.returncode != 0:
            return {}
        try:
            items = json.loads(result.stdout).get("nftables", [])
        except (ValueError, AttributeError):
            return {}
        found: dict[str, tuple[int, int]] = {}
        for item in items:
            counter = item.get("counter") if isinstance(item, dict) else None
            if isinstance(counter, dict) and isinstance(counter.get("name"), str):
                found[counter["name"]] = (
                    int(counter.get("packets", 0)),
                    int(counter.get("bytes", 0)),
                )
        return found

    def _active_flows(self, config: UdpConfig) -> dict[str, int]:
        """Listener id -> tracked UDP flows to its VIP:port (conntrack's table)."""
        result = self._run(["cat", "/proc/net/nf_conntrack"], "")
        if result.returncode != 0:
            return {}
        by_target: dict[tuple[str, int], str] = {
            (vip, listener["port"]): listener["id"]
            for listener in config["listeners"]
            for vip in listener["vips"]
        }
        counts: dict[str, int] = {}
        for number, line in enumerate(result.stdout.splitlines()):
            if number >= MAX_CONNTRACK_LINES:
                break
            fields = line.split()
            if len(fields) < 8 or fields[2] != "udp":
                continue
            dst = next((f[4:] for f in fields if f.startswith("dst=")), None)
            dport = next((f[6:] for f in fields if f.startswith("dport=")), None)
            if dst is None or dport is None or not dport.isdigit():
                continue
            try:
                target = (str(ipaddress.ip_address(dst)), int(dport))
            except ValueError:
                continue
            lid = by_target.get(target)
            if lid is not None:
                counts[lid] = counts.get(lid, 0) + 1
        return counts


class HealthChecker:
    """The thread that checks UDP members from inside the tenant namespace.

    Each round runs the due checks in parallel (at most MAX_PARALLEL_PROBES at a
    time, each bounded by its own timeout), records the results, and sleeps
    until the next check is due (at most a second, so `stop` is prompt).
    """

    def __init__(
        self,
        udp: Udp,
        *,
        namespace: str,
        prober: Prober = probe,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.udp = udp
        self.namespace = namespace
        self.prober = prober
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="udp-health", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 15.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=timeout_s)

    def run_round(self) -> float:
        """One round; returns the seconds until the next check is due."""
        due = self.udp.due_checks(self.clock())
        self.udp.record(self.probe_all(due))
        return self.udp.seconds_until_due(self.clock())

    def probe_all(
        self, due: Sequence[tuple[MemberKey, ProbeTarget]]
    ) -> list[tuple[MemberKey, bool]]:
        results: list[tuple[MemberKey, bool]] = []
        for start in range(0, len(due), MAX_PARALLEL_PROBES):
            batch = due[start : start + MAX_PARALLEL_PROBES]
            outcome: dict[int, bool] = {}

            def one(index: int, target: ProbeTarget, outcome: dict[int, bool] = outcome) -> None:
                outcome[index] = self.prober(target)

            # Threads started here inherit this thread's network namespace.
            threads = [
                threading.Thread(target=one, args=(i, target), daemon=True)
                for i, (_, target) in enumerate(batch)
            ]
            for thread in threads:
                thread.start()
            for thread, (_, target) in zip(threads, batch, strict=True):
                thread.join(timeout=target.timeout_s + 2.0)
            results += [(key, outcome.get(i, False)) for i, (key, _) in enumerate(batch)]
        return results

    def _run(self) -> None:
        try:
            enter_namespace(self.namespace)
        except OSError as exc:
            log(f"UDP health checks cannot enter namespace {self.namespace}: {exc}")
            return
        while not self._stop.is_set():
            try:
                wait = self.run_round()
            except Exception as exc:  # keep checking; one bad round must not end the thread
                log(f"UDP health check round failed: {exc!r}")
                wait = 1.0
            self._stop.wait(min(max(wait, 0.05), 1.0))
