"""Database rows → Octavia's response dicts, built plainly for speed.

Each kind has a fixed column list (`LOAD_BALANCER_COLUMNS`, ...): the list
query and the single fetch select exactly those columns, and the builders
unpack each row positionally (a Row's attribute access costs twenty times
more). Related ids and tags come in one query per kind for the whole page,
never one per row. The dicts are serialised with orjson by the routes.
Octavia renders a null name or description as "", timestamps as
"2016-12-11T00:00:00", `admin_state_up` from the `enabled` column, and
`tenant_id` beside `project_id`.

Which listeners use a pool, and which pools a listener uses, follow Octavia's
`Pool.listeners` and `Listener.pools` (octavia/db/models.py): the default
pool links, then the redirect pools of L7 policies that are enabled and have
at least one rule (any rule, whatever its status), each listed once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from itertools import chain
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from statera.db.functions import iso_seconds
from statera.db.models import (
    HealthMonitor,
    L7Policy,
    L7Rule,
    Listener,
    LoadBalancer,
    Member,
    Pool,
)
from statera.db.queries import tags as tag_queries
from statera.db.queries.relations import TAGS, Relation, children

Columns = tuple[InstrumentedAttribute[Any], ...]
DbRow = Any
"""A SQLAlchemy `Row` of one of the column lists below (unpacked positionally)."""

_NO_TAGS: list[str] = []
_NO_IDS: list[str] = []


def _iso(column: InstrumentedAttribute[Any]) -> Any:
    """A timestamp column, selected as Octavia's text (formatted by the database)."""
    return iso_seconds(column).label(column.key)


def timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


@cache
def _by_id(columns: Columns) -> Select[Any]:
    # Built once per column list: SQLAlchemy then reuses its cache key and compiled form.
    return select(*columns).where(columns[0] == bindparam("object_id"))


def fetch(session: Session, columns: Columns, object_id: str) -> DbRow | None:
    """One object's row (any status); `columns[0]` is the id column."""
    return session.connection().execute(_by_id(columns), {"object_id": object_id}).first()


def fetch_written(session: Session, columns: Columns, object_id: str) -> DbRow:
    """The row of an object this transaction has just written (so it exists)."""
    return session.connection().execute(_by_id(columns), {"object_id": object_id}).one()


def fetch_all(session: Session, columns: Columns, *conditions: Any) -> Sequence[DbRow]:
    model = columns[0].class_
    return (
        session.connection()
        .execute(select(*columns).where(*conditions).order_by(model.created_at, model.id))
        .all()
    )


# -- load balancers -----------------------------------------------------------------------

LOAD_BALANCER_COLUMNS: Columns = (
    LoadBalancer.id,
    LoadBalancer.name,
    LoadBalancer.description,
    LoadBalancer.provisioning_status,
    LoadBalancer.operating_status,
    LoadBalancer.enabled,
    LoadBalancer.project_id,
    _iso(LoadBalancer.created_at),
    _iso(LoadBalancer.updated_at),
    LoadBalancer.vip_address,
    LoadBalancer.vip_port_id,
    LoadBalancer.vip_subnet_id,
    LoadBalancer.vip_network_id,
    LoadBalancer.vip_qos_policy_id,
    LoadBalancer.provider,
    LoadBalancer.flavor_id,
    LoadBalancer.availability_zone,
    LoadBalancer.additional_vips,
    LoadBalancer.vip_sg_ids,
)


_LB_CHILDREN = (
    Relation(Listener.load_balancer_id, Listener.id, Listener.created_at),
    Relation(Pool.load_balancer_id, Pool.id, Pool.created_at),
    TAGS,
)


