"""ORM rows → domain specs: the only place that walks relationships for the data plane.

`load_balancer_spec` reads one load balancer's graph in a handful of queries
and returns the frozen `LoadBalancerSpec` the renderer takes. Objects in
PENDING_DELETE are left out: the controller's job is to make them disappear.
"""

import hashlib
from collections import defaultdict
from collections.abc import Callable
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from statera.db import models
from statera.db.queries.security_groups import rules_for
from statera.domain.enums import (
    Algorithm,
    HealthMonitorType,
    L7PolicyAction,
    L7RuleCompareType,
    L7RuleType,
    ListenerProtocol,
    PoolProtocol,
    ProvisioningStatus,
    SessionPersistenceType,
    Topology,
)
from statera.domain.specs import (
    HealthMonitorSpec,
    L7PolicySpec,
    L7RuleSpec,
    ListenerSpec,
    ListenerTlsSpec,
    LoadBalancerSpec,
    MemberSpec,
    PoolSpec,
    PoolTlsSpec,
    SessionPersistenceSpec,
)

_GONE = ProvisioningStatus.PENDING_DELETE.value

TlsKind = Literal["bundle", "ca", "crl"]
TlsLoader = Callable[[TlsKind, str, str], bytes]
"""(kind, reference, project id) → PEM bytes from the key manager: a certificate with its
intermediates and key (`bundle`), CA certificates (`ca`) or a CRL (`crl`)."""


class _TlsFiles:
    """The PEM files a load balancer's listeners and pools name, each once, named by
    content (so a changed secret is a new file and an unchanged one is not re-sent)."""

    def __init__(self, loader: TlsLoader | None, project_id: str) -> None:
        self._loader = loader
        self._project_id = project_id
        self.files: dict[str, bytes] = {}

    def add(self, kind: TlsKind, ref: str | None) -> str | None:
        if not ref:
            return None
        if self._loader is None:
            raise ValueError(f"no key manager to load TLS reference {ref}")
        data = self._loader(kind, ref, self._project_id)
        name = f"{kind}-{hashlib.sha256(data).hexdigest()[:32]}.pem"
        self.files[name] = data
        return name


def load_balancer_spec(
    session: Session, lb: models.LoadBalancer, *, tls_loader: TlsLoader | None = None
) -> LoadBalancerSpec:
    """The desired state of `lb`; `tls_loader` reads the certificates its TERMINATED_HTTPS
    listeners and TLS pools name (without one, such a listener or pool is a ValueError)."""
    listeners = session.scalars(
        select(models.Listener)
        .where(models.Listener.load_balancer_id == lb.id)
        .where(models.Listener.provisioning_status != _GONE)
        .order_by(models.Listener.protocol_port)
    ).all()
    pools = session.scalars(
        select(models.Pool)
        .where(models.Pool.load_balancer_id == lb.id)
        .where(models.Pool.provisioning_status != _GONE)
        .order_by(models.Pool.created_at, models.Pool.id)
    ).all()
    pool_ids = [p.id for p in pools]
    members: dict[str, list[models.Member]] = defaultdict(list)
    monitors: dict[str, models.HealthMonitor] = {}
    if pool_ids:
        for member in session.scalars(
            select(models.Member)
            .where(models.Member.pool_id.in_(pool_ids))
            .where(models.Member.provisioning_status != _GONE)
            .order_by(models.Member.created_at, models.Member.id)
        ):
            members[member.pool_id].append(member)
        for hm in session.scalars(
            select(models.HealthMonitor)
            .where(models.HealthMonitor.pool_id.in_(pool_ids))
            .where(models.HealthMonitor.provisioning_status != _GONE)
        ):
            monitors[hm.pool_id] = hm
    live_pools = set(pool_ids)
    policies = _policies(session, [li.id for li in listeners], live_pools)
    files = _TlsFiles(tls_loader, lb.project_id or "")
    listener_specs = tuple(
        _listener(li, live_pools, policies.get(li.id, ()), files) for li in listeners
    )
    pool_specs = tuple(_pool(p, members[p.id], monitors.get(p.id), files) for p in pools)
    return LoadBalancerSpec(
        id=lb.id,
        vip_address=lb.vip_address or "",
        admin_state_up=lb.enabled,
        additional_vips=tuple(v["ip_address"] for v in lb.additional_vips or ()),
        vip_security_rules=(
            tuple(rules_for(session, lb.vip_sg_ids)) if lb.vip_sg_ids else None
        ),
        topology=Topology(lb.topology),
        listeners=listener_specs,
        pools=pool_specs,
        generation=lb.generation,
        tls_files=tuple(sorted(files.files.items())),
    )


def _policies(
    session: Session, listener_ids: list[str], live_pools: set[str]
) -> dict[str, tuple[L7PolicySpec, ...]]:
    """Each listener's live L7 policies in position order, with their live rules."""
    if not listener_ids:
        return {}
    rows = session.scalars(
        select(models.L7Policy)
        .where(models.L7Policy.listener_id.in_(listener_ids))
        .where(models.L7Policy.provisioning_status != _GONE)
        .order_by(models.L7Policy.position, models.L7Policy.created_at, models.L7Policy.id)
    ).all()
    rules: dict[str, list[L7RuleSpec]] = defaultdict(list)
    if rows:
        for rule in session.scalars(
            select(models.L7Rule)
            .where(models.L7Rule.l7policy_id.in_([p.id for p in rows]))
            .where(models.L7Rule.provisioning_status != _GONE)
            .order_by(models.L7Rule.created_at, models.L7Rule.id)
        ):
            rules[rule.l7policy_id].append(
                L7RuleSpec(
                    id=rule.id,
                    type=L7RuleType(rule.type),
                    compare_type=L7RuleCompareType(rule.compare_type),
                    value=rule.value,
                    key=rule.key,
                    invert=rule.invert,
                    admin_state_up=rule.enabled,
                )
            )
    out: dict[str, list[L7PolicySpec]] = defaultdict(list)
    for row in rows:
        out[row.listener_id].append(
            L7PolicySpec(
                id=row.id,
                action=L7PolicyAction(row.action),
                position=row.position,
                admin_state_up=row.enabled,
                redirect_pool_id=(
                    row.redirect_pool_id if row.redirect_pool_id in live_pools else None
                ),
                redirect_url=row.redirect_url,
                redirect_prefix=row.redirect_prefix,
                redirect_http_code=row.redirect_http_code,
                rules=tuple(rules[row.id]),
            )
        )
    return {listener_id: tuple(specs) for listener_id, specs in out.items()}


