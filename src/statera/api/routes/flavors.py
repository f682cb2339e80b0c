"""`/v2/lbaas/flavorprofiles` and `/v2/lbaas/flavors`: list, create, show, update, delete.

Operator objects (Octavia §1.15): plain rows without provisioning status, so
a write is one transaction and nothing waits for the controller. Policy
(Octavia's defaults): flavors are readable by every reader and written by
admins only; flavor profiles are admin-only for reading and writing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
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
from statera.api.schemas.flavors import (
    FlavorProfileRootPOST,
    FlavorProfileRootPUT,
    FlavorRootPOST,
    FlavorRootPUT,
)
from statera.api.validation import parse_body
from statera.db.models import Flavor, FlavorProfile
from statera.domain.errors import NotFound
from statera.services import flavors as service

router = APIRouter()
Body = Annotated[bytes, Depends(read_body)]

PROFILE_COLUMNS: views.Columns = (
    FlavorProfile.id,
    FlavorProfile.name,
    FlavorProfile.provider_name,
    FlavorProfile.flavor_data,
)
FLAVOR_COLUMNS: views.Columns = (
    Flavor.id,
    Flavor.name,
    Flavor.description,
    Flavor.enabled,
    Flavor.flavor_profile_id,
)

PROFILES = p.Collection(
    name="flavorprofiles",
    columns=PROFILE_COLUMNS,
    id_column=FlavorProfile.id,
    created_column=FlavorProfile.id,  # no timestamps on this Octavia object
    attributes={
        "id": p.text(FlavorProfile.id),
        "name": p.text(FlavorProfile.name),
        "provider_name": p.text(FlavorProfile.provider_name),
        "flavor_data": p.text(FlavorProfile.flavor_data),
    },
)
FLAVORS = p.Collection(
    name="flavors",
    columns=FLAVOR_COLUMNS,
    id_column=Flavor.id,
    created_column=Flavor.id,
    attributes={
        "id": p.text(Flavor.id),
        "name": p.text(Flavor.name),
        "description": p.text(Flavor.description),
        "enabled": p.boolean(Flavor.enabled),
        "flavor_profile_id": p.text(Flavor.flavor_profile_id),
    },
)


def profile_views(_session: Session, rows: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {"id": id_, "name": name, "provider_name": provider, "flavor_data": data}
        for id_, name, provider, data in rows
    ]


def flavor_views(_session: Session, rows: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": id_,
            "name": name,
            "description": description or "",
            "enabled": enabled,
            "flavor_profile_id": profile_id,
        }
        for id_, name, description, enabled, profile_id in rows
    ]


def _row(session: Session, columns: views.Columns, resource: str, object_id: str) -> Any:
    row = views.fetch(session, columns, object_id)
    if row is None:
        raise NotFound.of(resource, object_id)
    return row


# -- flavor profiles ----------------------------------------------------------------------


@router.get("/lbaas/flavorprofiles")
@reads
def list_flavor_profiles(request: Request) -> Response:
    authorize(request, "flavor-profile", "get_all", project_id=None)
    with context(request).database.read() as session:
        return list_response(
            request,
            session,
            PROFILES,
            view=profile_views,
            scope=[],
            links_key="flavorprofile_links",
        )


@router.post("/lbaas/flavorprofiles")
def create_flavor_profile(request: Request, raw: Body) -> Response:
    authorize(request, "flavor-profile", "post", project_id=None)
    ctx = context(request)
    body = parse_body(FlavorProfileRootPOST, raw).flavorprofile
    with ctx.database.write() as session:
        row = service.create_flavor_profile(
            session, settings=ctx.settings, values=body.model_dump()
        )
        session.flush()
        doc = profile_views(session, [views.fetch_written(session, PROFILE_COLUMNS, row.id)])[0]
    return json_response({"flavorprofile": doc}, 201)


@router.get("/lbaas/flavorprofiles/{profile_id}")
@reads
def show_flavor_profile(request: Request, profile_id: str) -> Response:
    authorize(request, "flavor-profile", "get_one", project_id=None)
    with context(request).database.read() as session:
        row = _row(session, PROFILE_COLUMNS, service.FLAVOR_PROFILE, profile_id)
        return one(request, "flavorprofile", profile_views(session, [row])[0])


@router.put("/lbaas/flavorprofiles/{profile_id}")
def update_flavor_profile(request: Request, profile_id: str, raw: Body) -> Response:
    authorize(request, "flavor-profile", "put", project_id=None)
    ctx = context(request)
    body = parse_body(FlavorProfileRootPUT, raw).flavorprofile
    with ctx.database.write() as session:
        service.update_flavor_profile(
            session,
            settings=ctx.settings,
            profile_id=profile_id,
            values=body.model_dump(exclude_unset=True),
        )
        session.flush()
        doc = profile_views(session, [views.fetch_written(session, PROFILE_COLUMNS, profile_id)])[0]
    return json_response({"flavorprofile": doc})


@router.delete("/lbaas/flavorprofiles/{profile_id}")
def delete_flavor_profile(request: Request, profile_id: str) -> Response:
    authorize(request, "flavor-profile", "delete", project_id=None)
    with context(request).database.write() as session:
        service.delete_flavor_profile(session, profile_id=profile_id)
    return empty_response(204)


# -- flavors ------------------------------------------------------------------------------


@router.get("/lbaas/flavors")
@reads
def list_flavors(request: Request) -> Response:
    authorize(request, "flavor", "get_all", project_id=None)
    with context(request).database.read() as session:
        return list_response(request, session, FLAVORS, view=flavor_views, scope=[])


@router.post("/lbaas/flavors")
def create_flavor(request: Request, raw: Body) -> Response:
    authorize(request, "flavor", "post", project_id=None)
    ctx = context(request)
    body = parse_body(FlavorRootPOST, raw).flavor
    with ctx.database.write() as session:
        row = service.create_flavor(session, values=body.model_dump())
        session.flush()
        doc = flavor_views(session, [views.fetch_written(session, FLAVOR_COLUMNS, row.id)])[0]
    return json_response({"flavor": doc}, 201)


@router.get("/lbaas/flavors/{flavor_id}")
@reads
def show_flavor(request: Request, flavor_id: str) -> Response:
    authorize(request, "flavor", "get_one", project_id=None)
    with context(request).database.read() as session:
        row = _row(session, FLAVOR_COLUMNS, service.FLAVOR, flavor_id)
        return one(request, "flavor", flavor_views(session, [row])[0])


@router.put("/lbaas/flavors/{flavor_id}")
def update_flavor(request: Request, flavor_id: str, raw: Body) -> Response:
    authorize(request, "flavor", "put", project_id=None)
    ctx = context(request)
    body = parse_body(FlavorRootPUT, raw).flavor
    with ctx.database.write() as session:
        service.update_flavor(
            session, flavor_id=flavor_id, values=body.model_dump(exclude_unset=True)
        )
        session.flush()
        doc = flavor_views(session, [views.fetch_written(session, FLAVOR_COLUMNS, flavor_id)])[0]
    return json_response({"flavor": doc})


@router.delete("/lbaas/flavors/{flavor_id}")
def delete_flavor(request: Request, flavor_id: str) -> Response:
    authorize(request, "flavor", "delete", project_id=None)
    with context(request).database.write() as session:
        service.delete_flavor(session, flavor_id=flavor_id)
    return empty_response(204)
