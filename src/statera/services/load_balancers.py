"""Create (with Octavia's single-call graph), update and delete load balancers.

Creating a load balancer allocates its VIP synchronously, as Octavia does: a
`port` row on the declared network, named `octavia-lb-<lb id>`, holding the
lowest free address of the subnet's allocation range (and one more such row per
additional VIP, on other subnets of the same network) (demo backends take
theirs from the top), or, with `vip_port_id`, the tenant's own unbound port
(created through the Network view), which is bound to the load balancer and
unbound again, not deleted, when the load balancer goes. The whole graph — load balancer, VIP, listeners,
pools, members, monitors — is written in one transaction, every object in
PENDING_CREATE. Deleting marks the load balancer (and with `cascade`, every
child) PENDING_DELETE; the controller removes them and marks the load
balancer DELETED.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from statera.db.base import new_id, utcnow
from statera.db.models import HealthMonitor, Listener, LoadBalancer, Member, Pool, Port
from statera.db.queries import load_balancers as lb_queries
from statera.domain.enums import OperatingStatus, Topology
from statera.domain.errors import InvalidSpec, NotFound, NotSupported
from statera.services import (
    amphorae,
    flavors,
    l7policies,
    listeners,
    pools,
    ports,
    quotas,
    security_groups,
)
from statera.services.changes import (
    PENDING_CREATE,
    PENDING_DELETE,
    add_tags,
    begin_change,
    begin_delete,
    mark,
    set_tags,
)
from statera.settings import NetworkSettings, Settings, SubnetSettings

VIP_DEVICE_OWNER = ports.VIP_DEVICE_OWNER


def _vip_target(
    settings: Settings, values: Mapping[str, Any]
) -> tuple[NetworkSettings, SubnetSettings]:
    """The network and subnet of the VIP (Octavia's `_validate_vip_request_object`)."""
    subnet_ref = values.get("vip_subnet_id")
    network_ref = values.get("vip_network_id")
    if subnet_ref is None and network_ref is None:
        raise InvalidSpec(
            "Validation failure: VIP must contain one of: vip_port_id, vip_network_id, "
            "vip_subnet_id."
        )
    by_network = None
    if network_ref is not None:
        by_network = settings.network_named(network_ref)
        if by_network is None:
            raise InvalidSpec(f"Network {network_ref} not found.")
    if subnet_ref is not None:
        # A network's name or id stands for its primary subnet (a convenience).
        found = settings.subnet_named(subnet_ref)
        named = settings.network_named(subnet_ref)
        if found is None and named is not None:
            found = named, named.primary
        if found is None:
            raise InvalidSpec(f"Subnet {subnet_ref} not found.")
        net, subnet = found
        if by_network is not None and by_network.name != net.name:
            raise InvalidSpec(
                f"Validation failure: Subnet {subnet_ref} is not on network {network_ref}."
            )
        return net, subnet
    assert by_network is not None
    address = values.get("vip_address")
    if address is None:
        # Octavia takes the first subnet, preferring IPv4: the primary one is IPv4.
        return by_network, by_network.primary
    containing = next((s for s in by_network.subnets if ports.in_subnet(s, address)), None)
    if containing is None:
        raise InvalidSpec(
            "Validation failure: Supplied network does not contain a subnet for VIP address "
            "specified."
        )
    return by_network, containing


def allocate_vip(
    session: Session,
    *,
    lb: LoadBalancer,
    subnet: SubnetSettings,
    address: str | None,
) -> Port:
    """Take a VIP address on `subnet`: `address` if given, else the lowest free one."""
    make_port = ports.maker(
        subnet,
        name=f"octavia-lb-{lb.id}",
        project_id=lb.project_id,
        device_id=lb.id,
        octavia_owned=True,
    )
    return ports.claim(
        session,
        make_port,
        subnet=subnet,
        address=address,
        out_of_range=lambda a: (
            f"Validation failure: VIP address {a} is not in the allocation range "
            f"{subnet.allocation_pool_start}-{subnet.allocation_pool_end} of subnet {subnet.id}."
        ),
    )


def _additional_subnets(
    settings: Settings,
    *,
    net: NetworkSettings,
    vip_subnet: SubnetSettings,
    requested: Sequence[Mapping[str, Any]],
) -> list[tuple[SubnetSettings, str | None]]:
    """Each requested additional VIP's subnet and address, checked as Octavia does: every
    subnet exists and lies on the VIP's network, and holds one VIP at most."""
    found: list[tuple[SubnetSettings, str | None]] = []
    used = {vip_subnet.id}
    for entry in requested:
        ref = entry["subnet_id"]
        hit = settings.subnet_named(ref)
        if hit is None:
            raise InvalidSpec(f"Subnet {ref} not found.")
        owner, subnet = hit
        if owner.id != net.id:
            raise InvalidSpec(
                f"Validation failure: additional VIP subnet {ref} is not on the VIP network "
                f"{net.id}; all VIP subnets must belong to the same network."
            )
        if subnet.id in used:
            raise InvalidSpec(
                "Validation failure: Duplicate VIP subnet(s) specified. Only one IP can be "
                "bound per subnet."
            )
        used.add(subnet.id)
        found.append((subnet, entry.get("ip_address")))
    return found


def _user_port(
    session: Session, *, settings: Settings, values: Mapping[str, Any], port_project: str | None
) -> tuple[Port, NetworkSettings, SubnetSettings]:
    """The tenant's port named by `vip_port_id`, and its network, checked against the rest
    of the VIP request (Octavia's `_validate_port_and_fill_or_validate_subnet`)."""
    port = ports.find_for_vip(
        session, settings=settings, port_id=values["vip_port_id"], project_id=port_project
    )
    net = settings.network_named(port.network_id)
    assert net is not None  # find_for_vip only sees ports on declared networks
    subnet = net.subnet(port.subnet_id) or net.primary
    network_ref = values.get("vip_network_id")
    if network_ref is not None and network_ref not in (net.id, net.name):
        raise InvalidSpec(
            f"Validation failure: VIP port {port.id} is not on network {network_ref}."
        )
    subnet_ref = values.get("vip_subnet_id")
    if subnet_ref is not None and subnet_ref not in (subnet.id, subnet.name):
        raise InvalidSpec(
            f"Validation failure: VIP port {port.id} has no address on subnet {subnet_ref}."
        )
    address = values.get("vip_address")
    if address is not None and ports.in_range(subnet, address) != port.ip_address:
        raise InvalidSpec(
            "Validation failure: Specified VIP address not found on the specified VIP port."
        )
    return port, net, subnet


def _check_unsupported(values: Mapping[str, Any]) -> None:
    if values.get("vip_qos_policy_id") is not None:
        raise NotSupported("vip_qos_policy_id is not supported: there is no QoS service.")


def _vip_security_groups(
    session: Session, requested: Sequence[str] | None, *, project_id: str | None
) -> list[str]:
    """The security groups `vip_sg_ids` names, checked: each exists and is the caller's
    (`project_id`; None for an administrator), and all are stateful or all stateless."""
    sg_ids = list(dict.fromkeys(requested or ()))
    if not sg_ids:
        return []
    missing = security_groups.missing(session, sg_ids, project_id=project_id)
    if missing:
        raise InvalidSpec(f"Security Group {missing[0]} not found.")
    if len(security_groups.statefulness(session, sg_ids)) > 1:
        raise InvalidSpec(
            "Validation failure: the security groups of a VIP must be all stateful or all "
            "stateless."
        )
    return sg_ids


def _check_vip_network(net: NetworkSettings, placement: flavors.Placement) -> None:
    """An availability zone's `valid_vip_networks` (ids, or names as a convenience)."""
    allowed = placement.valid_vip_networks
    names = {net.id, net.name}
    if allowed is not None and not names & ({a.lower() for a in allowed} | set(allowed)):
        raise InvalidSpec(
            "Validation failure: Supplied VIP network_id is not allowed by the configuration "
            "of this deployment."
        )


def _is_reference(pool: Mapping[str, Any]) -> bool:
    return pool.get("name") is not None and all(v is None for k, v in pool.items() if k != "name")


def _graph_pools(values: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], dict[str, int]]:
    """Every full pool definition of the request, and the index of each by name."""
    full: list[Mapping[str, Any]] = []
    by_name: dict[str, int] = {}
    embedded = [
        p for listener in values.get("listeners") or () if (p := listener.get("default_pool"))
    ]
    embedded += [
        p
        for listener in values.get("listeners") or ()
        for policy in listener.get("l7policies") or ()
        if (p := policy.get("redirect_pool"))
    ]
    for pool in [*(values.get("pools") or ()), *embedded]:
        if _is_reference(pool):
            continue
        name = pool.get("name")
        if name is not None:
            if name in by_name:
                raise InvalidSpec(
                    f"Validation failure: Pool name {name} is defined more than once."
                )
            by_name[name] = len(full)
        full.append(pool)
    return full, by_name


