"""Create, update and delete L7 rules, and Octavia's rule checks (octavia-spec §1.11).

A rule belongs to one L7 policy; the rules of a policy are ANDed. Every write
locks the load balancer and moves the rule, its policy and its listener to
PENDING_* with the load balancer (the listener's frontend is re-rendered).
`check` holds Octavia's `validate.l7rule_data` rules with its messages; keys
are held to a narrower character set than Octavia's header token (no `#`,
`$`, quotes, comma or backquote), because a key is written inside an HAProxy
fetch such as `req.hdr(<key>)` where those characters would be parsed.
Values may hold anything printable: the renderer escapes them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from statera.db.base import new_id
from statera.db.models import L7Policy, L7Rule
from statera.domain.enums import L7RuleCompareType, L7RuleType, OperatingStatus
from statera.domain.errors import Conflict, InvalidSpec
from statera.services import lookup
from statera.services.changes import (
    PENDING_CREATE,
    PENDING_DELETE,
    PENDING_UPDATE,
    add_tags,
    begin_change,
    mark,
    set_tags,
)

MAX_RULES_PER_POLICY = 50
"""Octavia's MAX_L7RULES_PER_L7POLICY (HAProxy failed past 53)."""

# Octavia's HTTP_HEADER_NAME_REGEX minus what HAProxy parses inside a fetch argument.
KEY_RE = re.compile(r"[A-Za-z0-9!%&*+.^_|~\-]+")
# Octavia's HTTP_HEADER_VALUE_REGEX / HTTP_QUOTED_HEADER_VALUE_REGEX / HTTP_COOKIE_VALUE_REGEX.
HEADER_VALUE_RE = re.compile(r"[a-zA-Z0-9!\"#$%&'()*+,\-./:;<=>?@\[\]^_`{|}~\\]+")
QUOTED_HEADER_VALUE_RE = re.compile(r"\"[a-zA-Z0-9 \t!\"#$%&'()*+,\-./:;<=>?@\[\]^_`{|}~\\]+\"")
COOKIE_VALUE_RE = re.compile(r"[a-zA-Z0-9!#$%&'()*+\-./:<=>?@\[\]^_`{|}~]+")
DN_FIELD_RE = re.compile(r"[a-zA-Z][A-Za-z0-9-]*")

_MATCHING = (
    L7RuleCompareType.STARTS_WITH,
    L7RuleCompareType.ENDS_WITH,
    L7RuleCompareType.CONTAINS,
    L7RuleCompareType.EQUAL_TO,
)


def _invalid(message: str) -> InvalidSpec:
    return InvalidSpec(f"Invalid L7 Rule: {message}")


def _regex(value: str) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        raise InvalidSpec(f"Unable to parse regular expression: {exc}") from None


def _header_value(value: str, what: str) -> None:
    if not HEADER_VALUE_RE.fullmatch(value) and not QUOTED_HEADER_VALUE_RE.fullmatch(value):
        raise InvalidSpec(f"Invalid characters in {what}")


def _key(key: str | None) -> str:
    if not key:
        raise _invalid("L7 rule type requires a key")
    if not KEY_RE.fullmatch(key):
        raise InvalidSpec("Invalid characters in key")
    return key


def check(*, kind: str, compare_type: str, key: str | None, value: str | None) -> None:
    """Octavia's `l7rule_data`: raise InvalidSpec if the rule cannot be built."""
    if not value:
        raise _invalid("L7 rule type requires a value")
    if kind in (L7RuleType.HEADER, L7RuleType.COOKIE):
        _key(key)
        if compare_type == L7RuleCompareType.REGEX:
            _regex(value)
        elif compare_type in _MATCHING:
            if kind == L7RuleType.HEADER:
                _header_value(value, "header value")
            elif not COOKIE_VALUE_RE.fullmatch(value):
                raise InvalidSpec("Invalid characters in cookie value")
        else:
            raise _invalid("invalid comparison type for rule type")
    elif kind in (L7RuleType.HOST_NAME, L7RuleType.PATH):
        if compare_type == L7RuleCompareType.REGEX:
            _regex(value)
        elif compare_type in _MATCHING:
            _header_value(value, "comparison value")
        else:
            raise _invalid("invalid comparison type for rule type")
    elif kind == L7RuleType.FILE_TYPE:
        if compare_type == L7RuleCompareType.REGEX:
            _regex(value)
        elif compare_type == L7RuleCompareType.EQUAL_TO:
            _header_value(value, "comparison value")
        else:
            raise _invalid("invalid comparison type for rule type")
    elif kind == L7RuleType.SSL_CONN_HAS_CERT:
        if key:
            raise _invalid(f'L7rule type {kind} does not use the "key" field.')
        if value.lower() != "true":
            raise _invalid(f"L7rule value {value} is not a boolean True string.")
        if compare_type != L7RuleCompareType.EQUAL_TO:
            raise _invalid(f"L7rule type {kind} only supports the EQUAL_TO compare type.")
    elif kind == L7RuleType.SSL_VERIFY_RESULT:
        if key:
            raise _invalid(f'L7rule type {kind} does not use the "key" field.')
        if not value.isascii() or not value.isdigit():
            raise _invalid(f"L7rule type {kind} needs a int value, which is >= 0")
        if compare_type != L7RuleCompareType.EQUAL_TO:
            raise _invalid(f"L7rule type {kind} only supports the EQUAL_TO compare type.")
    elif kind == L7RuleType.SSL_DN_FIELD:
        if compare_type == L7RuleCompareType.REGEX:
            _regex(value)
        if not key:
            raise _invalid(f"L7rule type {kind} needs to specify a key and a value.")
        if not DN_FIELD_RE.fullmatch(key):
            raise _invalid("Invalid L7rule distinguished name field.")
    else:
        raise _invalid("invalid rule type")


