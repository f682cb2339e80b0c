"""RBAC under the `testing` strategy: every role of both families x every operation.

Identity comes from X-Project-Id / X-Roles. The objects live in project
`p1`; personas of `p2` must see 404 (never 403) for them unless they may at
least read them, as Octavia hides other projects' objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest
from tests.conftest import Client
from tests.integration.api.helpers import V2, activate, fault, ok, stack

POLICY_DENIED = "Policy does not allow this request to be performed."


@pytest.fixture
def settings_overrides() -> str:
    return "[api_settings]\nauth_strategy = testing\n"


@pytest.fixture
def client(app: Any) -> Iterator[Client]:
    c = Client(app, headers={"X-Project-Id": "p1", "X-Roles": "admin"})
    try:
        yield c
    finally:
        c.close()


def who(project: str, roles: str) -> dict[str, str]:
    return {"X-Project-Id": project, "X-Roles": roles, "X-User-Id": f"user-{roles or 'none'}"}


# persona -> (headers, may read p1's objects, may write p1's objects)
PERSONAS: dict[str, tuple[dict[str, str], bool, bool]] = {
    "admin": (who("p1", "admin"), True, True),
    "admin-of-other-project": (who("p2", "admin"), True, True),
    "load-balancer_admin": (who("p2", "load-balancer_admin"), True, True),
    "member": (who("p1", "member"), True, True),
    "load-balancer_member": (who("p1", "load-balancer_member"), True, True),
    "reader": (who("p1", "reader"), True, False),
    "load-balancer_observer": (who("p1", "load-balancer_observer"), True, False),
    "load-balancer_global_observer": (who("p2", "load-balancer_global_observer"), True, False),
    "load-balancer_quota_admin": (who("p2", "load-balancer_quota_admin"), False, False),
    "no-role": (who("p1", ""), False, False),
    "member-of-other-project": (who("p2", "member"), False, False),
    "reader-of-other-project": (who("p2", "reader"), False, False),
}


def full_stack(client: Client, database: Any) -> dict[str, dict[str, Any]]:
    """`stack` plus an L7 policy (REJECT) with one rule, all ACTIVE, in project p1."""
    objects = stack(client, database)
    policy = client.post(
        f"{V2}/l7policies",
        json={"l7policy": {"listener_id": objects["listener"]["id"], "action": "REJECT"}},
    )
    objects["l7policy"] = ok(policy, 201)["l7policy"]
    activate(database)
    rule = client.post(
        f"{V2}/l7policies/{objects['l7policy']['id']}/rules",
        json={"rule": {"type": "PATH", "compare_type": "STARTS_WITH", "value": "/x"}},
    )
    objects["l7rule"] = ok(rule, 201)["rule"]
    activate(database)
    return objects


def denial(headers: dict[str, str], *, may_read: bool) -> int:
    """What a refused caller gets: 404 if the object is another project's and unreadable."""
    return 403 if headers["X-Project-Id"] == "p1" or may_read else 404


@dataclass(frozen=True)
class Op:
    name: str
    write: bool
    status: int
    call: Callable[[Client, dict[str, Any], int, dict[str, str]], Any]
    destructive: bool = False


_n = count(1)


def _get(path: str) -> Callable[[Client, dict[str, Any], int, dict[str, str]], Any]:
    return lambda c, s, n, h: c.get(path.format(**{k: v["id"] for k, v in s.items()}), headers=h)


def _put(path: str, key: str, body: dict[str, Any]) -> Callable[..., Any]:
    return lambda c, s, n, h: c.put(
        path.format(**{k: v["id"] for k, v in s.items()}), json={key: body}, headers=h
    )


def _delete(path: str) -> Callable[..., Any]:
    return lambda c, s, n, h: c.delete(path.format(**{k: v["id"] for k, v in s.items()}), headers=h)


