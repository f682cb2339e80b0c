"""L7 policies and rules through the API (octavia-spec §1.10, §1.11), SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update
from tests.integration.api.helpers import (
    V2,
    activate,
    create_lb,
    create_listener,
    create_pool,
    fault,
    lb_row,
    ok,
    statuses,
)

from statera.db.models import L7Policy, L7Rule, Listener, LoadBalancer
from statera.db.session import Database

POLICIES = f"{V2}/l7policies"


def activate_all(database: Database, lb_id: str) -> None:
    """The controller's success, L7 rows included."""
    activate(database, lb_id)
    with database.write() as s:
        for model in (L7Policy, L7Rule):
            s.execute(
                update(model)
                .where(model.provisioning_status.in_(("PENDING_CREATE", "PENDING_UPDATE")))
                .values(provisioning_status="ACTIVE")
            )


@pytest.fixture
def objects(client: Any, database: Any) -> dict[str, Any]:
    lb = create_lb(client, database)
    listener = create_listener(client, database, lb["id"])
    pool = create_pool(client, database, lb["id"], listener_id=listener["id"], name="default")
    api = create_pool(client, database, lb["id"], name="api")
    return {"lb": lb, "listener": listener, "pool": pool, "api": api}


def post_policy(client: Any, listener: str, **fields: Any) -> Any:
    body = {"listener_id": listener, "action": "REJECT", **fields}
    return client.post(POLICIES, json={"l7policy": body})


def make_policy(client: Any, database: Any, o: dict[str, Any], **fields: Any) -> dict[str, Any]:
    policy = ok(post_policy(client, o["listener"]["id"], **fields), 201)["l7policy"]
    activate_all(database, o["lb"]["id"])
    return dict(policy)


def post_rule(client: Any, policy_id: str, **fields: Any) -> Any:
    body = {"type": "PATH", "compare_type": "STARTS_WITH", "value": "/api", **fields}
    return client.post(f"{POLICIES}/{policy_id}/rules", json={"rule": body})


def make_rule(client: Any, database: Any, o: dict[str, Any], policy_id: str, **fields: Any) -> Any:
    rule = ok(post_rule(client, policy_id, **fields), 201)["rule"]
    activate_all(database, o["lb"]["id"])
    return rule


# -- policies -------------------------------------------------------------------------------


def test_policy_defaults_and_reconciler_contract(
    client: Any, database: Any, objects: dict[str, Any]
) -> None:
    o = objects
    before = lb_row(database, o["lb"]["id"]).generation
    policy = ok(post_policy(client, o["listener"]["id"], tags=["a"]), 201)["l7policy"]
    expected = {
        "name": "",
        "description": "",
        "admin_state_up": True,
        "action": "REJECT",
        "listener_id": o["listener"]["id"],
        "redirect_pool_id": None,
        "redirect_url": None,
        "redirect_prefix": None,
        "redirect_http_code": None,
        "position": 1,
        "rules": [],
        "provisioning_status": "PENDING_CREATE",
        "operating_status": "OFFLINE",
        "project_id": o["lb"]["project_id"],
        "tenant_id": o["lb"]["project_id"],
        "tags": ["a"],
        "updated_at": None,
    }
    assert {k: policy[k] for k in expected} == expected
    assert policy["created_at"]
    lb = lb_row(database, o["lb"]["id"])
    assert lb.provisioning_status == "PENDING_UPDATE"
    assert lb.generation == before + 1
    assert statuses(database, Listener)[o["listener"]["id"]] == "PENDING_UPDATE"
    shown = ok(client.get(f"{V2}/listeners/{o['listener']['id']}"))["listener"]
    assert shown["l7policies"] == [{"id": policy["id"]}]
    assert ok(client.get(f"{POLICIES}/{policy['id']}"))["l7policy"] == policy
    # Immutable while the load balancer is PENDING_UPDATE.
    message = fault(post_policy(client, o["listener"]["id"]), 409)
    assert message == f"Load Balancer {o['lb']['id']} is immutable and cannot be updated."


