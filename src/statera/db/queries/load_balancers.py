"""Reads and the row lock of load balancers; the sums behind `/stats`.

`lock_for_update` is the first statement of every API write: it takes the
load balancer's row lock (`SELECT ... FOR UPDATE`; SQLite already serialises
writers with `BEGIN IMMEDIATE`), so the API and the controller never change
one load balancer's tree at the same time. Rows in DELETED are invisible.
"""

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from statera.db.models import ListenerStatistics, LoadBalancer
from statera.domain.enums import ProvisioningStatus
from statera.domain.errors import NotFound

DELETED = ProvisioningStatus.DELETED.value
STAT_FIELDS = (
    "bytes_in",
    "bytes_out",
    "active_connections",
    "total_connections",
    "request_errors",
)


def get(session: Session, lb_id: str) -> LoadBalancer:
    """The visible load balancer `lb_id`, or NotFound."""
    lb = session.get(LoadBalancer, lb_id)
    if lb is None or lb.provisioning_status == DELETED:
        raise NotFound.of("Load Balancer", lb_id)
    return lb


def lock_for_update(session: Session, lb_id: str) -> LoadBalancer:
    """The visible load balancer `lb_id`, row-locked until the transaction ends."""
    lb = session.execute(
        select(LoadBalancer)
        .where(LoadBalancer.id == lb_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if lb is None or lb.provisioning_status == DELETED:
        raise NotFound.of("Load Balancer", lb_id)
    return lb


def listener_stats(session: Session, listener_ids: Sequence[str]) -> dict[str, int]:
    """The five counters summed over every (listener, amphora) row of `listener_ids`."""
    totals = dict.fromkeys(STAT_FIELDS, 0)
    if not listener_ids:
        return totals
    row = session.execute(
        select(
            *(func.coalesce(func.sum(getattr(ListenerStatistics, f)), 0) for f in STAT_FIELDS)
        ).where(ListenerStatistics.listener_id.in_(listener_ids))
    ).first()
    if row is not None:
        for name, value in zip(STAT_FIELDS, row, strict=True):
            totals[name] = int(value)
    return totals
