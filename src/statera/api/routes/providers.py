"""`/v2/lbaas/providers` and each provider's flavor and availability-zone capabilities.

The enabled providers come from `[api_settings] enabled_provider_drivers`
(`amphora` and Octavia's deprecated alias `octavia` by default); both are the
amphora driver, whose capabilities are the keys it accepts in profile data
(`domain/providers.py`). A provider that is not enabled is Octavia's 400.
Capabilities may be filtered by `name` and `description`; `fields` selects
attributes. Policy (Octavia's defaults): the provider list is readable by every
reader, the capabilities by admins only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from statera.api.auth import authorize
from statera.api.pagination import parse_fields, select_fields
from statera.api.routes.common import context, json_response, reads
from statera.domain.providers import (
    AVAILABILITY_ZONE_CAPABILITIES,
    FLAVOR_CAPABILITIES,
    Capability,
)
from statera.services.flavors import check_provider

router = APIRouter()


@router.get("/lbaas/providers")
@reads
def list_providers(request: Request) -> Response:
    authorize(request, "provider", "get_all", project_id=None)
    fields = parse_fields(request.query_params)
    items = [
        select_fields({"name": name, "description": description}, fields)
        for name, description in context(request).settings.api.providers.items()
    ]
    return json_response({"providers": items})


def _capabilities(
    request: Request, provider: str, key: str, capabilities: tuple[Capability, ...]
) -> Response:
    check_provider(context(request).settings, provider)
    params = request.query_params
    fields = parse_fields(params)
    items: list[dict[str, Any]] = []
    for cap in capabilities:
        if params.get("name") and cap.name != params["name"]:
            continue
        if params.get("description") and cap.description != params["description"]:
            continue
        items.append(select_fields({"name": cap.name, "description": cap.description}, fields))
    return json_response({key: items})


@router.get("/lbaas/providers/{provider}/flavor_capabilities")
@reads
def flavor_capabilities(request: Request, provider: str) -> Response:
    authorize(request, "provider-flavor", "get_all", project_id=None)
    return _capabilities(request, provider, "flavor_capabilities", FLAVOR_CAPABILITIES)


@router.get("/lbaas/providers/{provider}/availability_zone_capabilities")
@reads
def availability_zone_capabilities(request: Request, provider: str) -> Response:
    authorize(request, "provider-availability-zone", "get_all", project_id=None)
    return _capabilities(
        request, provider, "availability_zone_capabilities", AVAILABILITY_ZONE_CAPABILITIES
    )
