"""What every route shares: the app's context, the body reader, JSON responses, lists.

Handlers are plain `def` functions (FastAPI runs them in its thread pool,
since the database calls block); only reading the body is async, done by the
`read_body` dependency before the handler runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request, Response
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from statera.api.middleware import MAX_BODY_BYTES
from statera.api.pagination import Collection, links, parse_fields, parse_list_query, select_fields
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
