"""The OpenAPI document (`/v2/openapi.json`), real answers checked against it, and a bounded
schemathesis run.

`test_every_answer_of_a_built_up_api_matches_the_document` builds a load
balancer with every kind of child (and a single-call one, operator objects,
quotas, amphorae) through the API and validates every answer with
`jsonschema_rs` (what schemathesis validates with) against the schema the
document gives its operation; answers without `fields=` also against the
complete form (each `XSelection` read as `X`, see `api/openapi.py`). Every
GET of the document must have been checked. It then breaks each answer one
field at a time (dropped, of a wrong type, an extra key) and requires the
schema to reject every copy.

The schemathesis run fuzzes every documented operation of a real `statera up`
(noop drivers, SQLite) and fails on any 5xx or any response that breaks the
document's schema. Its examples are bounded (`MAX_EXAMPLES` per operation and
phase); the seed is random, printed in the output on failure.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from sqlalchemy import update
from tests.integration.api.helpers import SUBNET, V2, activate, ok
from tests.noop_server import NoopServer

from statera.api.openapi import SELECTION
from statera.db.models import Amphora, L7Policy, L7Rule, ListenerStatistics
from statera.db.session import Database

MAX_EXAMPLES = 10
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
OPENAPI = "/v2/openapi.json"


def test_document_describes_the_v2_api(client: Any) -> None:
    doc = ok(client.get(OPENAPI))
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path in (
        "/v2/lbaas/loadbalancers",
        "/v2/lbaas/loadbalancers/{lb_id}",
        "/v2/lbaas/listeners",
        "/v2/lbaas/pools/{pool_id}/members",
        "/v2/lbaas/healthmonitors/{hm_id}",
    ):
        assert path in paths, path
    assert not any(p.startswith("/v2.0") for p in paths)
    create = paths["/v2/lbaas/loadbalancers"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["loadbalancer"]
    lb_schema = doc["components"]["schemas"]["LoadBalancerPOST"]
    assert {"vip_subnet_id", "vip_address", "listeners"} <= set(lb_schema["properties"])
    created = create["responses"]["201"]["content"]["application/json"]["schema"]
    assert created["required"] == ["loadbalancer"]
    assert create["responses"]["409"]["content"]["application/json"]["schema"]["required"] == [
        "faultcode",
        "faultstring",
        "debuginfo",
    ]
    listing = paths["/v2/lbaas/loadbalancers"]["get"]["responses"]["200"]
    assert listing["content"]["application/json"]["schema"]["required"] == [
        "loadbalancers",
        "loadbalancers_links",
    ]
    schemas = doc["components"]["schemas"]
    assert set(schemas["LoadBalancer"]["required"]) == set(schemas["LoadBalancer"]["properties"])
    assert "required" not in schemas["LoadBalancerSelection"]
    show = paths["/v2/lbaas/loadbalancers/{lb_id}"]
    assert "fields" in [p["name"] for p in show["get"]["parameters"]]
    assert "fields" not in [p["name"] for p in show["put"]["parameters"]]
    quota = paths["/v2/lbaas/quotas/{project_id}"]["get"]
    assert "fields" not in [p["name"] for p in quota["parameters"]]
    assert "versions" in ok(client.get("/"))


def complete(schema: Any) -> Any:
    """`schema` with every `XSelection` reference read as `X` (the answer carries every field)."""
    if isinstance(schema, dict):
        out = {k: complete(v) for k, v in schema.items()}
        target = out.get("$ref")
        if isinstance(target, str) and target.endswith(SELECTION):
            out["$ref"] = target.removesuffix(SELECTION)
        return out
    if isinstance(schema, list):
        return [complete(v) for v in schema]
    return schema


def validator(doc: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A JSON Schema 2020-12 validator of `schema`, its `#/components/...` references resolved."""
    return jsonschema_rs.Draft202012Validator({**schema, "components": doc["components"]})


def errors(check: Any, instance: Any) -> list[str]:
    return [f"{list(e.instance_path)}: {e.message}" for e in check.iter_errors(instance)]


