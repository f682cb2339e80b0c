"""Addresses the controller takes for amphorae: management IPs and VRRP base ports.

An address is a `Port` row; the unique (subnet_id, ip_address) constraint makes
two controllers racing for the same address safe: the loser retries with the
next free one. Addresses are taken from the bottom of the range, as VIPs are
(the demo backends take theirs from the top).
"""

import ipaddress

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from statera.db import models
from statera.domain.errors import TemporaryError

_ATTEMPTS = 20


def free_addresses(
    session: Session, *, subnet_id: str, first: str, last: str, exclude: set[str]
) -> list[str]:
    used = set(
        session.scalars(select(models.Port.ip_address).where(models.Port.subnet_id == subnet_id))
    )
    start, end = int(ipaddress.ip_address(first)), int(ipaddress.ip_address(last))
    out: list[str] = []
    for value in range(start, end + 1):
        addr = str(ipaddress.ip_address(value))
        if addr not in used and addr not in exclude:
            out.append(addr)
            if len(out) >= _ATTEMPTS:
                break
    return out


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
    for addr in free_addresses(
        session, subnet_id=subnet_id, first=first, last=last, exclude=exclude
    ):
        port = models.Port(
            network_id=network_id,
            subnet_id=subnet_id,
            ip_address=addr,
            name=name,
            device_owner=device_owner,
            device_id=device_id,
        )
        try:
            with session.begin_nested():
                session.add(port)
                session.flush()
        except IntegrityError:
            continue
        return port
    raise TemporaryError(f"no free address left in subnet {subnet_id} ({first}-{last})")
