"""Addresses the controller takes for amphorae: management IPs and VRRP base ports.

The allocation itself is `db.queries.ports.claim_first_free`, the same one the
API uses for VIPs (lowest free address, the unique constraint settling races).
Here running out of addresses is a temporary failure: a delete may free one.
"""

import ipaddress
from collections.abc import Iterator

from sqlalchemy.orm import Session

from statera.db import models
from statera.db.queries import ports
from statera.domain.errors import Conflict, TemporaryError


def allocate_port(
    session: Session,
    *,
    network_id: str,
    subnet_id: str,
    first: str,
    last: str,
    exclude: set[str],
    name: str,
    device_owner: str,
    device_id: str,
) -> models.Port:
    """Insert a Port row with the lowest free address, inside the caller's transaction."""

    def candidates() -> Iterator[str]:
        start, end = int(ipaddress.ip_address(first)), int(ipaddress.ip_address(last))
        for value in range(start, end + 1):
            address = str(ipaddress.ip_address(value))
            if address not in exclude:
                yield address

    def make_port(address: str) -> models.Port:
        return models.Port(
            network_id=network_id,
            subnet_id=subnet_id,
            ip_address=address,
            name=name,
            device_owner=device_owner,
            device_id=device_id,
        )

    try:
        return ports.claim_first_free(
            session, make_port, subnet_id=subnet_id, candidates=candidates
        )
    except Conflict as exc:
        raise TemporaryError(f"{exc.message} ({first}-{last})") from exc