OPS = [
    Op("loadbalancer:get_one", False, 200, _get(V2 + "/loadbalancers/{lb}")),
    Op("loadbalancer:get_status", False, 200, _get(V2 + "/loadbalancers/{lb}/status")),
    Op("loadbalancer:get_stats", False, 200, _get(V2 + "/loadbalancers/{lb}/stats")),
    Op(
        "loadbalancer:put",
        True,
        200,
        _put(V2 + "/loadbalancers/{lb}", "loadbalancer", {"name": "x"}),
    ),
    Op("loadbalancer:delete", True, 204, _delete(V2 + "/loadbalancers/{lb}?cascade=true"), True),
    Op("listener:get_one", False, 200, _get(V2 + "/listeners/{listener}")),
    Op("listener:get_stats", False, 200, _get(V2 + "/listeners/{listener}/stats")),
    Op("listener:put", True, 200, _put(V2 + "/listeners/{listener}", "listener", {"name": "x"})),
    Op("listener:delete", True, 204, _delete(V2 + "/listeners/{listener}"), True),
    Op(
        "listener:post",
        True,
        201,
        lambda c, s, n, h: c.post(
            f"{V2}/listeners",
            json={
                "listener": {
                    "loadbalancer_id": s["lb"]["id"],
                    "protocol": "TCP",
                    "protocol_port": 1000 + n,
                }
            },
            headers=h,
        ),
    ),
    Op("pool:get_one", False, 200, _get(V2 + "/pools/{pool}")),
    Op("pool:put", True, 200, _put(V2 + "/pools/{pool}", "pool", {"name": "x"})),
    Op("pool:delete", True, 204, _delete(V2 + "/pools/{pool}"), True),
    Op(
        "pool:post",
        True,
        201,
        lambda c, s, n, h: c.post(
            f"{V2}/pools",
            json={
                "pool": {
                    "loadbalancer_id": s["lb"]["id"],
                    "protocol": "HTTP",
                    "lb_algorithm": "ROUND_ROBIN",
                }
            },
            headers=h,
        ),
    ),
    Op("member:get_all", False, 200, _get(V2 + "/pools/{pool}/members")),
    Op("member:get_one", False, 200, _get(V2 + "/pools/{pool}/members/{member}")),
    Op(
        "member:put",
        True,
        200,
        _put(V2 + "/pools/{pool}/members/{member}", "member", {"weight": 3}),
    ),
    Op("member:delete", True, 204, _delete(V2 + "/pools/{pool}/members/{member}"), True),
    Op(
        "member:post",
        True,
        201,
        lambda c, s, n, h: c.post(
            f"{V2}/pools/{s['pool']['id']}/members",
            json={"member": {"address": f"10.0.1.{n % 250 + 1}", "protocol_port": 80}},
            headers=h,
        ),
    ),
    Op(
        "member:put (batch)",
        True,
        202,
        lambda c, s, n, h: c.put(
            f"{V2}/pools/{s['pool']['id']}/members?additive_only=true",
            json={"members": [{"address": f"10.0.2.{n % 250 + 1}", "protocol_port": 80}]},
            headers=h,
        ),
    ),
    Op("healthmonitor:get_one", False, 200, _get(V2 + "/healthmonitors/{hm}")),
    Op(
        "healthmonitor:put",
        True,
        200,
        _put(V2 + "/healthmonitors/{hm}", "healthmonitor", {"name": "x"}),
    ),
    Op("healthmonitor:delete", True, 204, _delete(V2 + "/healthmonitors/{hm}"), True),
    Op("l7policy:get_one", False, 200, _get(V2 + "/l7policies/{l7policy}")),
    Op("l7policy:put", True, 200, _put(V2 + "/l7policies/{l7policy}", "l7policy", {"name": "x"})),
    Op("l7policy:delete", True, 204, _delete(V2 + "/l7policies/{l7policy}"), True),
    Op(
        "l7policy:post",
        True,
        201,
        lambda c, s, n, h: c.post(
            f"{V2}/l7policies",
            json={"l7policy": {"listener_id": s["listener"]["id"], "action": "REJECT"}},
            headers=h,
        ),
    ),
    Op("l7rule:get_all", False, 200, _get(V2 + "/l7policies/{l7policy}/rules")),
    Op("l7rule:get_one", False, 200, _get(V2 + "/l7policies/{l7policy}/rules/{l7rule}")),
    Op(
        "l7rule:put",
        True,
        200,
        _put(V2 + "/l7policies/{l7policy}/rules/{l7rule}", "rule", {"value": "/y"}),
    ),
    Op("l7rule:delete", True, 204, _delete(V2 + "/l7policies/{l7policy}/rules/{l7rule}"), True),
    Op(
        "l7rule:post",
        True,
        201,
        lambda c, s, n, h: c.post(
            f"{V2}/l7policies/{s['l7policy']['id']}/rules",
            json={"rule": {"type": "PATH", "compare_type": "STARTS_WITH", "value": f"/{n}"}},
            headers=h,
        ),
    ),
]


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
def test_role_matrix(client: Client, database: Any, op: Op) -> None:
    objects = full_stack(client, database)
    for persona, (headers, may_read, may_write) in PERSONAS.items():
        allowed = may_write if op.write else may_read
        response = op.call(client, objects, next(_n), headers)
        if allowed:
            assert response.status_code == op.status, (persona, response.text)
            activate(database)
            if op.destructive:
                objects = full_stack(client, database)
        else:
            expected = denial(headers, may_read=may_read)
            message = fault(response, expected)
            if expected == 403:
                assert message == POLICY_DENIED, persona
            else:
                assert message.endswith("not found."), (persona, message)


