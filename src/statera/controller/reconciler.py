"""Drive one load balancer's data plane to the state its rows describe.

`Reconciler.reconcile(lb_id, owner=...)` is called by a worker that holds the
load balancer's lease. It re-derives everything from the database each time
(level-triggered), so running it twice, or again after a crash at any line,
is safe: every step is idempotent (an amphora row is committed before its
namespaces exist, creating namespaces that exist is a no-op, uploading the
same config twice is harmless). It never raises: it returns an `Outcome` and
has written the result (ACTIVE, a retry time, or ERROR with the reason).

Failover (Octavia §4.6, SINGLE): amphorae the API marked PENDING_DELETE are
retired first — off the tenant bridge, namespaces deleted, row DELETED — and
only then is the replacement (whose row `_prepare` committed) booted and
plugged with the VIP, so the VIP is never on two amphorae at once.

The invariant a reader could break: statuses move to ACTIVE only in the final
transaction, and only if the generation it applied is still the newest one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from statera.compute.names import AmphoraNames
from statera.controller.addresses import allocate_port
from statera.controller.drivers import AmphoraEndpoint, Drivers
from statera.controller.udp import udp_config, without_udp
from statera.db import models
from statera.db.base import utcnow
from statera.db.secret_box import load_or_create_key
from statera.db.session import Database
from statera.db.snapshots import TlsKind, TlsLoader, load_balancer_spec
from statera.domain.enums import (
    AmphoraRole,
    AmphoraStatus,
    OperatingStatus,
    ProvisioningStatus,
    Topology,
)
from statera.domain.errors import InvalidSpec, PermanentError, TemporaryError
from statera.domain.specs import AmphoraRuntime, HaproxyDefaults, LoadBalancerSpec, VrrpSpec
from statera.services import certificates
from statera.services.certificates import secret_box
from statera.settings import NetworkSettings, Settings, derived_id

log = logging.getLogger(__name__)

GOODBYE_TIMEOUT_S = 3.0
"""How long a retiring ACTIVE_STANDBY amphora's agent gets to stop keepalived gracefully."""
VRRP_PRIORITY = {AmphoraRole.MASTER: 100, AmphoraRole.BACKUP: 90}
"""Octavia's priorities; with `nopreempt` the pair keeps whichever holds the VIP."""


def vrrp_router_id(lb_id: str) -> int:
    """The load balancer's VRRP router id (1-255). Peers are unicast, so two load
    balancers that share an id on one bridge never hear each other."""
    return int(hashlib.sha256(lb_id.encode()).hexdigest(), 16) % 255 + 1


PENDING = (
    ProvisioningStatus.PENDING_CREATE.value,
    ProvisioningStatus.PENDING_UPDATE.value,
)
GONE = ProvisioningStatus.PENDING_DELETE.value
MGMT_NETWORK = "lb-mgmt"


@dataclass(frozen=True)
class Outcome:
    lb_id: str
    result: str
    """`active`, `deleted`, `retry`, `error` or `lost` (the lease went to someone else)."""
    detail: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class _Plan:
    generation: int
    deleting: bool
    spec: LoadBalancerSpec
    network: NetworkSettings | None
    amphorae: tuple[AmphoraEndpoint, ...]
    fresh: tuple[str, ...]
    """Amphorae not yet ALLOCATED: they need compute, plug and readiness first."""
    retiring: tuple[AmphoraEndpoint, ...] = ()
    """Amphorae being failed over (PENDING_DELETE): removed before any replacement is built."""
    vrrp: tuple[tuple[str, str, int], ...] = ()
    """ACTIVE_STANDBY: (amphora id, vrrp_ip, priority) of each amphora, in `amphorae` order."""


def _prefix_length(network: NetworkSettings, address: str) -> int:
    subnet = network.subnet_containing(address)
    return subnet.network.prefixlen if subnet else ipaddress.ip_address(address).max_prefixlen