def load_balancers(
    session: Session,
    rows: Sequence[DbRow],
    *,
    listeners: dict[str, list[Any]] | None = None,
    pools: dict[str, list[Any]] | None = None,
) -> list[dict[str, Any]]:
    """Load balancers with `[{id}]` children, or with the given expanded children."""
    listener_ids, pool_ids, tags = children(session, [r[0] for r in rows], _LB_CHILDREN)
    if listeners is None:
        listeners = _id_dicts(listener_ids)
    if pools is None:
        pools = _id_dicts(pool_ids)
    out = []
    for (
        id_,
        name,
        description,
        provisioning_status,
        operating_status,
        enabled,
        project_id,
        created_at,
        updated_at,
        vip_address,
        vip_port_id,
        vip_subnet_id,
        vip_network_id,
        vip_qos_policy_id,
        provider,
        flavor_id,
        availability_zone,
        additional_vips,
        vip_sg_ids,
    ) in rows:
        out.append(
            {
                "id": id_,
                "name": name or "",
                "description": description or "",
                "provisioning_status": provisioning_status,
                "operating_status": operating_status,
                "admin_state_up": enabled,
                "project_id": project_id,
                "tenant_id": project_id,
                "created_at": created_at,
                "updated_at": updated_at,
                "vip_address": vip_address,
                "vip_port_id": vip_port_id,
                "vip_subnet_id": vip_subnet_id,
                "vip_network_id": vip_network_id,
                "vip_qos_policy_id": vip_qos_policy_id,
                "vip_vnic_type": "normal",
                "vip_sg_ids": list(vip_sg_ids or ()),
                "additional_vips": [
                    {"subnet_id": v["subnet_id"], "ip_address": v["ip_address"]}
                    for v in additional_vips or ()
                ],
                "listeners": listeners.get(id_, _NO_IDS),
                "pools": pools.get(id_, _NO_IDS),
                "provider": provider,
                "flavor_id": flavor_id,
                "availability_zone": availability_zone,
                "tags": tags.get(id_, _NO_TAGS),
            }
        )
    return out


def _unique(*groups: Iterable[str]) -> list[str]:
    """The ids of all groups in order, each once (its first place kept)."""
    return list(dict.fromkeys(chain(*groups)))


def _id_dicts(ids: dict[str, list[str]]) -> dict[str, list[Any]]:
    return {parent: [{"id": i} for i in children] for parent, children in ids.items()}


def load_balancer_full(session: Session, lb_row: DbRow) -> dict[str, Any]:
    """The response of a single-call create: children expanded, as Octavia's full response."""
    lb_id = lb_row[0]
    listener_rows = fetch_all(session, LISTENER_COLUMNS, Listener.load_balancer_id == lb_id)
    pool_rows = fetch_all(session, POOL_COLUMNS, Pool.load_balancer_id == lb_id)
    return load_balancers(
        session,
        [lb_row],
        listeners={lb_id: listeners(session, listener_rows, full=True)},
        pools={lb_id: pools(session, pool_rows, full=True)},
    )[0]


# -- listeners ----------------------------------------------------------------------------

LISTENER_COLUMNS: Columns = (
    Listener.id,
    Listener.name,
    Listener.description,
    Listener.provisioning_status,
    Listener.operating_status,
    Listener.enabled,
    Listener.protocol,
    Listener.protocol_port,
    Listener.connection_limit,
    Listener.project_id,
    Listener.default_pool_id,
    Listener.insert_headers,
    _iso(Listener.created_at),
    _iso(Listener.updated_at),
    Listener.load_balancer_id,
    Listener.timeout_client_data,
    Listener.timeout_member_connect,
    Listener.timeout_member_data,
    Listener.timeout_tcp_inspect,
    Listener.allowed_cidrs,
    Listener.extra,
)


def listeners(
    session: Session, rows: Sequence[DbRow], *, full: bool = False
) -> list[dict[str, Any]]:
    tags = tag_queries.by_resource(session, [r[0] for r in rows])
    policies = _listener_policies(session, [r[0] for r in rows], full=full)
    out = []
    for (
        id_,
        name,
        description,
        provisioning_status,
        operating_status,
        enabled,
        protocol,
        protocol_port,
        connection_limit,
        project_id,
        default_pool_id,
        insert_headers,
        created_at,
        updated_at,
        load_balancer_id,
        timeout_client_data,
        timeout_member_connect,
        timeout_member_data,
        timeout_tcp_inspect,
        allowed_cidrs,
        extra,
    ) in rows:
        extra = extra or {}
        doc: dict[str, Any] = {
            "id": id_,
            "name": name or "",
            "description": description or "",
            "provisioning_status": provisioning_status,
            "operating_status": operating_status,
            "admin_state_up": enabled,
            "protocol": protocol,
            "protocol_port": protocol_port,
            "connection_limit": connection_limit,
            "default_tls_container_ref": extra.get("default_tls_container_ref"),
            "sni_container_refs": extra.get("sni_container_refs") or [],
            "project_id": project_id,
            "tenant_id": project_id,
            "default_pool_id": default_pool_id,
            "l7policies": policies.get(id_, _NO_IDS),
            "insert_headers": insert_headers or {},
            "created_at": created_at,
            "updated_at": updated_at,
            "loadbalancers": [{"id": load_balancer_id}],
            "timeout_client_data": timeout_client_data,
            "timeout_member_connect": timeout_member_connect,
            "timeout_member_data": timeout_member_data,
            "timeout_tcp_inspect": timeout_tcp_inspect,
            "tags": tags.get(id_, _NO_TAGS),
            "client_ca_tls_container_ref": extra.get("client_ca_tls_container_ref"),
            "client_authentication": extra.get("client_authentication") or "NONE",
            "client_crl_container_ref": extra.get("client_crl_container_ref"),
            "allowed_cidrs": list(allowed_cidrs) if allowed_cidrs else None,
            "tls_ciphers": extra.get("tls_ciphers"),
            "tls_versions": extra.get("tls_versions"),
            "alpn_protocols": extra.get("alpn_protocols"),
            "hsts_max_age": extra.get("hsts_max_age"),
            "hsts_include_subdomains": bool(extra.get("hsts_include_subdomains")),
            "hsts_preload": bool(extra.get("hsts_preload")),
        }
        if full:
            del doc["loadbalancers"]
        out.append(doc)
    return out