def _enabled(value: bool | None) -> bool:
    return True if value is None else value


def build(
    session: Session,
    *,
    policy: L7Policy,
    values: Mapping[str, Any],
    status: str = PENDING_CREATE,
) -> L7Rule:
    """Validate and add a rule of `policy` (no status bookkeeping, no count check)."""
    for field in ("type", "compare_type", "value"):
        if values.get(field) is None:
            raise InvalidSpec(
                f"Invalid input for field/attribute {field}. Value: 'None'. "
                "Mandatory field missing."
            )
    check(
        kind=values["type"],
        compare_type=values["compare_type"],
        key=values.get("key"),
        value=values["value"],
    )
    rule = L7Rule(
        id=new_id(),
        project_id=policy.project_id,
        l7policy_id=policy.id,
        type=values["type"],
        compare_type=values["compare_type"],
        key=values.get("key"),
        value=values["value"],
        invert=bool(values.get("invert")),
        enabled=_enabled(values.get("admin_state_up")),
        provisioning_status=status,
        operating_status=OperatingStatus.OFFLINE.value,
    )
    session.add(rule)
    add_tags(session, rule.id, values.get("tags"))
    return rule


def _live_count(session: Session, policy_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(L7Rule)
            .where(L7Rule.l7policy_id == policy_id)
            .where(L7Rule.provisioning_status != PENDING_DELETE)
        )
        or 0
    )


def too_many(policy_id: str) -> Conflict:
    return Conflict(f"Too many rules on L7 policy {policy_id}")


def create(session: Session, *, policy_id: str, values: Mapping[str, Any]) -> L7Rule:
    policy, listener, lb = lookup.l7policy(session, policy_id)
    begin_change(lb)
    if _live_count(session, policy.id) >= MAX_RULES_PER_POLICY:
        raise too_many(policy.id)
    rule = build(session, policy=policy, values=values)
    mark([policy, listener], PENDING_UPDATE)
    return rule


def update(session: Session, *, policy_id: str, rule_id: str, values: Mapping[str, Any]) -> L7Rule:
    rule, policy, listener, lb = lookup.l7rule(session, policy_id, rule_id)
    begin_change(lb)
    for field in ("type", "compare_type", "value"):
        if field in values and values[field] is None:
            raise InvalidSpec(f"None is not a valid option for {field}")
    merged = {
        "kind": values.get("type", rule.type),
        "compare_type": values.get("compare_type", rule.compare_type),
        "key": values.get("key", rule.key),
        "value": values.get("value", rule.value),
    }
    check(**merged)
    rule.type = merged["kind"]
    rule.compare_type = merged["compare_type"]
    rule.key = merged["key"]
    rule.value = merged["value"]
    if "invert" in values:
        rule.invert = bool(values["invert"])
    if "admin_state_up" in values:
        rule.enabled = _enabled(values["admin_state_up"])
    if "tags" in values:
        set_tags(session, rule.id, values["tags"])
    mark([rule], PENDING_UPDATE)
    mark([policy, listener], PENDING_UPDATE)
    return rule


def delete(session: Session, *, policy_id: str, rule_id: str) -> None:
    rule, policy, listener, lb = lookup.l7rule(session, policy_id, rule_id)
    begin_change(lb)
    mark([rule], PENDING_DELETE)
    mark([policy, listener], PENDING_UPDATE)