class Reconciler:
    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        drivers: Drivers,
        issue_cert: Callable[[str], tuple[bytes, bytes, bytes, datetime]] | None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._settings = settings
        self._db = database
        self._drivers = drivers
        self._issue_cert = issue_cert
        self._clock = clock
        self._applied: dict[str, LoadBalancerSpec] = {}
        self._applied_vrrp: dict[str, str] = {}
        """The keepalived configuration each amphora last accepted."""
        self._vrrp_key: bytes | None = None
        """The deployment's secret key, read once, for the VRRP passwords."""
        hs = settings.haproxy_amphora
        self._defaults = HaproxyDefaults(
            default_connection_limit=hs.default_connection_limit,
            max_global_connections=hs.max_global_connections,
        )
        self._mgmt_net = derived_id("network", MGMT_NETWORK)
        self._mgmt_subnet = derived_id("subnet", MGMT_NETWORK)

    # -- entry point -------------------------------------------------------------------

    def reconcile(self, lb_id: str, *, owner: str) -> Outcome:
        started = time.monotonic()
        try:
            plan = self._prepare(lb_id, owner=owner)
            if plan is None:
                return Outcome(lb_id, "lost", seconds=time.monotonic() - started)
            if plan.deleting:
                self._tear_down(lb_id, plan)
                done = self._finish_delete(lb_id, plan.generation, owner=owner)
                result = "deleted" if done else "lost"
            else:
                self._build(lb_id, plan)
                done = self._finish_active(lb_id, plan, owner=owner)
                result = "active" if done else "lost"
            return Outcome(lb_id, result, seconds=time.monotonic() - started)
        except (PermanentError, ValueError) as exc:
            # ValueError: a driver refused its arguments; retrying cannot help.
            message = exc.message if isinstance(exc, PermanentError) else str(exc)
            log.error("load balancer %s: %s", lb_id, message)
            self._fail(lb_id, message, owner=owner)
            return Outcome(lb_id, "error", message, time.monotonic() - started)
        except Exception as exc:  # temporary by default: retried with a delay
            retry = exc.retry_after_s if isinstance(exc, TemporaryError) else 2.0
            message = exc.message if isinstance(exc, TemporaryError) else repr(exc)
            if not isinstance(exc, TemporaryError):
                log.exception("load balancer %s: unexpected failure; will retry", lb_id)
            else:
                log.warning("load balancer %s: %s; will retry in %ss", lb_id, message, retry)
            gave_up = self._retry_later(lb_id, message, retry_after_s=retry, owner=owner)
            return Outcome(
                lb_id, "error" if gave_up else "retry", message, time.monotonic() - started
            )

    # -- phase 1: read the desired state, commit amphora rows ---------------------------

    def _prepare(self, lb_id: str, *, owner: str) -> _Plan | None:
        with self._db.write() as s:
            lb = s.get(models.LoadBalancer, lb_id)
            if lb is None or lb.lease_owner != owner:
                return None
            deleting = lb.provisioning_status == GONE
            spec = load_balancer_spec(s, lb, tls_loader=self._tls_loader(s))
            network = self._settings.network_named(lb.vip_subnet_id or lb.vip_network_id or "")
            amps = list(
                s.scalars(
                    select(models.Amphora)
                    .where(models.Amphora.load_balancer_id == lb_id)
                    .where(models.Amphora.status != AmphoraStatus.DELETED.value)
                    .order_by(models.Amphora.created_at)
                )
            )
            retiring: list[models.Amphora] = []
            if not deleting:
                if network is None:
                    raise PermanentError(f"VIP subnet {lb.vip_subnet_id} is not a declared network")
                # Failover: the amphorae marked PENDING_DELETE go first, then their
                # replacements are built (the new row is committed here, before either).
                retiring = [a for a in amps if a.status == AmphoraStatus.PENDING_DELETE.value]
                amps = [a for a in amps if a.status != AmphoraStatus.PENDING_DELETE.value]
                if lb.topology == Topology.ACTIVE_STANDBY.value and len(retiring) > 1 and not amps:
                    # The whole pair is failed over (a load balancer failover): one at a
                    # time, the BACKUP first, so the other keeps the VIP meanwhile; the
                    # rest stays PENDING_DELETE for the next pass (`_finish_active`).
                    retiring.sort(key=lambda a: a.role != AmphoraRole.BACKUP.value)
                    retiring, amps = retiring[:1], retiring[1:]
                if lb.topology == Topology.ACTIVE_STANDBY.value:
                    # One MASTER and one BACKUP; a failed-over one is replaced in its role.
                    have = {a.role for a in amps}
                    for role in (AmphoraRole.MASTER, AmphoraRole.BACKUP):
                        if role.value not in have:
                            amps.append(self._new_amphora(s, lb, network, role=role))
                elif not amps:
                    amps = [self._new_amphora(s, lb, network)]
            endpoints = tuple(
                AmphoraEndpoint(
                    a.id, a.lb_network_ip or "", self._settings.haproxy_amphora.bind_port
                )
                for a in amps
            )
            built = (AmphoraStatus.ALLOCATED.value, AmphoraStatus.PENDING_DELETE.value)
            fresh = tuple(a.id for a in amps if a.status not in built)
            old = tuple(
                AmphoraEndpoint(
                    a.id, a.lb_network_ip or "", self._settings.haproxy_amphora.bind_port
                )
                for a in retiring
            )
            vrrp = tuple(
                (a.id, a.vrrp_ip or "", a.vrrp_priority or 0)
                for a in amps
                if a.role in (AmphoraRole.MASTER.value, AmphoraRole.BACKUP.value)
            )
            if vrrp:  # the pair's HAProxies sync their stick tables
                spec = dataclasses.replace(spec, peers=tuple((a, ip) for a, ip, _ in vrrp))
            return _Plan(lb.generation, deleting, spec, network, endpoints, fresh, old, vrrp)

    def _tls_loader(self, s: Session) -> TlsLoader:
        """Certificates, CAs and CRLs from the key manager, read in this transaction; a
        reference that no longer loads (its secret was deleted) fails the load balancer
        with the key manager's reason, as Octavia's worker does."""

        def load(kind: TlsKind, ref: str, project_id: str) -> bytes:
            # Only a load balancer with TLS references needs the key (cached per path).
            box = secret_box(self._settings)
            try:
                return certificates.load_pem(s, kind, ref, project_id=project_id, box=box)
            except InvalidSpec as exc:
                raise PermanentError(f"TLS reference {ref}: {exc.message}") from exc

        return load

    def _new_amphora(
        self,
        s: Session,
        lb: models.LoadBalancer,
        network: NetworkSettings,
        *,
        role: AmphoraRole = AmphoraRole.STANDALONE,
    ) -> models.Amphora:
        paired = role != AmphoraRole.STANDALONE
        amp = models.Amphora(
            load_balancer_id=lb.id,
            status=AmphoraStatus.PENDING_CREATE.value,
            role=role.value,
            vrrp_interface="eth1",
            ha_ip=lb.vip_address,
            ha_port_id=lb.vip_port_id,
            vrrp_id=vrrp_router_id(lb.id) if paired else None,
            vrrp_priority=VRRP_PRIORITY[role] if paired else None,
        )
        s.add(amp)
        s.flush()
        mgmt = self._settings.management
        mgmt_net = ipaddress.ip_network(mgmt.cidr)
        hosts = mgmt_net.hosts()
        first = next(hosts)
        mgmt_port = allocate_port(
            s,
            network_id=self._mgmt_net,
            subnet_id=self._mgmt_subnet,
            first=str(first),
            last=str(mgmt_net.broadcast_address - 1),
            exclude={mgmt.gateway},
            name=f"octavia-lb-mgmt-{amp.id}",
            device_owner="compute:amphora",
            device_id=amp.id,
        )
        # The amphora's base port is on the VIP's subnet, as Octavia's VRRP port is.
        subnet = network.subnet(lb.vip_subnet_id or "") or network.primary
        vrrp_port = allocate_port(
            s,
            network_id=network.id,
            subnet_id=subnet.id,
            first=subnet.allocation_pool_start,
            last=subnet.allocation_pool_end,
            exclude={subnet.gateway, lb.vip_address or ""},
            name=f"octavia-lb-vrrp-{amp.id}",
            device_owner="Octavia",
            device_id=amp.id,
        )
        amp.lb_network_ip = mgmt_port.ip_address
        amp.vrrp_ip = vrrp_port.ip_address
        amp.vrrp_port_id = vrrp_port.id
        log.info(
            "load balancer %s: amphora %s allocated (mgmt %s, vrrp %s)",
            lb.id,
            amp.id,
            amp.lb_network_ip,
            amp.vrrp_ip,
        )
        return amp

    # -- phase 2: act on the world ---------------------------------------------------

    def _build(self, lb_id: str, plan: _Plan) -> None:
        assert plan.network is not None
        for old in plan.retiring:
            if plan.vrrp:
                # Its peer takes the VIP as soon as keepalived says goodbye (well under a
                # second) instead of noticing silence (about 3.5 s); a dead amphora's agent
                # does not answer and is not waited for long.
                self._drivers.amphora.remove(old, lb_id=lb_id, timeout_s=GOODBYE_TIMEOUT_S)
            self._retire(lb_id, old)
        deadline = self._settings.haproxy_amphora.agent_start_timeout
        for amp in plan.amphorae:
            if amp.amphora_id in plan.fresh:
                self._boot(amp, lb_id, plan)
                self._drivers.amphora.wait_ready(amp, deadline_s=deadline)
        from statera.rendering.haproxy import render_haproxy
        from statera.rendering.runtime import runtime_commands

        previous = self._applied.get(lb_id)
        for amp in plan.amphorae:
            # The tenant's security groups guard the VIPs before HAProxy serves them.
            if (
                previous is None
                or amp.amphora_id in plan.fresh
                or previous.vip_security_rules != plan.spec.vip_security_rules
            ):
                self._drivers.network.set_vip_security(
                    amphora_id=amp.amphora_id,
                    rules=plan.spec.vip_security_rules,
                    vip_addresses=plan.spec.vip_addresses,
                )
        served = without_udp(plan.spec)
        served_before = without_udp(previous) if previous is not None else None
        for amp in plan.amphorae:
            runtime_dir = str(self._settings.default.state_dir / "amphorae" / amp.amphora_id)
            config = render_haproxy(
                served,
                runtime=AmphoraRuntime(amphora_id=amp.amphora_id, base_dir=runtime_dir),
                defaults=self._defaults,
            )
            runtime = None
            if (
                served_before is not None
                and amp.amphora_id not in plan.fresh
                and served_before.peers == served.peers
            ):
                runtime = runtime_commands(served_before, served)
            self._drivers.amphora.apply_config(
                amp, lb_id=lb_id, config=config, runtime=runtime, files=plan.spec.tls_files
            )
        self._apply_udp(lb_id, plan, previous)
        if plan.vrrp:
            self._apply_vrrp(lb_id, plan)

    def _apply_udp(self, lb_id: str, plan: _Plan, previous: LoadBalancerSpec | None) -> None:
        """UDP listeners go to the agent's nftables balancer: on a fresh amphora when there
        are any, on the others when they changed (an empty list removes them)."""
        wanted = udp_config(plan.spec)
        before = udp_config(previous) if previous is not None else None
        for amp in plan.amphorae:
            if amp.amphora_id in plan.fresh:
                changed = bool(wanted["listeners"])
            else:  # after a restart of this controller `before` is unknown: send it again
                changed = before is None or wanted != before
            if changed:
                self._drivers.amphora.apply_udp(amp, lb_id=lb_id, config=wanted)

    def _apply_vrrp(self, lb_id: str, plan: _Plan) -> None:
        """ACTIVE_STANDBY: each amphora's keepalived, started after its HAProxy (which its
        check watches) and reloaded only when its configuration changes (a new peer after
        a failover, other VIPs)."""
        from statera.rendering.keepalived import render_keepalived

        assert plan.network is not None
        endpoints = {a.amphora_id: a for a in plan.amphorae}
        prefixes = tuple(
            (address, _prefix_length(plan.network, address)) for address in plan.spec.vip_addresses
        )
        for amp_id, vrrp_ip, priority in plan.vrrp:
            spec = VrrpSpec(
                lb_id=lb_id,
                router_id=vrrp_router_id(lb_id),
                priority=priority,
                own_ip=vrrp_ip,
                peer_ips=tuple(ip for other, ip, _ in plan.vrrp if other != amp_id),
                vip=plan.spec.vip_address,
                additional_vips=plan.spec.additional_vips,
                vip_prefixes=prefixes,
                auth_pass=self._vrrp_password(lb_id),
            )
            runtime_dir = str(self._settings.default.state_dir / "amphorae" / amp_id)
            config = render_keepalived(
                spec, runtime=AmphoraRuntime(amphora_id=amp_id, base_dir=runtime_dir)
            )
            if amp_id not in plan.fresh and self._applied_vrrp.get(amp_id) == config:
                continue
            self._drivers.amphora.apply_vrrp(endpoints[amp_id], config=config)
            self._applied_vrrp[amp_id] = config

    def _vrrp_password(self, lb_id: str) -> str:
        """VRRP's PASS authentication (8 characters, sent in clear between the two
        amphorae): derived from the deployment's secret key, so every controller host
        renders the same one without storing it."""
        if self._vrrp_key is None:
            self._vrrp_key = load_or_create_key(self._settings.secret_key_file)
        return hmac.new(self._vrrp_key, f"vrrp:{lb_id}".encode(), hashlib.sha256).hexdigest()[:8]

    def _boot(self, amp: AmphoraEndpoint, lb_id: str, plan: _Plan) -> None:
        assert plan.network is not None
        files: dict[str, bytes] = {}
        agent_dir = self._settings.default.state_dir / "amphorae" / amp.amphora_id
        expires: datetime | None = None
        if self._issue_cert is not None:
            cert, key, ca, expires = self._issue_cert(amp.amphora_id)
            files = {"server.pem": cert, "server.key": key, "client_ca.pem": ca}
        names = AmphoraNames(self._settings.default.name_prefix, amp.amphora_id)
        agent_config: dict[str, Any] = {
            "amphora_id": amp.amphora_id,
            "bind_host": amp.host,
            "bind_port": amp.port,
            "base_dir": str(agent_dir),
            "haproxy_namespace": names.tenant_namespace,
            "haproxy_cmd": self._settings.haproxy_amphora.haproxy_cmd,
            "server_cert": str(agent_dir / "server.pem"),
            "server_key": str(agent_dir / "server.key"),
            "client_ca": str(agent_dir / "client_ca.pem"),
        }
        compute_id = self._drivers.compute.create_amphora(
            amphora_id=amp.amphora_id, mgmt_ip=amp.host, agent_config=agent_config, files=files
        )
        with self._db.write() as s:
            row = s.get(models.Amphora, amp.amphora_id)
            if row is None:
                raise TemporaryError(f"amphora {amp.amphora_id} row vanished; replanning")
            row.compute_id = compute_id
            row.status = AmphoraStatus.BOOTING.value
            row.cert_expiration = expires
            row.updated_at = self._clock()
            vrrp_ip = row.vrrp_ip or ""
        self._drivers.network.plug_vip(
            amphora_id=amp.amphora_id,
            network=plan.network,
            vrrp_ip=vrrp_ip,
            vip=plan.spec.vip_address,
            additional_vips=plan.spec.additional_vips,
            hold_vips=not plan.vrrp,
        )
        log.info("load balancer %s: amphora %s booted", lb_id, amp.amphora_id)

    def _retire(self, lb_id: str, amp: AmphoraEndpoint) -> None:
        """Remove an amphora that is failed over: off the tenant bridge first (its VIP goes
        with the veth, so the replacement never shares the VIP with it), then its
        namespaces and processes, then its row (DELETED) and ports. No graceful stop: the
        agent may be what failed. Every part is a no-op when already done."""
        self._drivers.network.unplug_vip(amp.amphora_id)
        self._drivers.compute.delete_amphora(amp.amphora_id)
        self._drivers.amphora.forget(amp)
        self._applied_vrrp.pop(amp.amphora_id, None)
        with self._db.write() as s:
            row = s.get(models.Amphora, amp.amphora_id)
            if row is not None:
                row.status = AmphoraStatus.DELETED.value
                row.updated_at = self._clock()
            s.execute(delete(models.Port).where(models.Port.device_id == amp.amphora_id))
            # Its counters stay in the listeners' totals; it has no connections any more.
            s.execute(
                update(models.ListenerStatistics)
                .where(models.ListenerStatistics.amphora_id == amp.amphora_id)
                .values(active_connections=0)
            )
        log.info("load balancer %s: amphora %s failed over and deleted", lb_id, amp.amphora_id)

    def _tear_down(self, lb_id: str, plan: _Plan) -> None:
        for amp in plan.amphorae:
            if amp.amphora_id not in plan.fresh:
                self._drivers.amphora.remove(amp, lb_id=lb_id)
            self._drivers.network.unplug_vip(amp.amphora_id)
            self._drivers.compute.delete_amphora(amp.amphora_id)
            with self._db.write() as s:
                row = s.get(models.Amphora, amp.amphora_id)
                if row is not None:
                    row.status = AmphoraStatus.DELETED.value
                    row.updated_at = self._clock()
                s.execute(delete(models.Port).where(models.Port.device_id == amp.amphora_id))
            self._applied_vrrp.pop(amp.amphora_id, None)
            log.info("load balancer %s: amphora %s deleted", lb_id, amp.amphora_id)
        self._applied.pop(lb_id, None)

    # -- phase 3: record the result ----------------------------------------------------

    def _locked_lb(self, s: Session, lb_id: str, owner: str) -> models.LoadBalancer | None:
        lb = s.scalars(
            select(models.LoadBalancer).where(models.LoadBalancer.id == lb_id).with_for_update()
        ).one_or_none()
        if lb is None or lb.lease_owner != owner:
            return None
        return lb

    def _finish_active(self, lb_id: str, plan: _Plan, *, owner: str) -> bool:
        now = self._clock()
        with self._db.write() as s:
            lb = self._locked_lb(s, lb_id, owner)
            if lb is None:
                return False
            _purge_deleted_children(s, lb_id)
            _activate_children(s, lb_id, now)
            s.execute(
                update(models.Amphora)
                .where(models.Amphora.load_balancer_id == lb_id)
                .where(
                    models.Amphora.status.notin_(
                        (AmphoraStatus.DELETED.value, AmphoraStatus.PENDING_DELETE.value)
                    )
                )
                .values(status=AmphoraStatus.ALLOCATED.value, updated_at=now)
            )
            waiting = s.scalar(
                select(func.count())
                .select_from(models.Amphora)
                .where(models.Amphora.load_balancer_id == lb_id)
                .where(models.Amphora.status == AmphoraStatus.PENDING_DELETE.value)
            )
            if waiting:  # a pair replaced one at a time: the next pass does the other
                lb.generation += 1
            current = lb.generation == plan.generation
            if current:
                lb.provisioning_status = ProvisioningStatus.ACTIVE.value
                lb.applied_generation = plan.generation
                lb.pending_since = None
                if not lb.enabled:
                    lb.operating_status = OperatingStatus.OFFLINE.value
                elif lb.operating_status == OperatingStatus.OFFLINE.value:
                    lb.operating_status = OperatingStatus.ONLINE.value
            lb.updated_at = now if current else lb.updated_at
            lb.last_error = None
            lb.not_before = None
            lb.lease_owner = None
            lb.lease_expires = None
        self._applied[lb_id] = plan.spec
        return True

    def _finish_delete(self, lb_id: str, generation: int, *, owner: str) -> bool:
        now = self._clock()
        with self._db.write() as s:
            lb = self._locked_lb(s, lb_id, owner)
            if lb is None:
                return False
            listener_ids = list(
                s.scalars(
                    select(models.Listener.id).where(models.Listener.load_balancer_id == lb_id)
                )
            )
            if listener_ids:
                s.execute(
                    delete(models.ListenerStatistics).where(
                        models.ListenerStatistics.listener_id.in_(listener_ids)
                    )
                )
            _delete_children(s, lb_id, only_gone=False)
            # The VIP port: deleted if Statera allocated it, unbound (kept) if the
            # tenant created it and passed it as `vip_port_id` (Octavia's octavia_owned).
            s.execute(
                delete(models.Port).where(
                    models.Port.device_id == lb_id, models.Port.octavia_owned.is_(True)
                )
            )
            s.execute(
                update(models.Port)
                .where(models.Port.device_id == lb_id)
                .values(device_id="", device_owner="")
            )
            lb.provisioning_status = ProvisioningStatus.DELETED.value
            lb.operating_status = OperatingStatus.OFFLINE.value
            lb.applied_generation = generation
            lb.pending_since = None
            lb.last_error = None
            lb.lease_owner = None
            lb.lease_expires = None
            lb.updated_at = now
        log.info("load balancer %s deleted", lb_id)
        return True

    def _fail(self, lb_id: str, message: str, *, owner: str) -> None:
        now = self._clock()
        with self._db.write() as s:
            lb = self._locked_lb(s, lb_id, owner)
            if lb is None:
                return
            _mark_pending_children(s, lb_id, ProvisioningStatus.ERROR.value, now)
            lb.provisioning_status = ProvisioningStatus.ERROR.value
            lb.applied_generation = lb.generation
            lb.pending_since = None
            lb.last_error = message[:4000]
            lb.lease_owner = None
            lb.lease_expires = None
            lb.updated_at = now
        self._applied.pop(lb_id, None)

    def _retry_later(self, lb_id: str, message: str, *, retry_after_s: float, owner: str) -> bool:
        """Release the lease with a retry time; past the build timeout, give up (ERROR)."""
        now = self._clock()
        timeout = timedelta(seconds=self._settings.controller.build_timeout)
        with self._db.write() as s:
            lb = self._locked_lb(s, lb_id, owner)
            if lb is None:
                return False
            if lb.pending_since is not None and now - lb.pending_since > timeout:
                gave_up = True
            else:
                lb.last_error = message[:4000]
                lb.not_before = now + timedelta(seconds=retry_after_s)
                lb.lease_owner = None
                lb.lease_expires = None
                gave_up = False
        if gave_up:
            self._fail(
                lb_id,
                f"gave up after {timeout.total_seconds():.0f}s of failures: {message}",
                owner=owner,
            )
        return gave_up


