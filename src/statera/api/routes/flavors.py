"""`/v2/lbaas/flavorprofiles` and `/v2/lbaas/flavors`: list, create, show, update, delete.

Operator objects (Octavia §1.15, served by `operator_objects.py`). Policy
(Octavia's defaults): flavors are readable by every reader and written by
admins only; flavor profiles are admin-only for reading and writing.
"""

from __future__ import annotations

from fastapi import APIRouter

from statera.api.routes.operator_objects import OperatorObject, add_routes
from statera.api.schemas.flavors import (
    FlavorProfileRootPOST,
    FlavorProfileRootPUT,
    FlavorRootPOST,
    FlavorRootPUT,
)
from statera.db.models import Flavor, FlavorProfile
from statera.services import flavors as service

router = APIRouter()

FLAVOR_PROFILES = OperatorObject(
    path="/lbaas/flavorprofiles",
    key="profile_id",
    route_name="flavor_profile",
    policy="flavor-profile",
    body_key="flavorprofile",
    links_key="flavorprofile_links",
    not_found=service.FLAVOR_PROFILE,
    columns=(
        FlavorProfile.id,
        FlavorProfile.name,
        FlavorProfile.provider_name,
        FlavorProfile.flavor_data,
    ),
    post=FlavorProfileRootPOST,
    put=FlavorProfileRootPUT,
    create=lambda session, settings, values: (
        service.create_flavor_profile(session, settings=settings, values=values).id
    ),
    update=lambda session, settings, profile_id, values: service.update_flavor_profile(
        session, settings=settings, profile_id=profile_id, values=values
    ),
    delete=lambda session, profile_id: service.delete_flavor_profile(
        session, profile_id=profile_id
    ),
)
FLAVORS = OperatorObject(
    path="/lbaas/flavors",
    key="flavor_id",
    route_name="flavor",
    policy="flavor",
    body_key="flavor",
    not_found=service.FLAVOR,
    columns=(Flavor.id, Flavor.name, Flavor.description, Flavor.enabled, Flavor.flavor_profile_id),
    post=FlavorRootPOST,
    put=FlavorRootPUT,
    create=lambda session, _settings, values: service.create_flavor(session, values=values).id,
    update=lambda session, _settings, flavor_id, values: service.update_flavor(
        session, flavor_id=flavor_id, values=values
    ),
    delete=lambda session, flavor_id: service.delete_flavor(session, flavor_id=flavor_id),
)

add_routes(router, FLAVOR_PROFILES)
add_routes(router, FLAVORS)
