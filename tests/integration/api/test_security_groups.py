"""Neutron security groups in the Network view: `/v2.0/security-groups`, `/security-group-rules`.

These pin what the clients that make groups for Octavia's `vip_sg_ids` read:
Neutron's documents (wrapper keys, `tenant_id`, `revision_number`, timestamps
with `Z`), a new group's two default egress rules, Neutron's validation with
its error types and messages, and that one project never sees nor touches
another's groups. The last tests call the service functions a load balancer
and the reconciler use (`in_use`, `missing`, `rules_for`). Identity comes from
X-Project-Id / X-Roles (the `testing` strategy).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.integration.api.helpers import ok
from tests.integration.api.test_neutron import neutron_error

from statera.db import models
from statera.db.queries.security_groups import rules_for
from statera.db.session import Database
from statera.domain.security_groups import SecurityGroupRuleSpec
from statera.services import security_groups as sg_service

P1 = {"X-Project-Id": "p1", "X-Roles": "member"}
P2 = {"X-Project-Id": "p2", "X-Roles": "member"}
ADMIN = {"X-Project-Id": "ops", "X-Roles": "admin"}
MISSING = "b4ca07d1-a31e-43e2-891a-7d14f419f342"
SG = "/v2.0/security-groups"
RULES = "/v2.0/security-group-rules"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture
def settings_overrides() -> str:
    return "[api_settings]\nauth_strategy = testing\n"


def create_group(
    client: Any, *, headers: dict[str, str] = P1, prefix: str = "/v2.0", **fields: Any
) -> dict[str, Any]:
    body = {"security_group": {"name": "web", **fields}}
    return dict(
        ok(client.post(f"{prefix}/security-groups", json=body, headers=headers), 201)[
            "security_group"
        ]
    )


def post_rule(client: Any, headers: dict[str, str] = P1, **fields: Any) -> Any:
    return client.post(RULES, json={"security_group_rule": fields}, headers=headers)


def create_rule(client: Any, group_id: str, **fields: Any) -> dict[str, Any]:
    body = {"security_group_id": group_id, "direction": "ingress", **fields}
    return dict(ok(post_rule(client, **body), 201)["security_group_rule"])


# -- groups ---------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/v2.0", "/v2"])
def test_create_show_list_update_delete(client: Any, changes: list[int], prefix: str) -> None:
    group = create_group(client, prefix=prefix, description="front door")
    assert changes == [1]
    assert set(group) == {
        "id",
        "name",
        "description",
        "stateful",
        "shared",
        "project_id",
        "tenant_id",
        "tags",
        "revision_number",
        "created_at",
        "updated_at",
        "security_group_rules",
    }
    assert group["name"] == "web" and group["description"] == "front door"
    assert group["project_id"] == group["tenant_id"] == "p1"
    assert group["stateful"] is True and group["shared"] is False and group["tags"] == []
    assert group["revision_number"] == 1
    assert TIMESTAMP.fullmatch(group["created_at"]) and TIMESTAMP.fullmatch(group["updated_at"])
    # Neutron's defaults: all egress, both families; nothing in.
    defaults = sorted(group["security_group_rules"], key=lambda r: r["ethertype"])
    assert [(r["direction"], r["ethertype"]) for r in defaults] == [
        ("egress", "IPv4"),
        ("egress", "IPv6"),
    ]
    for default in defaults:
        assert default["protocol"] is None and default["remote_ip_prefix"] is None
        assert default["port_range_min"] is None and default["port_range_max"] is None
        assert default["security_group_id"] == group["id"]
        assert default["project_id"] == default["tenant_id"] == "p1"

    url = f"{prefix}/security-groups/{group['id']}"
    assert ok(client.get(url, headers=P1))["security_group"] == group
    listed = ok(client.get(f"{prefix}/security-groups", params={"name": "web"}, headers=P1))
    assert listed == {"security_groups": [group]}
    by_id = ok(client.get(f"{prefix}/security-groups", params={"id": group["id"]}, headers=P1))
    assert by_id["security_groups"] == [group]
    assert ok(client.get(f"{prefix}/security-groups", params={"name": "x"}, headers=P1)) == {
        "security_groups": []
    }
    narrow = ok(client.get(url, params={"fields": ["id", "name"]}, headers=P1))
    assert narrow == {"security_group": {"id": group["id"], "name": "web"}}

    body = {"security_group": {"name": "web2", "description": ""}}
    updated = ok(client.put(url, json=body, headers=P1))["security_group"]
    assert updated["name"] == "web2" and updated["description"] == ""
    assert updated["revision_number"] == 2
    assert updated["created_at"] == group["created_at"]

    response = client.delete(url, headers=P1)
    assert response.status_code == 204 and response.content == b""
    message = neutron_error(client.get(url, headers=P1), 404, "SecurityGroupNotFound")
    assert message == f"Security group {group['id']} does not exist"
    rules = ok(client.get(RULES, params={"security_group_id": group["id"]}, headers=P1))
    assert rules == {"security_group_rules": []}


def test_stateless_group_and_stateful_update(client: Any) -> None:
    group = create_group(client, stateful=False)
    assert group["stateful"] is False
    url = f"{SG}/{group['id']}"
    body = {"security_group": {"stateful": "true"}}
    assert ok(client.put(url, json=body, headers=P1))["security_group"]["stateful"] is True


@pytest.mark.parametrize(
    ("method", "body", "status", "kind", "message"),
    [
        ("POST", {"security_group": {"name": "x" * 256}}, 400, "HTTPBadRequest", None),
        ("POST", {"security_group": {"name": 5}}, 400, "HTTPBadRequest", None),
        (
            "POST",
            {"security_group": {"name": "Default"}},
            409,
            "SecurityGroupDefaultAlreadyExists",
            "Default security group already exists.",
        ),
        (
            "POST",
            {"security_group": {"colour": "red"}},
            400,
            "HTTPBadRequest",
            "Unrecognized attribute(s) 'colour'",
        ),
        (
            "POST",
            {"security_group": {"id": MISSING}},
            400,
            "HTTPBadRequest",
            "Attribute 'id' not allowed in POST",
        ),
        ("POST", {"security_group": {"stateful": "maybe"}}, 400, "InvalidInput", None),
        ("POST", {"port": {}}, 400, "HTTPBadRequest", "Resource body required"),
        ("POST", b"{", 400, "HTTPBadRequest", "Malformed request body"),
        (
            "PUT",
            {"security_group": {"project_id": "p2"}},
            400,
            "HTTPBadRequest",
            "Cannot update read-only attribute project_id",
        ),
        ("PUT", {"security_group": {"description": "x" * 256}}, 400, "HTTPBadRequest", None),
    ],
)
def test_group_bodies_are_checked(
    client: Any,
    method: str,
    body: Any,
    status: int,
    kind: str,
    message: str | None,
) -> None:
    url = SG if method == "POST" else f"{SG}/{create_group(client)['id']}"
    content = body if isinstance(body, bytes) else None
    response = client.request(
        method, url, json=None if content else body, content=content, headers=P1
    )
    got = neutron_error(response, status, kind)
    if message is not None:
        assert got == message


# -- rules ----------------------------------------------------------------------------------


def test_rule_create_show_list_delete(client: Any) -> None:
    group = create_group(client)
    rule = create_rule(
        client,
        group["id"],
        protocol="tcp",
        port_range_min=80,
        port_range_max=80,
        remote_ip_prefix="10.1.2.3/24",
        description="http",
    )
    assert set(rule) == {
        "id",
        "security_group_id",
        "direction",
        "ethertype",
        "protocol",
        "port_range_min",
        "port_range_max",
        "remote_ip_prefix",
        "normalized_cidr",
        "remote_group_id",
        "remote_address_group_id",
        "belongs_to_default_sg",
        "description",
        "project_id",
        "tenant_id",
        "tags",
        "revision_number",
        "created_at",
        "updated_at",
    }
    assert rule["ethertype"] == "IPv4"  # Neutron's default
    assert (rule["protocol"], rule["port_range_min"], rule["port_range_max"]) == ("tcp", 80, 80)
    assert rule["remote_ip_prefix"] == "10.1.2.3/24"
    assert rule["normalized_cidr"] == "10.1.2.0/24"
    assert rule["remote_group_id"] is None and rule["description"] == "http"
    assert rule["project_id"] == rule["tenant_id"] == "p1"
    assert TIMESTAMP.fullmatch(rule["created_at"])

    assert ok(client.get(f"{RULES}/{rule['id']}", headers=P1)) == {"security_group_rule": rule}
    shown = ok(client.get(f"{SG}/{group['id']}", headers=P1))["security_group"]
    assert rule in shown["security_group_rules"] and len(shown["security_group_rules"]) == 3
    assert shown["revision_number"] == 2  # a rule change moves its group's revision
    listed = ok(
        client.get(
            RULES,
            params={"security_group_id": group["id"], "direction": "ingress"},
            headers=P1,
        )
    )
    assert listed == {"security_group_rules": [rule]}

    response = client.delete(f"{RULES}/{rule['id']}", headers=P1)
    assert response.status_code == 204
    message = neutron_error(
        client.get(f"{RULES}/{rule['id']}", headers=P1), 404, "SecurityGroupRuleNotFound"
    )
    assert message == f"Security group rule {rule['id']} does not exist"
    neutron_error(
        client.delete(f"{RULES}/{rule['id']}", headers=P1), 404, "SecurityGroupRuleNotFound"
    )
    shown = ok(client.get(f"{SG}/{group['id']}", headers=P1))["security_group"]
    assert len(shown["security_group_rules"]) == 2 and shown["revision_number"] == 3


@pytest.mark.parametrize(
    ("fields", "stored"),
    [
        ({"protocol": "TCP", "port_range_min": 1, "port_range_max": 65535}, {"protocol": "tcp"}),
        ({"protocol": 6}, {"protocol": "6"}),
        ({"protocol": "any"}, {"protocol": None}),
        ({"ethertype": "ipv6", "protocol": "icmp"}, {"ethertype": "IPv6", "protocol": "ipv6-icmp"}),
        ({"ethertype": "IPv6", "protocol": "1"}, {"protocol": "58"}),
        ({"protocol": "icmp", "port_range_min": 8}, {"port_range_max": None}),
        ({"remote_ip_prefix": "10.1.2.3"}, {"remote_ip_prefix": "10.1.2.3/32"}),
        (
            {"ethertype": "IPv6", "remote_ip_prefix": "2001:DB8:0::1/64"},
            {"remote_ip_prefix": "2001:db8::1/64", "normalized_cidr": "2001:db8::/64"},
        ),
        ({"protocol": "vrrp"}, {"protocol": "vrrp"}),
    ],
)
def test_rule_values_are_stored_as_neutron_spells_them(
    client: Any, fields: dict[str, Any], stored: dict[str, Any]
) -> None:
    rule = create_rule(client, create_group(client)["id"], **fields)
    assert {key: rule[key] for key in stored} == stored


PORT_PROTOCOLS = "DCCP, SCTP, TCP, UDP, UDPLITE"


@pytest.mark.parametrize(
    ("fields", "kind", "message"),
    [
        (
            {"protocol": "tcp", "port_range_min": 90, "port_range_max": 80},
            "SecurityGroupInvalidPortRange",
            "For TCP/UDP protocols, port_range_min must be <= port_range_max",
        ),
        (
            {"protocol": "udp", "port_range_min": 90},
            "SecurityGroupInvalidPortRange",
            "For TCP/UDP protocols, port_range_min must be <= port_range_max",
        ),
        (
            {"port_range_min": 80, "port_range_max": 80},
            "SecurityGroupProtocolRequiredWithPorts",
            "Must also specify protocol if port range is given.",
        ),
        (
            {"remote_ip_prefix": "2001:db8::/32"},
            "SecurityGroupRuleParameterConflict",
            "Conflicting value ethertype IPv4 for CIDR 2001:db8::/32",
        ),
        (
            {"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"},
            "SecurityGroupRuleParameterConflict",
            "Conflicting value ethertype IPv6 for CIDR 10.0.0.0/8",
        ),
        ({"protocol": "foo"}, "SecurityGroupRuleInvalidProtocol", None),
        ({"protocol": 256}, "SecurityGroupRuleInvalidProtocol", None),
        ({"protocol": "-1"}, "SecurityGroupRuleInvalidProtocol", None),
        (
            {"protocol": "tcp", "port_range_min": 70000, "port_range_max": 70000},
            "SecurityGroupInvalidPortValue",
            "Invalid value for port 70000.",
        ),
        (
            {"protocol": "tcp", "port_range_min": "http", "port_range_max": 80},
            "SecurityGroupInvalidPortValue",
            "Invalid value for port http.",
        ),
        (
            {"protocol": "tcp", "port_range_min": 0, "port_range_max": 80},
            "SecurityGroupInvalidPortValue",
            "Invalid value for port 0.",
        ),
        (
            {"protocol": "icmp", "port_range_min": 300},
            "SecurityGroupInvalidIcmpValue",
            "Invalid value for ICMP type (port_range_min) 300. It must be 0 to 255.",
        ),
        (
            {"protocol": "icmp", "port_range_max": 0},
            "SecurityGroupMissingIcmpType",
            "ICMP code (port-range-max) 0 is provided but ICMP type (port-range-min) is missing.",
        ),
        (
            {"protocol": "gre", "port_range_min": 80, "port_range_max": 80},
            "SecurityGroupInvalidProtocolForPort",
            f"Invalid protocol 47 for port range, only supported for {PORT_PROTOCOLS} protocols.",
        ),
        (
            {"protocol": "ipv6-icmp"},
            "SecurityGroupEthertypeConflictWithProtocol",
            "Invalid ethertype IPv4 for protocol ipv6-icmp.",
        ),
        (
            {"direction": "up"},
            "HTTPBadRequest",
            "Invalid input for direction. Reason: 'up' is not in ['ingress', 'egress'].",
        ),
        (
            {"ethertype": "IPv5"},
            "HTTPBadRequest",
            "Invalid input for ethertype. Reason: 'IPv5' is not in ['IPv4', 'IPv6'].",
        ),
        (
            {"remote_ip_prefix": "bogus"},
            "InvalidCIDR",
            "Invalid CIDR bogus given as IP prefix.",
        ),
        (
            {"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": MISSING},
            "SecurityGroupRemoteGroupAndRemoteIpPrefix",
            "Only remote_ip_prefix or remote_group_id may be provided.",
        ),
        ({"remote_group_id": MISSING}, "HTTPBadRequest", None),
        ({"remote_address_group_id": MISSING}, "HTTPBadRequest", None),
        ({"colour": "red"}, "HTTPBadRequest", "Unrecognized attribute(s) 'colour'"),
        ({"id": MISSING}, "HTTPBadRequest", "Attribute 'id' not allowed in POST"),
        ({"description": "x" * 256}, "HTTPBadRequest", None),
    ],
)
def test_rules_are_checked_as_neutron_does(
    client: Any, fields: dict[str, Any], kind: str, message: str | None
) -> None:
    group = create_group(client)
    body = {"security_group_id": group["id"], "direction": "ingress", **fields}
    got = neutron_error(post_rule(client, **body), 400, kind)
    if message is not None:
        assert got == message
    if "remote_group_id" in fields and "remote_ip_prefix" not in fields:
        assert "not supported" in got
    shown = ok(client.get(f"{SG}/{group['id']}", headers=P1))["security_group"]
    assert len(shown["security_group_rules"]) == 2 and shown["revision_number"] == 1


def test_invalid_protocol_message_is_neutrons(client: Any) -> None:
    group = create_group(client)
    body = {"security_group_id": group["id"], "direction": "ingress", "protocol": "foo"}
    message = neutron_error(post_rule(client, **body), 400, "SecurityGroupRuleInvalidProtocol")
    assert message.startswith("Security group rule protocol foo not supported. ")
    assert message.endswith("and integer representations [0 to 255] are supported.")
    assert "'tcp'" in message and "'ipv6-icmp'" in message


def test_required_attributes(client: Any) -> None:
    group = create_group(client)
    message = neutron_error(post_rule(client, security_group_id=group["id"]), 400, "HTTPBadRequest")
    assert message == "Failed to parse request. Required attribute 'direction' not specified"
    message = neutron_error(post_rule(client, direction="ingress"), 400, "HTTPBadRequest")
    assert (
        message == "Failed to parse request. Required attribute 'security_group_id' not specified"
    )
    neutron_error(
        post_rule(client, security_group_id=MISSING, direction="ingress"),
        404,
        "SecurityGroupNotFound",
    )


def test_duplicate_rules_are_refused(client: Any) -> None:
    group = create_group(client)
    first = create_rule(client, group["id"], protocol="tcp", port_range_min=22, port_range_max=22)
    # The same rule spelt otherwise: protocol by number, any address as 0.0.0.0/0.
    body = {
        "security_group_id": group["id"],
        "direction": "ingress",
        "protocol": "6",
        "port_range_min": 22,
        "port_range_max": 22,
        "remote_ip_prefix": "0.0.0.0/0",
    }
    message = neutron_error(post_rule(client, **body), 409, "SecurityGroupRuleExists")
    assert message == f"Security group rule already exists. Rule id is {first['id']}."
    # A default rule, sent again as the CLI sends it.
    default = next(r for r in group["security_group_rules"] if r["ethertype"] == "IPv6")
    body = {"security_group_id": group["id"], "direction": "egress", "ethertype": "IPv6"}
    message = neutron_error(post_rule(client, **body), 409, "SecurityGroupRuleExists")
    assert message == f"Security group rule already exists. Rule id is {default['id']}."
    # Another port is another rule.
    create_rule(client, group["id"], protocol="tcp", port_range_min=23, port_range_max=23)


# -- projects -------------------------------------------------------------------------------


def test_projects_see_and_touch_only_their_own_groups(client: Any) -> None:
    mine = create_group(client, headers=P1, name="mine")
    theirs = create_group(client, headers=P2, name="theirs")
    body = {"security_group_id": theirs["id"], "direction": "ingress", "protocol": "tcp"}
    their_rule = ok(post_rule(client, P2, **body), 201)["security_group_rule"]

    listed = ok(client.get(SG, headers=P1))["security_groups"]
    assert [g["id"] for g in listed] == [mine["id"]]
    rules = ok(client.get(RULES, headers=P1))["security_group_rules"]
    assert {r["security_group_id"] for r in rules} == {mine["id"]}
    assert ok(client.get(RULES, params={"security_group_id": theirs["id"]}, headers=P1)) == {
        "security_group_rules": []
    }

    url = f"{SG}/{theirs['id']}"
    neutron_error(client.get(url, headers=P1), 404, "SecurityGroupNotFound")
    body_put = {"security_group": {"name": "mine now"}}
    neutron_error(client.put(url, json=body_put, headers=P1), 404, "SecurityGroupNotFound")
    neutron_error(client.delete(url, headers=P1), 404, "SecurityGroupNotFound")
    neutron_error(post_rule(client, P1, **body), 404, "SecurityGroupNotFound")
    rule_url = f"{RULES}/{their_rule['id']}"
    neutron_error(client.get(rule_url, headers=P1), 404, "SecurityGroupRuleNotFound")
    neutron_error(client.delete(rule_url, headers=P1), 404, "SecurityGroupRuleNotFound")
    assert ok(client.get(url, headers=P2))["security_group"]["name"] == "theirs"

    # Nobody's project: a caller without one sees nothing.
    assert ok(client.get(SG, headers={"X-Roles": "member"})) == {"security_groups": []}

    # An administrator sees and changes every project's groups, and filters by project.
    everything = ok(client.get(SG, headers=ADMIN))["security_groups"]
    assert {g["id"] for g in everything} == {mine["id"], theirs["id"]}
    only_p2 = ok(client.get(SG, params={"project_id": "p2"}, headers=ADMIN))["security_groups"]
    assert [g["id"] for g in only_p2] == [theirs["id"]]
    admin_rule = ok(post_rule(client, ADMIN, **{**body, "protocol": "udp"}), 201)
    assert admin_rule["security_group_rule"]["project_id"] == "p2"  # the group's project
    assert client.delete(rule_url, headers=ADMIN).status_code == 204
    assert client.delete(url, headers=ADMIN).status_code == 204


def test_only_an_administrator_creates_for_another_project(client: Any) -> None:
    body = {"security_group": {"name": "x", "project_id": "p2"}}
    message = neutron_error(client.post(SG, json=body, headers=P1), 403, "PolicyNotAuthorized")
    assert message == "(rule:create_security_group) is disallowed by policy."
    made = ok(client.post(SG, json=body, headers=ADMIN), 201)["security_group"]
    assert made["project_id"] == made["tenant_id"] == "p2"
    assert [g["id"] for g in ok(client.get(SG, headers=P2))["security_groups"]] == [made["id"]]
    rule = {"security_group_id": made["id"], "direction": "ingress", "tenant_id": "p1"}
    message = neutron_error(post_rule(client, P2, **rule), 403, "PolicyNotAuthorized")
    assert message == "(rule:create_security_group_rule) is disallowed by policy."


# -- what load balancers use ----------------------------------------------------------------


def add_load_balancer(database: Database, *, sg_ids: list[str], status: str = "ACTIVE") -> str:
    with database.write() as session:
        lb = models.LoadBalancer(
            project_id="p1",
            provisioning_status=status,
            operating_status="ONLINE",
            vip_sg_ids=sg_ids,
        )
        session.add(lb)
        session.flush()
        return lb.id


def test_a_group_in_use_cannot_be_deleted(client: Any, database: Database) -> None:
    group = create_group(client)
    other = create_group(client, name="other")
    lb_id = add_load_balancer(database, sg_ids=[other["id"], group["id"]])
    add_load_balancer(database, sg_ids=[other["id"]], status="DELETED")

    with database.read() as session:
        assert sg_service.users(session, group["id"]) == [lb_id]
        assert sg_service.in_use(session, group["id"])
        assert sg_service.in_use(session, other["id"])
        assert not sg_service.in_use(session, MISSING)

    url = f"{SG}/{group['id']}"
    message = neutron_error(client.delete(url, headers=P1), 409, "SecurityGroupInUse")
    assert message == f"Security Group {group['id']} in use."
    stateless = {"security_group": {"stateful": False}}
    neutron_error(client.put(url, json=stateless, headers=P1), 409, "SecurityGroupInUse")
    # Its rules may change (the reconciler re-applies them), and its name.
    create_rule(client, group["id"], protocol="tcp", port_range_min=443, port_range_max=443)
    body = {"security_group": {"name": "renamed"}}
    assert ok(client.put(url, json=body, headers=P1))["security_group"]["name"] == "renamed"

    with database.write() as session:
        row = session.get(models.LoadBalancer, lb_id)
        assert row is not None
        row.provisioning_status = "DELETED"
    assert client.delete(url, headers=P1).status_code == 204


def test_missing_names_groups_the_caller_cannot_see(client: Any, database: Database) -> None:
    mine = create_group(client, headers=P1)
    theirs = create_group(client, headers=P2)
    wanted = [theirs["id"], mine["id"], MISSING]
    with database.read() as session:
        assert sg_service.missing(session, wanted, project_id="p1") == [theirs["id"], MISSING]
        assert sg_service.missing(session, wanted, project_id=None) == [MISSING]
        assert sg_service.missing(session, [], project_id="p1") == []


def test_rules_for_gives_the_enforced_rules(client: Any, database: Database) -> None:
    group = create_group(client)
    web = create_rule(
        client,
        group["id"],
        protocol="tcp",
        port_range_min=80,
        port_range_max=81,
        remote_ip_prefix="10.1.2.3/24",
    )
    ping = create_rule(client, group["id"], protocol="icmp", port_range_min=8)
    everything = create_rule(client, group["id"], protocol="0", ethertype="IPv6")
    stateless = create_group(client, name="stateless", stateful=False)
    dns = create_rule(client, stateless["id"], protocol="17", port_range_min=53, port_range_max=53)

    with database.read() as session:
        specs = rules_for(session, [group["id"], MISSING, group["id"]])
        other = rules_for(session, [stateless["id"]])
    by_id = {s.id: s for s in specs}
    assert len(specs) == 5  # two defaults and three rules, once each
    assert by_id[web["id"]] == SecurityGroupRuleSpec(
        id=web["id"],
        security_group_id=group["id"],
        direction="ingress",
        ethertype="IPv4",
        protocol=6,
        port_range_min=80,
        port_range_max=81,
        remote_ip_prefix="10.1.2.0/24",
        stateful=True,
    )
    assert (by_id[ping["id"]].protocol, by_id[ping["id"]].port_range_min) == (1, 8)
    assert by_id[everything["id"]].protocol is None  # protocol 0 means any
    defaults = [s for s in specs if s.direction == "egress"]
    assert {(s.ethertype, s.protocol, s.remote_ip_prefix) for s in defaults} == {
        ("IPv4", None, None),
        ("IPv6", None, None),
    }
    dns_spec = next(s for s in other if s.id == dns["id"])
    assert (dns_spec.protocol, dns_spec.stateful) == (17, False)
