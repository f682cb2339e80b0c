"""Failover and the amphora admin API, through the controller with recording drivers.

The drivers remember what exists (namespaces, plugs) as the host would; what is
under test is the order of the failover steps (the old amphora leaves the
bridge before its replacement is plugged, so the VIP is never held twice) and
that a controller dying between any two steps, then restarted, still ends
with exactly one live amphora and the load balancer ACTIVE.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from tests.integration.api.helpers import fault
from tests.integration.controller.test_reconcile import (
    RecordingAmphora,
    graph,
    run_until_idle,
    statuses,
)

from statera.compute.noop import NoopComputeDriver
from statera.controller.drivers import Drivers
from statera.controller.reconciler import Reconciler
from statera.controller.service import Controller
from statera.db import models
from statera.db.base import utcnow
from statera.db.session import Database
from statera.network.noop import NoopNetworkDriver
from statera.settings import NetworkSettings, Settings

V2 = "/v2/lbaas"
AMPS = "/v2/octavia/amphorae"


class ExclusiveVipNetwork(NoopNetworkDriver):
    """Fails the test if a VIP is plugged while another amphora still holds it."""

    def plug_vip(
        self,
        *,
        amphora_id: str,
        network: NetworkSettings,
        vrrp_ip: str,
        vip: str,
        additional_vips: Sequence[str] = (),
        hold_vips: bool = True,
    ) -> None:
        holders = [
            a
            for a, plug in self.plugs.items()
            if plug.vip == vip and plug.hold_vips and a != amphora_id and hold_vips
        ]
        assert not holders, f"VIP {vip} plugged on {amphora_id} while {holders} hold it"
        super().plug_vip(
            amphora_id=amphora_id,
            network=network,
            vrrp_ip=vrrp_ip,
            vip=vip,
            additional_vips=additional_vips,
            hold_vips=hold_vips,
        )


class Crash(BaseException):
    """The controller process dies here (not an Exception: nothing may catch it)."""


class Host:
    """One host's compute and network state, shared by every controller "process"."""

    def __init__(self) -> None:
        self.compute = NoopComputeDriver()
        self.network = ExclusiveVipNetwork()
        self.amphora = RecordingAmphora()


class Crashing:
    """Wraps a driver; the `n`-th call counted by `counter` raises Crash."""

    def __init__(self, inner: Any, counter: list[int], crash_at: int) -> None:
        self._inner = inner
        self._counter = counter
        self._crash_at = crash_at

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self._counter[0] += 1
            if self._counter[0] == self._crash_at:
                raise Crash(name)
            return target(*args, **kwargs)

        return call


def controller_on(
    host: Host, settings: Settings, database: Database, owner: str, *, crash_at: int = 0
) -> Controller:
    counter = [0]
    drivers = Drivers(
        compute=Crashing(host.compute, counter, crash_at),  # type: ignore[arg-type]
        network=Crashing(host.network, counter, crash_at),  # type: ignore[arg-type]
        amphora=Crashing(host.amphora, counter, crash_at),  # type: ignore[arg-type]
    )
    reconciler = Reconciler(settings=settings, database=database, drivers=drivers, issue_cert=None)
    return Controller(
        settings=settings, database=database, drivers=drivers, reconciler=reconciler, owner=owner
    )


@pytest.fixture
def settings_overrides() -> str:
    return "[controller_worker]\nbuild_timeout = 30\n"


@pytest.fixture
def host() -> Host:
    return Host()


@pytest.fixture
def controller(host: Host, settings: Settings, database: Database) -> Controller:
    return controller_on(host, settings, database, "host-a:1")


def live_amphorae(database: Database, lb_id: str) -> list[models.Amphora]:
    with database.read() as s:
        rows = list(
            s.scalars(
                select(models.Amphora)
                .where(models.Amphora.load_balancer_id == lb_id)
                .where(models.Amphora.status != "DELETED")
            )
        )
        for row in rows:
            s.expunge(row)
        return rows


