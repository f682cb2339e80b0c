"""Which listeners use a pool, and which pools a listener uses (SQLite and PostgreSQL).

Octavia's `Pool.listeners` and `Listener.pools` (octavia/db/models.py): the
default pool links, then the redirect pools of L7 policies that are enabled and
have at least one rule (of any status: a row is counted until the controller
removes it), each listed once. They feed a pool's `listeners` (show, list and
single-call create) and the pools under each listener in the status tree.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, update
from tests.integration.api.helpers import V2, activate, create_lb, create_listener, create_pool, ok

from statera.db.models import L7Policy, L7Rule
from statera.db.session import Database

POLICIES = f"{V2}/l7policies"
RULE = {"type": "PATH", "compare_type": "STARTS_WITH", "value": "/api"}


def settle(database: Database, lb_id: str) -> None:
    """The controller's success: pending L7 rows ACTIVE, pending deletes gone."""
    activate(database, lb_id)
    with database.write() as s:
        for model in (L7Rule, L7Policy):
            s.execute(delete(model).where(model.provisioning_status == "PENDING_DELETE"))
            s.execute(
                update(model)
                .where(model.provisioning_status.in_(("PENDING_CREATE", "PENDING_UPDATE")))
                .values(provisioning_status="ACTIVE")
            )


@pytest.fixture
def o(client: Any, database: Any) -> dict[str, Any]:
    """Listeners `a` (port 80, default pool `web`) and `b` (port 8080, no default pool)."""
    lb = create_lb(client, database)
    a = create_listener(client, database, lb["id"], name="a")
    b = create_listener(client, database, lb["id"], name="b", protocol_port=8080)
    web = create_pool(client, database, lb["id"], listener_id=a["id"], name="web")
    api = create_pool(client, database, lb["id"], name="api")
    return {"lb": lb, "a": a["id"], "b": b["id"], "web": web["id"], "api": api["id"]}


def add_policy(
    client: Any, database: Any, o: dict[str, Any], listener: str, pool: str, **fields: Any
) -> str:
    body = {
        "listener_id": o[listener],
        "action": "REDIRECT_TO_POOL",
        "redirect_pool_id": o[pool],
        **fields,
    }
    policy = ok(client.post(POLICIES, json={"l7policy": body}), 201)["l7policy"]
    settle(database, o["lb"]["id"])
    return str(policy["id"])


def add_rule(client: Any, database: Any, o: dict[str, Any], policy_id: str) -> str:
    rule = ok(client.post(f"{POLICIES}/{policy_id}/rules", json={"rule": RULE}), 201)["rule"]
    settle(database, o["lb"]["id"])
    return str(rule["id"])


def put_policy(
    client: Any, database: Any, o: dict[str, Any], policy_id: str, **fields: Any
) -> None:
    ok(client.put(f"{POLICIES}/{policy_id}", json={"l7policy": fields}))
    settle(database, o["lb"]["id"])


def names(o: dict[str, Any], ids: list[str]) -> list[str]:
    by_id = {v: k for k, v in o.items() if isinstance(v, str)}
    return [by_id[i] for i in ids]


def shown(client: Any, o: dict[str, Any], pool: str) -> list[str]:
    """The pool's listeners (by fixture name) as `GET /pools/{id}` shows them."""
    doc = ok(client.get(f"{V2}/pools/{o[pool]}"))["pool"]
    return names(o, [li["id"] for li in doc["listeners"]])


def listed(client: Any, o: dict[str, Any]) -> dict[str, list[str]]:
    """Every pool's listeners as `GET /pools` lists them (one page)."""
    docs = ok(client.get(f"{V2}/pools?loadbalancer_id={o['lb']['id']}"))["pools"]
    return {names(o, [p["id"]])[0]: names(o, [li["id"] for li in p["listeners"]]) for p in docs}


def tree(client: Any, o: dict[str, Any]) -> dict[str, list[str]]:
    """Each listener's pools in the status tree."""
    lb = ok(client.get(f"{V2}/loadbalancers/{o['lb']['id']}/status"))["statuses"]["loadbalancer"]
    return {
        names(o, [li["id"]])[0]: names(o, [p["id"] for p in li["pools"]]) for li in lb["listeners"]
    }


def check(
    client: Any,
    o: dict[str, Any],
    *,
    web: list[str],
    api: list[str],
    a: list[str],
    b: list[str],
) -> None:
    assert shown(client, o, "web") == web
    assert shown(client, o, "api") == api
    assert listed(client, o) == {"web": web, "api": api}
    assert tree(client, o) == {"a": a, "b": b}


def test_redirect_policy_needs_a_rule_and_to_be_enabled(
    client: Any, database: Any, o: dict[str, Any]
) -> None:
    check(client, o, web=["a"], api=[], a=["web"], b=[])
    policy = add_policy(client, database, o, "b", "api")
    # Without a rule the policy matches nothing: the pool is not in use.
    check(client, o, web=["a"], api=[], a=["web"], b=[])
    rule = add_rule(client, database, o, policy)
    check(client, o, web=["a"], api=["b"], a=["web"], b=["api"])
    put_policy(client, database, o, policy, admin_state_up=False)
    check(client, o, web=["a"], api=[], a=["web"], b=[])
    put_policy(client, database, o, policy, admin_state_up=True)
    check(client, o, web=["a"], api=["b"], a=["web"], b=["api"])
    # A rule being deleted still counts until the controller removes it.
    assert client.delete(f"{POLICIES}/{policy}/rules/{rule}").status_code == 204
    check(client, o, web=["a"], api=["b"], a=["web"], b=["api"])
    settle(database, o["lb"]["id"])
    check(client, o, web=["a"], api=[], a=["web"], b=[])
    add_rule(client, database, o, policy)
    check(client, o, web=["a"], api=["b"], a=["web"], b=["api"])
    # So does a policy being deleted.
    assert client.delete(f"{POLICIES}/{policy}").status_code == 204
    check(client, o, web=["a"], api=["b"], a=["web"], b=["api"])
    settle(database, o["lb"]["id"])
    check(client, o, web=["a"], api=[], a=["web"], b=[])


