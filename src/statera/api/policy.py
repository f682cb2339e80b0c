"""Octavia's policy rules and a small evaluator of oslo.policy's rule language.

`DEFAULT_RULES` are Octavia's rules (octavia-spec §3): building blocks that
honour both role families at once (the newer `reader`/`member`/`admin` and
the legacy `load-balancer_observer`, `_global_observer`, `_member`,
`_quota_admin`, `_admin`), and one rule per action named
`os_load-balancer_api:<resource>:<action>`. An operator's policy file (YAML or
JSON, `[oslo_policy] policy_file`) overrides any rule by name.

The language: `role:<name>`, `rule:<name>`, `<credential>:<literal>` or
`<credential>:%(<target key>)s` (e.g. `project_id:%(project_id)s`,
`is_admin:True`), `@` (always), `!` (never), the empty string (always),
combined with `and`, `or`, `not` and parentheses. A rule that cannot be
parsed fails to load (`PolicyError`) rather than silently allowing anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

PREFIX = "os_load-balancer_api"


class PolicyError(ValueError):
    """A policy file or rule that cannot be used; the message says where and why."""


class Credentials(Protocol):
    @property
    def project_id(self) -> str | None: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def roles(self) -> frozenset[str]: ...
    @property
    def is_admin(self) -> bool: ...


# --- rules --------------------------------------------------------------------------------------

_OWNER = "project_id:%(project_id)s"
BUILDING_BLOCKS: dict[str, str] = {
    "context_is_admin": "role:admin or role:load-balancer_admin",
    "load-balancer:owner": _OWNER,
    "load-balancer:observer_and_owner": (
        "(role:reader or role:load-balancer_observer) and rule:load-balancer:owner"
    ),
    "load-balancer:global_observer": "role:admin or role:load-balancer_global_observer",
    "load-balancer:member_and_owner": (
        "(role:member or role:load-balancer_member) and rule:load-balancer:owner"
    ),
    "load-balancer:admin": "is_admin:True or role:admin or role:load-balancer_admin",
    "load-balancer:quota-admin": "role:admin or role:load-balancer_quota_admin",
    "load-balancer:read": (
        "rule:load-balancer:observer_and_owner or rule:load-balancer:global_observer"
        " or rule:load-balancer:member_and_owner or rule:load-balancer:admin"
    ),
    "load-balancer:read-global": "rule:load-balancer:global_observer or rule:load-balancer:admin",
    "load-balancer:write": "rule:load-balancer:member_and_owner or rule:load-balancer:admin",
    "load-balancer:read-quota": (
        "rule:load-balancer:observer_and_owner or rule:load-balancer:global_observer"
        " or rule:load-balancer:member_and_owner or rule:load-balancer:quota-admin"
        " or rule:load-balancer:admin"
    ),
    "load-balancer:read-quota-global": (
        "rule:load-balancer:global_observer or rule:load-balancer:quota-admin"
        " or rule:load-balancer:admin"
    ),
    "load-balancer:write-quota": "rule:load-balancer:quota-admin or rule:load-balancer:admin",
}

READ = "rule:load-balancer:read"
READ_GLOBAL = "rule:load-balancer:read-global"
WRITE = "rule:load-balancer:write"
ADMIN = "rule:load-balancer:admin"


def _lbaas_object(*, read: str = READ, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {
        "get_all": read,
        "get_all-global": READ_GLOBAL,
        "get_one": read,
        "post": WRITE,
        "put": WRITE,
        "delete": WRITE,
        **(extra or {}),
    }


_ADMIN_ONLY = dict.fromkeys(("get_all", "get_one", "post", "put", "delete"), ADMIN)
_READ_ADMIN_WRITE = {"get_all": READ, "get_one": READ, "post": ADMIN, "put": ADMIN, "delete": ADMIN}

RESOURCE_RULES: dict[str, dict[str, str]] = {
    "loadbalancer": _lbaas_object(
        extra={
            "get_stats": READ,
            "get_status": READ,
            "put_failover": ADMIN,
            # Also asked when a request sets vip_sg_ids (Octavia 2024.2).
            "post:vip_sg_ids": WRITE,
            "put:vip_sg_ids": WRITE,
        }
    ),
    "listener": _lbaas_object(extra={"get_stats": READ}),
    "pool": _lbaas_object(),
    "member": _lbaas_object(read=f"{READ} or role:service"),
    "healthmonitor": _lbaas_object(),
    "l7policy": _lbaas_object(),
    "l7rule": _lbaas_object(),
    "quota": {
        "get_all": "rule:load-balancer:read-quota",
        "get_all-global": "rule:load-balancer:read-quota-global",
        "get_one": "rule:load-balancer:read-quota",
        "put": "rule:load-balancer:write-quota",
        "delete": "rule:load-balancer:write-quota",
        "get_defaults": "rule:load-balancer:read-quota",
    },
    "amphora": {
        "get_all": ADMIN,
        "get_one": ADMIN,
        "delete": ADMIN,
        "put_config": ADMIN,
        "put_failover": ADMIN,
        "get_stats": ADMIN,
    },
    "flavor": _READ_ADMIN_WRITE,
    "flavor-profile": _ADMIN_ONLY,
    "availability-zone": _READ_ADMIN_WRITE,
    "availability-zone-profile": _ADMIN_ONLY,
    "provider": {"get_all": READ},
    "provider-flavor": {"get_all": ADMIN},
    "provider-availability-zone": {"get_all": ADMIN},
}


def rule_name(resource: str, action: str) -> str:
    return f"{PREFIX}:{resource}:{action}"


KEY_MANAGER_RULES: dict[str, str] = {
    # Barbican's names (no prefix), served by `api/routes/key_manager.py`. A project's
    # readers see metadata; only its members (and admins, of any project) read payloads
    # and write. Barbican's legacy `observer` and `creator` roles count as reader and member.
    "key-manager:read": (
        "((role:reader or role:observer or role:load-balancer_observer"
        " or role:member or role:creator or role:load-balancer_member)"
        " and rule:load-balancer:owner) or rule:load-balancer:admin"
    ),
    "key-manager:write": (
        "((role:member or role:creator or role:load-balancer_member)"
        " and rule:load-balancer:owner) or rule:load-balancer:admin"
    ),
    "secrets:get": "rule:key-manager:read",
    "secret:get": "rule:key-manager:read",
    "secret:decrypt": "rule:key-manager:write",
    "secrets:post": "rule:key-manager:write",
    "secret:put": "rule:key-manager:write",
    "secret:delete": "rule:key-manager:write",
    "containers:get": "rule:key-manager:read",
    "container:get": "rule:key-manager:read",
    "containers:post": "rule:key-manager:write",
    "container:delete": "rule:key-manager:write",
}
"""The key manager's rules, by Barbican's names; overridable in the policy file like the rest."""

DEFAULT_RULES: dict[str, str] = {
    **BUILDING_BLOCKS,
    **KEY_MANAGER_RULES,
    **{
        rule_name(resource, action): text
        for resource, actions in RESOURCE_RULES.items()
        for action, text in actions.items()
    },
}
"""Every rule by name, as Octavia ships them (both role families honoured)."""


# --- the language -------------------------------------------------------------------------------


class Check(Protocol):
    def __call__(self, creds: Credentials, target: Mapping[str, Any], policy: Policy) -> bool: ...


@dataclass(frozen=True)
class _Always:
    value: bool

    def __call__(self, creds: Credentials, target: Mapping[str, Any], policy: Policy) -> bool:
        return self.value


@dataclass(frozen=True)
class _Role:
    role: str

    def __call__(self, creds: Credentials, target: Mapping[str, Any], policy: Policy) -> bool:
        wanted = self.role.lower()
        return any(r.lower() == wanted for r in creds.roles)


@dataclass(frozen=True)
class _Rule:
    name: str

    def __call__(self, creds: Credentials, target: Mapping[str, Any], policy: Policy) -> bool:
        return policy.check(self.name, creds, target)


@dataclass(frozen=True)
class _Generic:
    key: str
    value: str

    def __call__(self, creds: Credentials, target: Mapping[str, Any], policy: Policy) -> bool:
        if "%(" in self.value:
            try:
                expected = self.value % target
            except (KeyError, TypeError, ValueError):
                return False
        else:
            expected = self.value
        actual = getattr(creds, self.key, None)
        if actual is None:
            return False
        if isinstance(actual, bool):
            return str(actual).lower() == str(expected).lower()
        if isinstance(actual, frozenset):
            return expected in actual
        return str(actual) == str(expected)


@dataclass(frozen=True)
class _Not:
    inner: Check

    def __call__(self, creds: Credentials, target: Mapping[str, Any], policy: Policy) -> bool:
        return not self.inner(creds, target, policy)


@dataclass(frozen=True)
class _All:
    parts: tuple[Check, ...]

    def __call__(self, creds: Credentials, target: Mapping[str, Any], policy: Policy) -> bool:
        return all(part(creds, target, policy) for part in self.parts)


@dataclass(frozen=True)
class _Any:
    parts: tuple[Check, ...]

    def __call__(self, creds: Credentials, target: Mapping[str, Any], policy: Policy) -> bool:
        return any(part(creds, target, policy) for part in self.parts)


def _tokens(text: str) -> list[str]:
    """Split on whitespace; peel parentheses off the ends of words, as oslo.policy does.

    A value such as `%(project_id)s` keeps its inner parentheses because it
    neither starts with `(` nor ends with `)`.
    """
    out: list[str] = []
    for word in text.split():
        stripped = word.lstrip("(")
        out.extend("(" * (len(word) - len(stripped)))
        core = stripped.rstrip(")")
        if core:
            out.append(core)
        out.extend(")" * (len(stripped) - len(core)))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0

    def parse(self) -> Check:
        if not self.tokens:
            return _Always(True)
        check = self._or()
        if self.pos != len(self.tokens):
            raise PolicyError(f"unexpected {self.tokens[self.pos]!r} in rule {self.text!r}")
        return check

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise PolicyError(f"rule {self.text!r} ends too early")
        self.pos += 1
        return token

    def _or(self) -> Check:
        parts = [self._and()]
        while (self._peek() or "").lower() == "or":
            self.pos += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else _Any(tuple(parts))

    def _and(self) -> Check:
        parts = [self._not()]
        while (self._peek() or "").lower() == "and":
            self.pos += 1
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else _All(tuple(parts))

    def _not(self) -> Check:
        if (self._peek() or "").lower() == "not":
            self.pos += 1
            return _Not(self._not())
        return self._atom()

    def _atom(self) -> Check:
        token = self._take()
        if token == "(":
            inner = self._or()
            if self._take() != ")":
                raise PolicyError(f"unbalanced parentheses in rule {self.text!r}")
            return inner
        if token in (")", "and", "or"):
            raise PolicyError(f"unexpected {token!r} in rule {self.text!r}")
        return _check(token, self.text)


def _check(token: str, text: str) -> Check:
    if token == "@":
        return _Always(True)
    if token == "!":
        return _Always(False)
    kind, sep, value = token.partition(":")
    if not sep or not kind:
        raise PolicyError(f"{token!r} in rule {text!r} is not a check (kind:value)")
    if kind == "role":
        return _Role(value)
    if kind == "rule":
        return _Rule(value)
    return _Generic(kind, value.strip("'\""))


def parse_rule(text: str) -> Check:
    """Parse one rule of oslo.policy's language; PolicyError if it is not valid."""
    return _Parser(text).parse()