# -- pools --------------------------------------------------------------------------------

POOL_COLUMNS: Columns = (
    Pool.id,
    Pool.name,
    Pool.description,
    Pool.provisioning_status,
    Pool.operating_status,
    Pool.enabled,
    Pool.protocol,
    Pool.lb_algorithm,
    Pool.session_persistence,
    Pool.project_id,
    Pool.load_balancer_id,
    _iso(Pool.created_at),
    _iso(Pool.updated_at),
    Pool.tls_enabled,
    Pool.extra,
)
SESSION_PERSISTENCE_KEYS = ("type", "cookie_name", "persistence_timeout", "persistence_granularity")


_REDIRECTING = (
    L7Policy.enabled.is_(True),
    select(L7Rule.id).where(L7Rule.l7policy_id == L7Policy.id).exists(),
)
"""An L7 policy that sends traffic to its `redirect_pool_id` (Octavia's `Pool.listeners`,
`Listener.pools`): enabled and with at least one rule."""

_RedirectingPolicy = aliased(
    L7Policy, select(L7Policy).where(*_REDIRECTING).subquery("redirecting_l7policy")
)

_POOL_CHILDREN = (
    Relation(Listener.default_pool_id, Listener.id, Listener.created_at),
    # Listeners redirecting to the pool, in the order their policies were made.
    Relation(
        _RedirectingPolicy.redirect_pool_id,
        _RedirectingPolicy.listener_id,
        _RedirectingPolicy.created_at,
    ),
    Relation(HealthMonitor.pool_id, HealthMonitor.id),
    Relation(Member.pool_id, Member.id, Member.created_at),
    TAGS,
)


def pools(session: Session, rows: Sequence[DbRow], *, full: bool = False) -> list[dict[str, Any]]:
    ids = [r[0] for r in rows]
    default_ids, redirect_ids, monitor_ids, member_ids, tags = children(
        session, ids, _POOL_CHILDREN
    )
    member_docs: dict[str, list[Any]] = {}
    monitor_docs: dict[str, dict[str, Any]] = {}
    if full:
        member_rows = fetch_all(session, MEMBER_COLUMNS, Member.pool_id.in_(ids))
        for member_doc, row in zip(members(session, member_rows), member_rows, strict=True):
            member_docs.setdefault(row.pool_id, []).append(member_doc)
        monitor_rows = fetch_all(session, MONITOR_COLUMNS, HealthMonitor.pool_id.in_(ids))
        for monitor_doc, row in zip(
            health_monitors(session, monitor_rows, full=True), monitor_rows, strict=True
        ):
            monitor_docs[row.pool_id] = monitor_doc
    else:
        member_docs = _id_dicts(member_ids)
    out = []
    for (
        id_,
        name,
        description,
        provisioning_status,
        operating_status,
        enabled,
        protocol,
        lb_algorithm,
        sp,
        project_id,
        load_balancer_id,
        created_at,
        updated_at,
        tls_enabled,
        extra,
    ) in rows:
        extra = extra or {}
        monitor = monitor_ids.get(id_)
        doc: dict[str, Any] = {
            "id": id_,
            "name": name or "",
            "description": description or "",
            "provisioning_status": provisioning_status,
            "operating_status": operating_status,
            "admin_state_up": enabled,
            "protocol": protocol,
            "lb_algorithm": lb_algorithm,
            "session_persistence": (
                {k: sp.get(k) for k in SESSION_PERSISTENCE_KEYS} if sp else None
            ),
            "project_id": project_id,
            "tenant_id": project_id,
            "loadbalancers": [{"id": load_balancer_id}],
            "listeners": [
                {"id": i}
                for i in _unique(default_ids.get(id_, _NO_IDS), redirect_ids.get(id_, _NO_IDS))
            ],
            "created_at": created_at,
            "updated_at": updated_at,
            "healthmonitor_id": monitor[0] if monitor else None,
            "members": member_docs.get(id_, _NO_IDS),
            "tags": tags.get(id_, _NO_TAGS),
            "tls_container_ref": extra.get("tls_container_ref"),
            "ca_tls_container_ref": extra.get("ca_tls_container_ref"),
            "crl_container_ref": extra.get("crl_container_ref"),
            "tls_enabled": tls_enabled,
            "tls_ciphers": extra.get("tls_ciphers"),
            "tls_versions": extra.get("tls_versions"),
            "alpn_protocols": extra.get("alpn_protocols"),
        }
        if full:
            del doc["loadbalancers"]
            doc["healthmonitor"] = monitor_docs.get(id_)
        out.append(doc)
    return out


