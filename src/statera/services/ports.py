"""Ports on the declared networks: addresses in a subnet's allocation range, and tenant ports.

Both the VIP allocation (`services/load_balancers.py`) and Neutron's
`POST /v2.0/ports` (the Network view, `api/routes/neutron.py`) take addresses
here: the lowest free one of the allocation range, or a requested one that
must lie in that range. A tenant's port is created unbound (`device_id` empty,
`octavia_owned` False); a load balancer created with `vip_port_id` binds it
(`bind_vip`) and the controller unbinds it again when the load balancer is
deleted, where it deletes the ports Statera allocated. The invariant a reader
could break: a port is only bound by the conditional UPDATE in `bind_vip`, so
two load balancers can never both take the same port.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from statera.db.base import new_id
from statera.db.models import Port
from statera.db.queries import ports as port_queries
from statera.domain.errors import Conflict, InvalidSpec, NotFound
from statera.settings import Settings, SubnetSettings

VIP_DEVICE_OWNER = "Octavia"
"""`device_owner` of a VIP port, allocated or bound (Octavia's `OCTAVIA_OWNER`)."""


def _pool_range(subnet: SubnetSettings) -> tuple[int, int]:
    return (
        int(ipaddress.ip_address(subnet.allocation_pool_start)),
        int(ipaddress.ip_address(subnet.allocation_pool_end)),
    )


def bottom_up(subnet: SubnetSettings) -> Iterator[str]:
    """The allocation range of `subnet`, lowest address first, without the gateway."""
    start, end = _pool_range(subnet)
    gateway = int(ipaddress.ip_address(subnet.gateway))
    # An allocation walks past every taken address below the first free one;
    # for IPv4 inet_ntoa is ~20 times faster than str(ipaddress.ip_address(...))
    # and spells addresses the same way.
    text: Callable[[int], str] = (
        (lambda v: socket.inet_ntoa(v.to_bytes(4, "big")))
        if subnet.ip_version == 4
        else (lambda v: str(ipaddress.ip_address(v)))
    )
    for value in range(start, end + 1):
        if value != gateway:
            yield text(value)


def in_range(subnet: SubnetSettings, address: str) -> str | None:
    """`address` spelt canonically if it lies in `subnet`'s allocation range, else None."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    start, end = _pool_range(subnet)
    if (
        ip.version != subnet.ip_version
        or ip not in subnet.network
        or not start <= int(ip) <= end
        or str(ip) == subnet.gateway
    ):
        return None
    return str(ip)


def in_subnet(subnet: SubnetSettings, address: str) -> bool:
    """Whether `address` is an IP address inside `subnet`'s CIDR."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.version == subnet.ip_version and ip in subnet.network


def maker(
    subnet: SubnetSettings,
    *,
    name: str,
    project_id: str | None,
    device_id: str,
    octavia_owned: bool,
) -> Callable[[str], Port]:
    """A new port on `subnet` for a given address; bound (a VIP) when `device_id` is set."""

    def make_port(ip: str) -> Port:
        return Port(
            id=new_id(),
            network_id=subnet.network_id,
            subnet_id=subnet.id,
            ip_address=ip,
            name=name,
            device_owner=VIP_DEVICE_OWNER if device_id else "",
            device_id=device_id,
            project_id=project_id,
            octavia_owned=octavia_owned,
        )

    return make_port


def claim(
    session: Session,
    make_port: Callable[[str], Port],
    *,
    subnet: SubnetSettings,
    address: str | None,
    out_of_range: Callable[[str], str],
) -> Port:
    """Take `address` on `subnet` if given (InvalidSpec with `out_of_range(address)` if it
    is outside the allocation range, Conflict if taken), else the lowest free one."""
    if address is None:
        return port_queries.claim_first_free(
            session, make_port, subnet_id=subnet.id, candidates=lambda: bottom_up(subnet)
        )
    canonical = in_range(subnet, address)
    if canonical is None:
        raise InvalidSpec(out_of_range(address))
    return port_queries.claim_address(session, make_port, canonical)


def create(
    session: Session,
    *,
    subnet: SubnetSettings,
    address: str | None,
    name: str,
    project_id: str,
) -> Port:
    """A tenant's unbound port on `subnet` (Neutron's `POST /v2.0/ports`)."""
    make_port = maker(subnet, name=name, project_id=project_id, device_id="", octavia_owned=False)
    return claim(
        session,
        make_port,
        subnet=subnet,
        address=address,
        out_of_range=lambda a: f"IP address {a} is not a valid IP for the specified subnet.",
    )


def _visible(
    session: Session, settings: Settings, port_id: str, *, project_id: str | None
) -> Port | None:
    """The port `port_id` on a declared network, if the caller may see it.

    `project_id` None means an administrator, who sees every project's ports.
    """
    query = select(Port).where(
        Port.id == port_id, Port.network_id.in_([n.id for n in settings.networks])
    )
    if project_id is not None:
        query = query.where(Port.project_id == project_id)
    return session.scalars(query).one_or_none()


def delete(session: Session, *, settings: Settings, port_id: str, project_id: str | None) -> None:
    """Delete a port the caller may see; Conflict while a device (a load balancer) uses it."""
    port = _visible(session, settings, port_id, project_id=project_id)
    if port is None:
        raise NotFound(f"Port {port_id} could not be found.")
    if port.device_id:
        raise Conflict(
            f"Unable to complete operation on port {port.id} for network {port.network_id}. "
            f"Port already has an attached device {port.device_id}."
        )
    session.delete(port)
    session.flush()


def find_for_vip(
    session: Session, *, settings: Settings, port_id: str, project_id: str | None
) -> Port:
    """The port a load balancer's `vip_port_id` names, checked as Octavia does.

    Octavia asks Neutron with the caller's credentials (`validate.port_exists`),
    so another project's port is "not found" too; a bound port is refused
    (`validate.check_port_in_use`). Both are 400s in Octavia.
    """
    port = _visible(session, settings, port_id, project_id=project_id)
    if port is None:
        raise InvalidSpec(f"Port {port_id} not found.")
    _check_unbound(port.id, port.device_id)
    return port


def _check_unbound(port_id: str, device_id: str) -> None:
    if device_id:
        raise InvalidSpec(
            f"Validation failure: Port {port_id} is already used by device {device_id}."
        )


def bind_vip(session: Session, port: Port, *, lb_id: str) -> None:
    """Mark `port` as the VIP of `lb_id`, unless another request bound it meanwhile."""
    result = session.execute(
        update(Port)
        .where(Port.id == port.id, Port.device_id == "")
        .values(device_id=lb_id, device_owner=VIP_DEVICE_OWNER)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(port)
        _check_unbound(port.id, port.device_id or "another load balancer")
        raise Conflict(f"Port {port.id} could not be bound; try again.")
    session.refresh(port)