class Answers:
    """Calls the API and validates each answer against the document's schema of its operation."""

    def __init__(self, client: Any, doc: dict[str, Any]) -> None:
        self.client = client
        self.doc = doc
        self.checked: set[tuple[str, str]] = set()
        self.complete: list[tuple[str, dict[str, Any], Any]] = []
        """(what was called, the complete schema, the answer) of answers without `fields=`."""

    def schema(self, method: str, template: str, status: int) -> dict[str, Any]:
        response = self.doc["paths"][template][method]["responses"][str(status)]
        return dict(response["content"]["application/json"]["schema"])

    def call(
        self,
        method: str,
        template: str,
        status: int = 200,
        *,
        query: str = "",
        body: Any = None,
        **params: str,
    ) -> Any:
        url = template.format(**params) + (f"?{query}" if query else "")
        what = f"{method.upper()} {url}"
        answer = ok(self.client.request(method.upper(), url, json=body), status)
        schema = self.schema(method, template, status)
        found = errors(validator(self.doc, schema), answer)
        assert not found, (what, found)
        self.checked.add((method, template))
        if "fields=" not in query:
            strict = complete(schema)
            found = errors(validator(self.doc, strict), answer)
            assert not found, (what, "(complete)", found)
            self.complete.append((what, strict, answer))
        return answer

    def get(self, template: str, *, query: str = "", **params: str) -> Any:
        return self.call("get", template, query=query, **params)


def settle(database: Database, lb_id: str) -> None:
    """The controller's success, L7 objects included."""
    activate(database, lb_id)
    with database.write() as s:
        for model in (L7Policy, L7Rule):
            s.execute(
                update(model)
                .where(model.provisioning_status.in_(("PENDING_CREATE", "PENDING_UPDATE")))
                .values(provisioning_status="ACTIVE")
            )


def graph() -> dict[str, Any]:
    """A single-call create with every kind of child."""
    return {
        "name": "graph",
        "vip_subnet_id": SUBNET,
        "listeners": [
            {
                "name": "http",
                "protocol": "HTTP",
                "protocol_port": 8080,
                "default_pool": {
                    "name": "web",
                    "protocol": "HTTP",
                    "lb_algorithm": "ROUND_ROBIN",
                    "session_persistence": {"type": "HTTP_COOKIE"},
                    "members": [{"address": "10.0.0.101", "protocol_port": 8080}],
                    "healthmonitor": {"type": "TCP", "delay": 2, "timeout": 1, "max_retries": 2},
                },
                "l7policies": [
                    {
                        "name": "deny",
                        "action": "REJECT",
                        "rules": [{"type": "PATH", "compare_type": "STARTS_WITH", "value": "/x"}],
                    }
                ],
            }
        ],
        "pools": [{"name": "spare", "protocol": "TCP", "lb_algorithm": "SOURCE_IP"}],
    }


