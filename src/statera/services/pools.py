"""Create, update and delete pools, with their members and monitor (Octavia §1.7).

`build` is shared by `POST /pools`, a listener's inline `default_pool` and the
load balancer's single-call create. A pool change re-renders every listener
that uses it as its default pool, so those go to PENDING_UPDATE too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from statera.db.base import new_id
from statera.db.models import HealthMonitor, LoadBalancer, Member, Pool
from statera.db.queries import load_balancers as lb_queries
from statera.domain.enums import OperatingStatus, SessionPersistenceType
from statera.domain.errors import Conflict, InvalidSpec
from statera.services import health_monitors, l7policies, lookup, members, quotas, rules, tls_refs
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

SP_KEYS = ("type", "cookie_name", "persistence_timeout", "persistence_granularity")


def _session_persistence(sp: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not sp:
        return None
    return {k: sp.get(k) for k in SP_KEYS}


def _enabled(value: bool | None) -> bool:
    return True if value is None else value


TLS_OPTIONS = ("tls_ciphers", "tls_versions", "alpn_protocols")
DEFAULT_ALPN_PROTOCOLS = ["h2", "http/1.1", "http/1.0"]
"""Octavia's default for listeners and TLS-enabled pools (everything the amphora speaks)."""


def _tls_options(
    options: Mapping[str, Any], *, tls_enabled: bool, settings: Settings
) -> dict[str, Any]:
    """The TLS options kept in `Pool.extra`; a TLS-enabled pool gets Octavia's defaults
    for the ones not given (`[api_settings] default_pool_ciphers` and
    `default_pool_tls_versions`), as `db/prepare.create_pool` does."""
    out = {k: options.get(k) for k in (*TLS_OPTIONS, *tls_refs.POOL_REFS)}
    if tls_enabled:
        if out["tls_ciphers"] is None:
            out["tls_ciphers"] = settings.api.default_pool_ciphers
        if out["tls_versions"] is None:
            out["tls_versions"] = settings.api.pool_tls_versions
        if out["alpn_protocols"] is None:
            out["alpn_protocols"] = list(DEFAULT_ALPN_PROTOCOLS)
    return out


def build(
    session: Session,
    *,
    lb: LoadBalancer,
    values: Mapping[str, Any],
    settings: Settings,
    status: str = PENDING_CREATE,
) -> Pool:
    """Validate and add a pool of `lb` with its inline monitor and members."""
    protocol = values.get("protocol")
    if protocol is None:
        raise rules.mandatory("protocol")
    if values.get("lb_algorithm") is None:
        raise rules.mandatory("lb_algorithm")
    rules.pool_protocol(protocol)
    rules.udp_algorithm(values["lb_algorithm"], pool_protocol=protocol)
    rules.pool_tls(values)
    tls = _tls_options(values, tls_enabled=bool(values.get("tls_enabled")), settings=settings)
    tls_refs.check_pool(
        session, tls, changed=values, project_id=lb.project_id or "", settings=settings
    )
    rules.session_persistence(values.get("session_persistence"), pool_protocol=protocol)
    pool = Pool(
        id=new_id(),
        project_id=lb.project_id,
        load_balancer_id=lb.id,
        name=values.get("name"),
        description=values.get("description"),
        protocol=protocol,
        lb_algorithm=values["lb_algorithm"],
        enabled=_enabled(values.get("admin_state_up")),
        provisioning_status=status,
        operating_status=OperatingStatus.OFFLINE.value,
        session_persistence=_session_persistence(values.get("session_persistence")),
        tls_enabled=bool(values.get("tls_enabled")),
        extra=tls,
    )
    session.add(pool)
    add_tags(session, pool.id, values.get("tags"))
    monitor = values.get("healthmonitor")
    if monitor is not None:
        health_monitors.build(session, pool=pool, values=monitor, settings=settings)
    members.build_many(
        session,
        pool=pool,
        members=values.get("members") or (),
        settings=settings,
        has_monitor=monitor is not None,
    )
    return pool


