"""Concurrent updates to one load balancer: each is accepted (200) or refused (409), never lost.

Threads hammer `PUT /v2/lbaas/loadbalancers/{id}` on a real `statera up`
(noop drivers) over sockets, on SQLite and on PostgreSQL. The API takes the
load balancer's row lock and moves it to PENDING_UPDATE, so while one update
is pending the others get 409; the controller makes it ACTIVE again and the
next one may pass. A lost update would be two updates accepted from the same
ACTIVE state: then the load balancer's `generation` (bumped once per accepted
change) would rise by less than the number of 200s. The test compares them.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from tests.conftest import PG_ENV
from tests.e2e.stack import wait_for
from tests.noop_server import NoopServer

from statera.db.models import LoadBalancer
from statera.db.session import Database

THREADS = 12
UPDATES_PER_THREAD = 8
HEADERS = {"X-Project-Id": "race"}


def _backends() -> list[Any]:
    backends: list[Any] = ["sqlite"]
    if os.environ.get(PG_ENV):
        backends.append(pytest.param("postgres", marks=pytest.mark.postgres))
    return backends


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/race.db"
        return
    base = make_url(os.environ[PG_ENV])
    name = f"statera_race_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[NoopServer]:
    s = NoopServer(tmp_path, database_url=database_url)
    try:
        yield s.start()
    finally:
        s.close()


def _generation(database_url: str, lb_id: str) -> tuple[int, int]:
    db = Database(database_url)
    try:
        with db.read() as session:
            row = session.execute(
                select(LoadBalancer.generation, LoadBalancer.applied_generation).where(
                    LoadBalancer.id == lb_id
                )
            ).one()
            return int(row[0]), int(row[1])
    finally:
        db.dispose()


def test_concurrent_updates_are_409_never_lost(server: NoopServer, database_url: str) -> None:
    api = httpx.Client(base_url=server.base, headers=HEADERS, timeout=30)

    def lb_doc() -> dict[str, Any]:
        return dict(api.get(f"/v2/lbaas/loadbalancers/{lb_id}").json()["loadbalancer"])

    def settled() -> dict[str, Any] | None:
        doc = lb_doc()
        assert doc["provisioning_status"] != "ERROR", server.tail()
        return doc if doc["provisioning_status"] == "ACTIVE" else None

    body = {"loadbalancer": {"name": "race", "vip_subnet_id": "private-subnet"}}
    created = api.post("/v2/lbaas/loadbalancers", json=body)
    assert created.status_code == 201, created.text
    lb_id = created.json()["loadbalancer"]["id"]
    wait_for(settled, timeout_s=30, what="the load balancer to be ACTIVE")
    generation_before, _ = _generation(database_url, lb_id)

    statuses: Counter[int] = Counter()
    accepted: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def hammer(worker: int) -> None:
        with httpx.Client(base_url=server.base, headers=HEADERS, timeout=30) as own:
            start.wait()
            for i in range(UPDATES_PER_THREAD):
                description = f"w{worker}-u{i}"
                r = own.put(
                    f"/v2/lbaas/loadbalancers/{lb_id}",
                    json={"loadbalancer": {"description": description}},
                )
                with lock:
                    statuses[r.status_code] += 1
                    if r.status_code == 200:
                        doc = r.json()["loadbalancer"]
                        assert doc["description"] == description
                        assert doc["provisioning_status"] == "PENDING_UPDATE"
                        accepted.append(description)

    threads = [threading.Thread(target=hammer, args=(w,)) for w in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)

    assert set(statuses) <= {200, 409}, statuses
    assert statuses[200] >= 1 and statuses[409] >= 1, statuses
    assert sum(statuses.values()) == THREADS * UPDATES_PER_THREAD

    final = wait_for(settled, timeout_s=30, what="the load balancer to settle")
    generation_after, applied = _generation(database_url, lb_id)
    # Every accepted update bumped the generation exactly once: none was overwritten unseen.
    assert generation_after - generation_before == statuses[200] == len(accepted)
    assert applied == generation_after
    assert final["description"] in accepted
    api.close()
