"""Security group rules as the data plane enforces them, read for a load balancer's snapshot.

`services/security_groups.py` writes groups and rules (checked as Neutron checks
them); the controller's snapshot (`db/snapshots.py`) reads the rules of a load
balancer's `vip_sg_ids` here, as `SecurityGroupRuleSpec`s.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from statera.db.models import SecurityGroup, SecurityGroupRule
from statera.domain.security_groups import (
    CheckedRule,
    SecurityGroupRuleSpec,
    check_rule,
    enforced_protocol,
)


def checked_rule(rule: SecurityGroupRule) -> CheckedRule:
    return check_rule(
        direction=rule.direction,
        ethertype=rule.ethertype,
        protocol=rule.protocol,
        port_range_min=rule.port_range_min,
        port_range_max=rule.port_range_max,
        remote_ip_prefix=rule.remote_ip_prefix,
    )


def rules_for(session: Session, sg_ids: Sequence[str]) -> list[SecurityGroupRuleSpec]:
    """Every rule of the groups `sg_ids`, in that order, as the data plane enforces them.

    Groups that do not exist contribute nothing.
    """
    query = (
        select(SecurityGroup)
        .options(selectinload(SecurityGroup.rules))
        .where(SecurityGroup.id.in_(list(sg_ids)))
    )
    groups = {g.id: g for g in session.scalars(query)}
    specs: list[SecurityGroupRuleSpec] = []
    for sg_id in dict.fromkeys(sg_ids):
        group = groups.get(sg_id)
        if group is None:
            continue
        for rule in group.rules:
            checked = checked_rule(rule)
            specs.append(
                SecurityGroupRuleSpec(
                    id=rule.id,
                    security_group_id=group.id,
                    direction=checked.direction,
                    ethertype=checked.ethertype,
                    protocol=enforced_protocol(checked.protocol),
                    port_range_min=checked.port_range_min,
                    port_range_max=checked.port_range_max,
                    remote_ip_prefix=checked.normalized_cidr,
                    stateful=group.stateful,
                )
            )
    return specs
