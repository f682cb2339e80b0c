"""`/v2/lbaas/availabilityzoneprofiles` and `/v2/lbaas/availabilityzones` (keyed by name).

Operator objects (Octavia §1.15, served by `operator_objects.py`) like
flavors. Policy (Octavia's defaults): availability zones are readable by every
reader and written by admins only; their profiles are admin-only.
"""

from __future__ import annotations

from fastapi import APIRouter

from statera.api.routes.operator_objects import OperatorObject, add_routes
from statera.api.schemas.flavors import (
    AvailabilityZoneProfileRootPOST,
    AvailabilityZoneProfileRootPUT,
    AvailabilityZoneRootPOST,
    AvailabilityZoneRootPUT,
)
from statera.db.models import AvailabilityZone, AvailabilityZoneProfile
from statera.services import flavors as service

router = APIRouter()

AZ_PROFILES = OperatorObject(
    path="/lbaas/availabilityzoneprofiles",
    key="profile_id",
    route_name="az_profile",
    policy="availability-zone-profile",
    body_key="availability_zone_profile",
    links_key="availability_zone_profile_links",
    not_found=service.AZ_PROFILE,
    columns=(
        AvailabilityZoneProfile.id,
        AvailabilityZoneProfile.name,
        AvailabilityZoneProfile.provider_name,
        AvailabilityZoneProfile.availability_zone_data,
    ),
    post=AvailabilityZoneProfileRootPOST,
    put=AvailabilityZoneProfileRootPUT,
    create=lambda session, settings, values: (
        service.create_az_profile(session, settings=settings, values=values).id
    ),
    update=lambda session, settings, profile_id, values: service.update_az_profile(
        session, settings=settings, profile_id=profile_id, values=values
    ),
    delete=lambda session, profile_id: service.delete_az_profile(session, profile_id=profile_id),
)
ZONES = OperatorObject(
    path="/lbaas/availabilityzones",
    key="name",
    route_name="zone",
    policy="availability-zone",
    body_key="availability_zone",
    not_found=service.AZ,
    columns=(
        AvailabilityZone.name,  # the key
        AvailabilityZone.description,
        AvailabilityZone.enabled,
        AvailabilityZone.availability_zone_profile_id,
    ),
    post=AvailabilityZoneRootPOST,
    put=AvailabilityZoneRootPUT,
    create=lambda session, _settings, values: service.create_az(session, values=values).name,
    update=lambda session, _settings, name, values: service.update_az(
        session, name=name, values=values
    ),
    delete=lambda session, name: service.delete_az(session, name=name),
)

add_routes(router, AZ_PROFILES)
add_routes(router, ZONES)