def test_redirect_url_and_prefix(client: Any, database: Any, objects: dict[str, Any]) -> None:
    o = objects
    url = make_policy(
        client, database, o, action="REDIRECT_TO_URL", redirect_url="https://example.com/x"
    )
    assert (url["redirect_url"], url["redirect_http_code"]) == ("https://example.com/x", 302)
    prefix = make_policy(
        client,
        database,
        o,
        action="REDIRECT_PREFIX",
        redirect_prefix="http://example.com",
        redirect_http_code=308,
    )
    assert (prefix["action"], prefix["redirect_http_code"]) == ("REDIRECT_PREFIX", 308)
    assert prefix["redirect_url"] is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"action": "REDIRECT_TO_URL"},
            "Invalid L7 Policy arguments: redirect_url must not be None",
        ),
        (
            {"action": "REDIRECT_PREFIX"},
            "Invalid L7 Policy arguments: redirect_prefix must not be None",
        ),
        (
            {"action": "REDIRECT_TO_POOL"},
            "Invalid L7 Policy arguments: redirect_pool_id or redirect_pool must not be None",
        ),
        ({"action": "NOPE"}, "Value should be one of: REJECT"),
        (
            {"action": "REDIRECT_TO_URL", "redirect_url": "ftp://example.com"},
            "Not a valid URL: ftp://example.com",
        ),
        ({"action": "REDIRECT_TO_URL", "redirect_url": "not a url"}, "Not a valid URL: not a url"),
        ({"action": "REDIRECT_TO_URL", "redirect_url": "https://"}, "Not a valid URL: https://"),
        ({"redirect_url": "https://a/\nb"}, "Value should not contain control characters"),
        (
            {"redirect_url": "https://a", "redirect_http_code": 300},
            "Value should be one of: 301, 302",
        ),
        ({"redirect_url": "https://a", "redirect_http_code": "301"}, "Wrong type"),
        ({"position": 0}, "Value should be greater or equal to 1"),
        ({"position": 2147483648}, "Value should be lower or equal to 2147483647"),
        ({"name": "x" * 256}, "maximum character requirement of 255"),
        ({"listener_id": "nope"}, "Value should be UUID format"),
        ({"foo": 1}, "Unknown attribute for argument l7policy: foo"),
    ],
)
def test_policy_validation(
    client: Any, objects: dict[str, Any], fields: dict[str, Any], message: str
) -> None:
    assert message in fault(post_policy(client, objects["listener"]["id"], **fields), 400)


def test_redirect_pool_rules(client: Any, database: Any, objects: dict[str, Any]) -> None:
    o = objects
    policy = make_policy(
        client, database, o, action="REDIRECT_TO_POOL", redirect_pool_id=o["api"]["id"]
    )
    assert (policy["redirect_pool_id"], policy["redirect_http_code"]) == (o["api"]["id"], None)
    both = post_policy(
        client,
        o["listener"]["id"],
        action="REDIRECT_PREFIX",
        redirect_pool_id=o["api"]["id"],
        redirect_prefix="http://a",
    )
    assert fault(both, 400) == (
        "Invalid L7 Policy arguments: Cannot specify redirect_pool_id and redirect_url or "
        "redirect_prefix at the same time"
    )
    tcp = create_pool(client, database, o["lb"]["id"], protocol="TCP")
    message = fault(
        post_policy(
            client, o["listener"]["id"], action="REDIRECT_TO_POOL", redirect_pool_id=tcp["id"]
        ),
        400,
    )
    assert message == (
        "Validation failure: The pool protocol 'TCP' is invalid while the listener protocol "
        "is 'HTTP'."
    )
    other_lb = create_lb(client, database)
    foreign = create_pool(client, database, other_lb["id"])
    message = fault(
        post_policy(
            client, o["listener"]["id"], action="REDIRECT_TO_POOL", redirect_pool_id=foreign["id"]
        ),
        404,
    )
    assert message == f"Pool {foreign['id']} not found."
    # A pool that a policy redirects to cannot be deleted (§1.7).
    message = fault(client.delete(f"{V2}/pools/{o['api']['id']}"), 409)
    assert message == f"Pool {o['api']['id']} is in use by L7 policy {policy['id']}"


