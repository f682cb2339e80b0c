"""Create, update, delete and batch-update members (Octavia §1.8).

A member change re-renders its pool's backend: the pool and the listeners
using it go to PENDING_UPDATE with the load balancer. The batch update
matches members by (address, protocol_port); a batch that changes nothing
changes no state at all (no PENDING_*, no new generation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from statera.db.base import new_id
from statera.db.models import HealthMonitor, Member, Pool
from statera.db.queries import tags as tag_queries
from statera.domain.enums import OperatingStatus
from statera.domain.errors import Conflict, InvalidSpec, NotSupported
from statera.services import lookup, quotas, rules
from statera.services.changes import (
    PENDING_CREATE,
    PENDING_DELETE,
    PENDING_UPDATE,
    add_tags,
    begin_change,
    check_mutable,
    listeners_using_pool,
    mark,
    set_tags,
)
from statera.settings import Settings

DEFAULT_WEIGHT = 1
# What a PUT of null resets, and what a batch entry that omits the key means.
DEFAULTS: dict[str, Any] = {
    "weight": DEFAULT_WEIGHT,
    "backup": False,
    "admin_state_up": True,
    "monitor_address": None,
    "monitor_port": None,
}
COLUMN = {"admin_state_up": "enabled"}


def _duplicate(address: str, port: int) -> Conflict:
    return Conflict(
        f"Another member on this pool is already using ip {address} on protocol_port {port}"
    )


def _subnet_id(settings: Settings, ref: str | None) -> str | None:
    if ref is None:
        return None
    net = settings.network_named(ref)
    if net is None:
        raise InvalidSpec(f"Subnet {ref} not found.")
    return net.subnet_id


def build(
    session: Session,
    *,
    pool: Pool,
    values: Mapping[str, Any],
    settings: Settings,
    has_monitor: bool,
    status: str = PENDING_CREATE,
) -> Member:
    """Validate and add one member to `pool` (no status bookkeeping, no duplicate check)."""
    if values.get("request_sriov"):
        raise NotSupported("SR-IOV members (request_sriov) are not supported by this release.")
    rules.member_address(values["address"])
    member = Member(
        id=new_id(),
        project_id=pool.project_id,
        pool_id=pool.id,
        name=values.get("name"),
        address=values["address"],
        protocol_port=values["protocol_port"],
        subnet_id=_subnet_id(settings, values.get("subnet_id")),
        provisioning_status=status,
        operating_status=(
            OperatingStatus.OFFLINE if has_monitor else OperatingStatus.NO_MONITOR
        ).value,
    )
    for key, default in DEFAULTS.items():
        value = values.get(key)
        setattr(member, COLUMN.get(key, key), default if value is None else value)
    session.add(member)
    add_tags(session, member.id, values.get("tags"))
    return member


def build_many(
    session: Session,
    *,
    pool: Pool,
    members: Sequence[Mapping[str, Any]],
    settings: Settings,
    has_monitor: bool,
) -> list[Member]:
    """Members of a new pool (graph create), refusing duplicates within the list."""
    seen: set[tuple[str, int]] = set()
    out: list[Member] = []
    for values in members:
        key = (values["address"], values["protocol_port"])
        if key in seen:
            raise _duplicate(*key)
        seen.add(key)
        out.append(
            build(session, pool=pool, values=values, settings=settings, has_monitor=has_monitor)
        )
    return out


def _has_monitor(session: Session, pool: Pool) -> bool:
    return (
        session.scalar(select(HealthMonitor.id).where(HealthMonitor.pool_id == pool.id)) is not None
    )


def _touch_pool(session: Session, pool: Pool) -> None:
    mark([pool, *listeners_using_pool(session, pool.id)], PENDING_UPDATE)


def create(
    session: Session, *, settings: Settings, pool_id: str, values: Mapping[str, Any]
) -> Member:
    pool, lb = lookup.pool(session, pool_id)
    begin_change(lb)
    clash = session.scalar(
        select(Member.id).where(
            Member.pool_id == pool.id,
            Member.address == values["address"],
            Member.protocol_port == values["protocol_port"],
        )
    )
    if clash is not None:
        raise _duplicate(values["address"], values["protocol_port"])
    member = build(
        session,
        pool=pool,
        values=values,
        settings=settings,
        has_monitor=_has_monitor(session, pool),
    )
    _touch_pool(session, pool)
    quotas.enforce(
        session, settings=settings.quotas, project_id=lb.project_id, resources=[quotas.MEMBER]
    )
    return member


def _apply(member: Member, values: Mapping[str, Any]) -> bool:
    """Set the updatable attributes named in `values` (null: default); True if any changed."""
    changed = False
    if "name" in values and member.name != values["name"]:
        member.name = values["name"]
        changed = True
    for key, default in DEFAULTS.items():
        if key not in values:
            continue
        value = default if values[key] is None else values[key]
        column = COLUMN.get(key, key)
        if getattr(member, column) != value:
            setattr(member, column, value)
            changed = True
    return changed


def update(session: Session, *, pool_id: str, member_id: str, values: Mapping[str, Any]) -> Member:
    member, pool, lb = lookup.member(session, pool_id, member_id)
    begin_change(lb)
    _apply(member, values)
    if "tags" in values:
        set_tags(session, member.id, values["tags"])
    mark([member], PENDING_UPDATE)
    _touch_pool(session, pool)
    return member


def delete(session: Session, *, pool_id: str, member_id: str) -> None:
    member, pool, lb = lookup.member(session, pool_id, member_id)
    begin_change(lb)
    mark([member], PENDING_DELETE)
    _touch_pool(session, pool)


def batch_update(
    session: Session,
    *,
    settings: Settings,
    pool_id: str,
    members: Sequence[Mapping[str, Any]],
    additive_only: bool,
) -> bool:
    """Make the pool's members match `members`; False (and nothing written) if a no-op."""
    pool, lb = lookup.pool(session, pool_id)
    check_mutable(lb)
    keys = [(m["address"], m["protocol_port"]) for m in members]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise InvalidSpec(
            f"Validation failure: Member {dup[0]}:{dup[1]} appears more than once in the request."
        )
    current = {
        (m.address, m.protocol_port): m
        for m in session.scalars(select(Member).where(Member.pool_id == pool.id))
        if m.provisioning_status != PENDING_DELETE
    }
    wanted = dict(zip(keys, members, strict=True))
    new = [values for key, values in wanted.items() if key not in current]
    gone = [] if additive_only else [m for key, m in current.items() if key not in wanted]
    old_tags = tag_queries.by_resource(session, [m.id for m in current.values()])
    updated: list[Member] = []
    for key, values in wanted.items():
        member = current.get(key)
        if member is None:
            continue
        full = {k: values.get(k) for k in DEFAULTS}
        if values.get("name") is not None:
            full["name"] = values["name"]
        changed = _apply(member, full)
        tags = values.get("tags")
        if tags is not None and sorted(set(tags)) != old_tags.get(member.id, []):
            set_tags(session, member.id, tags)
            changed = True
        if changed:
            updated.append(member)
    if not (new or gone or updated):
        return False
    begin_change(lb)
    has_monitor = _has_monitor(session, pool)
    for values in new:
        build(session, pool=pool, values=values, settings=settings, has_monitor=has_monitor)
    mark(updated, PENDING_UPDATE)
    mark(gone, PENDING_DELETE)
    _touch_pool(session, pool)
    if new:
        quotas.enforce(
            session, settings=settings.quotas, project_id=lb.project_id, resources=[quotas.MEMBER]
        )
    return True
