"""Names of everything one amphora owns on the host, derived from its id alone.

Every name starts with the deployment's `name_prefix` (1-5 of a-z0-9, starting with
a letter), so two deployments (or two test runs) on one host never touch each
other's objects, and a restarted controller finds its orphans by name:

    <prefix>-amp-<id>            management namespace: the agent and `mgmt0`
    <prefix>-amp-<id>-haproxy    tenant namespace: HAProxy, keepalived and `eth1`
    <prefix><hex8>m              host end of the management veth (on the mgmt bridge)
    <prefix><hex8>t              host end of the tenant veth (on the tenant bridge)

`<hex8>` is the first 8 hex digits of the amphora's UUID; interface names have at
most 15 characters (IFNAMSIZ - 1), which 5 + 8 + 1 respects.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

IFNAME_MAX = 15
"""Longest interface name Linux accepts."""

MGMT_IFNAME = "mgmt0"
"""The management interface inside the management namespace."""

TENANT_IFNAME = "eth1"
"""The VIP interface inside the tenant namespace (Octavia's amphora uses eth1 too)."""

_PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,4}$")
_UUID_RE = r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}"


def check_prefix(prefix: str) -> str:
    """Return `prefix` if it is a valid `name_prefix`, else raise ValueError."""
    if not _PREFIX_RE.match(prefix):
        raise ValueError(
            f"name prefix {prefix!r}: use 1-5 characters of a-z and 0-9, starting with a letter"
        )
    return prefix


def check_ifname(name: str) -> str:
    """Return `name` if Linux accepts it as an interface name, else raise ValueError."""
    if not 0 < len(name) <= IFNAME_MAX or "/" in name or ":" in name or name.strip() != name:
        raise ValueError(f"interface name {name!r}: use 1-{IFNAME_MAX} characters, no / : or space")
    return name


@dataclass(frozen=True)
class AmphoraNames:
    """The host names of one amphora. The id is normalised to its canonical UUID text."""

    prefix: str
    amphora_id: str

    def __post_init__(self) -> None:
        check_prefix(self.prefix)
        try:
            canonical = str(uuid.UUID(self.amphora_id))
        except ValueError:
            raise ValueError(f"amphora id {self.amphora_id!r} is not a UUID") from None
        object.__setattr__(self, "amphora_id", canonical)

    @property
    def mgmt_namespace(self) -> str:
        return f"{self.prefix}-amp-{self.amphora_id}"

    @property
    def tenant_namespace(self) -> str:
        return f"{self.prefix}-amp-{self.amphora_id}-haproxy"

    @property
    def namespaces(self) -> tuple[str, str]:
        return (self.mgmt_namespace, self.tenant_namespace)

    @property
    def mgmt_veth(self) -> str:
        return check_ifname(f"{self.prefix}{self._hex8}m")

    @property
    def tenant_veth(self) -> str:
        return check_ifname(f"{self.prefix}{self._hex8}t")

    @property
    def _hex8(self) -> str:
        return self.amphora_id[:8]  # canonical UUID text starts with 8 hex digits


def amphora_id_of_namespace(prefix: str, namespace: str) -> str | None:
    """The amphora id in one of this prefix's amphora namespace names, or None."""
    match = re.fullmatch(rf"{re.escape(prefix)}-amp-({_UUID_RE})(-haproxy)?", namespace)
    return match.group(1) if match else None