def test_create_load_balancer_roles(client: Client, database: Any) -> None:
    body = {"loadbalancer": {"vip_subnet_id": "private-subnet"}}
    for persona, (headers, _may_read, may_write) in PERSONAS.items():
        response = client.post(f"{V2}/loadbalancers", json=body, headers=headers)
        own_writer = may_write or headers["X-Roles"] in ("member", "load-balancer_member")
        if own_writer:
            assert ok(response, 201)["loadbalancer"]["project_id"] == headers["X-Project-Id"]
        else:
            assert fault(response, 403) == POLICY_DENIED, persona
    # A member may not create in another project by naming it.
    response = client.post(
        f"{V2}/loadbalancers",
        json={"loadbalancer": {"vip_subnet_id": "private-subnet", "project_id": "p2"}},
        headers=who("p1", "member"),
    )
    assert fault(response, 403) == POLICY_DENIED
    # An admin may.
    response = client.post(
        f"{V2}/loadbalancers",
        json={"loadbalancer": {"vip_subnet_id": "private-subnet", "project_id": "p9"}},
        headers=who("p1", "admin"),
    )
    assert ok(response, 201)["loadbalancer"]["project_id"] == "p9"


def test_create_without_project_is_400(client: Client) -> None:
    response = client.post(
        f"{V2}/loadbalancers",
        json={"loadbalancer": {"vip_subnet_id": "private-subnet"}},
        headers={"X-Project-Id": "", "X-Roles": "admin"},
    )
    assert fault(response, 400) == "Missing project ID in request where one is required."


COLLECTIONS = ["loadbalancers", "listeners", "pools", "healthmonitors", "l7policies"]


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_list_visibility(client: Client, database: Any, collection: str) -> None:
    mine = full_stack(client, database)
    theirs = full_stack(as_caller(client, who("p2", "admin")), database)
    key = {
        "lb": "loadbalancers",
        "listener": "listeners",
        "pool": "pools",
        "hm": "healthmonitors",
        "l7policy": "l7policies",
    }
    slot = next(k for k, v in key.items() if v == collection)
    p1_id, p2_id = mine[slot]["id"], theirs[slot]["id"]

    def ids(headers: dict[str, str], query: str = "") -> set[str]:
        doc = ok(client.get(f"{V2}/{collection}{query}", headers=headers))
        return {item["id"] for item in doc[collection]}

    for roles in ("admin", "load-balancer_global_observer", "load-balancer_admin"):
        assert ids(who("p3", roles)) == {p1_id, p2_id}
        assert ids(who("p3", roles), "?project_id=p2") == {p2_id}
    for roles in ("member", "reader", "load-balancer_observer", "load-balancer_member"):
        assert ids(who("p1", roles)) == {p1_id}
        assert ids(who("p2", roles)) == {p2_id}
        # Not a global reader: another project's filter finds nothing.
        assert ids(who("p1", roles), "?project_id=p2") == set()
    for roles in ("", "load-balancer_quota_admin"):
        assert fault(client.get(f"{V2}/{collection}", headers=who("p1", roles)), 403)


