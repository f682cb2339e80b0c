"""Neutron security group rules: the values Neutron accepts, and the rule the data plane enforces.

The Network view (`services/security_groups.py`) checks a rule with
`check_rule`, which refuses exactly what Neutron refuses, in Neutron's words,
and spells what it keeps the way Neutron stores it (protocol as given but in
lower case, `icmp` on IPv6 turned into `ipv6-icmp`, a CIDR with its mask).
`SecurityGroupRuleSpec` is what the enforcement (`network/security_groups.py`)
renders: numbers instead of names. Each refusal carries `kind`, the name of
the Neutron exception that refuses the same thing, which the Network view
answers as `NeutronError.type`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from statera.domain.errors import Conflict, InvalidSpec, NotFound

DIRECTIONS = ("ingress", "egress")
ETHERTYPES = ("IPv4", "IPv6")

PROTOCOL_NUMBERS: dict[str, int] = {
    "ah": 51,
    "dccp": 33,
    "egp": 8,
    "esp": 50,
    "gre": 47,
    "hopopt": 0,
    "icmp": 1,
    "igmp": 2,
    "ip": 0,
    "ipip": 4,
    "ipv6-encap": 41,
    "ipv6-frag": 44,
    "ipv6-icmp": 58,
    "icmpv6": 58,
    "ipv6-nonxt": 59,
    "ipv6-opts": 60,
    "ipv6-route": 43,
    "ospf": 89,
    "pgm": 113,
    "rsvp": 46,
    "sctp": 132,
    "tcp": 6,
    "udp": 17,
    "udplite": 136,
    "vrrp": 112,
}
"""Neutron's protocol names (neutron-lib `IP_PROTOCOL_MAP`) and their IANA numbers."""

PORT_PROTOCOLS = frozenset({6, 17, 33, 132, 136})
"""Protocols whose rules may name a destination port range (TCP, UDP, DCCP, SCTP, UDP-Lite)."""
_PORT_PROTOCOL_NAMES = "DCCP, SCTP, TCP, UDP, UDPLITE"
ICMP = 1
ICMPV6 = 58
_IPV6_ONLY = frozenset({41, 43, 44, 58, 59, 60})
"""Protocols Neutron refuses on an IPv4 rule (IPv6 encapsulation, headers and ICMP)."""
ANY_PROTOCOL = 0
"""Protocol 0 (`ip`, `hopopt`) means every protocol to Neutron's firewall drivers."""


class RuleRefused(InvalidSpec):
    """A security group rule (or group attribute) Neutron answers with a 400."""

    def __init__(self, message: str, *, kind: str = "HTTPBadRequest") -> None:
        super().__init__(message)
        self.kind = kind


class SecurityGroupConflict(Conflict):
    """A request Neutron answers with a 409 (duplicate rule, group in use, `default`)."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class SecurityGroupNotFound(NotFound):
    kind = "SecurityGroupNotFound"

    @classmethod
    def of_group(cls, sg_id: str) -> SecurityGroupNotFound:
        return cls(f"Security group {sg_id} does not exist")


class SecurityGroupRuleNotFound(NotFound):
    kind = "SecurityGroupRuleNotFound"

    @classmethod
    def of_rule(cls, rule_id: str) -> SecurityGroupRuleNotFound:
        return cls(f"Security group rule {rule_id} does not exist")


@dataclass(frozen=True)
class SecurityGroupRuleSpec:
    """One rule as the data plane enforces it: numbers, not names; None means "any"."""

    id: str
    security_group_id: str
    direction: str
    """`ingress` (towards the VIP) or `egress` (from the VIP)."""
    ethertype: str
    """`IPv4` or `IPv6`."""
    protocol: int | None
    """IANA protocol number; None for every protocol."""
    port_range_min: int | None
    """First destination port; for ICMP the ICMP type."""
    port_range_max: int | None
    """Last destination port; for ICMP the ICMP code."""
    remote_ip_prefix: str | None
    """The peer's network (source for ingress, destination for egress); None for any."""
    stateful: bool = True
    """False for a stateless group: no connection tracking, replies need rules of their own."""


