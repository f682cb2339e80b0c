"""What every route shares: the app's context, the body reader, JSON responses, lists.

Handlers are plain `def` functions, since the database calls block. Writers
run in FastAPI's thread pool; readers are wrapped in `@reads`, which runs them
on the event loop when the database is SQLite (a WAL read is a few page-cache
lookups and never waits for a writer, so the thread hop would cost more than
the query) and in the thread pool otherwise. Only reading the body is async,
done by the `read_body` dependency before the handler runs.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request, Response
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from statera.api.auth import request_context
from statera.api.middleware import MAX_BODY_BYTES
from statera.api.pagination import Collection, links, parse_fields, parse_list_query, select_fields
from statera.api.response_cache import ResponseCache
from statera.db.queries.listing import fetch_page
from statera.db.session import Database
from statera.domain.errors import InvalidSpec, NotFound
from statera.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiContext:
    settings: Settings
    database: Database
    on_change: Callable[[], None]
    responses: ResponseCache | None = None
    """Answers of `@reads` handlers while the database is unchanged (SQLite only)."""

    def changed(self) -> None:
        """Tell the in-process controller (if any) that a write was committed."""
        try:
            self.on_change()
        except Exception:  # the write is committed; a failing hook must not fail it
            log.exception("on_change hook failed")


def context(request: Request) -> ApiContext:
    ctx = request.app.state.statera
    assert isinstance(ctx, ApiContext)
    return ctx


def reads(handler: Callable[..., Response]) -> Callable[..., Awaitable[Response]]:
    """A read-only handler as an async endpoint: inline on SQLite, in the thread pool otherwise.

    The handler must only read the database (no network calls, no writes)
    and its answer must depend on nothing but the database, the URL and the
    caller's identity: on SQLite a 200 answer is kept in the app's
    `ResponseCache` and given again until anything commits.
    FastAPI passes the parameters by keyword and reads the signature through
    `functools.wraps`.
    """

    @functools.wraps(handler)
    async def endpoint(**kwargs: Any) -> Response:
        request: Request = kwargs["request"]
        ctx = context(request)
        if not ctx.database.is_sqlite:
            return await run_in_threadpool(handler, **kwargs)
        marker = ctx.database.change_marker() if ctx.responses is not None else None
        if ctx.responses is None or marker is None:
            return handler(**kwargs)
        key = (
            request.scope["path"],
            request.scope["query_string"],
            str(request.base_url),
            request_context(request),
        )
        body = ctx.responses.get(key, marker)
        if body is not None:
            return Response(body, media_type="application/json")
        response = handler(**kwargs)
        if response.status_code == 200:
            ctx.responses.put(key, marker, bytes(response.body))
        return response

    return endpoint


async def read_body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise InvalidSpec(f"Request body is larger than {MAX_BODY_BYTES} bytes.")
    return body


def json_response(doc: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(doc), status_code=status_code, media_type="application/json")


def empty_response(status_code: int) -> Response:
    return Response(status_code=status_code)


def project_from_headers(request: Request) -> str | None:
    return request.headers.get("x-project-id") or request.headers.get("x-tenant-id") or None


def require(row: Any, resource: str, object_id: str) -> Any:
    """`row` if it exists and is not DELETED, else NotFound."""
    if row is None or row.provisioning_status == "DELETED":
        raise NotFound.of(resource, object_id)
    return row


def one(request: Request, key: str, doc: dict[str, Any], status_code: int = 200) -> Response:
    return json_response({key: select_fields(doc, parse_fields(request.query_params))}, status_code)


def list_response(
    request: Request,
    session: Session,
    collection: Collection,
    *,
    view: Callable[[Session, Sequence[Any]], list[dict[str, Any]]],
    scope: Sequence[ColumnElement[bool]],
    links_key: str | None = None,
) -> Response:
    """One page of `collection`; `links_key` where Octavia does not spell it
    `<collection>_links` (`flavorprofile_links`, `availability_zone_profile_links`)."""
    ctx = context(request)
    query = parse_list_query(
        request.query_params, collection, settings=ctx.settings.api, scope=scope
    )
    rows = fetch_page(
        session, collection.columns, id_column=collection.id_column, request=query.page
    )
    if query.page_reverse:
        rows = list(reversed(rows))
    docs = view(session, rows)
    ids = [r[0] for r in rows]
    return json_response(
        {
            collection.name: [select_fields(d, query.fields) for d in docs],
            links_key or f"{collection.name}_links": links(
                request, query, ids, settings=ctx.settings.api
            ),
        }
    )