def test_setting_a_target_switches_the_action(
    client: Any, database: Any, objects: dict[str, Any]
) -> None:
    o = objects
    policy = make_policy(client, database, o)

    def put(**fields: Any) -> dict[str, Any]:
        url = f"{POLICIES}/{policy['id']}"
        doc = ok(client.put(url, json={"l7policy": fields}))["l7policy"]
        assert doc["provisioning_status"] == "PENDING_UPDATE"
        activate_all(database, o["lb"]["id"])
        return dict(doc)

    doc = put(redirect_url="https://example.com/")
    assert (doc["action"], doc["redirect_http_code"]) == ("REDIRECT_TO_URL", 302)
    doc = put(redirect_http_code=307)
    assert (doc["action"], doc["redirect_http_code"]) == ("REDIRECT_TO_URL", 307)
    doc = put(redirect_pool_id=o["api"]["id"])
    assert doc["action"] == "REDIRECT_TO_POOL"
    assert (doc["redirect_url"], doc["redirect_http_code"]) == (None, None)
    doc = put(redirect_prefix="https://example.org")
    assert doc["action"] == "REDIRECT_PREFIX"
    assert (doc["redirect_pool_id"], doc["redirect_http_code"]) == (None, 302)
    doc = put(action="REJECT", name="n", description="d", admin_state_up=False, tags=["t"])
    assert (doc["action"], doc["redirect_prefix"], doc["redirect_http_code"]) == (
        "REJECT",
        None,
        None,
    )
    assert (doc["name"], doc["description"], doc["admin_state_up"], doc["tags"]) == (
        "n",
        "d",
        False,
        ["t"],
    )
    assert doc["updated_at"] is not None
    message = fault(
        client.put(f"{POLICIES}/{policy['id']}", json={"l7policy": {"action": "REDIRECT_TO_URL"}}),
        400,
    )
    assert message == "Invalid L7 Policy arguments: redirect_url must not be None"
    message = fault(
        client.put(f"{POLICIES}/{policy['id']}", json={"l7policy": {"listener_id": policy["id"]}}),
        400,
    )
    assert message == "Unknown attribute for argument l7policy: listener_id"


def positions(client: Any, listener_id: str) -> list[str]:
    docs = ok(client.get(f"{POLICIES}?listener_id={listener_id}&sort=position"))["l7policies"]
    assert [d["position"] for d in docs] == list(range(1, len(docs) + 1))
    return [d["name"] for d in docs]


def test_positions_are_renumbered(client: Any, database: Any, objects: dict[str, Any]) -> None:
    o = objects
    listener_id = o["listener"]["id"]
    ids = {n: make_policy(client, database, o, name=n)["id"] for n in ("a", "b", "c")}
    assert positions(client, listener_id) == ["a", "b", "c"]
    ids["first"] = make_policy(client, database, o, name="first", position=1)["id"]
    assert positions(client, listener_id) == ["first", "a", "b", "c"]
    ids["mid"] = make_policy(client, database, o, name="mid", position=3)["id"]
    assert positions(client, listener_id) == ["first", "a", "mid", "b", "c"]
    ok(client.put(f"{POLICIES}/{ids['first']}", json={"l7policy": {"position": 99}}))
    activate_all(database, o["lb"]["id"])
    assert positions(client, listener_id) == ["a", "mid", "b", "c", "first"]
    ok(client.put(f"{POLICIES}/{ids['c']}", json={"l7policy": {"position": 1}}))
    activate_all(database, o["lb"]["id"])
    assert positions(client, listener_id) == ["c", "a", "mid", "b", "first"]
    assert client.delete(f"{POLICIES}/{ids['a']}").status_code == 204
    listed = ok(client.get(f"{POLICIES}?listener_id={listener_id}&sort=position"))["l7policies"]
    live = [
        (d["name"], d["position"]) for d in listed if d["provisioning_status"] != "PENDING_DELETE"
    ]
    assert live == [("c", 1), ("mid", 2), ("b", 3), ("first", 4)]
    shown = ok(client.get(f"{V2}/listeners/{listener_id}"))["listener"]
    assert {p["id"] for p in shown["l7policies"]} == set(ids.values())


