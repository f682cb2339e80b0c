"""Create, update and delete L7 policies (octavia-spec §1.10).

A policy belongs to one HTTP listener and carries an action: REJECT,
REDIRECT_TO_URL, REDIRECT_PREFIX or REDIRECT_TO_POOL. Setting a redirect
target switches the action to match and nulls the other targets (Octavia's
`sanitize_l7policy_api_args`); `redirect_http_code` defaults to 302 for the
URL and prefix redirects and is null otherwise. The policies of a listener
are kept numbered 1..N by `position`: a new or moved policy is inserted at
its position (or appended past the end) and the others shift. Every write
moves the policy and its listener to PENDING_* with the load balancer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from statera.db.base import new_id
from statera.db.models import L7Policy, L7Rule, Listener, LoadBalancer, Pool
from statera.domain.enums import L7PolicyAction, ListenerProtocol, OperatingStatus
from statera.domain.errors import InvalidSpec, ProviderUnsupported
from statera.services import l7rules, lookup, rules
from statera.services.changes import (
    PENDING_CREATE,
    PENDING_DELETE,
    PENDING_UPDATE,
    add_tags,
    begin_change,
    mark,
    set_tags,
)

MAX_POSITION = 2147483647
DEFAULT_REDIRECT_CODE = 302
TARGETS = ("redirect_pool_id", "redirect_url", "redirect_prefix")
# RFC 3986 characters; the renderer escapes the ones HAProxy would parse.
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")


def _args(message: str) -> InvalidSpec:
    return InvalidSpec(f"Invalid L7 Policy arguments: {message}")


def check_url(value: str) -> str:
    """Octavia's `validate.url`: an absolute http(s) URL."""
    bad = InvalidSpec(f"Not a valid URL: {value}")
    if not _URL_CHARS.fullmatch(value):
        raise bad
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise bad from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad
    return value


def listener_accepts_policies(listener: Listener, *, provider: str) -> None:
    protocol = listener.protocol
    if protocol == ListenerProtocol.PROMETHEUS:
        raise InvalidSpec(
            f"Validation failure: Listeners of type {protocol} cannot have child objects."
        )
    if protocol not in (ListenerProtocol.HTTP, ListenerProtocol.TERMINATED_HTTPS):
        raise ProviderUnsupported.of(
            provider, f"{protocol} protocol listeners do not support L7 policies"
        )


def sanitize(values: Mapping[str, Any]) -> dict[str, Any]:
    """The given attributes with the action made consistent with the targets given."""
    out = dict(values)
    action = out.get("action")
    if "action" in out:
        if action == L7PolicyAction.REJECT:
            out.update(redirect_url=None, redirect_pool_id=None)
        elif action == L7PolicyAction.REDIRECT_TO_URL:
            if not out.get("redirect_url"):
                raise _args("redirect_url must not be None")
            out["redirect_pool_id"] = None
        elif action == L7PolicyAction.REDIRECT_TO_POOL:
            if not out.get("redirect_pool_id") and not out.get("redirect_pool"):
                raise _args("redirect_pool_id or redirect_pool must not be None")
            out["redirect_url"] = None
        elif action == L7PolicyAction.REDIRECT_PREFIX:
            if not out.get("redirect_prefix"):
                raise _args("redirect_prefix must not be None")
        else:
            raise InvalidSpec(f"Invalid L7 Policy action specified: {action}")
    pool_given = out.get("redirect_pool_id") or out.get("redirect_pool")
    if pool_given and (out.get("redirect_url") or out.get("redirect_prefix")):
        raise _args(
            "Cannot specify redirect_pool_id and redirect_url or redirect_prefix at the same time"
        )
    if pool_given:
        out.update(action=L7PolicyAction.REDIRECT_TO_POOL.value, redirect_url=None)
        out.update(redirect_prefix=None, redirect_http_code=None)
    if out.get("redirect_url"):
        check_url(out["redirect_url"])
        out.update(action=L7PolicyAction.REDIRECT_TO_URL.value, redirect_pool_id=None)
        out["redirect_prefix"] = None
    if out.get("redirect_prefix"):
        check_url(out["redirect_prefix"])
        out.update(action=L7PolicyAction.REDIRECT_PREFIX.value, redirect_pool_id=None)
        out["redirect_url"] = None
    return out


