"""What the routes of Octavia's operator objects (§1.15) share: flavor profiles, flavors,
availability-zone profiles and availability zones.

They are plain rows without provisioning status, so a write is one
transaction and nothing waits for the controller. A route module
(`flavors.py`, `availability_zones.py`) declares each of its objects as an
`OperatorObject` (its URL, names, policy target, columns, request bodies and
service calls) and `add_routes` serves the object's list, create, show, update
and delete on the module's router, in that order. Every call is authorized as
one on a project-less object (`project_id=None`: checked against the caller's
own project; Octavia's defaults make flavors and zones readable by every
reader and the rest admin-only); an answer shows every column under its own
name, a list filters and sorts on every column, and the services give the
errors (the in-use 409s, the profile data checked against the provider's
schema).

No `from __future__ import annotations` here: the handlers' path parameter is
typed with the object's name for it (`Path(alias=...)`), which FastAPI must
find evaluated.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel
from sqlalchemy import Boolean
from sqlalchemy.orm import Session

from statera.api import pagination as p
from statera.api import views
from statera.api.auth import authorize
from statera.api.routes.common import (
    context,
    empty_response,
    json_response,
    list_response,
    one,
    read_body,
    reads,
)
from statera.api.validation import parse_body
from statera.domain.errors import NotFound
from statera.settings import Settings

Body = Annotated[bytes, Depends(read_body)]
Values = Mapping[str, Any]


@dataclass(frozen=True)
class OperatorObject:
    """One operator object as its route module declares it."""

    path: str
    """The collection's URL below the version prefix (`/lbaas/flavors`)."""
    key: str
    """The path parameter naming one object (`flavor_id`, an AZ's `name`)."""
    route_name: str
    """The routes' names, so OpenAPI's operation ids: `list_<route_name>s`, `create_<route_name>`,
    `show_<route_name>`, `update_<route_name>`, `delete_<route_name>`."""
    policy: str
    """The policy target (`flavor`): rules `os_load-balancer_api:<policy>:get_all`, `:post`, ..."""
    body_key: str
    """The key around one object in request and response bodies; `<body_key>s` around a list."""
    not_found: str
    """What a 404 calls it (`Flavor`)."""
    columns: views.Columns
    """What an answer shows, each under its own name; the first is the key lists page by."""
    post: type[BaseModel]
    """The create body (its one field is `body_key`)."""
    put: type[BaseModel]
    """The update body (its one field is `body_key`)."""
    create: Callable[[Session, Settings, Values], str]
    """Create one from the values of a create body; its key."""
    update: Callable[[Session, Settings, str, Values], object]
    """Change the one of this key by the values an update body sets."""
    delete: Callable[[Session, str], object]
    """Delete the one of this key."""
    links_key: str | None = None
    """Where Octavia does not spell a list's links `<body_key>s_links`."""

    def collection(self) -> p.Collection:
        """What a list selects, filters and sorts on (booleans parse as such, the rest as text)."""
        key = self.columns[0]
        return p.Collection(
            name=f"{self.body_key}s",
            columns=self.columns,
            id_column=key,  # also the pagination marker
            created_column=key,  # no timestamps on these Octavia objects
            attributes={
                column.key: (p.boolean if isinstance(column.type, Boolean) else p.text)(column)
                for column in self.columns
            },
        )

    def view(self, _session: Session, rows: Sequence[views.DbRow]) -> list[dict[str, Any]]:
        """Octavia's dicts of `rows`: each column under its own name, a null description as ""."""
        names = [column.key for column in self.columns]
        docs = [dict(zip(names, row, strict=True)) for row in rows]
        if "description" in names:
            for doc in docs:
                doc["description"] = doc["description"] or ""
        return docs

    def written(self, session: Session, key: str) -> dict[str, Any]:
        """The dict of the one this transaction has just written."""
        return self.view(session, [views.fetch_written(session, self.columns, key)])[0]


def add_routes(router: APIRouter, obj: OperatorObject) -> None:
    """`obj`'s list, create, show, update and delete on `router`, in that order."""
    collection = obj.collection()
    one_path = f"{obj.path}/{{{obj.key}}}"
    Key = Annotated[str, Path(alias=obj.key)]  # the URL's `{flavor_id}`, `{name}`, ...

    @router.get(obj.path, name=f"list_{obj.route_name}s")
    @reads
    def list_objects(request: Request) -> Response:
        authorize(request, obj.policy, "get_all", project_id=None)
        with context(request).database.read() as session:
            return list_response(
                request, session, collection, view=obj.view, scope=[], links_key=obj.links_key
            )

    @router.post(obj.path, name=f"create_{obj.route_name}")
    def create_object(request: Request, raw: Body) -> Response:
        authorize(request, obj.policy, "post", project_id=None)
        ctx = context(request)
        values = getattr(parse_body(obj.post, raw), obj.body_key).model_dump()
        with ctx.database.write() as session:
            key = obj.create(session, ctx.settings, values)
            session.flush()
            doc = obj.written(session, key)
        return json_response({obj.body_key: doc}, 201)

    @router.get(one_path, name=f"show_{obj.route_name}")
    @reads
    def show_object(request: Request, key: Key) -> Response:
        authorize(request, obj.policy, "get_one", project_id=None)
        with context(request).database.read() as session:
            row = views.fetch(session, obj.columns, key)
            if row is None:
                raise NotFound.of(obj.not_found, key)
            return one(request, obj.body_key, obj.view(session, [row])[0])

    @router.put(one_path, name=f"update_{obj.route_name}")
    def update_object(request: Request, key: Key, raw: Body) -> Response:
        authorize(request, obj.policy, "put", project_id=None)
        ctx = context(request)
        values = getattr(parse_body(obj.put, raw), obj.body_key).model_dump(exclude_unset=True)
        with ctx.database.write() as session:
            obj.update(session, ctx.settings, key, values)
            session.flush()
            doc = obj.written(session, key)
        return json_response({obj.body_key: doc})

    @router.delete(one_path, name=f"delete_{obj.route_name}")
    def delete_object(request: Request, key: Key) -> Response:
        authorize(request, obj.policy, "delete", project_id=None)
        with context(request).database.write() as session:
            obj.delete(session, key)
        return empty_response(204)