def test_listener_protocol_rules(client: Any, database: Any, objects: dict[str, Any]) -> None:
    o = objects
    tcp = create_listener(client, database, o["lb"]["id"], protocol="TCP", protocol_port=81)
    message = fault(post_policy(client, tcp["id"]), 501)
    assert message == (
        "Provider 'amphora' does not support a requested option: TCP protocol listeners do not "
        "support L7 policies"
    )
    unknown = "2f0d1ab6-0b0e-4b31-a0cf-000000000000"
    assert fault(post_policy(client, unknown), 404) == f"Listener {unknown} not found."


def test_terminated_https_listeners_take_policies() -> None:
    from statera.domain.errors import ProviderUnsupported
    from statera.services import l7policies

    l7policies.listener_accepts_policies(Listener(protocol="TERMINATED_HTTPS"), provider="amphora")
    with pytest.raises(ProviderUnsupported):
        l7policies.listener_accepts_policies(Listener(protocol="TCP"), provider="amphora")


def test_delete_policy_marks_rules(client: Any, database: Any, objects: dict[str, Any]) -> None:
    o = objects
    policy = make_policy(client, database, o)
    rule = make_rule(client, database, o, policy["id"])
    assert client.delete(f"{POLICIES}/{policy['id']}").status_code == 204
    assert statuses(database, L7Policy)[policy["id"]] == "PENDING_DELETE"
    assert statuses(database, L7Rule)[rule["id"]] == "PENDING_DELETE"
    assert statuses(database, Listener)[o["listener"]["id"]] == "PENDING_UPDATE"
    assert lb_row(database, o["lb"]["id"]).provisioning_status == "PENDING_UPDATE"
    unknown = "2f0d1ab6-0b0e-4b31-a0cf-000000000001"
    assert fault(client.get(f"{POLICIES}/{unknown}"), 404) == f"L7 Policy {unknown} not found."
    assert fault(client.delete(f"{POLICIES}/{unknown}"), 404) == f"L7 Policy {unknown} not found."


def test_listener_and_cascade_delete_mark_l7(
    client: Any, database: Any, objects: dict[str, Any]
) -> None:
    o = objects
    policy = make_policy(client, database, o)
    rule = make_rule(client, database, o, policy["id"])
    assert client.delete(f"{V2}/listeners/{o['listener']['id']}").status_code == 204
    assert statuses(database, L7Policy)[policy["id"]] == "PENDING_DELETE"
    assert statuses(database, L7Rule)[rule["id"]] == "PENDING_DELETE"


def test_lists(client: Any, database: Any, objects: dict[str, Any]) -> None:
    o = objects
    a = make_policy(client, database, o, name="a", tags=["red"])
    b = make_policy(
        client,
        database,
        o,
        name="b",
        action="REDIRECT_TO_URL",
        redirect_url="https://example.com",
        tags=["red", "blue"],
    )
    body = ok(client.get(f"{POLICIES}?action=REDIRECT_TO_URL"))
    assert [p["id"] for p in body["l7policies"]] == [b["id"]]
    assert body["l7policies_links"] == []
    body = ok(client.get(f"{POLICIES}?sort=name:desc&fields=id&fields=name"))
    assert body["l7policies"] == [{"id": b["id"], "name": "b"}, {"id": a["id"], "name": "a"}]
    assert [p["id"] for p in ok(client.get(f"{POLICIES}?tags=red,blue"))["l7policies"]] == [b["id"]]
    assert [p["id"] for p in ok(client.get(f"{POLICIES}?not-tags=blue"))["l7policies"]] == [a["id"]]
    body = ok(client.get(f"{POLICIES}?limit=1&sort=position"))
    assert [p["id"] for p in body["l7policies"]] == [a["id"]]
    assert body["l7policies_links"][0]["rel"] == "next"
    assert fault(client.get(f"{POLICIES}?bogus=1"), 400)
    shown = ok(client.get(f"{POLICIES}/{a['id']}?fields=position"))
    assert shown == {"l7policy": {"position": 1}}
    for name in ("r1", "r2"):
        make_rule(client, database, o, a["id"], value=f"/{name}", tags=[name])
    rules = ok(client.get(f"{POLICIES}/{a['id']}/rules?sort=value:desc"))
    assert [r["value"] for r in rules["rules"]] == ["/r2", "/r1"]
    assert rules["rules_links"] == []
    one = ok(client.get(f"{POLICIES}/{a['id']}/rules?tags=r1&fields=value"))["rules"]
    assert one == [{"value": "/r1"}]
    assert ok(client.get(f"{POLICIES}/{b['id']}/rules"))["rules"] == []