def _settle(policy: L7Policy) -> None:
    """Null every target the action does not use; default the redirect code."""
    action = policy.action
    if action != L7PolicyAction.REDIRECT_TO_POOL:
        policy.redirect_pool_id = None
    if action != L7PolicyAction.REDIRECT_TO_URL:
        policy.redirect_url = None
    if action != L7PolicyAction.REDIRECT_PREFIX:
        policy.redirect_prefix = None
    if action in (L7PolicyAction.REDIRECT_TO_URL, L7PolicyAction.REDIRECT_PREFIX):
        policy.redirect_http_code = policy.redirect_http_code or DEFAULT_REDIRECT_CODE
    else:
        policy.redirect_http_code = None


def _redirect_pool(session: Session, *, lb: LoadBalancer, listener: Listener, pool_id: str) -> Pool:
    pool = lookup.pool_on(session, lb, pool_id)
    if pool.provisioning_status == PENDING_DELETE:
        raise InvalidSpec(f"Validation failure: Pool {pool_id} is being deleted.")
    rules.pool_for_listener(listener_protocol=listener.protocol, pool_protocol=pool.protocol)
    return pool


def siblings(session: Session, listener_id: str, *, without: str | None = None) -> list[L7Policy]:
    """The listener's live policies in position order (optionally without one)."""
    rows = session.scalars(
        select(L7Policy)
        .where(L7Policy.listener_id == listener_id)
        .where(L7Policy.provisioning_status != PENDING_DELETE)
        .order_by(L7Policy.position, L7Policy.created_at, L7Policy.id)
    ).all()
    return [row for row in rows if row.id != without]


def renumber(ordered: Sequence[L7Policy]) -> None:
    for index, policy in enumerate(ordered, start=1):
        if policy.position != index:
            policy.position = index


def place(others: list[L7Policy], policy: L7Policy, position: int | None) -> None:
    """Insert `policy` among `others` at 1-based `position` (past the end: append)."""
    wanted = MAX_POSITION if position is None else position
    index = min(max(wanted, 1) - 1, len(others))
    renumber([*others[:index], policy, *others[index:]])


def build(
    session: Session,
    *,
    lb: LoadBalancer,
    listener: Listener,
    values: Mapping[str, Any],
    redirect_pool: Pool | None = None,
    status: str = PENDING_CREATE,
) -> L7Policy:
    """Validate and add a policy (with its inline rules) at its position on `listener`.

    `redirect_pool` is the pool a single-call create resolved by name; otherwise
    `redirect_pool_id` is looked up on `lb`.
    """
    listener_accepts_policies(listener, provider=lb.provider)
    if values.get("action") is None:
        raise InvalidSpec("Invalid L7 Policy action specified: None")
    given = {k: v for k, v in values.items() if v is not None}
    if redirect_pool is not None:
        given["redirect_pool"] = redirect_pool.id
    clean = sanitize(given)
    pool_id = None
    if clean.get("action") == L7PolicyAction.REDIRECT_TO_POOL:
        if redirect_pool is not None:
            rules.pool_for_listener(
                listener_protocol=listener.protocol, pool_protocol=redirect_pool.protocol
            )
            pool_id = redirect_pool.id
        else:
            pool_id = _redirect_pool(
                session, lb=lb, listener=listener, pool_id=clean["redirect_pool_id"]
            ).id
    inline_rules = values.get("rules") or ()
    policy = L7Policy(
        id=new_id(),
        project_id=lb.project_id,
        listener_id=listener.id,
        name=values.get("name"),
        description=values.get("description"),
        action=clean["action"],
        redirect_pool_id=pool_id,
        redirect_url=clean.get("redirect_url"),
        redirect_prefix=clean.get("redirect_prefix"),
        redirect_http_code=clean.get("redirect_http_code"),
        position=MAX_POSITION,
        enabled=True if values.get("admin_state_up") is None else values["admin_state_up"],
        provisioning_status=status,
        operating_status=OperatingStatus.OFFLINE.value,
    )
    _settle(policy)
    if len(inline_rules) > l7rules.MAX_RULES_PER_POLICY:
        raise l7rules.too_many(policy.id)
    others = siblings(session, listener.id)
    session.add(policy)
    place(others, policy, values.get("position"))
    add_tags(session, policy.id, values.get("tags"))
    for rule_values in inline_rules:
        l7rules.build(session, policy=policy, values=rule_values, status=status)
    return policy


