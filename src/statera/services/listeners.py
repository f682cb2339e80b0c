"""Create, update and delete listeners (Octavia §1.6).

HTTP, HTTPS (TLS passthrough), TCP, TERMINATED_HTTPS and PROMETHEUS listeners
are built in this release; UDP and SCTP are refused with a clear "not yet
supported". TLS attributes belong to TERMINATED_HTTPS listeners (refused
elsewhere, as Octavia does); their certificate references are checked against
the key manager (`tls_refs`). A PROMETHEUS listener takes no pool and no L7
policy (the empty row of `POOL_PROTOCOLS_FOR_LISTENER` refuses any pool) and,
like HTTPS and TCP, no insert_headers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from statera.db.base import new_id
from statera.db.models import Listener, LoadBalancer, Pool
from statera.db.queries import load_balancers as lb_queries
from statera.domain.enums import ListenerProtocol, OperatingStatus
from statera.domain.errors import Conflict, InvalidSpec
from statera.services import l7policies, lookup, pools, quotas, rules, tls_refs
from statera.services.changes import (
    PENDING_CREATE,
    PENDING_DELETE,
    PENDING_UPDATE,
    add_tags,
    begin_change,
    mark,
    set_tags,
)
from statera.settings import Settings

DEFAULT_CONNECTION_LIMIT = -1
TIMEOUTS = (
    "timeout_client_data",
    "timeout_member_connect",
    "timeout_member_data",
    "timeout_tcp_inspect",
)
# Listeners on one port clash when they share the L4 protocol.
L4_PROTOCOL = {
    ListenerProtocol.HTTP: "TCP",
    ListenerProtocol.HTTPS: "TCP",
    ListenerProtocol.TCP: "TCP",
    ListenerProtocol.TERMINATED_HTTPS: "TCP",
    ListenerProtocol.PROMETHEUS: "TCP",
    ListenerProtocol.UDP: "UDP",
    ListenerProtocol.SCTP: "SCTP",
}


def _enabled(value: bool | None) -> bool:
    return True if value is None else value


VIP_SG_IDS_WITH_ALLOWED_CIDRS = (
    "Validation failure: Allowed CIDRs cannot be used with custom VIP security groups "
    "(vip_sg_ids): add the rules to the security groups instead."
)


def _cidrs(cidrs: Sequence[str] | None, lb: LoadBalancer) -> list[str]:
    """The listener's allowed CIDRs, each of the IP family of some VIP of `lb`."""
    if not cidrs:
        return []
    if lb.vip_sg_ids:
        raise InvalidSpec(VIP_SG_IDS_WITH_ALLOWED_CIDRS)
    vips = [lb.vip_address, *(v["ip_address"] for v in lb.additional_vips or ())]
    families = {ipaddress.ip_address(v).version for v in vips if v}
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr, strict=False)
        if families and network.version not in families:
            shown = [v for v in vips if v]
            which = f"VIP {shown[0]}" if len(shown) == 1 else f"all VIPs {', '.join(shown)}"
            raise InvalidSpec(
                f"Validation failure: CIDR {cidr} IP version incompatible with {which} IP version."
            )
    return list(dict.fromkeys(cidrs))


def _check_port(session: Session, lb: LoadBalancer, *, protocol: str, port: int) -> None:
    family = L4_PROTOCOL[ListenerProtocol(protocol)]
    for other in session.scalars(
        select(Listener.protocol).where(
            Listener.load_balancer_id == lb.id, Listener.protocol_port == port
        )
    ):
        if L4_PROTOCOL[ListenerProtocol(other)] == family:
            raise Conflict(
                f"Another Listener on this Load Balancer is already using protocol_port {port}"
            )


def build(
    session: Session,
    *,
    lb: LoadBalancer,
    values: Mapping[str, Any],
    settings: Settings,
    status: str = PENDING_CREATE,
) -> Listener:
    """Validate and add a listener of `lb` (without its default pool)."""
    protocol = values["protocol"]
    rules.listener_protocol(
        protocol,
        allow_terminated_https=settings.api.allow_tls_terminated_listeners,
        allow_prometheus=settings.api.allow_prometheus_listeners,
    )
    rules.listener_tls(values, protocol=protocol)
    tls = tls_refs.listener_extra(values, protocol=protocol, settings=settings)
    tls_refs.check_listener(
        session, tls, changed=values, project_id=lb.project_id or "", settings=settings
    )
    headers = values.get("insert_headers") or {}
    rules.insert_headers(headers, protocol=protocol)
    cidrs = _cidrs(values.get("allowed_cidrs"), lb)
    _check_port(session, lb, protocol=protocol, port=values["protocol_port"])
    defaults = settings.haproxy_amphora
    limit = values.get("connection_limit")
    listener = Listener(
        id=new_id(),
        project_id=lb.project_id,
        load_balancer_id=lb.id,
        name=values.get("name"),
        description=values.get("description"),
        protocol=protocol,
        protocol_port=values["protocol_port"],
        connection_limit=DEFAULT_CONNECTION_LIMIT if limit is None else limit,
        enabled=_enabled(values.get("admin_state_up")),
        provisioning_status=status,
        operating_status=OperatingStatus.OFFLINE.value,
        insert_headers=dict(headers),
        allowed_cidrs=cidrs,
        extra=tls,
    )
    for key in TIMEOUTS:
        value = values.get(key)
        setattr(listener, key, getattr(defaults, key) if value is None else value)
    session.add(listener)
    add_tags(session, listener.id, values.get("tags"))
    return listener


