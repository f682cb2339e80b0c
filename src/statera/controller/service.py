"""The controller process: finds work, holds leases, runs reconciles, reads status.

Work is any load balancer whose `generation` is ahead of `applied_generation`.
A worker claims one with an atomic UPDATE that succeeds only if nobody holds a
live lease, keeps the lease alive while it works, and the reconciler releases
it when it records the result. A controller that dies leaves leases that
expire (`[controller_worker] lease_seconds`); leases of a dead process on this
same host are released at once, so a restarted `statera up` resumes without
waiting. Many controllers on many hosts can share one PostgreSQL safely.

Threads: one scanner (woken by the API in the same process, or every
`poll_interval`), a pool of `workers` reconcile threads, one lease keeper and
one status reader (every `[health_manager] status_poll_interval`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from statera.controller.drivers import AmphoraEndpoint, Drivers
from statera.controller.reconciler import Outcome, Reconciler
from statera.controller.status import apply_report
from statera.db import models
from statera.db.base import utcnow
from statera.db.session import Database
from statera.domain.enums import AmphoraStatus, ProvisioningStatus
from statera.settings import Settings

log = logging.getLogger(__name__)


def default_owner(settings: Settings) -> str:
    host = settings.default.host or socket.gethostname()
    return f"{host}:{os.getpid()}"


def _dead_local_owners(owners: set[str], *, host: str) -> list[str]:
    """Lease owners of the form `<this host>:<pid>` whose process no longer exists."""
    dead = []
    for owner in owners:
        name, _, pid = owner.rpartition(":")
        if name != host or not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                alive = b"statera" in f.read()
        except OSError:
            alive = False
        if not alive:
            dead.append(owner)
    return dead


class Controller:
    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        drivers: Drivers,
        reconciler: Reconciler,
        owner: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._settings = settings
        self._db = database
        self._drivers = drivers
        self._reconciler = reconciler
        self.owner = owner or default_owner(settings)
        self._host = self.owner.rpartition(":")[0]
        self._clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._inflight: set[str] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(
            max_workers=settings.controller.workers, thread_name_prefix="reconcile"
        )
        self._status_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="status")
        self._threads: list[threading.Thread] = []
        self.outcomes: list[Outcome] = []

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> None:
        self._drivers.network.ensure_host_networks()
        self.sweep_orphans()
        for target, name in (
            (self._scan_loop, "scanner"),
            (self._lease_loop, "lease-keeper"),
            (self._status_loop, "status-reader"),
        ):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        log.info("controller %s started", self.owner)

    def stop(self, *, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout_s)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._status_pool.shutdown(wait=True, cancel_futures=True)
        self._release_all()

    def wake(self) -> None:
        self._wake.set()

    # -- orphans --------------------------------------------------------------------

    def sweep_orphans(self) -> None:
        """Delete amphorae that exist on this host but not (or no longer) in the database."""
        present = self._drivers.compute.list_amphorae()
        if not present:
            return
        with self._db.read() as s:
            known = set(
                s.scalars(
                    select(models.Amphora.id).where(
                        models.Amphora.status != AmphoraStatus.DELETED.value
                    )
                )
            )
        for amp_id in present:
            if amp_id not in known:
                log.warning("deleting orphaned amphora %s (no live row in the database)", amp_id)
                self._drivers.network.unplug_vip(amp_id)
                self._drivers.compute.delete_amphora(amp_id)

    # -- scanning and claiming ------------------------------------------------------

    def _scan_loop(self) -> None:
        interval = self._settings.controller.poll_interval
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.scan_once()
            except Exception:
                log.exception("scan for work failed; retrying in %ss", interval)
            self._wake.wait(interval)

    def scan_once(self) -> int:
        """Claim and start every load balancer that needs work and is free; return how many."""
        now = self._clock()
        lb = models.LoadBalancer
        with self._db.read() as s:
            rows = s.execute(
                select(lb.id, lb.lease_owner, lb.lease_expires)
                .where(lb.generation > lb.applied_generation)
                .where(or_(lb.not_before.is_(None), lb.not_before <= now))
                .order_by(lb.pending_since)
                .limit(200)
            ).all()
        held = {owner for _, owner, expires in rows if owner and expires and expires > now}
        dead = _dead_local_owners(held, host=self._host)
        started = 0
        for lb_id, owner, expires in rows:
            if self._stop.is_set():
                break
            with self._lock:
                if lb_id in self._inflight or len(self._inflight) >= self._capacity():
                    continue
            free = owner is None or expires is None or expires <= now or owner in dead
            if not free and owner != self.owner:
                continue
            if self._claim(lb_id, previous_owner=owner):
                with self._lock:
                    self._inflight.add(lb_id)
                future = self._pool.submit(self._run, lb_id)
                future.add_done_callback(self._done)
                started += 1
        return started

    def _capacity(self) -> int:
        return self._settings.controller.workers * 2

    def _claim(self, lb_id: str, *, previous_owner: str | None) -> bool:
        now = self._clock()
        expires = now + timedelta(seconds=self._settings.controller.lease_seconds)
        lb = models.LoadBalancer
        stmt = (
            update(lb)
            .where(lb.id == lb_id)
            .where(lb.generation > lb.applied_generation)
            .values(lease_owner=self.owner, lease_expires=expires)
        )
        if previous_owner is None:
            stmt = stmt.where(lb.lease_owner.is_(None))
        else:
            # Take it only from the owner we saw (expired, dead, or ourselves).
            stmt = stmt.where(lb.lease_owner == previous_owner)
        with self._db.write() as s:
            result: Any = s.execute(stmt.execution_options(synchronize_session=False))
            claimed = bool(result.rowcount == 1)
        if claimed:
            log.debug("claimed load balancer %s", lb_id)
        return claimed

    def _run(self, lb_id: str) -> Outcome:
        outcome = self._reconciler.reconcile(lb_id, owner=self.owner)
        log.info(
            "load balancer %s: %s%s (%.2fs)",
            lb_id,
            outcome.result,
            f": {outcome.detail}" if outcome.detail else "",
            outcome.seconds,
        )
        return outcome

    def _done(self, future: Future[Outcome]) -> None:
        try:
            outcome = future.result()
            with self._lock:
                self._inflight.discard(outcome.lb_id)
                self.outcomes.append(outcome)
                del self.outcomes[:-1000]
        except Exception:
            log.exception("reconcile worker crashed")
            with self._lock:
                self._inflight.clear()
        self._wake.set()  # a retry or follow-up change may be due

    # -- leases ---------------------------------------------------------------------

    def _lease_loop(self) -> None:
        every = self._settings.controller.lease_seconds / 3
        while not self._stop.wait(every):
            try:
                self._renew()
            except Exception:
                log.exception("lease renewal failed; retrying in %ss", every)

    def _renew(self) -> None:
        with self._lock:
            ids = list(self._inflight)
        if not ids:
            return
        expires = self._clock() + timedelta(seconds=self._settings.controller.lease_seconds)
        lb = models.LoadBalancer
        with self._db.write() as s:
            s.execute(
                update(lb)
                .where(lb.id.in_(ids))
                .where(lb.lease_owner == self.owner)
                .values(lease_expires=expires)
                .execution_options(synchronize_session=False)
            )

    def _release_all(self) -> None:
        lb = models.LoadBalancer
        try:
            with self._db.write() as s:
                s.execute(
                    update(lb)
                    .where(lb.lease_owner == self.owner)
                    .values(lease_owner=None, lease_expires=None)
                    .execution_options(synchronize_session=False)
                )
        except Exception:
            log.exception("could not release leases at shutdown (they will expire)")

    # -- status ---------------------------------------------------------------------

    def _status_loop(self) -> None:
        every = self._settings.health_manager.status_poll_interval
        while not self._stop.wait(every):
            try:
                self.read_status_once()
            except Exception:
                log.exception("status read failed; retrying in %ss", every)

    def read_status_once(self) -> None:
        port = self._settings.haproxy_amphora.bind_port
        with self._db.read() as s:
            rows = s.execute(
                select(
                    models.Amphora.id, models.Amphora.lb_network_ip, models.Amphora.load_balancer_id
                )
                .join(
                    models.LoadBalancer, models.LoadBalancer.id == models.Amphora.load_balancer_id
                )
                .where(models.Amphora.status == AmphoraStatus.ALLOCATED.value)
                .where(models.LoadBalancer.provisioning_status == ProvisioningStatus.ACTIVE.value)
            ).all()
        endpoints = [(AmphoraEndpoint(amp_id, ip or "", port), lb_id) for amp_id, ip, lb_id in rows]
        reports = list(
            self._status_pool.map(lambda e: (e[1], self._drivers.amphora.status(e[0])), endpoints)
        )
        for lb_id, report in reports:
            if report is None or self._stop.is_set():
                continue
            with self._db.write() as s:
                lb_row = s.get(models.LoadBalancer, lb_id)
                if lb_row is not None:
                    apply_report(s, lb_row, report)