def active_lb(client: Any, controller: Controller) -> dict[str, Any]:
    lb = client.post(f"{V2}/loadbalancers", json=graph()).json()["loadbalancer"]
    run_until_idle(controller)
    assert statuses(client, lb["id"])["provisioning_status"] == "ACTIVE"
    return dict(lb)


def assert_replaced(
    client: Any, database: Database, host: Host, lb: dict[str, Any], old_id: str
) -> str:
    """Exactly one live amphora, not `old_id`, holding the VIP; the old one is gone."""
    assert statuses(client, lb["id"])["provisioning_status"] == "ACTIVE"
    amps = live_amphorae(database, lb["id"])
    assert [a.status for a in amps] == ["ALLOCATED"]
    new = amps[0]
    assert new.id != old_id and new.ha_ip == lb["vip_address"]
    assert host.compute.list_amphorae() == [new.id]
    assert list(host.network.plugs) == [new.id]
    assert host.network.plugs[new.id].vip == lb["vip_address"]
    with database.read() as s:
        old = s.get(models.Amphora, old_id)
        assert old is not None and old.status == "DELETED"
        assert s.scalars(select(models.Port).where(models.Port.device_id == old_id)).all() == []
    return new.id


# -- load balancer failover ---------------------------------------------------------------


def test_load_balancer_failover_replaces_the_amphora(
    client: Any, controller: Controller, database: Database, host: Host
) -> None:
    lb = active_lb(client, controller)
    (old,) = live_amphorae(database, lb["id"])
    generation = database_generation(database, lb["id"])
    r = client.put(f"{V2}/loadbalancers/{lb['id']}/failover")
    assert r.status_code == 202 and r.content == b""
    assert statuses(client, lb["id"])["provisioning_status"] == "PENDING_UPDATE"
    assert database_generation(database, lb["id"]) == generation + 1
    assert [a.status for a in live_amphorae(database, lb["id"])] == ["PENDING_DELETE"]
    # While it is PENDING_UPDATE another failover (or any change) is a 409.
    message = fault(client.put(f"{V2}/loadbalancers/{lb['id']}/failover"), 409)
    assert message == f"Load Balancer {lb['id']} is immutable and cannot be updated."
    run_until_idle(controller)
    new_id = assert_replaced(client, database, host, lb, old.id)
    # The new amphora got the whole configuration, not runtime commands.
    amp_id, config, runtime = host.amphora.configs[-1]
    assert amp_id == new_id and runtime is None
    assert f"bind {lb['vip_address']}:80" in config


def database_generation(database: Database, lb_id: str) -> int:
    with database.read() as s:
        row = s.get(models.LoadBalancer, lb_id)
        assert row is not None
        return row.generation


def test_failover_recovers_a_load_balancer_in_error(
    client: Any, controller: Controller, database: Database, host: Host
) -> None:
    lb = active_lb(client, controller)
    (old,) = live_amphorae(database, lb["id"])
    with database.write() as s:
        s.execute(update(models.LoadBalancer).values(provisioning_status="ERROR"))
        s.execute(update(models.Listener).values(provisioning_status="ERROR"))
    assert client.put(f"{V2}/loadbalancers/{lb['id']}/failover").status_code == 202
    run_until_idle(controller)
    assert_replaced(client, database, host, lb, old.id)
    assert statuses(client, lb["id"])["listeners"][0]["provisioning_status"] == "ACTIVE"


def test_failover_of_unknown_or_deleted_load_balancer_is_404(client: Any) -> None:
    missing = "b4ca07d1-a31e-43e2-891a-7d14f419f342"
    message = fault(client.put(f"{V2}/loadbalancers/{missing}/failover"), 404)
    assert message == f"Load Balancer {missing} not found."