def _graph_pool(
    pool: Mapping[str, Any],
    built: Sequence[Pool],
    full_pools: Sequence[Mapping[str, Any]],
    pool_index: Mapping[str, int],
) -> Pool:
    """The built pool an embedded reference (by name) or full definition stands for."""
    if _is_reference(pool):
        index = pool_index.get(pool["name"])
        if index is None:
            raise InvalidSpec(f"Missing details for Pool object: {pool['name']}")
        return built[index]
    return built[next(i for i, p in enumerate(full_pools) if p is pool)]


def create(
    session: Session,
    *,
    settings: Settings,
    values: Mapping[str, Any],
    project_id: str,
    port_project: str | None,
) -> LoadBalancer:
    """Write the load balancer (and its graph) in PENDING_CREATE, with its VIP.

    `port_project` is the project whose ports `vip_port_id` may name: the
    caller's, or None for an administrator (any project's).
    """
    _check_unsupported(values)
    placement = flavors.for_load_balancer(
        session,
        settings=settings,
        provider=values.get("provider"),
        flavor_id=values.get("flavor_id"),
        availability_zone=values.get("availability_zone"),
    )
    user_port: Port | None = None
    if values.get("vip_port_id"):
        user_port, net, vip_subnet = _user_port(
            session, settings=settings, values=values, port_project=port_project
        )
    else:
        net, vip_subnet = _vip_target(settings, values)
    _check_vip_network(net, placement)
    extra_vips = _additional_subnets(
        settings, net=net, vip_subnet=vip_subnet, requested=values.get("additional_vips") or ()
    )
    sg_ids = _vip_security_groups(session, values.get("vip_sg_ids"), project_id=port_project)
    full_pools, pool_index = _graph_pools(values)
    now = utcnow()
    lb = LoadBalancer(
        id=new_id(),
        project_id=project_id,
        name=values.get("name"),
        description=values.get("description"),
        enabled=True if values.get("admin_state_up") is None else values["admin_state_up"],
        provisioning_status=PENDING_CREATE,
        operating_status=OperatingStatus.OFFLINE.value,
        topology=placement.topology or Topology.SINGLE.value,
        provider=placement.provider,
        flavor_id=values.get("flavor_id"),
        availability_zone=values.get("availability_zone"),
        vip_network_id=net.id,
        vip_subnet_id=vip_subnet.id,
        vip_sg_ids=sg_ids,
        generation=1,
        applied_generation=0,
        pending_since=now,
        created_at=now,
    )
    session.add(lb)
    session.flush()
    if user_port is None:
        port = allocate_vip(session, lb=lb, subnet=vip_subnet, address=values.get("vip_address"))
    else:
        ports.bind_vip(session, user_port, lb_id=lb.id)
        port = user_port
    lb.vip_address = port.ip_address
    lb.vip_port_id = port.id
    # Octavia gives the VIP port one fixed IP per additional VIP; here each is a port
    # row of its own (the address allocator's lock), bound to the load balancer.
    lb.additional_vips = [
        {"subnet_id": subnet.id, "ip_address": extra.ip_address, "port_id": extra.id}
        for subnet, address in extra_vips
        for extra in [allocate_vip(session, lb=lb, subnet=subnet, address=address)]
    ]
    add_tags(session, lb.id, values.get("tags"))
    built = [pools.build(session, lb=lb, values=p, settings=settings) for p in full_pools]
    session.flush()
    for listener_values in values.get("listeners") or ():
        listener = listeners.build(session, lb=lb, values=listener_values, settings=settings)
        default_pool = listener_values.get("default_pool")
        if default_pool is not None:
            if _is_reference(default_pool):
                index = pool_index.get(default_pool["name"])
                if index is None:
                    raise InvalidSpec(f"Missing details for Pool object: {default_pool['name']}")
                target = built[index]
            else:
                target = built[next(i for i, p in enumerate(full_pools) if p is default_pool)]
            listeners.attach_pool(listener, target)
        elif listener_values.get("default_pool_id"):
            raise NotFound.of("Pool", listener_values["default_pool_id"])
        if listener_values.get("l7policies"):
            session.flush()
            l7policies.build_inline(
                session,
                lb=lb,
                listener=listener,
                policies=listener_values["l7policies"],
                resolve_pool=lambda pool: _graph_pool(pool, built, full_pools, pool_index),
            )
    quotas.enforce(
        session, settings=settings.quotas, project_id=project_id, resources=quotas.RESOURCES
    )
    return lb