# -- members ------------------------------------------------------------------------------

MEMBER_COLUMNS: Columns = (
    Member.id,
    Member.name,
    Member.operating_status,
    Member.provisioning_status,
    Member.enabled,
    Member.address,
    Member.protocol_port,
    Member.weight,
    Member.backup,
    Member.subnet_id,
    Member.project_id,
    _iso(Member.created_at),
    _iso(Member.updated_at),
    Member.monitor_address,
    Member.monitor_port,
    Member.pool_id,
)


def members(session: Session, rows: Sequence[DbRow]) -> list[dict[str, Any]]:
    tags = tag_queries.by_resource(session, [r[0] for r in rows])
    return [
        {
            "id": id_,
            "name": name or "",
            "operating_status": operating_status,
            "provisioning_status": provisioning_status,
            "admin_state_up": enabled,
            "address": address,
            "protocol_port": protocol_port,
            "weight": weight,
            "backup": backup,
            "subnet_id": subnet_id,
            "project_id": project_id,
            "tenant_id": project_id,
            "created_at": created_at,
            "updated_at": updated_at,
            "monitor_address": monitor_address,
            "monitor_port": monitor_port,
            "tags": tags.get(id_, _NO_TAGS),
            "vnic_type": "normal",
        }
        for (
            id_,
            name,
            operating_status,
            provisioning_status,
            enabled,
            address,
            protocol_port,
            weight,
            backup,
            subnet_id,
            project_id,
            created_at,
            updated_at,
            monitor_address,
            monitor_port,
            _pool_id,
        ) in rows
    ]


# -- health monitors ----------------------------------------------------------------------

MONITOR_COLUMNS: Columns = (
    HealthMonitor.id,
    HealthMonitor.name,
    HealthMonitor.type,
    HealthMonitor.delay,
    HealthMonitor.timeout,
    HealthMonitor.rise_threshold,
    HealthMonitor.fall_threshold,
    HealthMonitor.http_method,
    HealthMonitor.url_path,
    HealthMonitor.expected_codes,
    HealthMonitor.enabled,
    HealthMonitor.project_id,
    HealthMonitor.pool_id,
    HealthMonitor.provisioning_status,
    HealthMonitor.operating_status,
    _iso(HealthMonitor.created_at),
    _iso(HealthMonitor.updated_at),
    HealthMonitor.http_version,
    HealthMonitor.domain_name,
)