_CHILD_TABLES: tuple[type[Any], ...] = (
    models.Member,
    models.HealthMonitor,
    models.Pool,
    models.Listener,
)


def _pool_ids(s: Session, lb_id: str) -> list[str]:
    return list(s.scalars(select(models.Pool.id).where(models.Pool.load_balancer_id == lb_id)))


def _child_filter(table: type[Any], lb_id: str, pool_ids: list[str]) -> Any:
    if table in (models.Member, models.HealthMonitor):
        return table.pool_id.in_(pool_ids)
    return table.load_balancer_id == lb_id


def _delete_children(s: Session, lb_id: str, *, only_gone: bool) -> None:
    """Hard-delete the load balancer's children (only those in PENDING_DELETE if asked),
    with whatever hangs from them: members and monitors of a deleted pool, statistics
    of a deleted listener, tags of every deleted object."""

    def doomed(rows: Any) -> list[str]:
        return [row_id for row_id, status in rows if not only_gone or status == GONE]

    pools = s.execute(
        select(models.Pool.id, models.Pool.provisioning_status).where(
            models.Pool.load_balancer_id == lb_id
        )
    ).all()
    pool_ids = [p for p, _ in pools]
    gone_pools = doomed(pools)
    gone_listeners = doomed(
        s.execute(
            select(models.Listener.id, models.Listener.provisioning_status).where(
                models.Listener.load_balancer_id == lb_id
            )
        ).all()
    )
    gone_members = doomed(
        s.execute(
            select(models.Member.id, models.Member.provisioning_status).where(
                models.Member.pool_id.in_(pool_ids)
            )
        ).all()
    )
    gone_monitors = doomed(
        s.execute(
            select(models.HealthMonitor.id, models.HealthMonitor.provisioning_status).where(
                models.HealthMonitor.pool_id.in_(pool_ids)
            )
        ).all()
    )
    gone_members += list(
        s.scalars(select(models.Member.id).where(models.Member.pool_id.in_(gone_pools)))
    )
    gone_monitors += list(
        s.scalars(
            select(models.HealthMonitor.id).where(models.HealthMonitor.pool_id.in_(gone_pools))
        )
    )
    if gone_pools:
        s.execute(
            update(models.Listener)
            .where(models.Listener.default_pool_id.in_(gone_pools))
            .values(default_pool_id=None)
            .execution_options(synchronize_session=False)
        )
        s.execute(
            update(models.L7Policy)
            .where(models.L7Policy.redirect_pool_id.in_(gone_pools))
            .values(redirect_pool_id=None)
            .execution_options(synchronize_session=False)
        )
    gone_policies, gone_rules = _doomed_l7(s, lb_id, gone_listeners, only_gone=only_gone)
    everything = (
        gone_members + gone_monitors + gone_pools + gone_listeners + gone_policies + gone_rules
    )
    statements: list[Any] = [
        delete(models.L7Rule).where(models.L7Rule.id.in_(gone_rules)),
        delete(models.L7Policy).where(models.L7Policy.id.in_(gone_policies)),
        delete(models.Member).where(models.Member.id.in_(gone_members)),
        delete(models.HealthMonitor).where(models.HealthMonitor.id.in_(gone_monitors)),
        delete(models.Pool).where(models.Pool.id.in_(gone_pools)),
        delete(models.ListenerStatistics).where(
            models.ListenerStatistics.listener_id.in_(gone_listeners)
        ),
        delete(models.Listener).where(models.Listener.id.in_(gone_listeners)),
        delete(models.Tag).where(models.Tag.resource_id.in_(everything)),
    ]
    for stmt in statements:
        s.execute(stmt.execution_options(synchronize_session=False))


