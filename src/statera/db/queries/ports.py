"""Addresses taken on declared networks: the `port` table as an IP allocator.

The unique constraint on (subnet_id, ip_address) is the allocator's lock:
two transactions that pick the same free address cannot both commit, so the
loser's INSERT fails (inside a SAVEPOINT, leaving its transaction usable),
it reads the taken set again and moves on. The loop is bounded.
"""

from collections.abc import Callable, Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from statera.db.models import Port
from statera.domain.errors import Conflict

ALLOCATION_ATTEMPTS = 64


_TAKEN = select(Port.ip_address).where(Port.subnet_id == bindparam("subnet_id"))


def taken(session: Session, subnet_id: str) -> set[str]:
    # Core, not ORM: a subnet may hold thousands of ports, read on every allocation.
    return set(session.connection().execute(_TAKEN, {"subnet_id": subnet_id}).scalars())


def claim(session: Session, port: Port) -> bool:
    """Insert `port`; False if its address was taken meanwhile."""
    try:
        with session.begin_nested():
            session.add(port)
            session.flush()
    except IntegrityError:
        if port in session:
            session.expunge(port)
        return False
    return True


def claim_address(session: Session, make_port: Callable[[str], Port], address: str) -> Port:
    """Take exactly `address`, or Conflict if another port holds it."""
    port = make_port(address)
    if address in taken(session, port.subnet_id) or not claim(session, port):
        raise Conflict(f"IP address {address} already allocated in subnet {port.subnet_id}.")
    return port


def claim_first_free(
    session: Session,
    make_port: Callable[[str], Port],
    *,
    subnet_id: str,
    candidates: Callable[[], Iterable[str]],
) -> Port:
    """Take the first address of `candidates()` that no port holds."""
    for _attempt in range(ALLOCATION_ATTEMPTS):
        used = taken(session, subnet_id)
        address = next((a for a in candidates() if a not in used), None)
        if address is None:
            raise Conflict(f"No more IP addresses available on subnet {subnet_id}.")
        port = make_port(address)
        if claim(session, port):
            return port
    raise Conflict(
        f"Could not allocate an address on subnet {subnet_id}: too many concurrent "
        "allocations; try again."
    )
