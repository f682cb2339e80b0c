"""Neutron security groups and their rules, as the Network view serves them.

`api/routes/neutron_security_groups.py` calls the create/list/show/update/delete
functions here; a load balancer create and the reconciler call `missing`,
`in_use` and `users`; the controller reads the rules with
`db/queries/security_groups.rules_for`. A rule added to or removed from a group
in use bumps the generation of every load balancer using it, so the controller
enforces the change. Values are checked as Neutron checks them
(`domain/security_groups.py`), refusals carry Neutron's exception name. Every
function takes `project_id`: the caller's project, or None for an administrator,
who sees every project's groups; another project's group is "not found".

A new group gets Neutron's two default rules (egress, any protocol, IPv4 and
IPv6). The invariants a reader could break: a rule always has its group's
project (so a project lists every rule of its groups), and a group that a load
balancer's `vip_sg_ids` names (`users`) cannot be deleted. Rules are added under
a row lock of their group, so two identical rules can never both be added.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, String, cast, select
from sqlalchemy.orm import Session, selectinload

from statera.db.base import new_id, utcnow
from statera.db.models import LoadBalancer, SecurityGroup, SecurityGroupRule
from statera.db.queries.security_groups import checked_rule
from statera.domain.enums import ProvisioningStatus
from statera.domain.security_groups import (
    ETHERTYPES,
    RuleRefused,
    SecurityGroupConflict,
    SecurityGroupNotFound,
    SecurityGroupRuleNotFound,
    check_boolean,
    check_group_name,
    check_rule,
    check_text,
)
from statera.services.changes import record_change

# -- groups ---------------------------------------------------------------------------------


def _groups(project_id: str | None) -> Select[SecurityGroup]:
    query = select(SecurityGroup).options(selectinload(SecurityGroup.rules))
    if project_id is not None:
        query = query.where(SecurityGroup.project_id == project_id)
    return query.order_by(SecurityGroup.created_at, SecurityGroup.id)


def _group(session: Session, sg_id: str, *, project_id: str | None) -> SecurityGroup:
    """The group `sg_id`, locked for the rest of the transaction, if the caller may see it."""
    query = _groups(project_id).where(SecurityGroup.id == sg_id).with_for_update()
    group = session.scalars(query).one_or_none()
    if group is None:
        raise SecurityGroupNotFound.of_group(sg_id)
    return group


def _touch(group: SecurityGroup) -> None:
    group.revision_number += 1
    group.updated_at = utcnow()


def create_group(
    session: Session,
    *,
    project_id: str,
    name: Any = "",
    description: Any = "",
    stateful: Any = True,
) -> SecurityGroup:
    """A new group of `project_id` with Neutron's default egress rules."""
    group = SecurityGroup(
        id=new_id(),
        project_id=project_id,
        name=check_group_name(name),
        description=check_text("description", description),
        stateful=check_boolean("stateful", stateful),
        revision_number=1,
    )
    group.updated_at = group.created_at = utcnow()
    group.rules = [
        SecurityGroupRule(
            id=new_id(),
            project_id=project_id,
            direction="egress",
            ethertype=ethertype,
            description="",
            created_at=group.created_at,
        )
        for ethertype in ETHERTYPES
    ]
    session.add(group)
    session.flush()
    return group


def list_groups(session: Session, *, project_id: str | None) -> list[SecurityGroup]:
    return list(session.scalars(_groups(project_id)))


def get_group(session: Session, sg_id: str, *, project_id: str | None) -> SecurityGroup:
    group = session.scalars(_groups(project_id).where(SecurityGroup.id == sg_id)).one_or_none()
    if group is None:
        raise SecurityGroupNotFound.of_group(sg_id)
    return group


KEEP: Any = object()
"""`update_group`'s default for an attribute the request does not change."""


def update_group(
    session: Session,
    sg_id: str,
    *,
    project_id: str | None,
    name: Any = KEEP,
    description: Any = KEEP,
    stateful: Any = KEEP,
) -> SecurityGroup:
    """Change the name, the description and/or `stateful` (the latter only while unused)."""
    group = _group(session, sg_id, project_id=project_id)
    if name is not KEEP:
        group.name = check_group_name(name)
    if description is not KEEP:
        group.description = check_text("description", description)
    if stateful is not KEEP:
        wanted = check_boolean("stateful", stateful)
        if wanted != group.stateful and in_use(session, sg_id):
            raise _in_use(sg_id)
        group.stateful = wanted
    if any(value is not KEEP for value in (name, description, stateful)):
        _touch(group)
    session.flush()
    return group


def _in_use(sg_id: str) -> SecurityGroupConflict:
    return SecurityGroupConflict(f"Security Group {sg_id} in use.", kind="SecurityGroupInUse")


def delete_group(session: Session, sg_id: str, *, project_id: str | None) -> None:
    """Delete a group and its rules; 409 while a load balancer's `vip_sg_ids` names it."""
    group = _group(session, sg_id, project_id=project_id)
    if in_use(session, sg_id):
        raise _in_use(sg_id)
    session.delete(group)
    session.flush()


# -- rules ----------------------------------------------------------------------------------