def health_monitors(
    session: Session, rows: Sequence[DbRow], *, full: bool = False
) -> list[dict[str, Any]]:
    tags = tag_queries.by_resource(session, [r[0] for r in rows])
    out = []
    for (
        id_,
        name,
        kind,
        delay,
        timeout,
        rise_threshold,
        fall_threshold,
        http_method,
        url_path,
        expected_codes,
        enabled,
        project_id,
        pool_id,
        provisioning_status,
        operating_status,
        created_at,
        updated_at,
        http_version,
        domain_name,
    ) in rows:
        doc: dict[str, Any] = {
            "id": id_,
            "name": name or "",
            "type": kind,
            "delay": delay,
            "timeout": timeout,
            "max_retries": rise_threshold,
            "max_retries_down": fall_threshold,
            "http_method": http_method,
            "url_path": url_path,
            "expected_codes": expected_codes,
            "admin_state_up": enabled,
            "project_id": project_id,
            "tenant_id": project_id,
            "pools": [{"id": pool_id}],
            "provisioning_status": provisioning_status,
            "operating_status": operating_status,
            "created_at": created_at,
            "updated_at": updated_at,
            "tags": tags.get(id_, _NO_TAGS),
            "http_version": http_version,
            "domain_name": domain_name,
        }
        if full:
            del doc["pools"]
        out.append(doc)
    return out


# -- l7 policies and rules ---------------------------------------------------------------

L7POLICY_COLUMNS: Columns = (
    L7Policy.id,
    L7Policy.name,
    L7Policy.description,
    L7Policy.provisioning_status,
    L7Policy.operating_status,
    L7Policy.enabled,
    L7Policy.project_id,
    L7Policy.action,
    L7Policy.listener_id,
    L7Policy.redirect_pool_id,
    L7Policy.redirect_url,
    L7Policy.redirect_prefix,
    L7Policy.redirect_http_code,
    L7Policy.position,
    _iso(L7Policy.created_at),
    _iso(L7Policy.updated_at),
)


def _listener_policies(
    session: Session, listener_ids: list[str], *, full: bool
) -> dict[str, list[Any]]:
    """Each listener's policies in position order: `[{id}]`, or full docs when `full`."""
    if not listener_ids:
        return {}
    rows = (
        session.connection()
        .execute(
            select(*L7POLICY_COLUMNS)
            .where(L7Policy.listener_id.in_(listener_ids))
            .order_by(L7Policy.position, L7Policy.created_at, L7Policy.id)
        )
        .all()
    )
    docs = l7policies(session, rows, full=True) if full else [{"id": r.id} for r in rows]
    out: dict[str, list[Any]] = {}
    for doc, row in zip(docs, rows, strict=True):
        out.setdefault(row.listener_id, []).append(doc)
    return out


_L7POLICY_CHILDREN = (Relation(L7Rule.l7policy_id, L7Rule.id, L7Rule.created_at), TAGS)


def l7policies(
    session: Session, rows: Sequence[DbRow], *, full: bool = False
) -> list[dict[str, Any]]:
    ids = [r[0] for r in rows]
    rule_ids, tags = children(session, ids, _L7POLICY_CHILDREN)
    rule_docs: dict[str, list[Any]] = {}
    if full:
        rule_rows = fetch_all(session, L7RULE_COLUMNS, L7Rule.l7policy_id.in_(ids))
        for rule_doc, row in zip(l7rules(session, rule_rows), rule_rows, strict=True):
            rule_docs.setdefault(row.l7policy_id, []).append(rule_doc)
    else:
        rule_docs = _id_dicts(rule_ids)
    out = []
    for (
        id_,
        name,
        description,
        provisioning_status,
        operating_status,
        enabled,
        project_id,
        action,
        listener_id,
        redirect_pool_id,
        redirect_url,
        redirect_prefix,
        redirect_http_code,
        position,
        created_at,
        updated_at,
    ) in rows:
        doc: dict[str, Any] = {
            "id": id_,
            "name": name or "",
            "description": description or "",
            "provisioning_status": provisioning_status,
            "operating_status": operating_status,
            "admin_state_up": enabled,
            "project_id": project_id,
            "tenant_id": project_id,
            "action": action,
            "listener_id": listener_id,
            "redirect_pool_id": redirect_pool_id,
            "redirect_url": redirect_url,
            "redirect_prefix": redirect_prefix,
            "redirect_http_code": redirect_http_code,
            "position": position,
            "rules": rule_docs.get(id_, _NO_IDS),
            "created_at": created_at,
            "updated_at": updated_at,
            "tags": tags.get(id_, _NO_TAGS),
        }
        out.append(doc)
    return out


L7RULE_COLUMNS: Columns = (
    L7Rule.id,
    L7Rule.type,
    L7Rule.compare_type,
    L7Rule.key,
    L7Rule.value,
    L7Rule.invert,
    L7Rule.provisioning_status,
    L7Rule.operating_status,
    L7Rule.enabled,
    L7Rule.project_id,
    _iso(L7Rule.created_at),
    _iso(L7Rule.updated_at),
    L7Rule.l7policy_id,
)


