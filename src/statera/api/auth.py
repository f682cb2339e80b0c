"""Who is calling, and may they do this: the request context, the auth strategies, policy checks.

`AuthMiddleware` builds one `RequestContext` per request with the strategy
that `[api_settings] auth_strategy` names (`noauth`, `testing`, `tokens`,
`keystone`) and keeps it in the request's state; handlers call `authorize`
(one object or a create) or `list_scope` (a collection) with Octavia's rule
for the action (`api/policy.py`). The invariant a reader could break: every
handler that reads or writes tenant data calls one of them first. Another
project's object is answered 404, as Octavia does, unless the caller may at
least read it (then 403): existence is never leaked across projects.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread
import yaml
from fastapi import Request
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from statera.api.errors import fault_body
from statera.api.policy import Policy, build_policy, rule_name
from statera.domain.errors import Forbidden, NotFound, Unauthenticated
from statera.settings import Settings, SettingsError

log = logging.getLogger(__name__)

STATE_KEY = "statera.context"
UNAUTHENTICATED_MESSAGE = "The request you have made requires authentication."
# Octavia lets these through without Keystone (version document and health check).
PUBLIC_PATHS = frozenset({"/", "/load-balancer", "/load-balancer/", "/healthcheck"})


class TokenRejected(Unauthenticated):
    """A 401 that may tell the client where to authenticate (`WWW-Authenticate`)."""

    def __init__(self, message: str, *, www_authenticate: str | None = None) -> None:
        super().__init__(message)
        self.www_authenticate = www_authenticate


class AuthUnavailable(Exception):
    """The identity service could not be asked (answered 503)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RequestContext:
    """The caller: whose project it acts in, who it is, its roles, and whether it is admin."""

    project_id: str | None
    user_id: str | None
    roles: frozenset[str]
    is_admin: bool


class Strategy(Protocol):
    """Turns request headers into a context; raises Unauthenticated for bad credentials."""

    blocking: bool
    """True if `authenticate` does network I/O (run it in a worker thread)."""

    def authenticate(self, headers: Mapping[str, str]) -> RequestContext: ...


def _roles(value: str | None) -> frozenset[str]:
    return frozenset(r.strip() for r in (value or "").split(",") if r.strip())


def _project(headers: Mapping[str, str]) -> str | None:
    return headers.get("x-project-id") or headers.get("x-tenant-id") or None


class NoAuth:
    """Octavia's noauth: every caller is admin; the project comes from X-Project-Id.

    Where the request names no project, `default_project_id` stands in
    (Octavia answers 400 there), so the plain CLI works without Keystone.
    """

    blocking = False

    def __init__(self, *, default_project_id: str) -> None:
        self.default_project_id = default_project_id

    def authenticate(self, headers: Mapping[str, str]) -> RequestContext:
        return RequestContext(
            project_id=_project(headers) or self.default_project_id or None,
            user_id=headers.get("x-user-id"),
            roles=_roles(headers.get("x-roles")),
            is_admin=True,
        )


class Testing:
    """Octavia's testing strategy: identity from X-Project-Id, X-User-Id and X-Roles; policy enforced."""

    blocking = False

    def __init__(self, *, policy: Policy) -> None:
        self.policy = policy

    def authenticate(self, headers: Mapping[str, str]) -> RequestContext:
        return with_admin_flag(
            self.policy,
            project_id=_project(headers),
            user_id=headers.get("x-user-id"),
            roles=_roles(headers.get("x-roles")),
        )


def with_admin_flag(
    policy: Policy, *, project_id: str | None, user_id: str | None, roles: frozenset[str]
) -> RequestContext:
    """A context whose `is_admin` is the policy's `context_is_admin` verdict (as in Octavia)."""
    ctx = RequestContext(project_id=project_id, user_id=user_id, roles=roles, is_admin=False)
    if policy.check("context_is_admin", ctx, {"project_id": project_id}):
        return RequestContext(project_id=project_id, user_id=user_id, roles=roles, is_admin=True)
    return ctx


# --- tokens: bearer tokens from a file the operator edits ----------------------------------------


@dataclass(frozen=True)
class TokenEntry:
    project_id: str
    user_id: str | None
    roles: frozenset[str]