def _rules(project_id: str | None) -> Select[SecurityGroupRule]:
    query = select(SecurityGroupRule)
    if project_id is not None:
        query = query.where(SecurityGroupRule.project_id == project_id)
    return query.order_by(SecurityGroupRule.created_at, SecurityGroupRule.id)


def create_rule(
    session: Session,
    *,
    project_id: str | None,
    security_group_id: str,
    direction: Any,
    ethertype: Any = "IPv4",
    protocol: Any = None,
    port_range_min: Any = None,
    port_range_max: Any = None,
    remote_ip_prefix: Any = None,
    remote_group_id: Any = None,
    description: Any = "",
) -> SecurityGroupRule:
    """A new rule in a group the caller may see, checked as Neutron checks it."""
    rule = check_rule(
        direction=direction,
        ethertype=ethertype,
        protocol=protocol,
        port_range_min=port_range_min,
        port_range_max=port_range_max,
        remote_ip_prefix=remote_ip_prefix,
    )
    if rule.remote_ip_prefix is not None and remote_group_id is not None:
        raise RuleRefused(
            "Only remote_ip_prefix or remote_group_id may be provided.",
            kind="SecurityGroupRemoteGroupAndRemoteIpPrefix",
        )
    if remote_group_id is not None:
        raise RuleRefused(
            "Invalid input for remote_group_id. Reason: rules that name a remote group are not "
            "supported by this Network view; use remote_ip_prefix."
        )
    text = check_text("description", description)
    group = _group(session, security_group_id, project_id=project_id)
    for existing in group.rules:
        if checked_rule(existing).key() == rule.key():
            raise SecurityGroupConflict(
                f"Security group rule already exists. Rule id is {existing.id}.",
                kind="SecurityGroupRuleExists",
            )
    created = SecurityGroupRule(
        id=new_id(),
        project_id=group.project_id,
        direction=rule.direction,
        ethertype=rule.ethertype,
        protocol=rule.protocol,
        port_range_min=rule.port_range_min,
        port_range_max=rule.port_range_max,
        remote_ip_prefix=rule.remote_ip_prefix,
        remote_group_id=None,
        description=text,
        created_at=utcnow(),
    )
    group.rules.append(created)
    _touch(group)
    _reapply(session, group.id)
    session.flush()
    return created


def list_rules(session: Session, *, project_id: str | None) -> list[SecurityGroupRule]:
    return list(session.scalars(_rules(project_id)))


def get_rule(session: Session, rule_id: str, *, project_id: str | None) -> SecurityGroupRule:
    rule = session.scalars(_rules(project_id).where(SecurityGroupRule.id == rule_id)).one_or_none()
    if rule is None:
        raise SecurityGroupRuleNotFound.of_rule(rule_id)
    return rule


def delete_rule(session: Session, rule_id: str, *, project_id: str | None) -> None:
    rule = get_rule(session, rule_id, project_id=project_id)
    group = _group(session, rule.security_group_id, project_id=None)
    group.rules.remove(rule)
    _touch(group)
    _reapply(session, group.id)
    session.flush()


# -- for load balancers ---------------------------------------------------------------------


def users(session: Session, sg_id: str) -> list[str]:
    """Ids of the load balancers (not DELETED) whose `vip_sg_ids` name `sg_id`."""
    # The JSON text holds the id in quotes; the LIKE narrows, the list check decides.
    query = select(LoadBalancer.id, LoadBalancer.vip_sg_ids).where(
        LoadBalancer.provisioning_status != ProvisioningStatus.DELETED.value,
        cast(LoadBalancer.vip_sg_ids, String).contains(sg_id, autoescape=True),
    )
    return sorted(lb_id for lb_id, sg_ids in session.execute(query) if sg_id in (sg_ids or []))


def _reapply(session: Session, sg_id: str) -> None:
    """Have the controller enforce a changed group on every load balancer that uses it.

    Neutron applies a rule change at once, whatever the port's device is doing; so
    this bumps the load balancers' generation without touching their provisioning
    status (a load balancer busy with another change takes this one along).
    """
    for lb_id in users(session, sg_id):
        lb = session.get(LoadBalancer, lb_id, with_for_update=True)
        if lb is not None:
            record_change(lb)


def statefulness(session: Session, sg_ids: Sequence[str]) -> set[bool]:
    """The `stateful` values of the groups `sg_ids` (two values: they are mixed)."""
    query = select(SecurityGroup.stateful).where(SecurityGroup.id.in_(list(sg_ids)))
    return set(session.scalars(query))


def in_use(session: Session, sg_id: str) -> bool:
    """True while a load balancer's `vip_sg_ids` names the group."""
    return bool(users(session, sg_id))


def missing(session: Session, sg_ids: Sequence[str], *, project_id: str | None) -> list[str]:
    """The ids of `sg_ids` that name no group the caller may see, in the order given."""
    query = select(SecurityGroup.id).where(SecurityGroup.id.in_(list(sg_ids)))
    if project_id is not None:
        query = query.where(SecurityGroup.project_id == project_id)
    found = set(session.scalars(query))
    return [sg_id for sg_id in sg_ids if sg_id not in found]