def _listener(
    row: models.Listener,
    live_pools: set[str],
    policies: tuple[L7PolicySpec, ...],
    files: _TlsFiles,
) -> ListenerSpec:
    headers = tuple(sorted((str(k), str(v)) for k, v in (row.insert_headers or {}).items()))
    return ListenerSpec(
        id=row.id,
        protocol=ListenerProtocol(row.protocol),
        protocol_port=row.protocol_port,
        admin_state_up=row.enabled,
        connection_limit=row.connection_limit,
        default_pool_id=row.default_pool_id if row.default_pool_id in live_pools else None,
        timeout_client_data_ms=row.timeout_client_data,
        timeout_member_connect_ms=row.timeout_member_connect,
        timeout_member_data_ms=row.timeout_member_data,
        timeout_tcp_inspect_ms=row.timeout_tcp_inspect,
        allowed_cidrs=tuple(row.allowed_cidrs or ()),
        insert_headers=headers,
        l7policies=policies,
        tls=_listener_tls(row, files),
    )


def _listener_tls(row: models.Listener, files: _TlsFiles) -> ListenerTlsSpec | None:
    if row.protocol != ListenerProtocol.TERMINATED_HTTPS:
        return None
    extra: dict[str, Any] = row.extra or {}
    refs = [extra.get("default_tls_container_ref"), *(extra.get("sni_container_refs") or ())]
    names = [files.add("bundle", ref) for ref in dict.fromkeys(r for r in refs if r)]
    client_ca = files.add("ca", extra.get("client_ca_tls_container_ref"))
    return ListenerTlsSpec(
        certificates=tuple(n for n in names if n is not None),
        client_ca=client_ca,
        client_crl=(
            files.add("crl", extra.get("client_crl_container_ref")) if client_ca else None
        ),
        client_authentication=extra.get("client_authentication") or "NONE",
        versions=tuple(extra.get("tls_versions") or ()),
        ciphers=extra.get("tls_ciphers") or None,
        alpn_protocols=tuple(extra.get("alpn_protocols") or ()),
        hsts_max_age=extra.get("hsts_max_age"),
        hsts_include_subdomains=bool(extra.get("hsts_include_subdomains")),
        hsts_preload=bool(extra.get("hsts_preload")),
    )


def _pool(
    row: models.Pool,
    members: list[models.Member],
    hm: models.HealthMonitor | None,
    files: _TlsFiles,
) -> PoolSpec:
    persistence = None
    if row.session_persistence:
        persistence = SessionPersistenceSpec(
            type=SessionPersistenceType(row.session_persistence["type"]),
            cookie_name=row.session_persistence.get("cookie_name"),
            persistence_timeout=row.session_persistence.get("persistence_timeout"),
            persistence_granularity=row.session_persistence.get("persistence_granularity"),
        )
    return PoolSpec(
        id=row.id,
        protocol=PoolProtocol(row.protocol),
        lb_algorithm=Algorithm(row.lb_algorithm),
        admin_state_up=row.enabled,
        members=tuple(_member(m) for m in members),
        health_monitor=_monitor(hm) if hm is not None else None,
        session_persistence=persistence,
        tls=_pool_tls(row, files),
    )


def _pool_tls(row: models.Pool, files: _TlsFiles) -> PoolTlsSpec | None:
    if not row.tls_enabled:
        return None
    extra: dict[str, Any] = row.extra or {}
    ca = files.add("ca", extra.get("ca_tls_container_ref"))
    return PoolTlsSpec(
        versions=tuple(extra.get("tls_versions") or ()),
        ciphers=extra.get("tls_ciphers") or None,
        alpn_protocols=tuple(extra.get("alpn_protocols") or ()),
        certificate=files.add("bundle", extra.get("tls_container_ref")),
        ca=ca,
        crl=files.add("crl", extra.get("crl_container_ref")) if ca else None,
    )


def _member(row: models.Member) -> MemberSpec:
    return MemberSpec(
        id=row.id,
        address=row.address,
        protocol_port=row.protocol_port,
        weight=row.weight,
        backup=row.backup,
        admin_state_up=row.enabled,
        monitor_address=row.monitor_address,
        monitor_port=row.monitor_port,
    )


def _monitor(row: models.HealthMonitor) -> HealthMonitorSpec:
    return HealthMonitorSpec(
        id=row.id,
        type=HealthMonitorType(row.type),
        delay_s=row.delay,
        timeout_s=row.timeout,
        max_retries=row.rise_threshold,
        max_retries_down=row.fall_threshold,
        admin_state_up=row.enabled,
        http_method=row.http_method,
        url_path=row.url_path,
        expected_codes=row.expected_codes,
        http_version=row.http_version,
        domain_name=row.domain_name,
    )