def token_digest(token: str) -> str:
    """What the token file stores for a token: its sha256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def parse_token_file(path: Path) -> dict[str, TokenEntry]:
    """Read a token file: `tokens:` a list of {sha256, project_id, user_id?, roles}.

    YAML or JSON (by suffix `.json`). Raises SettingsError naming the entry at fault.
    """
    try:
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise SettingsError(f"token file {path}: {exc}") from None
    entries = (doc or {}).get("tokens") if isinstance(doc, dict | None) else None
    if not isinstance(entries, list):
        raise SettingsError(f"token file {path}: expected a mapping with a list `tokens`")
    table: dict[str, TokenEntry] = {}
    for i, item in enumerate(entries):
        where = f"token file {path}: tokens[{i}]"
        if not isinstance(item, dict):
            raise SettingsError(f"{where}: expected a mapping")
        digest = str(item.get("sha256") or "").lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise SettingsError(f"{where}: sha256 must be 64 hex digits (sha256 of the token)")
        project = item.get("project_id")
        if not isinstance(project, str) or not project:
            raise SettingsError(f"{where}: project_id is required")
        roles = item.get("roles", [])
        if isinstance(roles, str):
            roles = roles.split(",")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise SettingsError(f"{where}: roles must be a list of names")
        user = item.get("user_id")
        table[digest] = TokenEntry(
            project_id=project,
            user_id=str(user) if user is not None else None,
            roles=frozenset(r.strip() for r in roles if r.strip()),
        )
    return table


class Tokens:
    """Bearer tokens (`X-Auth-Token`) looked up, by sha256, in a file re-read when it changes.

    Each request compares the file's mtime and size with those last read, so
    an operator adds, rotates or revokes tokens by editing the file (write a
    new file and rename it over the old one), with no restart. A file that
    cannot be read or parsed keeps the last good table in force and is logged.
    """

    blocking = False

    def __init__(self, *, path: Path, policy: Policy) -> None:
        self.path = path
        self.policy = policy
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._table: dict[str, TokenEntry] = {}
        self._refresh()

    def _refresh(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            if self._stamp is None:
                raise SettingsError(f"token file {self.path}: {exc.strerror}") from None
            log.error("token file %s: %s; keeping the tokens last read", self.path, exc.strerror)
            return
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp == self._stamp:
            return
        with self._lock:
            if stamp == self._stamp:
                return
            try:
                table = parse_token_file(self.path)
            except SettingsError as exc:
                if self._stamp is None:
                    raise
                log.error("%s; keeping the tokens last read", exc)
                return
            self._table, self._stamp = table, stamp
            log.info("token file %s: %d tokens", self.path, len(table))

    def authenticate(self, headers: Mapping[str, str]) -> RequestContext:
        token = headers.get("x-auth-token") or _bearer(headers.get("authorization"))
        if not token:
            raise Unauthenticated(UNAUTHENTICATED_MESSAGE)
        self._refresh()
        # Looked up by digest: a timing difference can tell nothing about the token itself.
        entry = self._table.get(token_digest(token))
        if entry is None:
            raise Unauthenticated(UNAUTHENTICATED_MESSAGE)
        return with_admin_flag(
            self.policy, project_id=entry.project_id, user_id=entry.user_id, roles=entry.roles
        )


def _bearer(value: str | None) -> str | None:
    if value and value[:7].lower() == "bearer ":
        return value[7:].strip() or None
    return None


# --- assembly -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Auth:
    """What the app knows about authorization: the strategy and the policy."""

    strategy: Strategy
    policy: Policy


def build_auth(settings: Settings) -> Auth:
    """The strategy and policy `settings` ask for; SettingsError if they cannot be used."""
    try:
        policy = build_policy(policy_file=settings.oslo_policy.policy_file)
    except ValueError as exc:
        raise SettingsError(f"[oslo_policy] policy_file: {exc}") from None
    name = settings.api.auth_strategy
    strategy: Strategy
    if name == "noauth":
        strategy = NoAuth(default_project_id=settings.api.default_project_id)
    elif name == "testing":
        strategy = Testing(policy=policy)
    elif name == "tokens":
        if not settings.api.token_file:
            raise SettingsError("[api_settings] token_file: required with auth_strategy = tokens")
        strategy = Tokens(path=Path(settings.api.token_file), policy=policy)
    else:
        from statera.api.keystone import Keystone

        strategy = Keystone(options=dict(settings.keystone_authtoken), policy=policy)
    return Auth(strategy=strategy, policy=policy)


class AuthMiddleware:
    """Authenticates every request but the public paths and keeps its context in its state.

    A strategy may answer itself (keystonemiddleware's 401): it raises
    `Unauthenticated` or returns an `Answer`, which is sent as is.
    """

    def __init__(self, app: ASGIApp, *, auth: Auth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        strategy = self.auth.strategy
        try:
            if strategy.blocking:
                ctx = await anyio.to_thread.run_sync(strategy.authenticate, headers)
            else:
                ctx = strategy.authenticate(headers)
        except Unauthenticated as exc:
            www = exc.www_authenticate if isinstance(exc, TokenRejected) else None
            await _send_fault(send, 401, exc.message, www_authenticate=www)
            return
        except AuthUnavailable as exc:
            await _send_fault(send, 503, exc.message)
            return
        scope.setdefault("state", {})[STATE_KEY] = ctx
        await self.app(scope, receive, send)


async def _send_fault(
    send: Send, status: int, message: str, *, www_authenticate: str | None = None
) -> None:
    body = fault_body(status, message)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if www_authenticate:
        headers.append((b"www-authenticate", www_authenticate.encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# --- checks for handlers ------------------------------------------------------------------------


def auth_of(request: Request) -> Auth:
    auth = request.app.state.auth
    assert isinstance(auth, Auth)
    return auth


def request_context(request: Request) -> RequestContext:
    ctx = request.scope.get("state", {}).get(STATE_KEY)
    if not isinstance(ctx, RequestContext):
        # AuthMiddleware sets it for every non-public path; reaching here is a wiring bug.
        raise Unauthenticated(UNAUTHENTICATED_MESSAGE)
    return ctx


def allowed(request: Request, resource: str, action: str, *, project_id: str | None) -> bool:
    """Whether the caller passes `<resource>:<action>` for an object of `project_id`."""
    ctx = request_context(request)
    target = {"project_id": project_id if project_id is not None else ctx.project_id}
    return auth_of(request).policy.check(rule_name(resource, action), ctx, target)


def authorize(
    request: Request,
    resource: str,
    action: str,
    *,
    project_id: str | None,
    hide_as: tuple[str, str] | None = None,
) -> RequestContext:
    """Enforce `os_load-balancer_api:<resource>:<action>` for an object of `project_id`.

    `project_id` None means the caller's own project (collections, creates
    without an owner yet). With `hide_as=(resource name, id)` a denial on
    another project's object the caller may not even read is answered as
    NotFound of that object; other denials are Forbidden.
    """
    ctx = request_context(request)
    if allowed(request, resource, action, project_id=project_id):
        return ctx
    if (
        hide_as is not None
        and project_id != ctx.project_id
        and not allowed(request, resource, "get_one", project_id=project_id)
    ):
        raise NotFound.of(*hide_as)
    raise Forbidden.by_policy()


def list_scope(
    request: Request, resource: str, project_column: ColumnElement[Any] | Any
) -> list[ColumnElement[bool]]:
    """The extra WHERE clauses of a list: none for global readers, else the caller's project.

    A global reader's `?project_id=` is an ordinary filter; anyone else sees
    only their own project (an explicit other `project_id` then matches nothing).
    """
    ctx = request_context(request)
    if allowed(request, resource, "get_all-global", project_id=None):
        return []
    if ctx.project_id is None:
        raise Forbidden.by_policy()
    authorize(request, resource, "get_all", project_id=ctx.project_id)
    return [project_column == ctx.project_id]


# --- owners of objects --------------------------------------------------------------------------


def owner(session: Session, model: Any, object_id: str, resource: str) -> str:
    """The project of an existing, not DELETED object (`""` if it has none); NotFound otherwise."""
    row = session.execute(
        select(model.project_id, model.provisioning_status).where(model.id == object_id)
    ).first()
    if row is None or row.provisioning_status == "DELETED":
        raise NotFound.of(resource, object_id)
    return str(row.project_id or "")


def parent_owner(session: Session, model: Any, object_id: str | None) -> str | None:
    """The project of an object named in a request body; None if there is no such object.

    With None, `authorize` checks the caller's own project, and the service
    then answers the missing reference with its own error.
    """
    if not object_id:
        return None
    row = session.execute(
        select(model.project_id, model.provisioning_status).where(model.id == object_id)
    ).first()
    if row is None or row.provisioning_status == "DELETED":
        return None
    return str(row.project_id or "")
