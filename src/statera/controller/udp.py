"""UDP listeners: what the amphora's agent balances with nftables, HAProxy having no UDP.

`udp_config` turns the UDP listeners of a load balancer's spec into the
agent's `UdpConfig`; `without_udp` is the spec HAProxy renders (everything
else). Both are pure.
"""

from __future__ import annotations

import dataclasses
import ipaddress

from statera.domain.enums import Algorithm, HealthMonitorType, ListenerProtocol, PoolProtocol
from statera.domain.specs import (
    HealthMonitorSpec,
    ListenerSpec,
    LoadBalancerSpec,
    MemberSpec,
    PoolSpec,
)
from statera.protocol.agent_api import (
    UdpAlgorithm,
    UdpConfig,
    UdpListener,
    UdpMember,
    UdpMonitor,
    UdpMonitorType,
)

_ALGORITHMS: dict[Algorithm, UdpAlgorithm] = {
    Algorithm.ROUND_ROBIN: "ROUND_ROBIN",
    Algorithm.SOURCE_IP: "SOURCE_IP",
    Algorithm.SOURCE_IP_PORT: "SOURCE_IP_PORT",
}
"""LEAST_CONNECTIONS has no nftables form; the API refuses it on UDP pools."""
_MONITOR_TYPES: dict[HealthMonitorType, UdpMonitorType] = {
    HealthMonitorType.UDP_CONNECT: "UDP-CONNECT",
    HealthMonitorType.PING: "PING",
    HealthMonitorType.TCP: "TCP",
    HealthMonitorType.HTTP: "HTTP",
}


def is_udp(listener: ListenerSpec) -> bool:
    return listener.protocol is ListenerProtocol.UDP


def without_udp(spec: LoadBalancerSpec) -> LoadBalancerSpec:
    """The load balancer as HAProxy serves it: no UDP listener, no UDP pool."""
    return dataclasses.replace(
        spec,
        listeners=tuple(li for li in spec.listeners if not is_udp(li)),
        pools=tuple(p for p in spec.pools if p.protocol is not PoolProtocol.UDP),
    )


def udp_config(spec: LoadBalancerSpec) -> UdpConfig:
    """The enabled UDP listeners of an enabled load balancer, with their default pools."""
    listeners: list[UdpListener] = []
    if spec.admin_state_up:
        for listener in spec.listeners:
            if is_udp(listener) and listener.admin_state_up:
                pool = spec.pool(listener.default_pool_id) if listener.default_pool_id else None
                listeners.append(_listener(spec, listener, pool))
    return {"listeners": listeners}


def _listener(spec: LoadBalancerSpec, listener: ListenerSpec, pool: PoolSpec | None) -> UdpListener:
    live = pool is not None and pool.admin_state_up
    persistence = pool.session_persistence if pool is not None else None
    timeout = None
    granularity = None
    if persistence is not None:
        timeout = persistence.persistence_timeout or 360  # Octavia's default
        granularity = persistence.persistence_granularity
    monitor = pool.health_monitor if pool is not None else None
    return {
        "id": listener.id,
        "vips": list(spec.vip_addresses),
        "port": listener.protocol_port,
        "algorithm": _ALGORITHMS[pool.lb_algorithm] if pool is not None else "ROUND_ROBIN",
        "connection_limit": listener.connection_limit,
        "persistence_timeout": timeout,
        "persistence_granularity": granularity,
        "pool_id": pool.id if pool is not None else None,
        "members": [_member(m) for m in pool.members] if pool is not None and live else [],
        "monitor": _monitor(monitor) if monitor is not None and monitor.admin_state_up else None,
        # The API keeps CIDRs as written (host bits and all); the agent takes networks.
        "allowed_cidrs": sorted(
            {str(ipaddress.ip_network(c, strict=False)) for c in listener.allowed_cidrs}
        ),
    }


def _member(member: MemberSpec) -> UdpMember:
    return {
        "id": member.id,
        "address": member.address,
        "port": member.protocol_port,
        "weight": member.weight,
        "enabled": member.admin_state_up,
        "backup": member.backup,
        "monitor_address": member.monitor_address,
        "monitor_port": member.monitor_port,
    }


def _monitor(monitor: HealthMonitorSpec) -> UdpMonitor:
    http = monitor.type is HealthMonitorType.HTTP
    return {
        "type": _MONITOR_TYPES[monitor.type],
        "delay": monitor.delay_s,
        "timeout": monitor.timeout_s,
        "max_retries": monitor.max_retries,
        "max_retries_down": monitor.max_retries_down,
        "http_method": (monitor.http_method or "GET") if http else None,
        "url_path": (monitor.url_path or "/") if http else None,
        "expected_codes": (monitor.expected_codes or "200") if http else None,
    }
