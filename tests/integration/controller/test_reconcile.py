"""The controller against a real database (SQLite and PostgreSQL) with recording drivers.

The drivers here only record what they were asked (the netns/bridge/agent drivers
are proven by tests/e2e); what is under test is the work hand-off: leases,
generations, statuses, purging of deleted rows, retries and giving up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from statera.compute.noop import NoopComputeDriver
from statera.controller.drivers import AmphoraEndpoint, Drivers, NoopAmphora
from statera.controller.reconciler import Reconciler
from statera.controller.service import Controller
from statera.db import models
from statera.db.base import utcnow
from statera.db.session import Database
from statera.domain.errors import PermanentError, TemporaryError
from statera.network.noop import NoopNetworkDriver
from statera.protocol.agent_api import UdpConfig
from statera.settings import Settings


@dataclass
class RecordingAmphora(NoopAmphora):
    configs: list[tuple[str, str, list[str] | None]] = field(default_factory=list)
    files: list[tuple[tuple[str, bytes], ...]] = field(default_factory=list)
    """The TLS files passed with each config, index for index with `configs`."""
    fail_with: Exception | None = None
    vrrp: list[tuple[str, str]] = field(default_factory=list)
    """(amphora id, keepalived.conf) of each `apply_vrrp`."""
    udp: list[tuple[str, UdpConfig]] = field(default_factory=list)
    """(amphora id, UdpConfig) of each `apply_udp`."""

    def apply_udp(self, amp: AmphoraEndpoint, *, lb_id: str, config: UdpConfig) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.udp.append((amp.amphora_id, config))

    def apply_vrrp(self, amp: AmphoraEndpoint, *, config: str) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.vrrp.append((amp.amphora_id, config))

    def apply_config(
        self,
        amp: AmphoraEndpoint,
        *,
        lb_id: str,
        config: str,
        runtime: list[str] | None,
        files: tuple[tuple[str, bytes], ...] = (),
    ) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.configs.append((amp.amphora_id, config, runtime))
        self.files.append(files)


@pytest.fixture
def settings_overrides() -> str:
    return "[controller_worker]\nbuild_timeout = 30\n"


@pytest.fixture
def amphora() -> RecordingAmphora:
    return RecordingAmphora()


def make_controller(
    settings: Settings, database: Database, amphora: RecordingAmphora, owner: str
) -> Controller:
    drivers = Drivers(compute=NoopComputeDriver(), network=NoopNetworkDriver(), amphora=amphora)
    reconciler = Reconciler(settings=settings, database=database, drivers=drivers, issue_cert=None)
    return Controller(
        settings=settings, database=database, drivers=drivers, reconciler=reconciler, owner=owner
    )


@pytest.fixture
def controller(settings: Settings, database: Database, amphora: RecordingAmphora) -> Controller:
    return make_controller(settings, database, amphora, owner="test-host:1")


def run_until_idle(controller: Controller, *, rounds: int = 20) -> None:
    """Scan, wait for every started reconcile, repeat until a scan finds nothing to do."""
    for _ in range(rounds):
        started = controller.scan_once()
        deadline = time.monotonic() + 10
        while controller._inflight and time.monotonic() < deadline:
            time.sleep(0.005)
        assert not controller._inflight, "a reconcile did not finish within 10 s"
        if started == 0:
            return
    raise AssertionError("the controller never went idle")


def graph(**extra: Any) -> dict[str, Any]:
    return {
        "loadbalancer": {
            "name": "lb",
            "vip_subnet_id": "private-subnet",
            "listeners": [
                {
                    "protocol": "HTTP",
                    "protocol_port": 80,
                    "default_pool": {
                        "name": "p",
                        "protocol": "HTTP",
                        "lb_algorithm": "ROUND_ROBIN",
                        "members": [{"address": "10.0.0.50", "protocol_port": 80}],
                    },
                }
            ],
            **extra,
        }
    }


def statuses(client: Any, lb_id: str) -> dict[str, Any]:
    r = client.get(f"/v2/lbaas/loadbalancers/{lb_id}/status")
    assert r.status_code == 200, r.text
    return dict(r.json()["statuses"]["loadbalancer"])


def test_create_goes_active_with_one_amphora_and_the_rendered_config(
    client: Any, controller: Controller, amphora: RecordingAmphora, database: Database
) -> None:
    lb = client.post("/v2/lbaas/loadbalancers", json=graph()).json()["loadbalancer"]
    run_until_idle(controller)
    tree = statuses(client, lb["id"])
    assert tree["provisioning_status"] == "ACTIVE"
    listener = tree["listeners"][0]
    assert listener["provisioning_status"] == "ACTIVE"
    assert listener["pools"][0]["members"][0]["provisioning_status"] == "ACTIVE"
    (amp_id, config, runtime) = amphora.configs[0]
    assert f"bind {lb['vip_address']}:80" in config
    assert "server " in config and "10.0.0.50:80" in config
    assert runtime is None
    with database.read() as s:
        amps = s.scalars(select(models.Amphora)).all()
        assert [(a.id, a.status, a.role) for a in amps] == [(amp_id, "ALLOCATED", "STANDALONE")]
        row = s.get(models.LoadBalancer, lb["id"])
        assert row is not None
        assert row.applied_generation == row.generation
        assert row.lease_owner is None


def test_member_only_change_uses_the_runtime_api(
    client: Any, controller: Controller, amphora: RecordingAmphora
) -> None:
    lb = client.post("/v2/lbaas/loadbalancers", json=graph()).json()["loadbalancer"]
    run_until_idle(controller)
    pool_id = client.get("/v2/lbaas/pools").json()["pools"][0]["id"]
    r = client.post(
        f"/v2/lbaas/pools/{pool_id}/members",
        json={"member": {"address": "10.0.0.51", "protocol_port": 80, "weight": 3}},
    )
    assert r.status_code == 201, r.text
    run_until_idle(controller)
    assert statuses(client, lb["id"])["provisioning_status"] == "ACTIVE"
    _, config, runtime = amphora.configs[-1]
    assert "10.0.0.51:80 weight 3" in config
    assert runtime is not None and any(c.startswith("add server") for c in runtime)


def test_deleted_children_are_purged_and_lb_delete_marks_deleted(
    client: Any, controller: Controller, database: Database
) -> None:
    lb = client.post("/v2/lbaas/loadbalancers", json=graph()).json()["loadbalancer"]
    run_until_idle(controller)
    pool = client.get("/v2/lbaas/pools").json()["pools"][0]
    member_id = pool["members"][0]["id"]
    assert client.delete(f"/v2/lbaas/pools/{pool['id']}/members/{member_id}").status_code == 204
    run_until_idle(controller)
    assert client.get(f"/v2/lbaas/pools/{pool['id']}/members/{member_id}").status_code == 404
    r = client.delete(f"/v2/lbaas/loadbalancers/{lb['id']}", params={"cascade": "true"})
    assert r.status_code == 204, r.text
    run_until_idle(controller)
    assert client.get(f"/v2/lbaas/loadbalancers/{lb['id']}").status_code == 404
    with database.read() as s:
        row = s.get(models.LoadBalancer, lb["id"])
        assert row is not None and row.provisioning_status == "DELETED"
        for table in (models.Listener, models.Pool, models.Member, models.Port):
            assert s.scalars(select(table)).all() == [], table
        assert [a.status for a in s.scalars(select(models.Amphora))] == ["DELETED"]


def test_only_one_of_two_controllers_claims_a_load_balancer(
    client: Any, settings: Settings, database: Database, amphora: RecordingAmphora
) -> None:
    client.post("/v2/lbaas/loadbalancers", json=graph())
    a = make_controller(settings, database, amphora, owner="host-a:1")
    b = make_controller(settings, database, amphora, owner="host-b:1")
    with database.read() as s:
        lb_id = s.scalars(select(models.LoadBalancer.id)).one()
    assert a._claim(lb_id, previous_owner=None) is True
    assert b._claim(lb_id, previous_owner=None) is False
    # A live lease of another host is respected by a scan...
    assert b.scan_once() == 0
    # ...and an expired one is taken over.
    with database.write() as s:
        s.execute(update(models.LoadBalancer).values(lease_expires=utcnow() - timedelta(seconds=1)))
    assert b.scan_once() == 1
    run_until_idle(b)
    with database.read() as s:
        row = s.get(models.LoadBalancer, lb_id)
        assert row is not None and row.provisioning_status == "ACTIVE"


def test_a_dead_process_on_this_host_loses_its_leases_at_once(
    client: Any, settings: Settings, database: Database, amphora: RecordingAmphora
) -> None:
    client.post("/v2/lbaas/loadbalancers", json=graph())
    # PID 2**22+1 cannot exist (pid_max is at most 2**22).
    dead = make_controller(settings, database, amphora, owner=f"same-host:{2**22 + 1}")
    with database.read() as s:
        lb_id = s.scalars(select(models.LoadBalancer.id)).one()
    assert dead._claim(lb_id, previous_owner=None)
    alive = make_controller(settings, database, amphora, owner="same-host:1")
    assert alive.scan_once() == 1
    run_until_idle(alive)


def test_temporary_failures_retry_then_give_up_into_error(
    client: Any, controller: Controller, amphora: RecordingAmphora, database: Database
) -> None:
    amphora.fail_with = TemporaryError("agent unreachable", retry_after_s=3600)
    lb = client.post("/v2/lbaas/loadbalancers", json=graph()).json()["loadbalancer"]
    run_until_idle(controller)
    with database.read() as s:
        row = s.get(models.LoadBalancer, lb["id"])
        assert row is not None
        assert row.provisioning_status == "PENDING_CREATE"
        assert row.last_error == "agent unreachable"
    # Past the build timeout the next failure gives up: ERROR, never stuck PENDING.
    with database.write() as s:
        s.execute(
            update(models.LoadBalancer).values(
                pending_since=utcnow() - timedelta(hours=1), not_before=None
            )
        )
    run_until_idle(controller)
    tree = statuses(client, lb["id"])
    assert tree["provisioning_status"] == "ERROR"
    assert tree["listeners"][0]["provisioning_status"] == "ERROR"
    # An LB in ERROR can still be deleted, and the delete completes.
    amphora.fail_with = None
    assert client.delete(f"/v2/lbaas/loadbalancers/{lb['id']}?cascade=true").status_code == 204
    run_until_idle(controller)
    assert client.get(f"/v2/lbaas/loadbalancers/{lb['id']}").status_code == 404


def test_a_rejected_configuration_is_an_error_with_the_reason(
    client: Any, controller: Controller, amphora: RecordingAmphora, database: Database
) -> None:
    amphora.fail_with = PermanentError("haproxy -c: something is wrong")
    lb = client.post("/v2/lbaas/loadbalancers", json=graph()).json()["loadbalancer"]
    run_until_idle(controller)
    with database.read() as s:
        row = s.get(models.LoadBalancer, lb["id"])
        assert row is not None and row.provisioning_status == "ERROR"
        assert row.last_error == "haproxy -c: something is wrong"


def test_statistics_accumulate_across_haproxy_counter_resets(
    client: Any, controller: Controller, database: Database
) -> None:
    from statera.controller.status import apply_report

    lb = client.post("/v2/lbaas/loadbalancers", json=graph()).json()["loadbalancer"]
    run_until_idle(controller)
    listener_id = client.get("/v2/lbaas/listeners").json()["listeners"][0]["id"]

    def report(rx: int, tx: int, conns: int, totconns: int) -> Any:
        stats = {"rx": rx, "tx": tx, "conns": conns, "totconns": totconns, "ereq": 0}
        return {
            "id": "amp-1",
            "seq": 1,
            "ver": 2,
            "listeners": {listener_id: {"status": "OPEN", "stats": stats}},
            "pools": {},
        }

    for rep in (report(100, 1000, 2, 10), report(150, 1500, 1, 15), report(30, 300, 0, 3)):
        with database.write() as s:
            row = s.get(models.LoadBalancer, lb["id"])
            assert row is not None
            apply_report(s, row, rep)  # the third is after a reload: counters restarted
    stats = client.get(f"/v2/lbaas/listeners/{listener_id}/stats").json()["stats"]
    assert stats == {
        "bytes_in": 180,
        "bytes_out": 1800,
        "active_connections": 0,
        "total_connections": 18,
        "request_errors": 0,
    }
