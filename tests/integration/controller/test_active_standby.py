"""ACTIVE_STANDBY in the controller (recording drivers): two amphorae, their VRRP, failover.

`[controller_worker] loadbalancer_topology = ACTIVE_STANDBY` makes it the default;
the e2e test (tests/e2e/test_active_standby.py) proves the VIP really moves.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from sqlalchemy import select
from tests.integration.controller.test_reconcile import (
    RecordingAmphora,
    graph,
    make_controller,
    run_until_idle,
)

from statera.controller.service import Controller
from statera.db import models
from statera.db.session import Database
from statera.settings import Settings


@pytest.fixture
def settings_overrides() -> str:
    return "[controller_worker]\nbuild_timeout = 30\nloadbalancer_topology = ACTIVE_STANDBY\n"


@pytest.fixture
def amphora() -> RecordingAmphora:
    return RecordingAmphora()


@pytest.fixture
def controller(settings: Settings, database: Database, amphora: RecordingAmphora) -> Controller:
    return make_controller(settings, database, amphora, owner="test-host:1")


def _amphorae(database: Database) -> dict[str, models.Amphora]:
    with database.read() as s:
        rows = s.scalars(select(models.Amphora).where(models.Amphora.status != "DELETED")).all()
        for row in rows:
            s.expunge(row)
        return {a.role or "": a for a in rows}


def _peer(config: str) -> str:
    found = re.search(r"unicast_peer \{\s*(\S+)\s*\}", config)
    assert found, config
    return found.group(1)


def test_two_amphorae_each_peering_with_the_other(
    client: Any, controller: Controller, amphora: RecordingAmphora, database: Database
) -> None:
    lb = client.post("/v2/lbaas/loadbalancers", json=graph()).json()["loadbalancer"]
    run_until_idle(controller)
    assert (
        client.get(f"/v2/lbaas/loadbalancers/{lb['id']}").json()["loadbalancer"][
            "provisioning_status"
        ]
        == "ACTIVE"
    )
    amps = _amphorae(database)
    assert set(amps) == {"MASTER", "BACKUP"}
    master, backup = amps["MASTER"], amps["BACKUP"]
    assert (master.vrrp_priority, backup.vrrp_priority) == (100, 90)
    assert master.vrrp_id == backup.vrrp_id
    assert master.vrrp_ip != backup.vrrp_ip and lb["vip_address"] not in (
        master.vrrp_ip,
        backup.vrrp_ip,
    )
    # Both run HAProxy with the same listeners; keepalived peers with the other amphora.
    assert {a for a, _, _ in amphora.configs} == {master.id, backup.id}
    vrrp = dict(amphora.vrrp)
    assert _peer(vrrp[master.id]) == backup.vrrp_ip and _peer(vrrp[backup.id]) == master.vrrp_ip
    assert f"{lb['vip_address']}/24 dev eth1" in vrrp[master.id]
    assert "state MASTER" in vrrp[master.id] and "state BACKUP" in vrrp[backup.id]

    # A listener change re-renders HAProxy, not keepalived.
    before = len(amphora.vrrp)
    listener_id = client.get("/v2/lbaas/listeners").json()["listeners"][0]["id"]
    r = client.put(f"/v2/lbaas/listeners/{listener_id}", json={"listener": {"name": "x"}})
    assert r.status_code == 200, r.text
    run_until_idle(controller)
    assert len(amphora.vrrp) == before


def test_failover_of_the_master_replaces_it_and_repeers_the_backup(
    client: Any, controller: Controller, amphora: RecordingAmphora, database: Database
) -> None:
    lb = client.post("/v2/lbaas/loadbalancers", json=graph()).json()["loadbalancer"]
    run_until_idle(controller)
    old = _amphorae(database)
    r = client.put(f"/v2/octavia/amphorae/{old['MASTER'].id}/failover")
    assert r.status_code == 202, r.text
    run_until_idle(controller)
    assert (
        client.get(f"/v2/lbaas/loadbalancers/{lb['id']}").json()["loadbalancer"][
            "provisioning_status"
        ]
        == "ACTIVE"
    )
    new = _amphorae(database)
    assert new["BACKUP"].id == old["BACKUP"].id
    assert new["MASTER"].id != old["MASTER"].id
    latest = dict(amphora.vrrp)  # the last config of each amphora
    assert _peer(latest[new["BACKUP"].id]) == new["MASTER"].vrrp_ip
    assert _peer(latest[new["MASTER"].id]) == new["BACKUP"].vrrp_ip


def test_load_balancer_failover_replaces_the_pair_one_at_a_time(
    client: Any, controller: Controller, amphora: RecordingAmphora, database: Database
) -> None:
    lb = client.post("/v2/lbaas/loadbalancers", json=graph()).json()["loadbalancer"]
    run_until_idle(controller)
    old = _amphorae(database)
    r = client.put(f"/v2/lbaas/loadbalancers/{lb['id']}/failover")
    assert r.status_code == 202, r.text
    first = controller.scan_once()
    assert first == 1
    deadline = time.monotonic() + 10
    while controller._inflight and time.monotonic() < deadline:
        time.sleep(0.005)
    # After the first pass: the BACKUP is new, the old MASTER still serves (and peers with it).
    middle = _amphorae(database)
    assert middle["BACKUP"].id != old["BACKUP"].id
    with database.read() as s:
        kept = s.get(models.Amphora, old["MASTER"].id)
        assert kept is not None and kept.status == "PENDING_DELETE"
    assert _peer(dict(amphora.vrrp)[old["MASTER"].id]) == middle["BACKUP"].vrrp_ip
    assert (
        client.get(f"/v2/lbaas/loadbalancers/{lb['id']}").json()["loadbalancer"][
            "provisioning_status"
        ]
        == "PENDING_UPDATE"
    )
    run_until_idle(controller)
    new = _amphorae(database)
    assert {new["MASTER"].id, new["BACKUP"].id}.isdisjoint({old["MASTER"].id, old["BACKUP"].id})
    assert (
        client.get(f"/v2/lbaas/loadbalancers/{lb['id']}").json()["loadbalancer"][
            "provisioning_status"
        ]
        == "ACTIVE"
    )