# -- rules ----------------------------------------------------------------------------------


def test_rule_defaults_and_statuses(client: Any, database: Any, objects: dict[str, Any]) -> None:
    o = objects
    policy = make_policy(client, database, o)
    rule = ok(post_rule(client, policy["id"], tags=["x"]), 201)["rule"]
    expected = {
        "type": "PATH",
        "compare_type": "STARTS_WITH",
        "key": None,
        "value": "/api",
        "invert": False,
        "admin_state_up": True,
        "provisioning_status": "PENDING_CREATE",
        "operating_status": "OFFLINE",
        "project_id": o["lb"]["project_id"],
        "tags": ["x"],
    }
    assert {k: rule[k] for k in expected} == expected
    assert statuses(database, L7Policy)[policy["id"]] == "PENDING_UPDATE"
    assert statuses(database, Listener)[o["listener"]["id"]] == "PENDING_UPDATE"
    assert lb_row(database, o["lb"]["id"]).provisioning_status == "PENDING_UPDATE"
    shown = ok(client.get(f"{POLICIES}/{policy['id']}"))["l7policy"]
    assert shown["rules"] == [{"id": rule["id"]}]
    assert ok(client.get(f"{POLICIES}/{policy['id']}/rules/{rule['id']}"))["rule"] == rule


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "HOST_NAME", "compare_type": "EQUAL_TO", "value": "www.example.com"},
        {"type": "HOST_NAME", "compare_type": "REGEX", "value": r"^api\d+\."},
        {"type": "PATH", "compare_type": "CONTAINS", "value": "/a b"[0:2]},
        {"type": "PATH", "compare_type": "ENDS_WITH", "value": ".html"},
        {"type": "FILE_TYPE", "compare_type": "EQUAL_TO", "value": "jpg"},
        {"type": "FILE_TYPE", "compare_type": "REGEX", "value": "^(png|gif)$"},
        {"type": "HEADER", "compare_type": "EQUAL_TO", "key": "X-Test", "value": '"a b"'},
        {"type": "HEADER", "compare_type": "CONTAINS", "key": "User-Agent", "value": "c'u#r$l"},
        {"type": "COOKIE", "compare_type": "STARTS_WITH", "key": "session", "value": "abc"},
        {"type": "SSL_CONN_HAS_CERT", "compare_type": "EQUAL_TO", "value": "True"},
        {"type": "SSL_VERIFY_RESULT", "compare_type": "EQUAL_TO", "value": "0"},
        {"type": "SSL_DN_FIELD", "compare_type": "EQUAL_TO", "key": "CN", "value": "client"},
        {"type": "SSL_DN_FIELD", "compare_type": "REGEX", "key": "OU", "value": "^eng"},
        {"type": "PATH", "compare_type": "STARTS_WITH", "value": "/x", "invert": True},
    ],
)
def test_valid_rules(
    client: Any, database: Any, objects: dict[str, Any], fields: dict[str, Any]
) -> None:
    policy = make_policy(client, database, objects)
    rule = ok(post_rule(client, policy["id"], **fields), 201)["rule"]
    assert {k: rule[k] for k in fields} == fields


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"type": "HEADER", "value": "x"}, "Invalid L7 Rule: L7 rule type requires a key"),
        ({"type": "HEADER", "key": "X Bad", "value": "x"}, "Invalid characters in key"),
        ({"type": "HEADER", "key": "X#y", "value": "x"}, "Invalid characters in key"),
        ({"type": "HEADER", "key": "X-T", "value": "a b"}, "Invalid characters in header value"),
        ({"type": "COOKIE", "value": "x"}, "Invalid L7 Rule: L7 rule type requires a key"),
        ({"type": "COOKIE", "key": "c", "value": "a;b"}, "Invalid characters in cookie value"),
        ({"type": "PATH", "value": "/a b"}, "Invalid characters in comparison value"),
        (
            {"type": "HOST_NAME", "compare_type": "REGEX", "value": "(["},
            "Unable to parse regular expression",
        ),
        (
            {"type": "FILE_TYPE", "compare_type": "STARTS_WITH", "value": "jpg"},
            "Invalid L7 Rule: invalid comparison type for rule type",
        ),
        (
            {"type": "SSL_CONN_HAS_CERT", "compare_type": "EQUAL_TO", "value": "false"},
            "Invalid L7 Rule: L7rule value false is not a boolean True string.",
        ),
        (
            {"type": "SSL_CONN_HAS_CERT", "compare_type": "EQUAL_TO", "key": "k", "value": "true"},
            'Invalid L7 Rule: L7rule type SSL_CONN_HAS_CERT does not use the "key" field.',
        ),
        (
            {"type": "SSL_CONN_HAS_CERT", "compare_type": "REGEX", "value": "true"},
            "Invalid L7 Rule: L7rule type SSL_CONN_HAS_CERT only supports the EQUAL_TO compare type.",
        ),
        (
            {"type": "SSL_VERIFY_RESULT", "compare_type": "EQUAL_TO", "value": "-1"},
            "Invalid L7 Rule: L7rule type SSL_VERIFY_RESULT needs a int value, which is >= 0",
        ),
        (
            {"type": "SSL_DN_FIELD", "compare_type": "EQUAL_TO", "value": "x"},
            "Invalid L7 Rule: L7rule type SSL_DN_FIELD needs to specify a key and a value.",
        ),
        (
            {"type": "SSL_DN_FIELD", "compare_type": "EQUAL_TO", "key": "1CN", "value": "x"},
            "Invalid L7 Rule: Invalid L7rule distinguished name field.",
        ),
        ({"type": "NOPE"}, "Value should be one of: HOST_NAME"),
        ({"compare_type": "LIKE"}, "Value should be one of: REGEX"),
        ({"value": "a\nb"}, "Value should not contain control characters"),
        ({"value": "x" * 256}, "maximum character requirement of 255"),
        ({"value": None}, "Mandatory field missing."),
        ({"invert": "yes"}, "Wrong type"),
    ],
)
def test_invalid_rules(
    client: Any, database: Any, objects: dict[str, Any], fields: dict[str, Any], message: str
) -> None:
    policy = make_policy(client, database, objects)
    assert message in fault(post_rule(client, policy["id"], **fields), 400)


