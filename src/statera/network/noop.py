"""A network driver that plugs nothing and remembers what it was asked, for API tests."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from statera.domain.security_groups import SecurityGroupRuleSpec
from statera.settings import NetworkSettings


@dataclass(frozen=True)
class NoopPlug:
    network: NetworkSettings
    vrrp_ip: str
    vip: str
    additional_vips: tuple[str, ...] = ()
    hold_vips: bool = True


class NoopNetworkDriver:
    """Records plugs in memory; the host is never touched."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.host_networks_ready = False
        self.plugs: dict[str, NoopPlug] = {}
        self.security: dict[str, tuple[tuple[SecurityGroupRuleSpec, ...], tuple[str, ...]]] = {}
        """Amphora id → the security group rules and VIPs it enforces them for."""
        """Amphora id → its current VIP plug."""

    def ensure_host_networks(self) -> None:
        self.host_networks_ready = True

    def teardown_host_networks(self) -> None:
        self.host_networks_ready = False

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
        with self._lock:
            self.plugs[amphora_id] = NoopPlug(
                network=network,
                vrrp_ip=vrrp_ip,
                vip=vip,
                additional_vips=tuple(additional_vips),
                hold_vips=hold_vips,
            )

    def set_vip_security(
        self,
        *,
        amphora_id: str,
        rules: Sequence[SecurityGroupRuleSpec] | None,
        vip_addresses: Sequence[str],
    ) -> None:
        with self._lock:
            if rules is None:
                self.security.pop(amphora_id, None)
            else:
                self.security[amphora_id] = (tuple(rules), tuple(vip_addresses))

    def unplug_vip(self, amphora_id: str) -> None:
        with self._lock:
            self.plugs.pop(amphora_id, None)
            self.security.pop(amphora_id, None)
