"""Per-project quotas (octavia-spec §1.13): read, override, reset, and enforce on create.

A project's limit for a resource is its stored override (`quota` row column)
or, where that is NULL or there is no row, `[quotas] default_<resource>_quota`;
-1 means unlimited. `enforce` runs at the end of every create transaction,
after the new objects are flushed, and counts the project's objects that are
not DELETED, so a single-call graph create or a batch member update is
counted as a whole. When any limit involved is finite it first locks the
project's quota row (creating an empty one if needed), so two concurrent
creates cannot both take the last unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from statera.db.models import (
    HealthMonitor,
    L7Policy,
    L7Rule,
    Listener,
    LoadBalancer,
    Member,
    Pool,
    Quota,
)
from statera.domain.errors import QuotaExceeded
from statera.settings import QuotaSettings

DELETED = "DELETED"
UNLIMITED = -1


@dataclass(frozen=True)
class Resource:
    field: str
    """The API's field name (`loadbalancer`, `healthmonitor`, ...)."""
    column: str
    """The `quota` table's column and the `default_<column>_quota` option."""
    model: Any
    word: str
    """How Octavia names the resource in "Quota has been met for resources: ..."."""


RESOURCES: tuple[Resource, ...] = (
    Resource("loadbalancer", "load_balancer", LoadBalancer, "Load Balancer"),
    Resource("listener", "listener", Listener, "Listener"),
    Resource("member", "member", Member, "Member"),
    Resource("pool", "pool", Pool, "Pool"),
    Resource("healthmonitor", "health_monitor", HealthMonitor, "Health Monitor"),
    Resource("l7policy", "l7policy", L7Policy, "L7Policy"),
    Resource("l7rule", "l7rule", L7Rule, "L7Rule"),
)
BY_FIELD = {r.field: r for r in RESOURCES}
DEPRECATED_ALIASES = {"load_balancer": "loadbalancer", "health_monitor": "healthmonitor"}
"""Octavia's older spellings, accepted in PUT bodies and echoed in responses."""

LOAD_BALANCER, LISTENER, MEMBER, POOL, HEALTH_MONITOR, L7POLICY, L7RULE = RESOURCES


def defaults(settings: QuotaSettings) -> dict[str, int]:
    """The configured default limit of every resource, by API field."""
    return {r.field: int(getattr(settings, f"default_{r.column}_quota")) for r in RESOURCES}


def _effective(row: Quota | None, settings: QuotaSettings) -> dict[str, int]:
    limits = defaults(settings)
    if row is not None:
        for r in RESOURCES:
            value = getattr(row, r.column)
            if value is not None:
                limits[r.field] = int(value)
    return limits


def limits(session: Session, *, settings: QuotaSettings, project_id: str) -> dict[str, int]:
    """The project's limit of every resource (override or default), by API field."""
    return _effective(session.get(Quota, project_id), settings)


def with_aliases(limits: Mapping[str, int]) -> dict[str, Any]:
    """A quota document as Octavia answers it: every field plus its deprecated alias."""
    doc: dict[str, Any] = dict(limits)
    for alias, field in DEPRECATED_ALIASES.items():
        doc[alias] = limits[field]
    return doc


def _has_override() -> Any:
    return or_(*(getattr(Quota, r.column).is_not(None) for r in RESOURCES))


def overridden(session: Session, *, project_id: str | None = None) -> list[Quota]:
    """Quota rows that override at least one default, by project id."""
    query = select(Quota).where(_has_override()).order_by(Quota.project_id)
    if project_id is not None:
        query = query.where(Quota.project_id == project_id)
    return list(session.scalars(query))


def effective_of(row: Quota, *, settings: QuotaSettings) -> dict[str, int]:
    return _effective(row, settings)


def update(
    session: Session, *, settings: QuotaSettings, project_id: str, values: Mapping[str, int | None]
) -> dict[str, int]:
    """Merge `values` (API fields; None = back to the default) into the project's overrides."""
    row = _locked_row(session, project_id)
    for field, value in values.items():
        setattr(row, BY_FIELD[field].column, value)
    session.flush()
    return _effective(row, settings)


def reset(session: Session, *, project_id: str) -> None:
    """Forget every override of the project (its limits are the defaults again)."""
    row = session.get(Quota, project_id)
    if row is not None:
        session.delete(row)
        session.flush()


def _locked_row(session: Session, project_id: str) -> Quota:
    """The project's quota row, locked FOR UPDATE; created (all NULL) if missing."""
    query = select(Quota).where(Quota.project_id == project_id).with_for_update()
    row = session.scalars(query.execution_options(populate_existing=True)).first()
    if row is not None:
        return row
    try:
        with session.begin_nested():
            session.add(Quota(project_id=project_id))
    except IntegrityError:
        pass  # another transaction created it first; lock theirs below
    row = session.scalars(query.execution_options(populate_existing=True)).one()
    return row


def _count(session: Session, resource: Resource, project_id: str) -> int:
    model = resource.model
    query = (
        select(func.count())
        .select_from(model)
        .where(model.project_id == project_id, model.provisioning_status != DELETED)
    )
    return int(session.scalar(query) or 0)


def enforce(
    session: Session,
    *,
    settings: QuotaSettings,
    project_id: str | None,
    resources: Iterable[Resource],
) -> None:
    """Raise QuotaExceeded if the project now holds more of a resource than its limit.

    Call it inside the create transaction after the new rows are added; it
    flushes them first. Costs nothing more when every limit involved is -1.
    """
    if project_id is None:
        return
    wanted = tuple(dict.fromkeys(resources))
    current = limits(session, settings=settings, project_id=project_id)
    if all(current[r.field] == UNLIMITED for r in wanted):
        return
    session.flush()
    current = _effective(_locked_row(session, project_id), settings)
    exceeded = [
        r.word
        for r in wanted
        if current[r.field] != UNLIMITED and _count(session, r, project_id) > current[r.field]
    ]
    if exceeded:
        raise QuotaExceeded(f"Quota has been met for resources: {', '.join(exceeded)}")