def build_up(a: Answers, database: Database) -> None:
    """Create, update, show and list every kind of object, each answer validated by `a`."""
    lbs, listeners, pools = f"{V2}/loadbalancers", f"{V2}/listeners", f"{V2}/pools"
    monitors, policies = f"{V2}/healthmonitors", f"{V2}/l7policies"

    lb = a.call("post", lbs, 201, body={"loadbalancer": {"vip_subnet_id": SUBNET, "tags": ["t"]}})
    lb_id = lb["loadbalancer"]["id"]
    settle(database, lb_id)
    listener_body = {
        "loadbalancer_id": lb_id,
        "protocol": "HTTP",
        "protocol_port": 80,
        "insert_headers": {"X-Forwarded-For": "true"},
        "allowed_cidrs": ["10.0.0.0/8"],
    }
    listener_id = a.call("post", listeners, 201, body={"listener": listener_body})["listener"]["id"]
    settle(database, lb_id)
    pool_body = {
        "listener_id": listener_id,
        "protocol": "HTTP",
        "lb_algorithm": "ROUND_ROBIN",
        "session_persistence": {"type": "APP_COOKIE", "cookie_name": "c"},
    }
    pool_id = a.call("post", pools, 201, body={"pool": pool_body})["pool"]["id"]
    settle(database, lb_id)
    member_body = {"address": "10.0.0.100", "protocol_port": 8080, "monitor_port": 9000}
    members = f"{pools}/{{pool_id}}/members"
    member_id = a.call("post", members, 201, body={"member": member_body}, pool_id=pool_id)[
        "member"
    ]["id"]
    settle(database, lb_id)
    hm_body = {
        "pool_id": pool_id,
        "type": "HTTP",
        "delay": 5,
        "timeout": 3,
        "max_retries": 2,
        "url_path": "/healthz",
        "http_version": 1.1,
        "domain_name": "example.com",
    }
    hm_id = a.call("post", monitors, 201, body={"healthmonitor": hm_body})["healthmonitor"]["id"]
    settle(database, lb_id)
    policy_body = {
        "listener_id": listener_id,
        "action": "REDIRECT_TO_POOL",
        "redirect_pool_id": pool_id,
    }
    policy_id = a.call("post", policies, 201, body={"l7policy": policy_body})["l7policy"]["id"]
    settle(database, lb_id)
    rules = f"{policies}/{{policy_id}}/rules"
    rule_body = {"type": "HEADER", "compare_type": "EQUAL_TO", "key": "X-Api", "value": "1"}
    rule_id = a.call("post", rules, 201, body={"rule": rule_body}, policy_id=policy_id)["rule"][
        "id"
    ]
    settle(database, lb_id)

    a.call("put", lbs + "/{lb_id}", body={"loadbalancer": {"name": "lb"}}, lb_id=lb_id)
    settle(database, lb_id)
    body = {"listener": {"name": "listener", "connection_limit": 100}}
    a.call("put", listeners + "/{listener_id}", body=body, listener_id=listener_id)
    settle(database, lb_id)
    a.call("put", pools + "/{pool_id}", body={"pool": {"name": "pool"}}, pool_id=pool_id)
    settle(database, lb_id)
    body = {"member": {"name": "member", "weight": 5}}
    a.call("put", members + "/{member_id}", body=body, pool_id=pool_id, member_id=member_id)
    settle(database, lb_id)
    a.call("put", monitors + "/{hm_id}", body={"healthmonitor": {"name": "hm"}}, hm_id=hm_id)
    settle(database, lb_id)
    body = {"l7policy": {"name": "policy", "position": 1}}
    a.call("put", policies + "/{policy_id}", body=body, policy_id=policy_id)
    settle(database, lb_id)
    body = {"rule": {"invert": True}}
    a.call("put", rules + "/{rule_id}", body=body, policy_id=policy_id, rule_id=rule_id)
    settle(database, lb_id)

    full = a.call("post", lbs, 201, body={"loadbalancer": graph()})["loadbalancer"]
    assert full["listeners"][0]["l7policies"][0]["rules"], full
    assert any(pool["healthmonitor"] for pool in full["pools"]), full
    settle(database, full["id"])

    for template, ids, key in (
        (lbs, {"lb_id": lb_id}, "loadbalancers"),
        (listeners, {"listener_id": listener_id}, "listeners"),
        (pools, {"pool_id": pool_id}, "pools"),
        (members, {"pool_id": pool_id, "member_id": member_id}, "members"),
        (monitors, {"hm_id": hm_id}, "healthmonitors"),
        (policies, {"policy_id": policy_id}, "l7policies"),
        (rules, {"policy_id": policy_id, "rule_id": rule_id}, "rules"),
    ):
        show = template + "/{" + list(ids)[-1] + "}"
        assert a.get(template, **ids)[key], template
        assert a.get(template, query="limit=1", **ids)[f"{key}_links"], template
        a.get(template, query="fields=id,name", **ids)
        a.get(show, **ids)
        (selected,) = a.get(show, query="fields=id", **ids).values()
        assert selected == {"id": list(ids.values())[-1]}, show
        (selected,) = a.get(show, query="fields=no_such_field", **ids).values()
        assert selected == {}, show
    for suffix in ("/status", "/statuses", "/stats"):
        a.get(lbs + "/{lb_id}" + suffix, lb_id=lb_id)
    a.get(lbs + "/{lb_id}/status", lb_id=full["id"])
    a.get(listeners + "/{listener_id}/stats", listener_id=listener_id)

    operator_objects(a)
    quotas(a)
    amphorae(a, database, lb_id=lb_id, listener_id=listener_id)
    for template in ("/", "/v2", "/v2/lbaas"):
        a.get(template)


def operator_object(
    a: Answers, many: str, one: str, key: str, body: dict[str, Any], change: dict[str, Any]
) -> str:
    """Create, update, list and show one operator object; its id (an AZ's name)."""
    template = f"{V2}/{many}"
    created = a.call("post", template, 201, body={one: body})[one]
    object_id = str(created.get("id", created.get("name")))
    show = template + "/{" + key + "}"
    a.call("put", show, body={one: change}, **{key: object_id})
    (page, _links) = a.get(template).values()
    assert page, template
    a.get(template, query="fields=name")
    a.get(show, **{key: object_id})
    a.get(show, query="fields=name", **{key: object_id})
    return object_id


