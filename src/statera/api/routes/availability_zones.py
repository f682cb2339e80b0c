"""`/v2/lbaas/availabilityzoneprofiles` and `/v2/lbaas/availabilityzones` (keyed by name).

Operator objects (Octavia §1.15) like flavors: plain rows, one transaction per
write. Policy (Octavia's defaults): availability zones are readable by every
reader and written by admins only; their profiles are admin-only.
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
    AvailabilityZoneProfileRootPOST,
    AvailabilityZoneProfileRootPUT,
    AvailabilityZoneRootPOST,
    AvailabilityZoneRootPUT,
)
from statera.api.validation import parse_body
from statera.db.models import AvailabilityZone, AvailabilityZoneProfile
from statera.domain.errors import NotFound
from statera.services import flavors as service

router = APIRouter()
Body = Annotated[bytes, Depends(read_body)]

PROFILE_COLUMNS: views.Columns = (
    AvailabilityZoneProfile.id,
    AvailabilityZoneProfile.name,
    AvailabilityZoneProfile.provider_name,
    AvailabilityZoneProfile.availability_zone_data,
)
ZONE_COLUMNS: views.Columns = (
    AvailabilityZone.name,
    AvailabilityZone.description,
    AvailabilityZone.enabled,
    AvailabilityZone.availability_zone_profile_id,
)

PROFILES = p.Collection(
    name="availability_zone_profiles",
    columns=PROFILE_COLUMNS,
    id_column=AvailabilityZoneProfile.id,
    created_column=AvailabilityZoneProfile.id,  # no timestamps on this Octavia object
    attributes={
        "id": p.text(AvailabilityZoneProfile.id),
        "name": p.text(AvailabilityZoneProfile.name),
        "provider_name": p.text(AvailabilityZoneProfile.provider_name),
        "availability_zone_data": p.text(AvailabilityZoneProfile.availability_zone_data),
    },
)
ZONES = p.Collection(
    name="availability_zones",
    columns=ZONE_COLUMNS,
    id_column=AvailabilityZone.name,  # the key, also the pagination marker
    created_column=AvailabilityZone.name,
    attributes={
        "name": p.text(AvailabilityZone.name),
        "description": p.text(AvailabilityZone.description),
        "enabled": p.boolean(AvailabilityZone.enabled),
        "availability_zone_profile_id": p.text(AvailabilityZone.availability_zone_profile_id),
    },
)


def profile_views(_session: Session, rows: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {"id": id_, "name": name, "provider_name": provider, "availability_zone_data": data}
        for id_, name, provider, data in rows
    ]


def zone_views(_session: Session, rows: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "description": description or "",
            "enabled": enabled,
            "availability_zone_profile_id": profile_id,
        }
        for name, description, enabled, profile_id in rows
    ]


def _row(session: Session, columns: views.Columns, resource: str, key: str) -> Any:
    row = views.fetch(session, columns, key)
    if row is None:
        raise NotFound.of(resource, key)
    return row


# -- availability zone profiles -----------------------------------------------------------


@router.get("/lbaas/availabilityzoneprofiles")
@reads
def list_az_profiles(request: Request) -> Response:
    authorize(request, "availability-zone-profile", "get_all", project_id=None)
    with context(request).database.read() as session:
        return list_response(
            request,
            session,
            PROFILES,
            view=profile_views,
            scope=[],
            links_key="availability_zone_profile_links",
        )


@router.post("/lbaas/availabilityzoneprofiles")
def create_az_profile(request: Request, raw: Body) -> Response:
    authorize(request, "availability-zone-profile", "post", project_id=None)
    ctx = context(request)
    body = parse_body(AvailabilityZoneProfileRootPOST, raw).availability_zone_profile
    with ctx.database.write() as session:
        row = service.create_az_profile(session, settings=ctx.settings, values=body.model_dump())
        session.flush()
        doc = profile_views(session, [views.fetch_written(session, PROFILE_COLUMNS, row.id)])[0]
    return json_response({"availability_zone_profile": doc}, 201)


@router.get("/lbaas/availabilityzoneprofiles/{profile_id}")
@reads
def show_az_profile(request: Request, profile_id: str) -> Response:
    authorize(request, "availability-zone-profile", "get_one", project_id=None)
    with context(request).database.read() as session:
        row = _row(session, PROFILE_COLUMNS, service.AZ_PROFILE, profile_id)
        return one(request, "availability_zone_profile", profile_views(session, [row])[0])


@router.put("/lbaas/availabilityzoneprofiles/{profile_id}")
def update_az_profile(request: Request, profile_id: str, raw: Body) -> Response:
    authorize(request, "availability-zone-profile", "put", project_id=None)
    ctx = context(request)
    body = parse_body(AvailabilityZoneProfileRootPUT, raw).availability_zone_profile
    with ctx.database.write() as session:
        service.update_az_profile(
            session,
            settings=ctx.settings,
            profile_id=profile_id,
            values=body.model_dump(exclude_unset=True),
        )
        session.flush()
        row = views.fetch_written(session, PROFILE_COLUMNS, profile_id)
        doc = profile_views(session, [row])[0]
    return json_response({"availability_zone_profile": doc})


@router.delete("/lbaas/availabilityzoneprofiles/{profile_id}")
def delete_az_profile(request: Request, profile_id: str) -> Response:
    authorize(request, "availability-zone-profile", "delete", project_id=None)
    with context(request).database.write() as session:
        service.delete_az_profile(session, profile_id=profile_id)
    return empty_response(204)


# -- availability zones -------------------------------------------------------------------


@router.get("/lbaas/availabilityzones")
@reads
def list_zones(request: Request) -> Response:
    authorize(request, "availability-zone", "get_all", project_id=None)
    with context(request).database.read() as session:
        return list_response(request, session, ZONES, view=zone_views, scope=[])


@router.post("/lbaas/availabilityzones")
def create_zone(request: Request, raw: Body) -> Response:
    authorize(request, "availability-zone", "post", project_id=None)
    ctx = context(request)
    body = parse_body(AvailabilityZoneRootPOST, raw).availability_zone
    with ctx.database.write() as session:
        row = service.create_az(session, values=body.model_dump())
        session.flush()
        doc = zone_views(session, [views.fetch_written(session, ZONE_COLUMNS, row.name)])[0]
    return json_response({"availability_zone": doc}, 201)


@router.get("/lbaas/availabilityzones/{name}")
@reads
def show_zone(request: Request, name: str) -> Response:
    authorize(request, "availability-zone", "get_one", project_id=None)
    with context(request).database.read() as session:
        row = _row(session, ZONE_COLUMNS, service.AZ, name)
        return one(request, "availability_zone", zone_views(session, [row])[0])


@router.put("/lbaas/availabilityzones/{name}")
def update_zone(request: Request, name: str, raw: Body) -> Response:
    authorize(request, "availability-zone", "put", project_id=None)
    ctx = context(request)
    body = parse_body(AvailabilityZoneRootPUT, raw).availability_zone
    with ctx.database.write() as session:
        service.update_az(session, name=name, values=body.model_dump(exclude_unset=True))
        session.flush()
        doc = zone_views(session, [views.fetch_written(session, ZONE_COLUMNS, name)])[0]
    return json_response({"availability_zone": doc})


@router.delete("/lbaas/availabilityzones/{name}")
def delete_zone(request: Request, name: str) -> Response:
    authorize(request, "availability-zone", "delete", project_id=None)
    with context(request).database.write() as session:
        service.delete_az(session, name=name)
    return empty_response(204)