def attach_pool(listener: Listener, pool: Pool) -> None:
    rules.pool_for_listener(listener_protocol=listener.protocol, pool_protocol=pool.protocol)
    listener.default_pool_id = pool.id


def create(session: Session, *, settings: Settings, values: Mapping[str, Any]) -> Listener:
    lb = lb_queries.lock_for_update(session, values["loadbalancer_id"])
    begin_change(lb)
    if values.get("default_pool_id") and values.get("default_pool"):
        raise InvalidSpec(
            "Validation failure: default_pool_id and default_pool cannot both be given."
        )
    existing = (
        lookup.pool_on(session, lb, values["default_pool_id"])
        if values.get("default_pool_id")
        else None
    )
    listener = build(session, lb=lb, values=values, settings=settings)
    if existing is not None:
        attach_pool(listener, existing)
    elif values.get("default_pool"):
        inline = pools.build(session, lb=lb, values=values["default_pool"], settings=settings)
        rules.pool_for_listener(listener_protocol=listener.protocol, pool_protocol=inline.protocol)
        session.flush()
        listener.default_pool_id = inline.id
    if values.get("l7policies"):
        session.flush()
        l7policies.build_inline(
            session,
            lb=lb,
            listener=listener,
            policies=values["l7policies"],
            resolve_pool=lambda p: _inline_redirect_pool(
                session, lb=lb, values=p, settings=settings
            ),
        )
    quotas.enforce(
        session, settings=settings.quotas, project_id=lb.project_id, resources=quotas.RESOURCES
    )
    return listener


def _inline_redirect_pool(
    session: Session, *, lb: LoadBalancer, values: Mapping[str, Any], settings: Settings
) -> Pool:
    """A `redirect_pool` given in full inside a listener's `l7policies`."""
    if all(v is None for k, v in values.items() if k != "name"):
        raise InvalidSpec(f"Missing details for Pool object: {values.get('name')}")
    pool = pools.build(session, lb=lb, values=values, settings=settings)
    session.flush()
    return pool


def update(
    session: Session, *, settings: Settings, listener_id: str, values: Mapping[str, Any]
) -> Listener:
    listener, lb = lookup.listener(session, listener_id)
    begin_change(lb)
    current = listener.extra or {}
    rules.listener_tls(values, protocol=listener.protocol, current=current)
    if any(k in values for k in tls_refs.LISTENER_KEYS):
        tls = tls_refs.listener_extra(
            values, protocol=listener.protocol, settings=settings, current=current
        )
        tls_refs.check_listener(
            session, tls, changed=values, project_id=lb.project_id or "", settings=settings
        )
        listener.extra = tls
    for key in ("name", "description"):
        if key in values:
            setattr(listener, key, values[key])
    if "admin_state_up" in values:
        listener.enabled = _enabled(values["admin_state_up"])
    if "connection_limit" in values:
        limit = values["connection_limit"]
        listener.connection_limit = DEFAULT_CONNECTION_LIMIT if limit is None else limit
    for key in TIMEOUTS:
        if key in values:
            value = values[key]
            setattr(
                listener, key, getattr(settings.haproxy_amphora, key) if value is None else value
            )
    if "insert_headers" in values:
        headers = values["insert_headers"] or {}
        rules.insert_headers(headers, protocol=listener.protocol)
        listener.insert_headers = dict(headers)
    if "allowed_cidrs" in values:
        listener.allowed_cidrs = _cidrs(values["allowed_cidrs"], lb)
    if "default_pool_id" in values:
        if values["default_pool_id"] is None:
            listener.default_pool_id = None
        else:
            attach_pool(listener, lookup.pool_on(session, lb, values["default_pool_id"]))
    if "tags" in values:
        set_tags(session, listener.id, values["tags"])
    mark([listener], PENDING_UPDATE)
    return listener


def delete(session: Session, *, listener_id: str) -> None:
    listener, lb = lookup.listener(session, listener_id)
    begin_change(lb)
    mark([listener], PENDING_DELETE)
    l7policies.mark_for_listeners(session, [listener.id], PENDING_DELETE)