def create(session: Session, *, settings: Settings, values: Mapping[str, Any]) -> Pool:
    listener_id = values.get("listener_id")
    lb_id = values.get("loadbalancer_id")
    if listener_id is None and lb_id is None:
        raise InvalidSpec("Validation failure: loadbalancer_id or listener_id must be specified.")
    listener = None
    if listener_id is not None:
        listener, lb = lookup.listener(session, listener_id)
        if lb_id is not None and lb_id != lb.id:
            raise InvalidSpec(
                f"Validation failure: Listener {listener_id} is not on load balancer {lb_id}."
            )
    else:
        assert lb_id is not None
        lb = lb_queries.lock_for_update(session, lb_id)
    begin_change(lb)
    if listener is not None and listener.default_pool_id is not None:
        raise Conflict("This listener already has a default pool")
    pool = build(session, lb=lb, values=values, settings=settings)
    if listener is not None:
        rules.pool_for_listener(listener_protocol=listener.protocol, pool_protocol=pool.protocol)
        session.flush()
        listener.default_pool_id = pool.id
        mark([listener], PENDING_UPDATE)
    quotas.enforce(
        session, settings=settings.quotas, project_id=lb.project_id, resources=quotas.RESOURCES
    )
    return pool


def update(
    session: Session, *, settings: Settings, pool_id: str, values: Mapping[str, Any]
) -> Pool:
    pool, lb = lookup.pool(session, pool_id)
    begin_change(lb)
    rules.pool_tls(values, current=pool.extra)
    if "lb_algorithm" in values:
        if values["lb_algorithm"] is None:
            raise InvalidSpec("None is not a valid option for lb_algorithm")
        rules.udp_algorithm(values["lb_algorithm"], pool_protocol=pool.protocol)
        pool.lb_algorithm = values["lb_algorithm"]
    for key in ("name", "description"):
        if key in values:
            setattr(pool, key, values[key])
    if "admin_state_up" in values:
        pool.enabled = _enabled(values["admin_state_up"])
    if "session_persistence" in values:
        given = values["session_persistence"]
        if given is None:
            pool.session_persistence = None
        else:
            merged = dict(pool.session_persistence or {})
            merged.update(given)
            if (
                merged.get("type") != SessionPersistenceType.APP_COOKIE
                and "cookie_name" not in given
            ):
                merged["cookie_name"] = None
            rules.session_persistence(merged, pool_protocol=pool.protocol)
            pool.session_persistence = _session_persistence(merged)
    tls_keys = (*TLS_OPTIONS, *tls_refs.POOL_REFS)
    if "tls_enabled" in values or any(k in values for k in tls_keys):
        if "tls_enabled" in values:
            pool.tls_enabled = bool(values["tls_enabled"])
        merged = dict(pool.extra or {})
        merged.update({k: values[k] for k in tls_keys if k in values})
        tls_refs.check_pool(
            session, merged, changed=values, project_id=lb.project_id or "", settings=settings
        )
        # Unlike Octavia (which leaves them null), a pool switched to TLS by PUT gets the
        # same defaults as one created with it, so GET shows what HAProxy is told.
        pool.extra = {
            **merged,
            **_tls_options(merged, tls_enabled=pool.tls_enabled, settings=settings),
        }
    if "tags" in values:
        set_tags(session, pool.id, values["tags"])
    mark([pool, *listeners_using_pool(session, pool.id)], PENDING_UPDATE)
    return pool


def delete(session: Session, *, pool_id: str) -> None:
    pool, lb = lookup.pool(session, pool_id)
    begin_change(lb)
    for policy in l7policies.policies_redirecting_to(session, pool.id):
        raise Conflict(f"Pool {pool.id} is in use by L7 policy {policy.id}")
    mark([pool], PENDING_DELETE)
    mark(session.scalars(select(Member).where(Member.pool_id == pool.id)), PENDING_DELETE)
    mark(
        session.scalars(select(HealthMonitor).where(HealthMonitor.pool_id == pool.id)),
        PENDING_DELETE,
    )
    mark(listeners_using_pool(session, pool.id), PENDING_UPDATE)