def as_caller(client: Client, headers: dict[str, str]) -> Any:
    """`client` with other default headers (the helpers send none of their own)."""

    class _With:
        def post(self, url: str, **kwargs: Any) -> Any:
            return client.post(url, headers=headers, **kwargs)

    return _With()


def test_members_of_other_projects_pool_are_404(client: Client, database: Any) -> None:
    objects = stack(client, database)
    pool_id = objects["pool"]["id"]
    response = client.get(f"{V2}/pools/{pool_id}/members", headers=who("p2", "member"))
    assert fault(response, 404) == f"Pool {pool_id} not found."
    response = client.post(
        f"{V2}/healthmonitors",
        json={
            "healthmonitor": {
                "pool_id": pool_id,
                "type": "TCP",
                "delay": 1,
                "timeout": 1,
                "max_retries": 1,
            }
        },
        headers=who("p2", "member"),
    )
    assert fault(response, 404) == f"Pool {pool_id} not found."
    response = client.post(
        f"{V2}/listeners",
        json={
            "listener": {
                "loadbalancer_id": objects["lb"]["id"],
                "protocol": "TCP",
                "protocol_port": 99,
            }
        },
        headers=who("p2", "member"),
    )
    assert fault(response, 404) == f"Load Balancer {objects['lb']['id']} not found."


def test_failover_is_admin_only(client: Client, database: Any) -> None:
    objects = stack(client, database)
    url = f"{V2}/loadbalancers/{objects['lb']['id']}/failover"
    response = client.put(url, headers=who("p1", "member"))
    if response.status_code == 405:
        pytest.skip("load balancer failover is not served yet")
    assert fault(response, 403) == POLICY_DENIED
    assert client.put(url, headers=who("p2", "member")).status_code == 404


# (path, readable by every reader of a project) - the rest is admin only.
OPERATOR_READS = [
    ("/flavors", True),
    ("/availabilityzones", True),
    ("/providers", True),
    ("/flavorprofiles", False),
    ("/availabilityzoneprofiles", False),
    ("/providers/amphora/flavor_capabilities", False),
    ("/providers/amphora/availability_zone_capabilities", False),
]


@pytest.mark.parametrize(("path", "for_readers"), OPERATOR_READS)
def test_operator_resources(client: Client, path: str, for_readers: bool) -> None:
    for persona, (headers, _may_read, _may_write) in PERSONAS.items():
        response = client.get(f"{V2}{path}", headers=headers)
        is_admin = headers["X-Roles"] in ("admin", "load-balancer_admin")
        # Project-less resources are checked against the caller's own project.
        reader = headers["X-Roles"] not in ("", "load-balancer_quota_admin")
        if is_admin or (for_readers and reader):
            assert response.status_code == 200, (persona, response.text)
        else:
            assert fault(response, 403) == POLICY_DENIED, persona


def test_amphorae_and_operator_writes_are_admin_only(client: Client) -> None:
    for persona, (headers, _may_read, _may_write) in PERSONAS.items():
        is_admin = headers["X-Roles"] in ("admin", "load-balancer_admin")
        response = client.get("/v2/octavia/amphorae", headers=headers)
        assert response.status_code == (200 if is_admin else 403), (persona, response.text)
        if not is_admin:
            body = {
                "flavor": {"name": "f", "flavor_profile_id": "00000000-0000-0000-0000-000000000000"}
            }
            assert fault(client.post(f"{V2}/flavors", json=body, headers=headers), 403)