def l7rules(session: Session, rows: Sequence[DbRow]) -> list[dict[str, Any]]:
    tags = tag_queries.by_resource(session, [r[0] for r in rows])
    return [
        {
            "id": id_,
            "type": kind,
            "compare_type": compare_type,
            "key": key,
            "value": value,
            "invert": invert,
            "provisioning_status": provisioning_status,
            "operating_status": operating_status,
            "admin_state_up": enabled,
            "project_id": project_id,
            "tenant_id": project_id,
            "created_at": created_at,
            "updated_at": updated_at,
            "tags": tags.get(id_, _NO_TAGS),
        }
        for (
            id_,
            kind,
            compare_type,
            key,
            value,
            invert,
            provisioning_status,
            operating_status,
            enabled,
            project_id,
            created_at,
            updated_at,
            _policy_id,
        ) in rows
    ]


# -- status tree --------------------------------------------------------------------------


def _redirect_pools(session: Session, lb_id: str) -> dict[str, list[str]]:
    """Each listener's pools of redirecting L7 policies (see `_REDIRECTING`), in position order."""
    rows = session.connection().execute(
        select(L7Policy.listener_id, L7Policy.redirect_pool_id)
        .join(Listener, Listener.id == L7Policy.listener_id)
        .where(Listener.load_balancer_id == lb_id, L7Policy.redirect_pool_id.is_not(None))
        .where(*_REDIRECTING)
        .order_by(L7Policy.position, L7Policy.created_at, L7Policy.id)
    )
    out: dict[str, list[str]] = {}
    for listener_id, pool_id in rows:
        if pool_id is not None:  # (excluded by the query; for the type)
            out.setdefault(listener_id, []).append(pool_id)
    return out


def status_tree(session: Session, lb: DbRow) -> dict[str, Any]:
    """Octavia's `GET .../status`: listeners → the pools they use → monitor and members.

    A listener's pools are Octavia's `Listener.pools`: its default pool, then the
    redirect pools of its enabled L7 policies that have a rule, each once.
    """
    listener_rows = fetch_all(session, LISTENER_COLUMNS, Listener.load_balancer_id == lb.id)
    redirects = _redirect_pools(session, lb.id)
    pool_rows = {r.id: r for r in fetch_all(session, POOL_COLUMNS, Pool.load_balancer_id == lb.id)}
    pool_ids = list(pool_rows)
    monitors = {
        r.pool_id: r
        for r in fetch_all(session, MONITOR_COLUMNS, HealthMonitor.pool_id.in_(pool_ids))
    }
    members_by_pool: dict[str, list[Any]] = {}
    for m in fetch_all(session, MEMBER_COLUMNS, Member.pool_id.in_(pool_ids)):
        members_by_pool.setdefault(m.pool_id, []).append(m)

    def pool_status(p: Any) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": p.id,
            "name": p.name or "",
            "provisioning_status": p.provisioning_status,
            "operating_status": p.operating_status,
        }
        hm = monitors.get(p.id)
        if hm is not None:
            doc["health_monitor"] = {
                "id": hm.id,
                "name": hm.name or "",
                "type": hm.type,
                "provisioning_status": hm.provisioning_status,
                "operating_status": hm.operating_status,
            }
        doc["members"] = [
            {
                "id": m.id,
                "name": m.name or "",
                "operating_status": m.operating_status,
                "provisioning_status": m.provisioning_status,
                "address": m.address,
                "protocol_port": m.protocol_port,
            }
            for m in members_by_pool.get(p.id, ())
        ]
        return doc

    return {
        "loadbalancer": {
            "id": lb.id,
            "name": lb.name or "",
            "operating_status": lb.operating_status,
            "provisioning_status": lb.provisioning_status,
            "listeners": [
                {
                    "id": li.id,
                    "name": li.name or "",
                    "operating_status": li.operating_status,
                    "provisioning_status": li.provisioning_status,
                    "pools": [
                        pool_status(pool_rows[pool_id])
                        for pool_id in _unique(
                            [li.default_pool_id] if li.default_pool_id else (),
                            redirects.get(li.id, _NO_IDS),
                        )
                        if pool_id in pool_rows
                    ],
                }
                for li in listener_rows
            ],
        }
    }