@pytest.mark.parametrize("crash_at", range(1, 9))
def test_a_controller_dying_anywhere_in_a_failover_still_ends_with_one_amphora(
    client: Any,
    controller: Controller,
    settings: Settings,
    database: Database,
    host: Host,
    crash_at: int,
) -> None:
    lb = active_lb(client, controller)
    (old,) = live_amphorae(database, lb["id"])
    assert client.put(f"{V2}/loadbalancers/{lb['id']}/failover").status_code == 202
    dying = controller_on(host, settings, database, "host-b:1", crash_at=crash_at)
    assert dying._claim(lb["id"], previous_owner=None)
    try:
        dying._reconciler.reconcile(lb["id"], owner="host-b:1")
    except Crash:
        pass
    else:
        # Fewer driver calls than crash_at: the failover simply finished.
        assert crash_at > 6
    # The dead process's lease expires; a restarted controller finishes the job.
    with database.write() as s:
        s.execute(
            update(models.LoadBalancer)
            .where(models.LoadBalancer.lease_owner.is_not(None))
            .values(lease_expires=utcnow() - timedelta(seconds=1))
        )
    run_until_idle(controller_on(host, settings, database, "host-c:1"))
    assert_replaced(client, database, host, lb, old.id)


# -- the amphora admin API ----------------------------------------------------------------


AMPHORA_FIELDS = {
    "id",
    "loadbalancer_id",
    "compute_id",
    "lb_network_ip",
    "vrrp_ip",
    "ha_ip",
    "vrrp_port_id",
    "ha_port_id",
    "cert_expiration",
    "cert_busy",
    "role",
    "status",
    "vrrp_interface",
    "vrrp_id",
    "vrrp_priority",
    "cached_zone",
    "created_at",
    "updated_at",
    "image_id",
    "compute_flavor",
}


def test_amphora_list_and_show(client: Any, controller: Controller, database: Database) -> None:
    lb = active_lb(client, controller)
    active_lb(client, controller)
    listed = client.get(AMPS).json()
    assert len(listed["amphorae"]) == 2 and listed["amphorae_links"] == []
    mine = client.get(AMPS, params={"loadbalancer_id": lb["id"]}).json()["amphorae"]
    assert len(mine) == 1
    amp = mine[0]
    assert set(amp) == AMPHORA_FIELDS
    assert amp["loadbalancer_id"] == lb["id"] and amp["status"] == "ALLOCATED"
    assert amp["role"] == "STANDALONE" and amp["ha_ip"] == lb["vip_address"]
    assert amp["compute_id"] == f"noop-{amp['id']}" and amp["cert_busy"] is False
    assert client.get(f"{AMPS}/{amp['id']}").json() == {"amphora": amp}
    shown = client.get(f"{AMPS}/{amp['id']}", params={"fields": "id,status"}).json()
    assert shown == {"amphora": {"id": amp["id"], "status": "ALLOCATED"}}
    page = client.get(AMPS, params={"limit": 1}).json()
    assert len(page["amphorae"]) == 1 and page["amphorae_links"][0]["rel"] == "next"
    assert client.get(AMPS, params={"status": "ERROR"}).json()["amphorae"] == []
    assert fault(client.get(AMPS, params={"colour": "x"}), 400).endswith("colour")
    missing = "b4ca07d1-a31e-43e2-891a-7d14f419f342"
    assert fault(client.get(f"{AMPS}/{missing}"), 404) == f"Amphora {missing} not found."


def test_amphora_stats_come_from_its_listener_statistics(
    client: Any, controller: Controller, database: Database
) -> None:
    lb = active_lb(client, controller)
    (amp,) = live_amphorae(database, lb["id"])
    listener_id = client.get(f"{V2}/listeners").json()["listeners"][0]["id"]
    assert client.get(f"{AMPS}/{amp.id}/stats").json() == {"amphora_stats": []}
    with database.write() as s:
        s.add(
            models.ListenerStatistics(
                listener_id=listener_id,
                amphora_id=amp.id,
                bytes_in=10,
                bytes_out=20,
                active_connections=1,
                total_connections=5,
                request_errors=2,
            )
        )
    assert client.get(f"{AMPS}/{amp.id}/stats").json() == {
        "amphora_stats": [
            {
                "id": amp.id,
                "listener_id": listener_id,
                "loadbalancer_id": lb["id"],
                "active_connections": 1,
                "bytes_in": 10,
                "bytes_out": 20,
                "request_errors": 2,
                "total_connections": 5,
            }
        ]
    }


