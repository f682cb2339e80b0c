"""Create, update and delete health monitors (Octavia §1.9).

A monitor change re-renders its pool's backend, so the pool and the
listeners using it go to PENDING_UPDATE with the load balancer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from statera.db.base import new_id
from statera.db.models import HealthMonitor, Pool
from statera.domain.enums import HealthMonitorType, HttpMethod, OperatingStatus
from statera.domain.errors import Conflict, InvalidSpec
from statera.services import lookup, quotas, rules
from statera.services.changes import (
    PENDING_CREATE,
    PENDING_DELETE,
    PENDING_UPDATE,
    add_tags,
    begin_change,
    listeners_using_pool,
    mark,
    set_tags,
)
from statera.settings import Settings

DEFAULT_MAX_RETRIES_DOWN = 3
DEFAULT_HTTP_METHOD = HttpMethod.GET.value
DEFAULT_URL_PATH = "/"
DEFAULT_EXPECTED_CODES = "200"
HTTP_TYPES = (HealthMonitorType.HTTP, HealthMonitorType.HTTPS)


def build(
    session: Session,
    *,
    pool: Pool,
    values: Mapping[str, Any],
    settings: Settings,
    status: str = PENDING_CREATE,
) -> HealthMonitor:
    """Validate and add a monitor for `pool` (no status bookkeeping)."""
    kind = values["type"]
    for field in ("type", "delay", "timeout", "max_retries"):
        if values.get(field) is None:
            raise rules.mandatory(field)
    rules.monitor_type(kind, allow_ping=settings.api.allow_ping_health_monitors)
    rules.monitor_for_pool(pool_protocol=pool.protocol, monitor_type=kind)
    rules.udp_connect_delay(
        monitor_type=kind,
        delay=values["delay"],
        minimum=settings.api.udp_connect_min_interval_health_monitor,
    )
    rules.monitor_http_fields(values, monitor_type=kind, present=False)
    rules.monitor_domain_name(
        domain_name=values.get("domain_name"), http_version=values.get("http_version")
    )
    existing = session.scalar(select(HealthMonitor.id).where(HealthMonitor.pool_id == pool.id))
    if existing is not None:
        raise Conflict("This pool already has a health monitor")
    is_http = kind in HTTP_TYPES
    hm = HealthMonitor(
        id=new_id(),
        project_id=pool.project_id,
        pool_id=pool.id,
        name=values.get("name"),
        type=kind,
        delay=values["delay"],
        timeout=values["timeout"],
        rise_threshold=values["max_retries"],
        fall_threshold=values.get("max_retries_down") or DEFAULT_MAX_RETRIES_DOWN,
        http_method=(values.get("http_method") or DEFAULT_HTTP_METHOD) if is_http else None,
        url_path=(values.get("url_path") or DEFAULT_URL_PATH) if is_http else None,
        expected_codes=(values.get("expected_codes") or DEFAULT_EXPECTED_CODES)
        if is_http
        else None,
        http_version=values.get("http_version"),
        domain_name=values.get("domain_name"),
        enabled=_enabled(values.get("admin_state_up")),
        provisioning_status=status,
        operating_status=OperatingStatus.OFFLINE.value,
    )
    session.add(hm)
    add_tags(session, hm.id, values.get("tags"))
    return hm


def _enabled(value: bool | None) -> bool:
    return True if value is None else value


def create(session: Session, *, settings: Settings, values: Mapping[str, Any]) -> HealthMonitor:
    pool, lb = lookup.pool(session, values["pool_id"])
    begin_change(lb)
    hm = build(session, pool=pool, values=values, settings=settings)
    mark([pool, *listeners_using_pool(session, pool.id)], PENDING_UPDATE)
    quotas.enforce(
        session,
        settings=settings.quotas,
        project_id=lb.project_id,
        resources=[quotas.HEALTH_MONITOR],
    )
    return hm


def update(
    session: Session, *, settings: Settings, hm_id: str, values: Mapping[str, Any]
) -> HealthMonitor:
    hm, pool, lb = lookup.health_monitor(session, hm_id)
    begin_change(lb)
    rules.monitor_http_fields(values, monitor_type=hm.type, present=True)
    for field in ("delay", "timeout", "max_retries"):
        if field in values and values[field] is None:
            raise InvalidSpec(f"None is not a valid option for {field}")
    rules.udp_connect_delay(
        monitor_type=hm.type,
        delay=values.get("delay"),
        minimum=settings.api.udp_connect_min_interval_health_monitor,
    )
    http_version = values.get("http_version", hm.http_version)
    domain_name = values.get("domain_name", hm.domain_name)
    rules.monitor_domain_name(domain_name=domain_name, http_version=http_version)
    simple = {
        "name": "name",
        "delay": "delay",
        "timeout": "timeout",
        "max_retries": "rise_threshold",
        "http_version": "http_version",
        "domain_name": "domain_name",
    }
    for key, column in simple.items():
        if key in values:
            setattr(hm, column, values[key])
    if "max_retries_down" in values:
        hm.fall_threshold = values["max_retries_down"] or DEFAULT_MAX_RETRIES_DOWN
    if "admin_state_up" in values:
        hm.enabled = _enabled(values["admin_state_up"])
    defaults = {
        "http_method": DEFAULT_HTTP_METHOD,
        "url_path": DEFAULT_URL_PATH,
        "expected_codes": DEFAULT_EXPECTED_CODES,
    }
    for key, default in defaults.items():
        if key in values:
            setattr(hm, key, values[key] or default)
    if "tags" in values:
        set_tags(session, hm.id, values["tags"])
    mark([hm], PENDING_UPDATE)
    mark([pool, *listeners_using_pool(session, pool.id)], PENDING_UPDATE)
    return hm


def delete(session: Session, *, hm_id: str) -> None:
    hm, pool, lb = lookup.health_monitor(session, hm_id)
    begin_change(lb)
    mark([hm], PENDING_DELETE)
    mark([pool, *listeners_using_pool(session, pool.id)], PENDING_UPDATE)