def _l7_ids(s: Session, lb_id: str) -> tuple[Any, Any]:
    """Subqueries of the ids of the load balancer's L7 policies and of their rules."""
    listener_ids = select(models.Listener.id).where(models.Listener.load_balancer_id == lb_id)
    policy_ids = select(models.L7Policy.id).where(models.L7Policy.listener_id.in_(listener_ids))
    rule_ids = select(models.L7Rule.id).where(models.L7Rule.l7policy_id.in_(policy_ids))
    return policy_ids, rule_ids


def _doomed_l7(
    s: Session, lb_id: str, gone_listeners: list[str], *, only_gone: bool
) -> tuple[list[str], list[str]]:
    """The L7 policies and rules to delete: those in PENDING_DELETE (or all, unless
    `only_gone`), and everything hanging from a deleted listener or policy."""
    policy_ids, _ = _l7_ids(s, lb_id)
    policies = s.execute(
        select(
            models.L7Policy.id, models.L7Policy.provisioning_status, models.L7Policy.listener_id
        ).where(models.L7Policy.id.in_(policy_ids))
    ).all()
    gone_policies = [
        pid
        for pid, status, listener_id in policies
        if not only_gone or status == GONE or listener_id in gone_listeners
    ]
    rules = s.execute(
        select(
            models.L7Rule.id, models.L7Rule.provisioning_status, models.L7Rule.l7policy_id
        ).where(models.L7Rule.l7policy_id.in_([pid for pid, _, _ in policies]))
    ).all()
    gone_rules = [
        rid
        for rid, status, policy_id in rules
        if not only_gone or status == GONE or policy_id in gone_policies
    ]
    return gone_policies, gone_rules


