"""Transport-level behaviour every response shares (Octavia §1.1), as one ASGI middleware.

- every response carries `X-OpenStack-Request-ID: req-<uuid4>`;
- an `Accept` header that excludes JSON is answered 406 (API-WG body), except on the
  key manager's secrets (`/v1/secrets/...`, `/secrets/...`), whose payloads are read
  with their own media type (`api/routes/key_manager.py` negotiates);
- a `.json` suffix on the path is accepted and ignored;
- a request body larger than `MAX_BODY_BYTES` is answered 413;
- a NUL character in the path or query is answered 400 (PostgreSQL cannot store it);
- an exception nothing else handled is logged with its traceback and answered
  500 in the fault shape.

It is a plain ASGI callable, not a `BaseHTTPMiddleware`, to keep the cost per
request small.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from statera.api.errors import INTERNAL_ERROR_MESSAGE, api_wg_body, fault_body

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = b"x-openstack-request-id"
MAX_BODY_BYTES = 1024 * 1024
_JSON_RANGES = frozenset({"*/*", "*", "application/*", "application/json"})
OWN_NEGOTIATION = ("/v1/secrets/", "/secrets/")
"""Paths whose handlers answer other media types than JSON and check Accept themselves."""


def accepts_json(accept: str) -> bool:
    """Whether an Accept header admits application/json (with a q above zero)."""
    if not accept.strip():
        return True
    for item in accept.split(","):
        media, *params = (p.strip() for p in item.split(";"))
        if media.lower() not in _JSON_RANGES:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            return True
    return False


class RequestMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"req-{uuid.uuid4()}"
        id_header = (REQUEST_ID_HEADER, request_id.encode())
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", ()), id_header]}
            await send(message)

        async def answer(status: int, body: bytes) -> None:
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send_with_id({"type": "http.response.body", "body": body})

        headers = _headers(scope)
        path: str = scope["path"]
        if not path.startswith(OWN_NEGOTIATION) and not accepts_json(
            headers.get(b"accept", b"").decode("latin-1")
        ):
            detail = "Only application/json is available; the Accept header excludes it."
            await answer(406, api_wg_body(406, detail, request_id))
            return
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            await answer(
                413, fault_body(413, f"Request body is larger than {MAX_BODY_BYTES} bytes.")
            )
            return
        if "\x00" in path or b"%00" in scope.get("query_string", b""):
            await answer(400, fault_body(400, "Invalid characters in the request URL."))
            return
        if path.endswith(".json"):
            scope = {**scope, "path": path[: -len(".json")]}
        scope.setdefault("state", {})["request_id"] = request_id
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("%s %s failed (%s)", scope["method"], scope["path"], request_id)
            if not started:
                await answer(500, fault_body(500, INTERNAL_ERROR_MESSAGE))


def _headers(scope: Scope) -> dict[bytes, bytes]:
    raw: Any = scope.get("headers") or ()
    return {k.lower(): v for k, v in raw}
