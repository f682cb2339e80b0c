"""Find the object a write is about and lock its load balancer first.

Every write locks the load balancer row before it reads the object it
changes, and then reads that object again (`populate_existing`), so what it
checks is what no other writer can change before it commits.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from statera.db.models import (
    HealthMonitor,
    L7Policy,
    L7Rule,
    Listener,
    LoadBalancer,
    Member,
    Pool,
)
from statera.db.queries import load_balancers as lb_queries
from statera.domain.enums import ProvisioningStatus
from statera.domain.errors import NotFound

T = TypeVar("T", Listener, Pool, Member, HealthMonitor, L7Policy, L7Rule)

DELETED = ProvisioningStatus.DELETED.value


def _fresh(session: Session, model: type[T], object_id: str, resource: str) -> T:
    obj = session.get(model, object_id, populate_existing=True)
    if obj is None or obj.provisioning_status == DELETED:
        raise NotFound.of(resource, object_id)
    return obj


def _lock(session: Session, lb_id: str | None, resource: str, object_id: str) -> LoadBalancer:
    if lb_id is None:
        raise NotFound.of(resource, object_id)
    try:
        return lb_queries.lock_for_update(session, lb_id)
    except NotFound:
        raise NotFound.of(resource, object_id) from None


def listener(session: Session, listener_id: str) -> tuple[Listener, LoadBalancer]:
    lb_id = session.scalar(select(Listener.load_balancer_id).where(Listener.id == listener_id))
    lb = _lock(session, lb_id, "Listener", listener_id)
    return _fresh(session, Listener, listener_id, "Listener"), lb


def pool(session: Session, pool_id: str) -> tuple[Pool, LoadBalancer]:
    lb_id = session.scalar(select(Pool.load_balancer_id).where(Pool.id == pool_id))
    lb = _lock(session, lb_id, "Pool", pool_id)
    return _fresh(session, Pool, pool_id, "Pool"), lb


def member(session: Session, pool_id: str, member_id: str) -> tuple[Member, Pool, LoadBalancer]:
    found_pool, lb = pool(session, pool_id)
    obj = _fresh(session, Member, member_id, "Member")
    if obj.pool_id != found_pool.id:
        raise NotFound.of("Member", member_id)
    return obj, found_pool, lb


def health_monitor(session: Session, hm_id: str) -> tuple[HealthMonitor, Pool, LoadBalancer]:
    lb_id = session.scalar(
        select(Pool.load_balancer_id)
        .join(HealthMonitor, HealthMonitor.pool_id == Pool.id)
        .where(HealthMonitor.id == hm_id)
    )
    lb = _lock(session, lb_id, "Health Monitor", hm_id)
    obj = _fresh(session, HealthMonitor, hm_id, "Health Monitor")
    return obj, _fresh(session, Pool, obj.pool_id, "Pool"), lb


def pool_on(session: Session, lb: LoadBalancer, pool_id: str) -> Pool:
    """A pool of `lb` (already locked), for references in request bodies."""
    obj = session.get(Pool, pool_id, populate_existing=True)
    if obj is None or obj.load_balancer_id != lb.id or obj.provisioning_status == DELETED:
        raise NotFound.of("Pool", pool_id)
    return obj


def listener_on(session: Session, lb: LoadBalancer, listener_id: str) -> Listener:
    obj = session.get(Listener, listener_id, populate_existing=True)
    if obj is None or obj.load_balancer_id != lb.id or obj.provisioning_status == DELETED:
        raise NotFound.of("Listener", listener_id)
    return obj


def l7policy(session: Session, policy_id: str) -> tuple[L7Policy, Listener, LoadBalancer]:
    lb_id = session.scalar(
        select(Listener.load_balancer_id)
        .join(L7Policy, L7Policy.listener_id == Listener.id)
        .where(L7Policy.id == policy_id)
    )
    lb = _lock(session, lb_id, "L7 Policy", policy_id)
    obj = _fresh(session, L7Policy, policy_id, "L7 Policy")
    return obj, _fresh(session, Listener, obj.listener_id, "Listener"), lb


def l7rule(
    session: Session, policy_id: str, rule_id: str
) -> tuple[L7Rule, L7Policy, Listener, LoadBalancer]:
    policy, found_listener, lb = l7policy(session, policy_id)
    obj = _fresh(session, L7Rule, rule_id, "L7 Rule")
    if obj.l7policy_id != policy.id:
        raise NotFound.of("L7 Rule", rule_id)
    return obj, policy, found_listener, lb
