"""The reconciler contract: what every accepted write does to its load balancer row.

Each write, in one transaction: locks the load balancer, refuses (409) unless
it is mutable, sets PENDING_* statuses, bumps `generation` by one, starts
`pending_since` if it is not running, clears `last_error` and `not_before`,
and after the commit calls `on_change`. A refused write changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from tests.integration.api.helpers import V2, activate, create_lb, lb_row, ok, stack

from statera.db.models import LoadBalancer
from statera.domain.errors import ImmutableResource
from statera.services import listeners as listener_service
from statera.services import load_balancers as lb_service

STARTED = datetime(2020, 1, 2, 3, 4, 5)


def writes(objects: dict[str, Any]) -> list[tuple[str, str, Any, int]]:
    lb, listener, pool = objects["lb"], objects["listener"], objects["pool"]
    member, hm = objects["member"], objects["hm"]
    members = f"{V2}/pools/{pool['id']}/members"
    return [
        ("PUT", f"{V2}/loadbalancers/{lb['id']}", {"loadbalancer": {"name": "x"}}, 200),
        (
            "POST",
            f"{V2}/listeners",
            {"listener": {"loadbalancer_id": lb["id"], "protocol": "TCP", "protocol_port": 9}},
            201,
        ),
        ("PUT", f"{V2}/listeners/{listener['id']}", {"listener": {"name": "x"}}, 200),
        (
            "POST",
            f"{V2}/pools",
            {"pool": {"loadbalancer_id": lb["id"], "protocol": "TCP", "lb_algorithm": "SOURCE_IP"}},
            201,
        ),
        ("PUT", f"{V2}/pools/{pool['id']}", {"pool": {"name": "x"}}, 200),
        ("POST", members, {"member": {"address": "10.0.0.9", "protocol_port": 9}}, 201),
        ("PUT", f"{members}/{member['id']}", {"member": {"weight": 9}}, 200),
        ("PUT", members, {"members": [{"address": "10.0.0.8", "protocol_port": 8}]}, 202),
        ("PUT", f"{V2}/healthmonitors/{hm['id']}", {"healthmonitor": {"delay": 9}}, 200),
        ("DELETE", f"{V2}/healthmonitors/{hm['id']}", None, 204),
        ("DELETE", f"{members}/{member['id']}", None, 204),
        ("DELETE", f"{V2}/listeners/{listener['id']}", None, 204),
        ("DELETE", f"{V2}/pools/{pool['id']}", None, 204),
        ("DELETE", f"{V2}/loadbalancers/{lb['id']}?cascade=true", None, 204),
    ]


def prime(database: Any, lb_id: str, *, pending_since: datetime | None) -> None:
    """The state a controller leaves after a failed attempt, then a success of the LB."""
    with database.write() as s:
        lb = s.get(LoadBalancer, lb_id)
        assert lb is not None
        lb.provisioning_status = "ACTIVE"
        lb.last_error = "amphora agent unreachable"
        lb.not_before = datetime(2099, 1, 1)
        lb.pending_since = pending_since


@pytest.mark.parametrize("index", range(14))
def test_every_write_follows_the_contract(
    client: Any, database: Any, changes: list[int], index: int
) -> None:
    objects = stack(client, database)
    lb_id = objects["lb"]["id"]
    method, url, body, status = writes(objects)[index]
    for pending_since in (None, STARTED):
        activate(database)
        prime(database, lb_id, pending_since=pending_since)
        before = lb_row(database, lb_id)
        calls = len(changes)
        response = client.request(method, url, json=body)
        assert response.status_code == status, response.text
        after = lb_row(database, lb_id)
        assert after.generation == before.generation + 1
        assert after.last_error is None and after.not_before is None
        assert after.provisioning_status in ("PENDING_UPDATE", "PENDING_DELETE")
        if pending_since is None:
            assert after.pending_since is not None and after.pending_since > STARTED
        else:
            assert after.pending_since == STARTED
        assert len(changes) == calls + 1
        if status != 200:
            break  # created, deleted or batch-applied: a second round would differ


def test_refused_write_changes_nothing(client: Any, database: Any, changes: list[int]) -> None:
    objects = stack(client, database)
    lb_id = objects["lb"]["id"]
    with database.write() as s:
        lb = s.get(LoadBalancer, lb_id)
        assert lb is not None
        lb.provisioning_status = "PENDING_UPDATE"
    before = lb_row(database, lb_id)
    calls = len(changes)
    for method, url, body, _status in writes(objects):
        response = client.request(method, url, json=body)
        assert response.status_code == 409, (method, url, response.text)
        assert (
            response.json()["faultstring"]
            == f"Load Balancer {lb_id} is immutable and cannot be updated."
        )
    after = lb_row(database, lb_id)
    assert after.generation == before.generation and after.updated_at == before.updated_at
    assert len(changes) == calls


def _race(database: Any, settings: Any, jobs: list[Callable[[Any], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(i: int) -> None:
        barrier.wait()
        try:
            with database.write() as session:
                results[i] = jobs[i](session)
                session.flush()
                results[i] = getattr(results[i], "id", results[i])
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_writes_to_one_load_balancer(client: Any, database: Any, settings: Any) -> None:
    lb = create_lb(client, database)
    jobs = [
        (
            lambda s, port=port: listener_service.create(
                s,
                settings=settings,
                values={"loadbalancer_id": lb["id"], "protocol": "TCP", "protocol_port": port},
            )
        )
        for port in (1, 2, 3, 4)
    ]
    results = _race(database, settings, jobs)
    assert sum(isinstance(r, str) for r in results) == 1, results
    assert sum(isinstance(r, ImmutableResource) for r in results) == 3, results
    assert lb_row(database, lb["id"]).generation == 2


def test_concurrent_vip_allocation(client: Any, database: Any, settings: Any) -> None:
    jobs = [
        (
            lambda s: lb_service.create(
                s,
                settings=settings,
                values={"vip_subnet_id": "private"},
                project_id="p",
                port_project="p",
            )
        )
        for _ in range(6)
    ]
    results = _race(database, settings, jobs)
    assert all(isinstance(r, str) for r in results), results
    addresses = sorted(
        ok(client.get(f"{V2}/loadbalancers/{lb_id}"))["loadbalancer"]["vip_address"]
        for lb_id in results
    )
    assert addresses == [f"10.0.0.{i}" for i in range(10, 16)]