def operator_objects(a: Answers) -> None:
    """Flavor profiles, flavors, AZ profiles, AZs, providers and their capabilities."""
    data = {"provider_name": "amphora"}
    profile = operator_object(
        a,
        "flavorprofiles",
        "flavorprofile",
        "profile_id",
        {"name": "fp", "flavor_data": "{}", **data},
        {"name": "fp2"},
    )
    operator_object(
        a,
        "flavors",
        "flavor",
        "flavor_id",
        {"name": "small", "flavor_profile_id": profile},
        {"description": "d"},
    )
    profile = operator_object(
        a,
        "availabilityzoneprofiles",
        "availability_zone_profile",
        "profile_id",
        {"name": "azp", "availability_zone_data": "{}", **data},
        {"name": "azp2"},
    )
    operator_object(
        a,
        "availabilityzones",
        "availability_zone",
        "name",
        {"name": "az1", "availability_zone_profile_id": profile},
        {"enabled": False},
    )
    providers = f"{V2}/providers"
    assert a.get(providers)["providers"]
    a.get(providers, query="fields=name")
    for kind in ("flavor_capabilities", "availability_zone_capabilities"):
        template = providers + "/{provider}/" + kind
        assert a.get(template, provider="amphora")[kind], kind
        a.get(template, query="fields=name", provider="amphora")


def quotas(a: Answers) -> None:
    project = V2 + "/quotas/{project_id}"
    body = {"quota": {"loadbalancer": 10, "health_monitor": 3}}
    a.call("put", project, 202, body=body, project_id="project-a")
    assert a.get(V2 + "/quotas")["quotas"]
    a.get(V2 + "/quotas/defaults")
    a.get(project, project_id="project-a")
    a.get(project + "/default", project_id="project-a")
    a.call("delete", project, 202, project_id="project-a")


def amphorae(a: Answers, database: Database, *, lb_id: str, listener_id: str) -> None:
    """Amphorae come from the controller: one in use (every field set), one spare (nulls)."""
    with database.write() as s:
        used = Amphora(
            load_balancer_id=lb_id,
            compute_id="compute-1",
            status="ALLOCATED",
            role="STANDALONE",
            lb_network_ip="192.0.2.10",
            vrrp_ip="10.0.0.11",
            ha_ip="10.0.0.12",
            vrrp_port_id="port-1",
            ha_port_id="port-2",
            cert_expiration=datetime(2030, 1, 2, 3, 4, 5, 678901),
            cert_busy=False,
            vrrp_interface="eth1",
            vrrp_id=1,
            vrrp_priority=100,
            cached_zone="az1",
            image_id="image-1",
            compute_flavor="flavor-1",
            updated_at=datetime(2030, 1, 2, 3, 4, 5, 678901),
        )
        spare = Amphora(status="READY")
        s.add_all([used, spare])
        s.flush()
        used_id, spare_id = used.id, spare.id
        s.add(
            ListenerStatistics(
                listener_id=listener_id,
                amphora_id=used_id,
                bytes_in=1,
                bytes_out=2,
                active_connections=3,
                total_connections=4,
                request_errors=5,
            )
        )
    template = "/v2/octavia/amphorae"
    assert len(a.get(template)["amphorae"]) == 2
    a.get(template, query="limit=1")
    a.get(template, query="fields=id,status")
    for amphora_id in (used_id, spare_id):
        a.get(template + "/{amphora_id}", amphora_id=amphora_id)
    a.get(template + "/{amphora_id}", query="fields=role", amphora_id=used_id)
    assert a.get(template + "/{amphora_id}/stats", amphora_id=used_id)["amphora_stats"]


def wrong(value: Any) -> Any:
    """A value of another JSON type than `value` (and not null)."""
    if value is None:
        return False
    if isinstance(value, bool):
        return "true"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return 1
    if isinstance(value, list):
        return "[]"
    return []


FREE_FORM = {"insert_headers"}
"""Objects whose keys are the caller's (a listener's headers), not the document's."""
OPTIONAL = {"health_monitor"}
"""Fields present only sometimes (a status tree's pool has a monitor only if it has one)."""