@dataclass(frozen=True)
class CheckedRule:
    """A rule as Neutron stores and shows it, after `check_rule`."""

    direction: str
    ethertype: str
    protocol: str | None
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    normalized_cidr: str | None

    def key(self) -> tuple[object, ...]:
        """What makes two rules of one group the same (Neutron's `_rule_to_key`)."""
        cidr = self.normalized_cidr
        if cidr in ("0.0.0.0/0", "::/0"):
            cidr = None
        return (
            self.direction,
            self.ethertype,
            self.port_range_min,
            self.port_range_max,
            protocol_number(self.protocol),
            cidr,
        )


def invalid_input(attribute: str, reason: str) -> RuleRefused:
    return RuleRefused(f"Invalid input for {attribute}. Reason: {reason}.")


def check_text(attribute: str, value: Any, *, max_length: int = 255) -> str:
    """Neutron's `type:string` validator, for names and descriptions (None is "")."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid_input(attribute, f"{value!r} is not a valid string")
    if len(value) > max_length:
        raise invalid_input(attribute, f"{value!r} exceeds maximum length of {max_length}")
    return value


def check_group_name(value: Any) -> str:
    """A group's name: a string, and never `default` (Neutron keeps that name for itself)."""
    name = check_text("name", value)
    if name.lower() == "default":
        raise SecurityGroupConflict(
            "Default security group already exists.", kind="SecurityGroupDefaultAlreadyExists"
        )
    return name


def check_boolean(attribute: str, value: Any) -> bool:
    """Neutron's `convert_to_boolean`: booleans, 0/1 and their spellings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise RuleRefused(
        f"Invalid input for operation: {value!r} cannot be converted to boolean.",
        kind="InvalidInput",
    )


def _check_protocol(value: Any) -> str | None:
    """Neutron's `convert_protocol`: a known name (any case), a number 0-255, or None/"any"."""
    if value is None:
        return None
    if isinstance(value, str) and value.lower() == "any":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        text: str | None = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        text = None
    if text is not None and text.isdigit() and text.isascii():
        if int(text) <= 255:
            return str(int(text))
    elif text is not None and text.lower() in PROTOCOL_NUMBERS:
        return text.lower()
    names = [None, *PROTOCOL_NUMBERS]
    raise RuleRefused(
        f"Security group rule protocol {value} not supported. Only protocol values {names} "
        "and integer representations [0 to 255] are supported.",
        kind="SecurityGroupRuleInvalidProtocol",
    )


def _check_port(value: Any) -> int | None:
    """Neutron's `convert_validate_port_value`: None or an integer 0-65535."""
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(value)
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise RuleRefused(f"Invalid value for port {value}.", kind="SecurityGroupInvalidPortValue")
    return port