def update(
    session: Session, *, lb_id: str, values: Mapping[str, Any], sg_project: str | None
) -> LoadBalancer:
    """Change a load balancer's attributes; `sg_project` as `create`'s `port_project`."""
    lb = lb_queries.lock_for_update(session, lb_id)
    begin_change(lb)
    if values.get("vip_qos_policy_id") is not None:
        raise NotSupported("vip_qos_policy_id is not supported: there is no QoS service.")
    if "vip_sg_ids" in values:
        sg_ids = _vip_security_groups(session, values["vip_sg_ids"], project_id=sg_project)
        if sg_ids and any(
            cidrs
            for cidrs, status in session.execute(
                select(Listener.allowed_cidrs, Listener.provisioning_status).where(
                    Listener.load_balancer_id == lb.id
                )
            )
            if status != PENDING_DELETE
        ):
            raise InvalidSpec(listeners.VIP_SG_IDS_WITH_ALLOWED_CIDRS)
        lb.vip_sg_ids = sg_ids
    for key in ("name", "description"):
        if key in values:
            setattr(lb, key, values[key])
    if "admin_state_up" in values:
        lb.enabled = True if values["admin_state_up"] is None else values["admin_state_up"]
    if "tags" in values:
        set_tags(session, lb.id, values["tags"])
    return lb


