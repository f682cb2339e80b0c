"""What the controller needs from a network driver: host networks and VIP plugs.

Every method is idempotent and safe to call again after a crash at any point;
failures are `TemporaryError`s (retry) unless the arguments themselves are wrong
(`ValueError`). VIP and VRRP addresses are allocated by the controller, not here.

Implementations: `bridges.BridgeNetworkDriver` (Linux bridges on this host) and
`noop.NoopNetworkDriver` (in memory, for API tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from statera.domain.security_groups import SecurityGroupRuleSpec
from statera.settings import NetworkSettings


class NetworkDriver(Protocol):
    def ensure_host_networks(self) -> None:
        """Create (or repair) the management network and every tenant network on the host."""
        ...

    def teardown_host_networks(self) -> None:
        """Remove what `ensure_host_networks` creates; nothing happens if it is gone."""
        ...

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
        """Give the amphora's tenant side an interface on `network` holding `vrrp_ip`, `vip`
        and every address of `additional_vips` (on other subnets of `network`); without
        `hold_vips` only `vrrp_ip` (keepalived holds the VIPs on the MASTER)."""
        ...

    def set_vip_security(
        self,
        *,
        amphora_id: str,
        rules: Sequence[SecurityGroupRuleSpec] | None,
        vip_addresses: Sequence[str],
    ) -> None:
        """Enforce security group `rules` on traffic to and from the amphora's VIPs; None
        removes any filter (the VIP is open, as with Statera's own security group)."""
        ...

    def unplug_vip(self, amphora_id: str) -> None:
        """Remove the amphora's tenant interface; nothing happens if it is gone."""
        ...