def _check_choice(attribute: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise invalid_input(attribute, f"{value!r} is not in {list(choices)}")
    return str(value)


def _check_ethertype(value: Any) -> str:
    """Neutron's `convert_ethertype_to_case_insensitive`, then the `IPv4`/`IPv6` choice."""
    if isinstance(value, str):
        value = next((e for e in ETHERTYPES if e.lower() == value.lower()), value)
    return _check_choice("ethertype", value, ETHERTYPES)


def _check_cidr(value: Any) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface | None:
    """Neutron's `convert_ip_prefix_to_cidr`: an address or a CIDR (host bits allowed)."""
    if value is None or value == "":
        return None
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return ipaddress.ip_interface(value.strip())
    except ValueError:
        raise RuleRefused(f"Invalid CIDR {value} given as IP prefix.", kind="InvalidCIDR") from None


def protocol_number(protocol: str | None) -> int | None:
    """The IANA number of a checked protocol (`tcp` or `6`); None for any."""
    if protocol is None:
        return None
    return PROTOCOL_NUMBERS[protocol] if protocol in PROTOCOL_NUMBERS else int(protocol)


def _check_ports(protocol: str | None, low: int | None, high: int | None) -> None:
    """Neutron's `_validate_port_range`."""
    if low is None and high is None:
        return
    if protocol is None:
        raise RuleRefused(
            "Must also specify protocol if port range is given.",
            kind="SecurityGroupProtocolRequiredWithPorts",
        )
    number = protocol_number(protocol)
    if number in PORT_PROTOCOLS:
        if low == 0 or high == 0:
            raise RuleRefused("Invalid value for port 0.", kind="SecurityGroupInvalidPortValue")
        if low is None or high is None or low > high:
            raise RuleRefused(
                "For TCP/UDP protocols, port_range_min must be <= port_range_max",
                kind="SecurityGroupInvalidPortRange",
            )
    elif number in (ICMP, ICMPV6):
        for value, field, attr in (
            (low, "type", "port_range_min"),
            (high, "code", "port_range_max"),
        ):
            if value is not None and not 0 <= value <= 255:
                raise RuleRefused(
                    f"Invalid value for ICMP {field} ({attr}) {value}. It must be 0 to 255.",
                    kind="SecurityGroupInvalidIcmpValue",
                )
        if low is None:
            raise RuleRefused(
                f"ICMP code (port-range-max) {high} is provided but ICMP type "
                "(port-range-min) is missing.",
                kind="SecurityGroupMissingIcmpType",
            )
    else:
        raise RuleRefused(
            f"Invalid protocol {number} for port range, only supported for "
            f"{_PORT_PROTOCOL_NAMES} protocols.",
            kind="SecurityGroupInvalidProtocolForPort",
        )


def check_rule(
    *,
    direction: Any,
    ethertype: Any,
    protocol: Any,
    port_range_min: Any,
    port_range_max: Any,
    remote_ip_prefix: Any,
) -> CheckedRule:
    """A rule's values as Neutron converts and validates them, in Neutron's order."""
    checked_direction = _check_choice("direction", direction, DIRECTIONS)
    checked_protocol = _check_protocol(protocol)
    low, high = _check_port(port_range_min), _check_port(port_range_max)
    checked_ethertype = _check_ethertype(ethertype)
    cidr = _check_cidr(remote_ip_prefix)
    if checked_ethertype == "IPv6":
        # Neutron stores the legacy spellings of ICMP on IPv6 as ipv6-icmp (58).
        if checked_protocol in ("icmp", "icmpv6"):
            checked_protocol = "ipv6-icmp"
        elif checked_protocol == str(ICMP):
            checked_protocol = str(ICMPV6)
    _check_ports(checked_protocol, low, high)
    if cidr is not None and checked_ethertype != f"IPv{cidr.version}":
        raise RuleRefused(
            f"Conflicting value ethertype {checked_ethertype} for CIDR {remote_ip_prefix}",
            kind="SecurityGroupRuleParameterConflict",
        )
    if checked_ethertype == "IPv4" and protocol_number(checked_protocol) in _IPV6_ONLY:
        raise RuleRefused(
            f"Invalid ethertype {checked_ethertype} for protocol {checked_protocol}.",
            kind="SecurityGroupEthertypeConflictWithProtocol",
        )
    return CheckedRule(
        direction=checked_direction,
        ethertype=checked_ethertype,
        protocol=checked_protocol,
        port_range_min=low,
        port_range_max=high,
        remote_ip_prefix=None if cidr is None else str(cidr),
        normalized_cidr=None if cidr is None else str(cidr.network),
    )


def enforced_protocol(protocol: str | None) -> int | None:
    """The protocol a rule matches in the data plane: None for any (also for protocol 0)."""
    number = protocol_number(protocol)
    return None if number == ANY_PROTOCOL else number