def create(session: Session, *, values: Mapping[str, Any]) -> L7Policy:
    listener, lb = lookup.listener(session, values["listener_id"])
    begin_change(lb)
    policy = build(session, lb=lb, listener=listener, values=values)
    mark([listener], PENDING_UPDATE)
    return policy


def update(session: Session, *, policy_id: str, values: Mapping[str, Any]) -> L7Policy:
    policy, listener, lb = lookup.l7policy(session, policy_id)
    begin_change(lb)
    if "action" in values and values["action"] is None:
        raise InvalidSpec("Invalid L7 Policy action specified: None")
    targets_given = {k: v for k, v in values.items() if k in TARGETS and v is not None}
    clean = sanitize(
        {
            **{k: v for k, v in values.items() if k not in TARGETS},
            **targets_given,
        }
    )
    if "action" in clean:
        policy.action = clean["action"]
    if clean.get("redirect_pool_id"):
        policy.redirect_pool_id = _redirect_pool(
            session, lb=lb, listener=listener, pool_id=clean["redirect_pool_id"]
        ).id
    for key in ("redirect_url", "redirect_prefix"):
        if clean.get(key):
            setattr(policy, key, clean[key])
    if "redirect_http_code" in values:
        policy.redirect_http_code = clean.get("redirect_http_code")
    _settle(policy)
    for key in ("name", "description"):
        if key in values:
            setattr(policy, key, values[key])
    if "admin_state_up" in values:
        policy.enabled = True if values["admin_state_up"] is None else values["admin_state_up"]
    if "position" in values:
        place(siblings(session, listener.id, without=policy.id), policy, values["position"])
    if "tags" in values:
        set_tags(session, policy.id, values["tags"])
    mark([policy], PENDING_UPDATE)
    mark([listener], PENDING_UPDATE)
    return policy


def delete(session: Session, *, policy_id: str) -> None:
    policy, listener, lb = lookup.l7policy(session, policy_id)
    begin_change(lb)
    mark([policy], PENDING_DELETE)
    mark(session.scalars(select(L7Rule).where(L7Rule.l7policy_id == policy.id)), PENDING_DELETE)
    renumber(siblings(session, listener.id, without=policy.id))
    mark([listener], PENDING_UPDATE)


def policies_redirecting_to(session: Session, pool_id: str) -> Sequence[L7Policy]:
    """Live policies whose REDIRECT_TO_POOL target is `pool_id` (the pool cannot go)."""
    return session.scalars(
        select(L7Policy)
        .where(L7Policy.redirect_pool_id == pool_id)
        .where(L7Policy.provisioning_status != PENDING_DELETE)
    ).all()


def mark_for_listeners(session: Session, listener_ids: Sequence[str], status: str) -> None:
    """Move the policies (and rules) of the given listeners to `status`."""
    if not listener_ids:
        return
    policies = session.scalars(select(L7Policy).where(L7Policy.listener_id.in_(listener_ids))).all()
    mark(policies, status)
    if policies:
        mark(
            session.scalars(select(L7Rule).where(L7Rule.l7policy_id.in_([p.id for p in policies]))),
            status,
        )


def build_inline(
    session: Session,
    *,
    lb: LoadBalancer,
    listener: Listener,
    policies: Sequence[Mapping[str, Any]],
    resolve_pool: Callable[[Mapping[str, Any]], Pool],
) -> None:
    """The `l7policies` embedded in a listener of a single-call create, in order."""
    for values in policies:
        embedded = values.get("redirect_pool")
        pool = resolve_pool(embedded) if embedded is not None else None
        build(session, lb=lb, listener=listener, values=values, redirect_pool=pool)
