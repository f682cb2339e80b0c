"""The bookkeeping every accepted write does to its load balancer (the reconciler contract).

Each API write runs in one transaction that (1) locks the load balancer row
(`db.queries.load_balancers.lock_for_update`), (2) checks with
`domain.lifecycle` that it may change now (else 409), (3) moves the objects it
touches to PENDING_* (`mark`), and (4) calls `record_change`, which bumps
`generation` so the controller sees there is work, starts the build clock
(`pending_since`) if it is not running, and clears the last failure and any
retry delay. The controller compares `generation` with `applied_generation`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from statera.db.base import utcnow
from statera.db.models import L7Policy, Listener, LoadBalancer
from statera.db.queries import tags as tag_queries
from statera.domain import lifecycle
from statera.domain.enums import ProvisioningStatus
from statera.domain.errors import ImmutableResource

PENDING_CREATE = ProvisioningStatus.PENDING_CREATE.value
PENDING_UPDATE = ProvisioningStatus.PENDING_UPDATE.value
PENDING_DELETE = ProvisioningStatus.PENDING_DELETE.value
DELETED = ProvisioningStatus.DELETED.value


class Provisioned(Protocol):
    provisioning_status: str
    updated_at: datetime | None


def check_mutable(lb: LoadBalancer) -> None:
    if not lifecycle.is_mutable(lb.provisioning_status):
        raise ImmutableResource.of(lb.id)


def begin_change(lb: LoadBalancer, *, status: str = PENDING_UPDATE) -> None:
    """Check that `lb` is mutable and move it to `status` (a PENDING_* value)."""
    check_mutable(lb)
    lb.provisioning_status = status
    record_change(lb)


def begin_delete(lb: LoadBalancer) -> None:
    """Check that `lb` may be deleted (ACTIVE or ERROR) and move it to PENDING_DELETE."""
    if not lifecycle.is_deletable(lb.provisioning_status):
        raise ImmutableResource.of(lb.id)
    lb.provisioning_status = PENDING_DELETE
    record_change(lb)


def record_change(lb: LoadBalancer, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    lb.generation = (lb.generation or 0) + 1
    if lb.pending_since is None:
        lb.pending_since = now
    lb.last_error = None
    lb.not_before = None
    lb.updated_at = now


def mark(objects: Iterable[Provisioned], status: str) -> None:
    """Move objects to `status`; an object being created or deleted keeps that status."""
    now = utcnow()
    for obj in objects:
        if status == PENDING_UPDATE and obj.provisioning_status in (
            PENDING_CREATE,
            PENDING_DELETE,
        ):
            continue
        obj.provisioning_status = status
        obj.updated_at = now


def listeners_using_pool(session: Session, pool_id: str) -> Sequence[Listener]:
    """Listeners whose default pool is `pool_id` or with an L7 policy redirecting to it
    (they re-render when it changes; Octavia's `_get_affected_listener_ids`)."""
    redirecting = select(L7Policy.listener_id).where(
        L7Policy.redirect_pool_id == pool_id, L7Policy.provisioning_status != PENDING_DELETE
    )
    return session.scalars(
        select(Listener)
        .where(or_(Listener.default_pool_id == pool_id, Listener.id.in_(redirecting)))
        .order_by(Listener.created_at, Listener.id)
    ).all()


def set_tags(session: Session, resource_id: str, tags: Sequence[str] | None) -> None:
    """Replace the tags of an existing object."""
    tag_queries.replace(session, resource_id, list(dict.fromkeys(tags or ())))


def add_tags(session: Session, resource_id: str, tags: Sequence[str] | None) -> None:
    """Tag an object created in this transaction."""
    tag_queries.add(session, resource_id, list(dict.fromkeys(tags or ())))
