"""The policy language evaluator and Octavia's default rules, without HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from statera.api.policy import (
    DEFAULT_RULES,
    Policy,
    PolicyError,
    build_policy,
    load_overrides,
    parse_rule,
    rule_name,
)


@dataclass(frozen=True)
class Creds:
    project_id: str | None = "p1"
    user_id: str | None = "u1"
    roles: frozenset[str] = field(default_factory=frozenset)
    is_admin: bool = False


def creds(*roles: str, project: str | None = "p1", is_admin: bool = False) -> Creds:
    return Creds(project_id=project, roles=frozenset(roles), is_admin=is_admin)


def passes(text: str, who: Creds, target: dict[str, str] | None = None) -> bool:
    policy = Policy({"r": text})
    return policy.check("r", who, target or {"project_id": "p1"})


@pytest.mark.parametrize(
    ("text", "who", "expected"),
    [
        ("", creds(), True),
        ("@", creds(), True),
        ("!", creds("admin"), False),
        ("role:admin", creds("admin"), True),
        ("role:admin", creds("ADMIN"), True),
        ("role:admin", creds("member"), False),
        ("project_id:%(project_id)s", creds(), True),
        ("project_id:%(project_id)s", creds(project="p2"), False),
        ("project_id:%(project_id)s", creds(project=None), False),
        ("is_admin:True", creds(is_admin=True), True),
        ("is_admin:True", creds(), False),
        ("user_id:u1", creds(), True),
        ("role:a or role:b", creds("b"), True),
        ("role:a and role:b", creds("b"), False),
        ("role:a and role:b", creds("a", "b"), True),
        ("not role:a", creds("b"), True),
        ("not role:a", creds("a"), False),
        ("role:a or role:b and role:c", creds("a"), True),  # and binds tighter
        ("(role:a or role:b) and role:c", creds("a"), False),
        ("(role:a or role:b) and project_id:%(project_id)s", creds("b"), True),
        ("((role:a))", creds("a"), True),
        ("not (role:a or role:b)", creds("c"), True),
        ("project_id:%(missing)s", creds(), False),
    ],
)
def test_language(text: str, who: Creds, expected: bool) -> None:
    assert passes(text, who) is expected


@pytest.mark.parametrize(
    "text", ["role:a or", "(role:a", "role:a)", "and role:a", "nonsense", "role:a role:b"]
)
def test_bad_rules_are_refused(text: str) -> None:
    with pytest.raises(PolicyError):
        parse_rule(text)


def test_unknown_rule_denies_and_cycles_are_refused() -> None:
    assert Policy({"r": "rule:nope"}).check("r", creds("admin"), {}) is False
    assert Policy({}).check("anything", creds("admin"), {}) is False
    with pytest.raises(PolicyError, match="cycle"):
        Policy({"a": "rule:b", "b": "role:x or rule:a"})


# Octavia's defaults: both role families are honoured.
@pytest.mark.parametrize(
    ("who", "read", "write", "read_global", "write_quota"),
    [
        (creds("reader"), True, False, False, False),
        (creds("load-balancer_observer"), True, False, False, False),
        (creds("member"), True, True, False, False),
        (creds("load-balancer_member"), True, True, False, False),
        (creds("load-balancer_global_observer", project="p9"), True, False, True, False),
        (creds("load-balancer_quota_admin", project="p9"), False, False, False, True),
        (creds("admin", project="p9"), True, True, True, True),
        (creds("load-balancer_admin", project="p9"), True, True, True, True),
        (creds(project="p9", is_admin=True), True, True, True, True),
        (creds("member", project="p9"), False, False, False, False),
        (creds(), False, False, False, False),
    ],
)
def test_default_rules(
    who: Creds, read: bool, write: bool, read_global: bool, write_quota: bool
) -> None:
    policy = build_policy()
    target = {"project_id": "p1"}
    assert policy.check(rule_name("loadbalancer", "get_one"), who, target) is read
    assert policy.check(rule_name("member", "post"), who, target) is write
    own = {"project_id": who.project_id or ""}
    assert policy.check(rule_name("pool", "get_all-global"), who, own) is read_global
    assert policy.check(rule_name("quota", "put"), who, target) is write_quota


def test_every_octavia_rule_has_a_default() -> None:
    for resource in ("loadbalancer", "listener", "pool", "member", "healthmonitor"):
        for action in ("get_all", "get_all-global", "get_one", "post", "put", "delete"):
            assert rule_name(resource, action) in DEFAULT_RULES
    for name in ("amphora:put_failover", "quota:get_defaults", "flavor-profile:post"):
        assert f"os_load-balancer_api:{name}" in DEFAULT_RULES
    build_policy()  # they all parse and hold no cycle


def test_policy_files(tmp_path: Path) -> None:
    yaml_file = tmp_path / "policy.yaml"
    yaml_file.write_text('"load-balancer:admin": "role:boss"\n# a comment\n')
    assert load_overrides(yaml_file) == {"load-balancer:admin": "role:boss"}
    policy = build_policy(policy_file=str(yaml_file))
    assert policy.check(rule_name("amphora", "get_all"), creds("boss"), {}) is True
    assert policy.check(rule_name("amphora", "get_all"), creds("admin"), {}) is False
    (tmp_path / "empty.yaml").write_text("")
    assert load_overrides(tmp_path / "empty.yaml") == {}
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(PolicyError, match="expected a mapping"):
        load_overrides(tmp_path / "list.json")
    with pytest.raises(PolicyError, match=r"missing\.yaml"):
        load_overrides(tmp_path / "missing.yaml")
