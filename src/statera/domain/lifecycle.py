"""Which provisioning statuses allow which changes (Octavia §1.16, §2).

The API moves a load balancer to PENDING_* only from a status listed here,
inside the same transaction that writes the change; anything else is a 409.
"""

from statera.domain.enums import ProvisioningStatus

MUTABLE = frozenset({ProvisioningStatus.ACTIVE})
DELETABLE = frozenset({ProvisioningStatus.ACTIVE, ProvisioningStatus.ERROR})
FAILOVER_FROM = frozenset({ProvisioningStatus.ACTIVE, ProvisioningStatus.ERROR})
"""A load balancer (or one of its amphorae) may be failed over from these (Octavia §1.16)."""
PENDING = frozenset(
    {
        ProvisioningStatus.PENDING_CREATE,
        ProvisioningStatus.PENDING_UPDATE,
        ProvisioningStatus.PENDING_DELETE,
    }
)


def is_mutable(status: str) -> bool:
    return status in MUTABLE


def is_deletable(status: str) -> bool:
    return status in DELETABLE


def is_pending(status: str) -> bool:
    return status in PENDING


def can_fail_over(status: str) -> bool:
    return status in FAILOVER_FROM