def _purge_deleted_children(s: Session, lb_id: str) -> None:
    pool_ids = _pool_ids(s, lb_id)
    gone_monitors = list(
        s.scalars(
            select(models.HealthMonitor.pool_id)
            .where(models.HealthMonitor.pool_id.in_(pool_ids))
            .where(models.HealthMonitor.provisioning_status == GONE)
        )
    )
    _delete_children(s, lb_id, only_gone=True)
    if gone_monitors:
        # Octavia: deleting a monitor sets its pool's members to NO_MONITOR.
        s.execute(
            update(models.Member)
            .where(models.Member.pool_id.in_(gone_monitors))
            .values(operating_status=OperatingStatus.NO_MONITOR.value)
        )


def _activate_children(s: Session, lb_id: str, now: datetime) -> None:
    pool_ids = _pool_ids(s, lb_id)
    for table in _CHILD_TABLES:
        values: dict[str, Any] = {
            "provisioning_status": ProvisioningStatus.ACTIVE.value,
        }
        s.execute(
            update(table)
            .where(_child_filter(table, lb_id, pool_ids))
            .where(table.provisioning_status.in_(PENDING))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    # Monitors are ONLINE once active (OFFLINE when disabled), as Octavia marks them.
    for enabled, status in ((True, OperatingStatus.ONLINE), (False, OperatingStatus.OFFLINE)):
        s.execute(
            update(models.HealthMonitor)
            .where(models.HealthMonitor.pool_id.in_(pool_ids))
            .where(models.HealthMonitor.enabled.is_(enabled))
            .values(operating_status=status.value)
            .execution_options(synchronize_session=False)
        )
    # L7 policies and rules too: ACTIVE, then ONLINE (OFFLINE when disabled).
    policy_ids, rule_ids = _l7_ids(s, lb_id)
    for table, ids in ((models.L7Policy, policy_ids), (models.L7Rule, rule_ids)):
        s.execute(
            update(table)
            .where(table.id.in_(ids))
            .where(table.provisioning_status.in_(PENDING))
            .values(provisioning_status=ProvisioningStatus.ACTIVE.value)
            .execution_options(synchronize_session=False)
        )
        for enabled, status in ((True, OperatingStatus.ONLINE), (False, OperatingStatus.OFFLINE)):
            s.execute(
                update(table)
                .where(table.id.in_(ids))
                .where(table.enabled.is_(enabled))
                .values(operating_status=status.value)
                .execution_options(synchronize_session=False)
            )


def _mark_pending_children(s: Session, lb_id: str, status: str, now: datetime) -> None:
    pool_ids = _pool_ids(s, lb_id)
    for table in _CHILD_TABLES:
        s.execute(
            update(table)
            .where(_child_filter(table, lb_id, pool_ids))
            .where(table.provisioning_status.in_((*PENDING, GONE)))
            .values(provisioning_status=status)
            .execution_options(synchronize_session=False)
        )
    policy_ids, rule_ids = _l7_ids(s, lb_id)
    for l7_table, ids in ((models.L7Policy, policy_ids), (models.L7Rule, rule_ids)):
        s.execute(
            update(l7_table)
            .where(l7_table.id.in_(ids))
            .where(l7_table.provisioning_status.in_((*PENDING, GONE)))
            .values(provisioning_status=status)
            .execution_options(synchronize_session=False)
        )
