"""The one place that knows HTTP status codes: domain errors in, Octavia's fault bodies out.

Controller errors are answered in WSME's shape,
`{"faultcode": "Client", "faultstring": "<message>", "debuginfo": null}`
(`"Server"` for 5xx), as Octavia does; errors raised before routing (the 406
of content negotiation) use the API-WG shape. An unexpected exception is
logged with its traceback by `api/middleware.py` and answered 500 in the
fault shape, never with a stack trace.
"""

from __future__ import annotations

from http import HTTPStatus

import orjson
from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from statera.domain.errors import (
    Conflict,
    Forbidden,
    ImmutableResource,
    InvalidSpec,
    NotFound,
    NotSupported,
    ProviderUnsupported,
    QuotaExceeded,
    StateraError,
    Unauthenticated,
)

STATUS_FOR: dict[type[StateraError], int] = {
    NotFound: 404,
    Conflict: 409,
    ImmutableResource: 409,
    InvalidSpec: 400,
    NotSupported: 400,
    QuotaExceeded: 403,
    ProviderUnsupported: 501,
    Forbidden: 403,
    Unauthenticated: 401,
}
"""Domain error → HTTP status; a subclass not listed takes its nearest listed base."""

INTERNAL_ERROR_MESSAGE = "An unexpected error occurred; see the server log for details."


def status_for(exc: StateraError) -> int:
    for cls in type(exc).__mro__:
        status = STATUS_FOR.get(cls)
        if status is not None:
            return status
    return 500


def fault_body(status: int, message: str) -> bytes:
    return orjson.dumps(
        {
            "faultcode": "Server" if status >= 500 else "Client",
            "faultstring": message,
            "debuginfo": None,
        }
    )


def fault(status: int, message: str) -> Response:
    return Response(fault_body(status, message), status_code=status, media_type="application/json")


def api_wg_body(status: int, detail: str, request_id: str) -> bytes:
    return orjson.dumps(
        {
            "errors": [
                {
                    "status": status,
                    "title": HTTPStatus(status).phrase,
                    "detail": detail,
                    "request_id": request_id,
                }
            ]
        }
    )


async def _domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StateraError)
    return fault(status_for(exc), exc.message)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    response = fault(exc.status_code, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def install(app: FastAPI) -> None:
    """Register the handlers that turn errors into Octavia's fault bodies."""
    app.add_exception_handler(StateraError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