def test_rule_update_is_validated_merged(
    client: Any, database: Any, objects: dict[str, Any]
) -> None:
    o = objects
    policy = make_policy(client, database, o)
    rule = make_rule(client, database, o, policy["id"], type="HEADER", key="X-A", value="v")
    url = f"{POLICIES}/{policy['id']}/rules/{rule['id']}"
    message = fault(client.put(url, json={"rule": {"key": None}}), 400)
    assert message == "Invalid L7 Rule: L7 rule type requires a key"
    doc = ok(
        client.put(url, json={"rule": {"compare_type": "REGEX", "value": "^v+$", "invert": True}})
    )
    assert (doc["rule"]["compare_type"], doc["rule"]["invert"]) == ("REGEX", True)
    assert doc["rule"]["provisioning_status"] == "PENDING_UPDATE"
    assert statuses(database, L7Policy)[policy["id"]] == "PENDING_UPDATE"
    activate_all(database, o["lb"]["id"])
    doc = ok(client.put(url, json={"rule": {"admin_state_up": False, "tags": ["z"]}}))["rule"]
    assert (doc["admin_state_up"], doc["tags"]) == (False, ["z"])
    activate_all(database, o["lb"]["id"])
    assert client.delete(url).status_code == 204
    assert statuses(database, L7Rule)[rule["id"]] == "PENDING_DELETE"
    unknown = "2f0d1ab6-0b0e-4b31-a0cf-000000000002"
    assert fault(client.get(f"{POLICIES}/{policy['id']}/rules/{unknown}"), 404) == (
        f"L7 Rule {unknown} not found."
    )
    assert (
        fault(client.get(f"{POLICIES}/{unknown}/rules"), 404) == f"L7 Policy {unknown} not found."
    )


