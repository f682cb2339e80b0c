"""The `keystone` auth strategy: keystonemiddleware's auth_token validates X-Auth-Token.

keystonemiddleware is WSGI middleware; here it wraps a tiny WSGI app that
only records the identity headers auth_token sets (`X-Project-Id`,
`X-User-Id`, `X-Roles`, `X-Identity-Status`). Each request's headers are
replayed through it in a worker thread (it may call Keystone). Options come
from the `[keystone_authtoken]` section unchanged; `delay_auth_decision` is
forced off, so a missing or bad token is refused by auth_token itself and
answered 401 here. Identity headers sent by the client are stripped by
auth_token before it validates, so they cannot be forged.

Imported only when `auth_strategy = keystone`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from keystonemiddleware import auth_token  # type: ignore[import-untyped]

from statera.api.auth import (
    UNAUTHENTICATED_MESSAGE,
    AuthUnavailable,
    RequestContext,
    TokenRejected,
    with_admin_flag,
)
from statera.api.policy import Policy

_IDENTITY = "statera.identity"
StartResponse = Callable[..., Any]


def _record_identity(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    environ[_IDENTITY] = {
        "status": environ.get("HTTP_X_IDENTITY_STATUS"),
        "project_id": environ.get("HTTP_X_PROJECT_ID") or None,
        "user_id": environ.get("HTTP_X_USER_ID") or None,
        "roles": environ.get("HTTP_X_ROLES") or "",
    }
    start_response("204 No Content", [])
    return [b""]


class Keystone:
    blocking = True

    def __init__(self, *, options: Mapping[str, str], policy: Policy) -> None:
        conf = {**options, "delay_auth_decision": "false"}
        self.policy = policy
        self._middleware = auth_token.AuthProtocol(_record_identity, conf)

    def authenticate(self, headers: Mapping[str, str]) -> RequestContext:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": "",
            "PATH_INFO": "/",
            "QUERY_STRING": "",
            "SERVER_NAME": "statera",
            "SERVER_PORT": "9876",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": io.StringIO(),
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for key, value in headers.items():
            name = key.upper().replace("-", "_")
            if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                continue
            environ[f"HTTP_{name}"] = value
        answer: dict[str, Any] = {}

        def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> None:
            answer["status"] = int(status.split()[0])
            answer["headers"] = dict(response_headers)

        b"".join(self._middleware(environ, start_response))
        identity = environ.get(_IDENTITY)
        if identity is None or identity["status"] != "Confirmed":
            status = answer.get("status", 401)
            if status == 401 or identity is not None:
                www = answer.get("headers", {}).get("WWW-Authenticate")
                raise TokenRejected(UNAUTHENTICATED_MESSAGE, www_authenticate=www)
            raise AuthUnavailable("The Keystone service is temporarily unavailable.")
        roles = frozenset(r.strip() for r in identity["roles"].split(",") if r.strip())
        return with_admin_flag(
            self.policy, project_id=identity["project_id"], user_id=identity["user_id"], roles=roles
        )