# --- the evaluator ------------------------------------------------------------------------------


class Policy:
    """Named, parsed rules. `check` answers whether credentials pass a rule for a target.

    An unknown rule name denies (a typo must never open a door); a cycle of
    `rule:` references is refused when the rules are loaded.
    """

    def __init__(self, rules: Mapping[str, str]) -> None:
        self.texts = dict(rules)
        self._rules = {name: parse_rule(text) for name, text in rules.items()}
        _refuse_cycles(self._rules)

    def check(self, name: str, creds: Credentials, target: Mapping[str, Any]) -> bool:
        rule = self._rules.get(name)
        return rule is not None and rule(creds, target, self)


def _references(check: Check) -> list[str]:
    if isinstance(check, _Rule):
        return [check.name]
    if isinstance(check, _Not):
        return _references(check.inner)
    if isinstance(check, _All | _Any):
        return [name for part in check.parts for name in _references(part)]
    return []


def _refuse_cycles(rules: Mapping[str, Check]) -> None:
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise PolicyError(f"rules refer to each other in a cycle: {' -> '.join((*path, name))}")
        if name in done or name not in rules:
            return
        for ref in _references(rules[name]):
            visit(ref, (*path, name))
        done.add(name)

    for name in rules:
        visit(name, ())


def load_overrides(path: str | Path) -> dict[str, str]:
    """Rules from an operator's policy file (YAML or JSON: a mapping of name -> rule text)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"policy file {path}: {exc.strerror}") from None
    try:
        doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise PolicyError(f"policy file {path}: {exc}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in doc.items()
    ):
        raise PolicyError(f"policy file {path}: expected a mapping of rule name to rule text")
    for name, text in doc.items():
        try:
            parse_rule(text)
        except PolicyError as exc:
            raise PolicyError(f"policy file {path}: rule {name!r}: {exc}") from None
    return dict(doc)


def build_policy(*, policy_file: str = "") -> Policy:
    """The default rules with an operator's file (if any) laid over them."""
    rules = dict(DEFAULT_RULES)
    if policy_file:
        rules.update(load_overrides(policy_file))
    return Policy(rules)