def objects(
    answer: Any, where: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """Where in `answer` its objects are, at any depth (of a list, its first entry)."""
    if isinstance(answer, list) and answer:
        yield from objects(answer[0], (*where, 0))
    if not isinstance(answer, dict) or (where and where[-1] in FREE_FORM):
        return
    yield where, answer
    for key, value in answer.items():
        yield from objects(value, (*where, key))


def located(answer: Any, where: tuple[str | int, ...]) -> Any:
    for step in where:
        answer = answer[step]
    return answer


def broken_copies(answer: Any) -> Iterator[tuple[str, Any]]:
    """Copies of `answer` with one defect each: a field dropped, of a wrong type, or added,
    in every object at any depth."""
    for where, obj in objects(answer):
        for field, value in obj.items():
            if field not in OPTIONAL:
                dropped = copy.deepcopy(answer)
                del located(dropped, where)[field]
                yield f"{where} without {field}", dropped
            retyped = copy.deepcopy(answer)
            located(retyped, where)[field] = wrong(value)
            yield f"{where} {field}={wrong(value)!r}", retyped
        extra = copy.deepcopy(answer)
        located(extra, where)["no_such_field"] = 1
        yield f"{where} with an undocumented key", extra


def test_every_answer_of_a_built_up_api_matches_the_document(
    client: Any, database: Database
) -> None:
    """Every GET of the document answers as documented; no defect of an answer goes unseen."""
    doc = ok(client.get(OPENAPI))
    a = Answers(client, doc)
    build_up(a, database)

    documented = {("get", path) for path, operations in doc["paths"].items() if "get" in operations}
    assert not documented - a.checked, sorted(documented - a.checked)
    assert len(a.complete) >= 70, len(a.complete)

    defects = 0
    for what, schema, answer in a.complete:
        check = validator(doc, schema)
        for defect, broken in broken_copies(answer):
            assert not check.is_valid(broken), f"{what}: {defect} is accepted"
            defects += 1
    assert defects > 2000, defects


def test_a_broken_answer_fails_the_schema(client: Any, database: Database) -> None:
    """The check above, spelled out for one load balancer and its nested children."""
    doc = ok(client.get(OPENAPI))
    a = Answers(client, doc)
    created = a.call("post", f"{V2}/loadbalancers", 201, body={"loadbalancer": graph()})
    settle(database, created["loadbalancer"]["id"])
    show_template = V2 + "/loadbalancers/{lb_id}"
    shown = a.get(show_template, lb_id=created["loadbalancer"]["id"])
    as_documented = validator(doc, a.schema("get", show_template, 200))
    everything = validator(doc, complete(a.schema("get", show_template, 200)))
    assert as_documented.is_valid(shown) and everything.is_valid(shown)

    missing = copy.deepcopy(shown)
    del missing["loadbalancer"]["vip_address"]
    assert as_documented.is_valid(missing)  # what `fields=` may select
    assert not everything.is_valid(missing)
    for field, value in (
        ("admin_state_up", "true"),
        ("provider", None),
        ("vip_address", 10),
        ("listeners", [{"id": 1}]),
        ("tags", "t"),
        ("created_at", "2024-01-01 00:00:00.123456"),
        ("provisioning_status", "BUSY"),
    ):
        broken = copy.deepcopy(shown)
        broken["loadbalancer"][field] = value
        assert not as_documented.is_valid(broken), field
        assert not everything.is_valid(broken), field

    full = validator(doc, a.schema("post", f"{V2}/loadbalancers", 201))
    assert full.is_valid(created)
    listener = created["loadbalancer"]["listeners"][0]
    pool = next(p for p in created["loadbalancer"]["pools"] if p["healthmonitor"])
    for where, field in (
        (listener, "loadbalancers"),  # a full listener has no back-reference
        (listener["l7policies"][0]["rules"][0], "value"),
        (pool["members"][0], "address"),
        (pool["healthmonitor"], "delay"),
        (pool["session_persistence"], "cookie_name"),
    ):
        if field in where:
            value = where.pop(field)
            assert not full.is_valid(created), f"without {field}"
            where[field] = value
        else:
            where[field] = []
            assert not full.is_valid(created), f"with {field}"
            del where[field]
        assert full.is_valid(created), field


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NoopServer]:
    s = NoopServer(tmp_path)
    try:
        yield s.start()
    finally:
        s.close()


@pytest.mark.timeout(900)
def test_schemathesis_finds_no_server_error_and_no_schema_violation(server: NoopServer) -> None:
    done = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{server.base}/v2/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--header",
            "X-Project-Id: fuzz",
            "--generation-allow-x00",
            "false",
            "--continue-on-failure",
            "--request-timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=800,
        cwd=server.root,
    )
    report = done.stdout[-6000:] + done.stderr[-2000:]
    assert done.returncode == 0, f"{report}\n--- statera log ---\n{server.tail()}"
    assert "passed" in done.stdout
