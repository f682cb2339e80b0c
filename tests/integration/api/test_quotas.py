"""Quotas: defaults, overrides, aliases, reset, listing, RBAC, and enforcement on create."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select, text
from tests.conftest import Client
from tests.integration.api.helpers import (
    V2,
    activate,
    create_lb,
    create_listener,
    create_member,
    create_pool,
    fault,
    ok,
)

from statera.api.schemas.members import MemberRootPOST
from statera.db.models import LoadBalancer, Member
from statera.services import members as member_service

ALL_UNLIMITED = {
    "loadbalancer": -1,
    "load_balancer": -1,
    "listener": -1,
    "member": -1,
    "pool": -1,
    "healthmonitor": -1,
    "health_monitor": -1,
    "l7policy": -1,
    "l7rule": -1,
}


@pytest.fixture
def settings_overrides() -> str:
    return "[api_settings]\nauth_strategy = testing\n"


@pytest.fixture
def client(app: Any) -> Iterator[Client]:
    c = Client(app, headers={"X-Project-Id": "p1", "X-Roles": "member"})
    try:
        yield c
    finally:
        c.close()


ADMIN = {"X-Project-Id": "ops", "X-Roles": "admin"}
QUOTA_ADMIN = {"X-Project-Id": "ops", "X-Roles": "load-balancer_quota_admin"}


def set_quota(client: Client, project: str, **limits: Any) -> dict[str, Any]:
    response = client.put(f"{V2}/quotas/{project}", json={"quota": limits}, headers=ADMIN)
    return dict(ok(response, 202)["quota"])


def test_defaults_and_unset_project(client: Client) -> None:
    assert ok(client.get(f"{V2}/quotas/defaults"))["quota"] == ALL_UNLIMITED
    assert ok(client.get(f"{V2}/quotas/p1"))["quota"] == ALL_UNLIMITED
    assert ok(client.get(f"{V2}/quotas/p1/default"))["quota"] == ALL_UNLIMITED
    assert ok(client.get(f"{V2}/quotas", headers=ADMIN)) == {"quotas": [], "quotas_links": []}


class TestConfiguredDefaults:
    @pytest.fixture
    def settings_overrides(self) -> str:
        return (
            "[api_settings]\nauth_strategy = testing\n"
            "[quotas]\ndefault_load_balancer_quota = 2\ndefault_member_quota = 7\n"
        )

    def test_defaults_come_from_settings(self, client: Client) -> None:
        quota = ok(client.get(f"{V2}/quotas/defaults"))["quota"]
        assert quota["loadbalancer"] == quota["load_balancer"] == 2
        assert quota["member"] == 7
        assert quota["pool"] == -1

    def test_default_limit_is_enforced(self, client: Client, database: Any) -> None:
        create_lb(client, database)
        create_lb(client, database)
        response = client.post(
            f"{V2}/loadbalancers", json={"loadbalancer": {"vip_subnet_id": "private-subnet"}}
        )
        assert fault(response, 403) == "Quota has been met for resources: Load Balancer"


def test_put_merges_and_null_resets_one_field(client: Client) -> None:
    quota = set_quota(client, "p1", loadbalancer=5, listener=3)
    assert quota["loadbalancer"] == quota["load_balancer"] == 5
    assert quota["listener"] == 3
    quota = set_quota(client, "p1", health_monitor=4)
    assert (quota["loadbalancer"], quota["listener"], quota["healthmonitor"]) == (5, 3, 4)
    quota = set_quota(client, "p1", listener=None)
    assert quota["listener"] == -1
    assert ok(client.get(f"{V2}/quotas/p1"))["quota"]["healthmonitor"] == 4


def test_list_shows_only_overridden_projects(client: Client) -> None:
    set_quota(client, "p1", pool=2)
    set_quota(client, "p2", member=9)
    set_quota(client, "p3", member=9)
    set_quota(client, "p3", member=None)  # back to the defaults: not an override any more
    doc = ok(client.get(f"{V2}/quotas", headers=ADMIN))
    assert [q["project_id"] for q in doc["quotas"]] == ["p1", "p2"]
    assert doc["quotas"][0]["pool"] == 2
    assert doc["quotas"][1]["member"] == 9
    filtered = ok(client.get(f"{V2}/quotas?project_id=p2", headers=ADMIN))["quotas"]
    assert [q["project_id"] for q in filtered] == ["p2"]
    # A project member sees its own project only, whatever it asks for.
    assert [q["project_id"] for q in ok(client.get(f"{V2}/quotas"))["quotas"]] == ["p1"]
    assert ok(client.get(f"{V2}/quotas?project_id=p2"))["quotas"] == []


def test_delete_resets_to_defaults(client: Client) -> None:
    set_quota(client, "p1", loadbalancer=1)
    response = client.delete(f"{V2}/quotas/p1", headers=ADMIN)
    assert ok(response, 202)["quota"] == ALL_UNLIMITED
    assert ok(client.get(f"{V2}/quotas/p1"))["quota"] == ALL_UNLIMITED
    assert ok(client.get(f"{V2}/quotas", headers=ADMIN))["quotas"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"loadbalancer": -2},
        {"loadbalancer": 2000000001},
        {"loadbalancer": "5"},
        {"bogus": 1},
        {"loadbalancer": 1, "load_balancer": 2},
    ],
)
def test_invalid_bodies_are_400(client: Client, body: dict[str, Any]) -> None:
    response = client.put(f"{V2}/quotas/p1", json={"quota": body}, headers=ADMIN)
    fault(response, 400)


def test_rbac(client: Client) -> None:
    denied = "Policy does not allow this request to be performed."
    # Members read their own project's quota, not another's, and never write.
    assert ok(client.get(f"{V2}/quotas/p1"))
    assert fault(client.get(f"{V2}/quotas/p2"), 403) == denied
    assert fault(client.put(f"{V2}/quotas/p1", json={"quota": {"pool": 1}}), 403) == denied
    assert fault(client.delete(f"{V2}/quotas/p1"), 403) == denied
    # The quota admin of either role family writes anyone's, and lists globally.
    for headers in (QUOTA_ADMIN, ADMIN, {"X-Project-Id": "ops", "X-Roles": "load-balancer_admin"}):
        response = client.put(f"{V2}/quotas/p2", json={"quota": {"pool": 1}}, headers=headers)
        assert ok(response, 202)["quota"]["pool"] == 1
        assert ok(client.get(f"{V2}/quotas", headers=headers))["quotas"]
    # A global observer reads every project's quota but cannot change them.
    observer = {"X-Project-Id": "ops", "X-Roles": "load-balancer_global_observer"}
    assert ok(client.get(f"{V2}/quotas/p2", headers=observer))["quota"]["pool"] == 1
    response = client.put(f"{V2}/quotas/p2", json={"quota": {"pool": 2}}, headers=observer)
    assert fault(response, 403) == denied
    # No role: nothing.
    no_role = {"X-Project-Id": "p1", "X-Roles": ""}
    assert fault(client.get(f"{V2}/quotas/p1", headers=no_role), 403) == denied


def test_each_resource_is_enforced(client: Client, database: Any) -> None:
    set_quota(client, "p1", loadbalancer=1, listener=1, pool=1, member=1, healthmonitor=1)
    lb = create_lb(client, database)
    listener = create_listener(client, database, lb["id"])
    pool = create_pool(client, database, lb["id"], listener_id=listener["id"])
    create_member(client, database, lb["id"], pool["id"])
    hm_body = {"pool_id": pool["id"], "type": "TCP", "delay": 1, "timeout": 1, "max_retries": 1}
    ok(client.post(f"{V2}/healthmonitors", json={"healthmonitor": hm_body}), 201)
    activate(database)
    attempts = {
        "Load Balancer": client.post(
            f"{V2}/loadbalancers", json={"loadbalancer": {"vip_subnet_id": "private-subnet"}}
        ),
        "Listener": client.post(
            f"{V2}/listeners",
            json={
                "listener": {"loadbalancer_id": lb["id"], "protocol": "TCP", "protocol_port": 81}
            },
        ),
        "Pool": client.post(
            f"{V2}/pools",
            json={
                "pool": {
                    "loadbalancer_id": lb["id"],
                    "protocol": "TCP",
                    "lb_algorithm": "SOURCE_IP",
                }
            },
        ),
        "Member": client.post(
            f"{V2}/pools/{pool['id']}/members",
            json={"member": {"address": "10.0.0.101", "protocol_port": 80}},
        ),
    }
    for word, response in attempts.items():
        assert fault(response, 403) == f"Quota has been met for resources: {word}"
    # Nothing of the refused creates was written, and the load balancer is still ACTIVE.
    with database.read() as s:
        assert s.scalar(select(LoadBalancer.provisioning_status)) == "ACTIVE"
        assert len(list(s.scalars(select(Member.id)))) == 1
    # Another project is not limited by p1's overrides.
    other = {"X-Project-Id": "p2", "X-Roles": "member"}
    body = {"loadbalancer": {"vip_subnet_id": "private-subnet"}}
    ok(client.post(f"{V2}/loadbalancers", json=body, headers=other), 201)


def test_graph_create_counts_the_whole_graph(client: Client, database: Any) -> None:
    set_quota(client, "p1", member=2)
    members = [{"address": f"10.0.0.{100 + i}", "protocol_port": 80} for i in range(3)]
    graph = {
        "vip_subnet_id": "private-subnet",
        "listeners": [
            {
                "protocol": "HTTP",
                "protocol_port": 80,
                "default_pool": {
                    "protocol": "HTTP",
                    "lb_algorithm": "ROUND_ROBIN",
                    "members": members,
                },
            }
        ],
    }
    response = client.post(f"{V2}/loadbalancers", json={"loadbalancer": graph})
    assert fault(response, 403) == "Quota has been met for resources: Member"
    with database.read() as s:
        assert list(s.scalars(select(LoadBalancer.id))) == []
    graph["listeners"][0]["default_pool"]["members"] = members[:2]
    ok(client.post(f"{V2}/loadbalancers", json={"loadbalancer": graph}), 201)


def test_batch_member_update_counts_new_members(client: Client, database: Any) -> None:
    set_quota(client, "p1", member=2)
    lb = create_lb(client, database)
    pool = create_pool(client, database, lb["id"])
    create_member(client, database, lb["id"], pool["id"], address="10.0.0.100")
    url = f"{V2}/pools/{pool['id']}/members"
    three = [{"address": f"10.0.0.{100 + i}", "protocol_port": 8080} for i in range(3)]
    response = client.put(url, json={"members": three}, headers={"X-Roles": "member"})
    assert fault(response, 403) == "Quota has been met for resources: Member"
    ok(client.put(url, json={"members": three[:2]}), 202)
    activate(database)
    response = client.put(f"{url}?additive_only=true", json={"members": [three[2]]})
    assert fault(response, 403) == "Quota has been met for resources: Member"


def test_l7_quotas(client: Client, database: Any) -> None:
    set_quota(client, "p1", l7policy=1, l7rule=1)
    lb = create_lb(client, database)
    listener = create_listener(client, database, lb["id"])
    body = {"l7policy": {"listener_id": listener["id"], "action": "REJECT"}}
    policy = ok(client.post(f"{V2}/l7policies", json=body), 201)["l7policy"]
    activate(database)
    assert fault(client.post(f"{V2}/l7policies", json=body), 403) == (
        "Quota has been met for resources: L7Policy"
    )
    url = f"{V2}/l7policies/{policy['id']}/rules"
    rule = {"rule": {"type": "PATH", "compare_type": "STARTS_WITH", "value": "/a"}}
    ok(client.post(url, json=rule), 201)
    activate(database)
    assert fault(client.post(url, json=rule), 403) == "Quota has been met for resources: L7Rule"


def test_the_quota_row_lock_serialises_creates_on_different_load_balancers(
    client: Client, database: Any, settings: Any
) -> None:
    """Two member creates on two load balancers (no shared LB lock): the second waits for the
    first's transaction on the quota row, then counts its member and is refused."""
    if not database.url.startswith("postgresql"):
        pytest.skip("SQLite serialises every writer at BEGIN; the row lock matters on PostgreSQL")
    first, second = (create_lb(client, database) for _ in range(2))
    pool_a = create_pool(client, database, first["id"])
    pool_b = create_pool(client, database, second["id"])
    set_quota(client, "p1", member=1)
    values = MemberRootPOST.model_validate(
        {"member": {"address": "10.0.0.100", "protocol_port": 80}}
    ).member.model_dump()
    with ThreadPoolExecutor(max_workers=1) as other:
        with database.write() as session:
            member_service.create(session, settings=settings, pool_id=pool_a["id"], values=values)
            # While this transaction holds the quota row, start the second create and wait
            # until PostgreSQL reports it waiting for a lock.
            body = {"member": {"address": "10.0.0.101", "protocol_port": 80}}
            pending = other.submit(client.post, f"{V2}/pools/{pool_b['id']}/members", json=body)
            deadline = time.monotonic() + 10
            while not _someone_waits_for_a_lock(database):
                assert not pending.done(), pending.result().text
                assert time.monotonic() < deadline, "the second create never waited for the lock"
                time.sleep(0.02)
        response = pending.result(timeout=30)
    assert fault(response, 403) == "Quota has been met for resources: Member"


def _someone_waits_for_a_lock(database: Any) -> bool:
    with database.engine.connect() as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar()
    return bool(waiting)


def test_concurrent_creates_cannot_overrun_the_quota(client: Client, database: Any) -> None:
    set_quota(client, "p1", loadbalancer=2)
    body = {"loadbalancer": {"vip_subnet_id": "private-subnet"}}
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = sorted(
            pool.map(lambda _: client.post(f"{V2}/loadbalancers", json=body).status_code, range(6))
        )
    assert codes == [201, 201, 403, 403, 403, 403]
    with database.read() as s:
        assert len(list(s.scalars(select(LoadBalancer.id)))) == 2