def _children(
    session: Session, lb_id: str
) -> tuple[Sequence[Listener], Sequence[Pool], Sequence[Member], Sequence[HealthMonitor]]:
    pool_ids = select(Pool.id).where(Pool.load_balancer_id == lb_id)
    return (
        session.scalars(select(Listener).where(Listener.load_balancer_id == lb_id)).all(),
        session.scalars(select(Pool).where(Pool.load_balancer_id == lb_id)).all(),
        session.scalars(select(Member).where(Member.pool_id.in_(pool_ids))).all(),
        session.scalars(select(HealthMonitor).where(HealthMonitor.pool_id.in_(pool_ids))).all(),
    )


def delete(session: Session, *, lb_id: str, cascade: bool) -> None:
    lb = lb_queries.lock_for_update(session, lb_id)
    begin_delete(lb)
    listener_rows, pool_rows, member_rows, monitor_rows = _children(session, lb.id)
    if not cascade and (listener_rows or pool_rows):
        raise InvalidSpec(
            f"Validation failure: Cannot delete Load Balancer {lb.id} - it has children"
        )
    mark(listener_rows, PENDING_DELETE)
    mark(pool_rows, PENDING_DELETE)
    mark(member_rows, PENDING_DELETE)
    mark(monitor_rows, PENDING_DELETE)
    l7policies.mark_for_listeners(session, [li.id for li in listener_rows], PENDING_DELETE)


def failover(session: Session, *, lb_id: str) -> LoadBalancer:
    """Replace every amphora of `lb_id` (Octavia's load balancer failover).

    Allowed from ACTIVE or ERROR; the load balancer goes PENDING_UPDATE and its
    amphorae PENDING_DELETE, and the controller builds their replacements
    (`controller/reconciler.py`). Listeners in ERROR come back ACTIVE with it.
    """
    lb = lb_queries.lock_for_update(session, lb_id)
    amphorae.begin_failover(session, lb, amphora_ids=None)
    return lb