def test_rule_of_another_policy_is_not_found(
    client: Any, database: Any, objects: dict[str, Any]
) -> None:
    o = objects
    first = make_policy(client, database, o)
    second = make_policy(client, database, o)
    rule = make_rule(client, database, o, first["id"])
    url = f"{POLICIES}/{second['id']}/rules/{rule['id']}"
    assert fault(client.get(url), 404) == f"L7 Rule {rule['id']} not found."
    assert fault(client.delete(url), 404) == f"L7 Rule {rule['id']} not found."


def test_fifty_rules_at_most(client: Any, database: Any, objects: dict[str, Any]) -> None:
    o = objects
    policy = make_policy(client, database, o)
    with database.write() as s:
        for i in range(50):
            s.add(
                L7Rule(
                    project_id=o["lb"]["project_id"],
                    l7policy_id=policy["id"],
                    type="PATH",
                    compare_type="STARTS_WITH",
                    value=f"/{i}",
                    provisioning_status="ACTIVE",
                    operating_status="ONLINE",
                )
            )
    message = fault(post_rule(client, policy["id"]), 409)
    assert message == f"Too many rules on L7 policy {policy['id']}"
    assert lb_row(database, o["lb"]["id"]).provisioning_status == "ACTIVE"
    rules = [{"type": "PATH", "compare_type": "STARTS_WITH", "value": "/x"}] * 51
    assert fault(post_policy(client, o["listener"]["id"], rules=rules), 409)


# -- single-call create ---------------------------------------------------------------------


def test_graph_create_with_policies(client: Any, database: Any) -> None:
    body = {
        "vip_subnet_id": "private-subnet",
        "pools": [{"name": "api", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}],
        "listeners": [
            {
                "protocol": "HTTP",
                "protocol_port": 80,
                "default_pool": {"name": "web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"},
                "l7policies": [
                    {
                        "name": "to-api",
                        "action": "REDIRECT_TO_POOL",
                        "redirect_pool": {"name": "api"},
                        "rules": [{"type": "PATH", "compare_type": "STARTS_WITH", "value": "/api"}],
                    },
                    {
                        "name": "to-static",
                        "action": "REDIRECT_TO_POOL",
                        "position": 1,
                        "redirect_pool": {
                            "name": "static",
                            "protocol": "HTTP",
                            "lb_algorithm": "ROUND_ROBIN",
                        },
                        "rules": [
                            {"type": "FILE_TYPE", "compare_type": "EQUAL_TO", "value": "css"}
                        ],
                    },
                    {"name": "deny", "action": "REJECT"},
                ],
            }
        ],
    }
    lb = ok(client.post(f"{V2}/loadbalancers", json={"loadbalancer": body}), 201)["loadbalancer"]
    pools = {p["name"]: p["id"] for p in lb["pools"]}
    assert set(pools) == {"api", "web", "static"}
    policies = lb["listeners"][0]["l7policies"]
    assert [(p["name"], p["position"]) for p in policies] == [
        ("to-static", 1),
        ("to-api", 2),
        ("deny", 3),
    ]
    assert [p["redirect_pool_id"] for p in policies] == [pools["static"], pools["api"], None]
    assert policies[0]["rules"][0]["value"] == "css"
    assert {p["provisioning_status"] for p in policies} == {"PENDING_CREATE"}
    with database.read() as s:
        assert s.get(LoadBalancer, lb["id"]) is not None


def test_graph_create_unknown_redirect_pool(client: Any) -> None:
    listener = {
        "protocol": "HTTP",
        "protocol_port": 80,
        "l7policies": [{"action": "REDIRECT_TO_POOL", "redirect_pool": {"name": "ghost"}}],
    }
    body = {"vip_subnet_id": "private-subnet", "listeners": [listener]}
    message = fault(client.post(f"{V2}/loadbalancers", json={"loadbalancer": body}), 400)
    assert message == "Missing details for Pool object: ghost"


def test_redirect_pool_changes_touch_the_redirecting_listener(
    client: Any, database: Any, objects: dict[str, Any]
) -> None:
    o = objects
    make_policy(client, database, o, action="REDIRECT_TO_POOL", redirect_pool_id=o["api"]["id"])
    member = {"address": "10.0.0.77", "protocol_port": 80}
    ok(client.post(f"{V2}/pools/{o['api']['id']}/members", json={"member": member}), 201)
    assert statuses(database, Listener)[o["listener"]["id"]] == "PENDING_UPDATE"
