"""The amphora admin actions: failover, config push, delete (Octavia §1.14, §4.6).

None of these touches the host: each marks rows and bumps the load
balancer's generation, and the controller does the work
(`controller/reconciler.py`). Failing over marks the amphorae to replace
PENDING_DELETE and the load balancer PENDING_UPDATE; the reconciler deletes
them (namespaces, agent, ports) and then builds replacements, so the VIP is
never on two amphorae at once. The rule a reader could break: an amphora is
only ever marked inside a transaction that holds its load balancer's row lock.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete as sql_delete
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from statera.db.base import utcnow
from statera.db.models import Amphora, Listener, LoadBalancer, Port
from statera.db.queries import load_balancers as lb_queries
from statera.domain import lifecycle
from statera.domain.enums import AmphoraStatus, ProvisioningStatus
from statera.domain.errors import Conflict, ImmutableResource, NotFound
from statera.services.changes import PENDING_UPDATE, begin_change, record_change

RESOURCE = "Amphora"
DELETED = AmphoraStatus.DELETED.value
PENDING_DELETE = AmphoraStatus.PENDING_DELETE.value
GONE = (DELETED, PENDING_DELETE)


def get_visible(session: Session, amphora_id: str) -> Amphora:
    """The amphora `amphora_id` unless it is DELETED (Octavia hides those), else NotFound."""
    amp = session.get(Amphora, amphora_id, populate_existing=True)
    if amp is None or amp.status == DELETED:
        raise NotFound.of(RESOURCE, amphora_id)
    return amp


def _lock_owner(session: Session, amphora_id: str) -> tuple[Amphora, LoadBalancer | None]:
    """The amphora, with its load balancer row-locked first (None if it has none)."""
    lb_id = session.scalar(select(Amphora.load_balancer_id).where(Amphora.id == amphora_id))
    lb = None
    if lb_id is not None:
        try:
            lb = lb_queries.lock_for_update(session, lb_id)
        except NotFound:
            raise NotFound.of(RESOURCE, amphora_id) from None
    return get_visible(session, amphora_id), lb


def begin_failover(
    session: Session, lb: LoadBalancer, *, amphora_ids: Sequence[str] | None
) -> None:
    """Mark `lb` (locked) PENDING_UPDATE and its amphorae (all, or `amphora_ids`) for
    replacement; 409 unless `lb` is ACTIVE or ERROR."""
    if not lifecycle.can_fail_over(lb.provisioning_status):
        raise ImmutableResource.of(lb.id)
    now = utcnow()
    lb.provisioning_status = PENDING_UPDATE
    record_change(lb, now=now)
    doomed = (
        update(Amphora)
        .where(Amphora.load_balancer_id == lb.id, Amphora.status.notin_(GONE))
        .values(status=PENDING_DELETE, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if amphora_ids is not None:
        doomed = doomed.where(Amphora.id.in_(amphora_ids))
    session.execute(doomed)
    # Octavia marks the load balancer and its listeners ACTIVE after a failover.
    session.execute(
        update(Listener)
        .where(
            Listener.load_balancer_id == lb.id,
            Listener.provisioning_status == ProvisioningStatus.ERROR.value,
        )
        .values(provisioning_status=PENDING_UPDATE, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def failover(session: Session, *, amphora_id: str) -> None:
    """Replace one amphora; an amphora without a load balancer is simply deleted."""
    amp, lb = _lock_owner(session, amphora_id)
    if lb is None:
        _forget(session, amp)
        return
    begin_failover(session, lb, amphora_ids=[amp.id])


def push_config(session: Session, *, amphora_id: str) -> None:
    """Re-push the configuration of the amphora's load balancer (`PUT .../config`).

    The agent has no configuration file of its own to reload in this release,
    so what this does is what changes on an amphora: the controller renders the
    HAProxy configuration again, uploads it to every amphora of the load
    balancer and reloads HAProxy. The load balancer must be ACTIVE (409
    otherwise) and is PENDING_UPDATE until that is done.
    """
    amp, lb = _lock_owner(session, amphora_id)
    if lb is None or amp.status == PENDING_DELETE:
        raise Conflict(f"Amphora {amphora_id} has no load balancer to configure.")
    begin_change(lb)


def delete(session: Session, *, amphora_id: str) -> None:
    """Delete an amphora in ERROR (409 otherwise), as Octavia's API 2.21.

    The controller removes it from the host; if it was its load balancer's
    last amphora, the controller builds a replacement (a load balancer that
    is not deleted always has an amphora).
    """
    amp, lb = _lock_owner(session, amphora_id)
    if amp.status != AmphoraStatus.ERROR.value:
        raise ImmutableResource(f"Amphora {amphora_id} is immutable and cannot be updated.")
    if lb is None:
        _forget(session, amp)
        return
    begin_failover(session, lb, amphora_ids=[amp.id])


def _forget(session: Session, amp: Amphora) -> None:
    """An amphora that serves no load balancer: the row goes DELETED with its ports
    (whatever is left on a host is removed by the controller's orphan sweep)."""
    amp.status = DELETED
    amp.updated_at = utcnow()
    session.execute(sql_delete(Port).where(Port.device_id == amp.id))
