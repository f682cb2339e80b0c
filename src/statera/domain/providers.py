"""What the amphora provider accepts in flavor and availability-zone metadata.

Octavia's amphora driver validates `flavor_data` and `availability_zone_data`
against a JSON schema with `additionalProperties: false`; these tables are
that schema (key → JSON type and description), and the same descriptions are
what `/providers/{p}/flavor_capabilities` and `/availability_zone_capabilities`
list. `check_flavor_data` and `check_availability_zone_data` return the
problem in jsonschema's wording (the API prefixes Octavia's
"Provider '<p>' does not support a requested option: ") or None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from statera.domain.enums import Topology


@dataclass(frozen=True)
class Capability:
    name: str
    json_type: str
    """`string`, `boolean` or `array` (jsonschema's names)."""
    description: str
    allowed: tuple[str, ...] = ()


FLAVOR_CAPABILITIES: tuple[Capability, ...] = (
    Capability(
        "loadbalancer_topology",
        "string",
        "The load balancer topology. One of: SINGLE - One amphora per load balancer. "
        "ACTIVE_STANDBY - Two amphora per load balancer.",
        allowed=(Topology.SINGLE.value, Topology.ACTIVE_STANDBY.value),
    ),
    Capability("compute_flavor", "string", "The compute driver flavor ID."),
    Capability("amp_image_tag", "string", "The amphora image tag."),
    Capability(
        "sriov_vip",
        "boolean",
        "When true, the VIP port will be created using an SR-IOV VF port.",
    ),
    Capability(
        "allow_member_sriov",
        "boolean",
        "When true, users can request SR-IOV member ports.",
    ),
)

AVAILABILITY_ZONE_CAPABILITIES: tuple[Capability, ...] = (
    Capability("compute_zone", "string", "The compute availability zone."),
    Capability("volume_zone", "string", "The volume availability zone."),
    Capability("management_network", "string", "The management network ID for the amphora."),
    Capability(
        "valid_vip_networks",
        "array",
        "List of network IDs that are allowed for VIP use. This overrides/replaces the list "
        "of allowed networks configured in `octavia.conf`.",
    ),
)

_PYTHON_TYPES: dict[str, type] = {"string": str, "boolean": bool, "array": list}


def _json_repr(value: Any) -> str:
    return repr(value)


def _check(data: Any, schema: tuple[Capability, ...]) -> str | None:
    if not isinstance(data, dict):
        return f"{_json_repr(data)} is not of type 'object'"
    known = {c.name: c for c in schema}
    extra = [k for k in data if k not in known]
    if extra:
        listed = ", ".join(repr(k) for k in extra)
        verb = "were" if len(extra) > 1 else "was"
        return f"Additional properties are not allowed ({listed} {verb} unexpected)"
    for key, value in data.items():
        cap = known[key]
        expected = _PYTHON_TYPES[cap.json_type]
        if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            return f"{key} {_json_repr(value)} is not of type '{cap.json_type}'"
        if cap.allowed and value not in cap.allowed:
            return f"{key} {_json_repr(value)} is not one of {list(cap.allowed)!r}"
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            return f"{key} {_json_repr(value)} is not an array of strings"
    return None


def check_flavor_data(data: Any) -> str | None:
    """The first problem of decoded `flavor_data` for the amphora provider, or None."""
    return _check(data, FLAVOR_CAPABILITIES)


def check_availability_zone_data(data: Any) -> str | None:
    """The first problem of decoded `availability_zone_data`, or None."""
    return _check(data, AVAILABILITY_ZONE_CAPABILITIES)