def test_action_change_drops_the_redirect(client: Any, database: Any, o: dict[str, Any]) -> None:
    policy = add_policy(client, database, o, "b", "api", rules=[RULE])
    check(client, o, web=["a"], api=["b"], a=["web"], b=["api"])
    put_policy(client, database, o, policy, action="REJECT")
    check(client, o, web=["a"], api=[], a=["web"], b=[])
    put_policy(client, database, o, policy, redirect_pool_id=o["api"])
    check(client, o, web=["a"], api=["b"], a=["web"], b=["api"])


def test_each_listener_and_pool_once_defaults_first(
    client: Any, database: Any, o: dict[str, Any]
) -> None:
    # `a` redirects to its own default pool: listed once on either side.
    add_policy(client, database, o, "a", "web", rules=[RULE])
    check(client, o, web=["a"], api=[], a=["web"], b=[])
    # Redirecting listeners follow in the order their policies were made.
    add_policy(client, database, o, "b", "api", rules=[RULE])
    add_policy(client, database, o, "a", "api", rules=[RULE])
    check(client, o, web=["a"], api=["b", "a"], a=["web", "api"], b=["api"])
    # Two policies of one listener to one pool: once.
    add_policy(client, database, o, "b", "api", rules=[RULE])
    check(client, o, web=["a"], api=["b", "a"], a=["web", "api"], b=["api"])
    # `b` redirecting to `web` comes after `a`, whose default pool it is.
    add_policy(client, database, o, "b", "web", rules=[RULE], position=1)
    check(client, o, web=["a", "b"], api=["b", "a"], a=["web", "api"], b=["web", "api"])
    # A listener defaulting to the pool comes before those only redirecting to it.
    c = create_listener(
        client, database, o["lb"]["id"], name="c", protocol_port=81, default_pool_id=o["api"]
    )
    o["c"] = c["id"]
    assert shown(client, o, "api") == ["c", "b", "a"]
    assert listed(client, o)["api"] == ["c", "b", "a"]
    assert tree(client, o) == {"a": ["web", "api"], "b": ["web", "api"], "c": ["api"]}


def test_status_tree_follows_policy_positions(
    client: Any, database: Any, o: dict[str, Any]
) -> None:
    to_api = add_policy(client, database, o, "b", "api", rules=[RULE])
    add_policy(client, database, o, "b", "web", rules=[RULE])
    assert tree(client, o)["b"] == ["api", "web"]
    put_policy(client, database, o, to_api, position=2)
    assert tree(client, o)["b"] == ["web", "api"]
    # The redirect pools carry their members and monitor like a default pool.
    member = {"address": "10.0.0.50", "protocol_port": 80, "name": "m"}
    ok(client.post(f"{V2}/pools/{o['api']}/members", json={"member": member}), 201)
    settle(database, o["lb"]["id"])
    lb = ok(client.get(f"{V2}/loadbalancers/{o['lb']['id']}/status"))["statuses"]["loadbalancer"]
    b = next(li for li in lb["listeners"] if li["id"] == o["b"])
    api = next(p for p in b["pools"] if p["id"] == o["api"])
    assert [(m["name"], m["address"]) for m in api["members"]] == [("m", "10.0.0.50")]


def test_single_call_create(client: Any, database: Any) -> None:
    pool = {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}
    body = {
        "vip_subnet_id": "private-subnet",
        "pools": [{"name": "api", **pool}, {"name": "idle", **pool}, {"name": "off", **pool}],
        "listeners": [
            {
                "name": "a",
                "protocol": "HTTP",
                "protocol_port": 80,
                "default_pool": {"name": "web", **pool},
                "l7policies": [
                    {
                        "action": "REDIRECT_TO_POOL",
                        "redirect_pool": {"name": "api"},
                        "rules": [RULE],
                    },
                    {"action": "REDIRECT_TO_POOL", "redirect_pool": {"name": "idle"}},
                    {
                        "action": "REDIRECT_TO_POOL",
                        "redirect_pool": {"name": "off"},
                        "admin_state_up": False,
                        "rules": [RULE],
                    },
                    {
                        "action": "REDIRECT_TO_POOL",
                        "redirect_pool": {"name": "web"},
                        "rules": [RULE],
                    },
                ],
            }
        ],
    }
    lb = ok(client.post(f"{V2}/loadbalancers", json={"loadbalancer": body}), 201)["loadbalancer"]
    a = lb["listeners"][0]["id"]
    pools = {p["name"]: p for p in lb["pools"]}
    assert {name: p["listeners"] for name, p in pools.items()} == {
        "web": [{"id": a}],
        "api": [{"id": a}],
        "idle": [],
        "off": [],
    }
    for name, p in pools.items():
        assert ok(client.get(f"{V2}/pools/{p['id']}"))["pool"]["listeners"] == p["listeners"], name
    status = ok(client.get(f"{V2}/loadbalancers/{lb['id']}/status"))["statuses"]["loadbalancer"]
    assert [p["id"] for p in status["listeners"][0]["pools"]] == [
        pools["web"]["id"],
        pools["api"]["id"],
    ]