def test_amphora_config_re_pushes_the_configuration(
    client: Any, controller: Controller, database: Database, host: Host
) -> None:
    lb = active_lb(client, controller)
    (amp,) = live_amphorae(database, lb["id"])
    pushed = len(host.amphora.configs)
    r = client.put(f"{AMPS}/{amp.id}/config")
    assert r.status_code == 202 and r.content == b""
    assert statuses(client, lb["id"])["provisioning_status"] == "PENDING_UPDATE"
    assert fault(client.put(f"{AMPS}/{amp.id}/config"), 409) == (
        f"Load Balancer {lb['id']} is immutable and cannot be updated."
    )
    run_until_idle(controller)
    assert statuses(client, lb["id"])["provisioning_status"] == "ACTIVE"
    assert len(host.amphora.configs) == pushed + 1
    assert host.amphora.configs[-1][0] == amp.id
    assert [a.id for a in live_amphorae(database, lb["id"])] == [amp.id]


def test_amphora_failover_through_the_amphora_api(
    client: Any, controller: Controller, database: Database, host: Host
) -> None:
    lb = active_lb(client, controller)
    (amp,) = live_amphorae(database, lb["id"])
    r = client.put(f"{AMPS}/{amp.id}/failover")
    assert r.status_code == 202 and r.content == b""
    assert fault(client.put(f"{AMPS}/{amp.id}/failover"), 409) == (
        f"Load Balancer {lb['id']} is immutable and cannot be updated."
    )
    run_until_idle(controller)
    new_id = assert_replaced(client, database, host, lb, amp.id)
    # The old amphora is DELETED, so it is hidden now.
    assert fault(client.get(f"{AMPS}/{amp.id}"), 404) == f"Amphora {amp.id} not found."
    assert [a["id"] for a in client.get(AMPS).json()["amphorae"]] == [new_id]


def test_only_an_amphora_in_error_can_be_deleted(
    client: Any, controller: Controller, database: Database, host: Host
) -> None:
    lb = active_lb(client, controller)
    (amp,) = live_amphorae(database, lb["id"])
    assert fault(client.delete(f"{AMPS}/{amp.id}"), 409) == (
        f"Amphora {amp.id} is immutable and cannot be updated."
    )
    with database.write() as s:
        s.execute(update(models.Amphora).values(status="ERROR"))
    assert client.delete(f"{AMPS}/{amp.id}").status_code == 204
    run_until_idle(controller)
    # A load balancer always has its amphora: the deleted one was replaced.
    assert_replaced(client, database, host, lb, amp.id)


def test_deleting_a_load_balancer_mid_failover_removes_every_amphora(
    client: Any, controller: Controller, database: Database, host: Host
) -> None:
    lb = active_lb(client, controller)
    assert client.put(f"{V2}/loadbalancers/{lb['id']}/failover").status_code == 202
    # Failover failed for good: the load balancer is in ERROR, the old amphora still marked.
    with database.write() as s:
        s.execute(
            update(models.LoadBalancer).values(
                provisioning_status="ERROR", applied_generation=models.LoadBalancer.generation
            )
        )
    r = client.delete(f"{V2}/loadbalancers/{lb['id']}", params={"cascade": "true"})
    assert r.status_code == 204
    run_until_idle(controller)
    assert live_amphorae(database, lb["id"]) == []
    assert host.compute.list_amphorae() == [] and host.network.plugs == {}
