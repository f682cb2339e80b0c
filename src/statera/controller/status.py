"""Operating status and statistics from what an amphora reports (octavia-spec §2, §4.4).

`apply_report` takes one amphora's status report (the heartbeat's shape) and
writes member, pool, listener and load balancer operating statuses and the
listener counters, changing a row only when its value changes. Until the
heartbeat path exists, the controller asks each amphora for this report.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from statera.db import models
from statera.db.base import utcnow
from statera.domain.enums import OperatingStatus, ProvisioningStatus
from statera.protocol.agent_api import AmphoraStatusReport

_MEMBER_STATUS = {
    "UP": OperatingStatus.ONLINE,
    "DOWN": OperatingStatus.ERROR,
    "DRAIN": OperatingStatus.DRAINING,
    "MAINT": OperatingStatus.OFFLINE,
    "no check": OperatingStatus.NO_MONITOR,
}


def member_status(state: str) -> OperatingStatus:
    """HAProxy's server state ('UP', 'DOWN 1/3', 'no check' ...) as Octavia's operating status."""
    if state.startswith("UP"):
        return OperatingStatus.ONLINE
    if state.startswith("DOWN"):
        return OperatingStatus.ERROR
    return _MEMBER_STATUS.get(state, OperatingStatus.OFFLINE)


def apply_report(s: Session, lb: models.LoadBalancer, report: AmphoraStatusReport) -> None:
    if lb.provisioning_status != ProvisioningStatus.ACTIVE.value:
        return  # mid-change: the report may describe the old configuration
    listeners = list(
        s.scalars(select(models.Listener).where(models.Listener.load_balancer_id == lb.id))
    )
    pools = list(s.scalars(select(models.Pool).where(models.Pool.load_balancer_id == lb.id)))
    pool_ids = [p.id for p in pools]
    members = (
        list(s.scalars(select(models.Member).where(models.Member.pool_id.in_(pool_ids))))
        if pool_ids
        else []
    )
    by_pool: dict[str, list[models.Member]] = {}
    for m in members:
        by_pool.setdefault(m.pool_id, []).append(m)

    reported_pools: dict[str, dict[str, Any]] = {}
    for key, value in report.get("pools", {}).items():
        reported_pools.setdefault(key.split(":", 1)[0], dict(value))

    lb_status = OperatingStatus.ONLINE if lb.enabled else OperatingStatus.OFFLINE
    for pool in pools:
        entry = reported_pools.get(pool.id)
        if entry is None:
            _set(pool, OperatingStatus.OFFLINE)
            for m in by_pool.get(pool.id, []):
                if m.operating_status != OperatingStatus.NO_MONITOR.value:
                    _set(m, OperatingStatus.OFFLINE)
            continue
        states: dict[str, str] = entry.get("members", {})
        any_down = False
        for m in by_pool.get(pool.id, []):
            state = states.get(m.id)
            if state is None:
                if m.operating_status != OperatingStatus.NO_MONITOR.value:
                    _set(m, OperatingStatus.OFFLINE)
                continue
            status = member_status(state)
            any_down = any_down or status == OperatingStatus.ERROR
            _set(m, status)
        if entry.get("status") == "DOWN":
            _set(pool, OperatingStatus.ERROR)
            lb_status = OperatingStatus.ERROR
        elif any_down:
            _set(pool, OperatingStatus.DEGRADED)
            if lb_status == OperatingStatus.ONLINE:
                lb_status = OperatingStatus.DEGRADED
        else:
            _set(pool, OperatingStatus.ONLINE)

    reported_listeners = report.get("listeners", {})
    now = utcnow()
    for li in listeners:
        got = reported_listeners.get(li.id)
        if got is None:
            enabled = li.enabled and lb.enabled
            _set(li, OperatingStatus.ERROR if enabled else OperatingStatus.OFFLINE)
            continue
        if got.get("status") == "FULL":
            _set(li, OperatingStatus.DEGRADED)
            if lb_status == OperatingStatus.ONLINE:
                lb_status = OperatingStatus.DEGRADED
        else:
            _set(li, OperatingStatus.ONLINE)
        stats = got.get("stats")
        if stats:
            _record_stats(s, li.id, report["id"], stats, now)
    _set(lb, lb_status)


def _set(row: Any, status: OperatingStatus) -> None:
    if row.operating_status != status.value:
        row.operating_status = status.value


_COUNTERS = (
    ("bytes_in", "rx"),
    ("bytes_out", "tx"),
    ("total_connections", "totconns"),
    ("request_errors", "ereq"),
)


def _record_stats(s: Session, listener_id: str, amphora_id: str, stats: Any, now: Any) -> None:
    """Add what the amphora counted since its last report; HAProxy's absolute counters
    restart at every reload, so a value below the last one is counted whole."""
    row = s.get(models.ListenerStatistics, (listener_id, amphora_id), with_for_update=True)
    if row is None:
        row = models.ListenerStatistics(
            listener_id=listener_id,
            amphora_id=amphora_id,
            bytes_in=0,
            bytes_out=0,
            total_connections=0,
            request_errors=0,
            active_connections=0,
            raw={},
        )
        s.add(row)
    raw = {column: int(stats.get(key, 0)) for column, key in _COUNTERS}
    last: dict[str, int] = dict(row.raw or {})
    active = int(stats.get("conns", 0))
    if raw == last and row.active_connections == active:
        return
    for column, _ in _COUNTERS:
        new, old = raw[column], last.get(column)
        delta = new - old if old is not None and new >= old else new
        if delta:
            setattr(row, column, getattr(row, column) + delta)
    row.active_connections = active
    row.raw = raw
    row.updated_at = now
