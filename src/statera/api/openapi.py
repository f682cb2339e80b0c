"""The OpenAPI document of the v2 API, served at `/v2/openapi.json` (the root is the version document).

Handlers read their bodies as bytes (`api/validation.py` gives WSME's error
messages), so FastAPI cannot see what they accept; this module adds it: each
write's request body is the JSON schema of its pydantic model (`api/schemas`),
and each response is described by its wrapper key (`{"loadbalancer": {...}}`,
`{"loadbalancers": [...], "loadbalancers_links": [...]}`), Octavia's fault body
for errors, and the fields every object shares. `/v2.0/...` (an alias) and
the Neutron view are left out. The schemathesis run in the tests fuzzes the
API against this document: a route added without an entry here is still
described (path and parameters), only less precisely.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from statera import __version__
from statera.api.routes.common import json_response
from statera.api.schemas import (
    flavors,
    health_monitors,
    l7policies,
    listeners,
    load_balancers,
    members,
    pools,
    quotas,
)

PATH = "/v2/openapi.json"
_PARAM = re.compile(r"\{[^}]+\}")

REQUEST_BODIES: dict[tuple[str, str], type[BaseModel]] = {
    ("post", "/v2/lbaas/loadbalancers"): load_balancers.LoadBalancerRootPOST,
    ("put", "/v2/lbaas/loadbalancers/{}"): load_balancers.LoadBalancerRootPUT,
    ("post", "/v2/lbaas/listeners"): listeners.ListenerRootPOST,
    ("put", "/v2/lbaas/listeners/{}"): listeners.ListenerRootPUT,
    ("post", "/v2/lbaas/pools"): pools.PoolRootPOST,
    ("put", "/v2/lbaas/pools/{}"): pools.PoolRootPUT,
    ("post", "/v2/lbaas/pools/{}/members"): members.MemberRootPOST,
    ("put", "/v2/lbaas/pools/{}/members"): members.MembersRootPUT,
    ("put", "/v2/lbaas/pools/{}/members/{}"): members.MemberRootPUT,
    ("post", "/v2/lbaas/healthmonitors"): health_monitors.HealthMonitorRootPOST,
    ("put", "/v2/lbaas/healthmonitors/{}"): health_monitors.HealthMonitorRootPUT,
    ("post", "/v2/lbaas/l7policies"): l7policies.L7PolicyRootPOST,
    ("put", "/v2/lbaas/l7policies/{}"): l7policies.L7PolicyRootPUT,
    ("post", "/v2/lbaas/l7policies/{}/rules"): l7policies.L7RuleRootPOST,
    ("put", "/v2/lbaas/l7policies/{}/rules/{}"): l7policies.L7RuleRootPUT,
    ("post", "/v2/lbaas/flavorprofiles"): flavors.FlavorProfileRootPOST,
    ("put", "/v2/lbaas/flavorprofiles/{}"): flavors.FlavorProfileRootPUT,
    ("post", "/v2/lbaas/flavors"): flavors.FlavorRootPOST,
    ("put", "/v2/lbaas/flavors/{}"): flavors.FlavorRootPUT,
    ("post", "/v2/lbaas/availabilityzoneprofiles"): flavors.AvailabilityZoneProfileRootPOST,
    ("put", "/v2/lbaas/availabilityzoneprofiles/{}"): flavors.AvailabilityZoneProfileRootPUT,
    ("post", "/v2/lbaas/availabilityzones"): flavors.AvailabilityZoneRootPOST,
    ("put", "/v2/lbaas/availabilityzones/{}"): flavors.AvailabilityZoneRootPUT,
    ("put", "/v2/lbaas/quotas/{}"): quotas.QuotaRootPUT,
}

# collection segment → (one object's key, the list's key)
WRAPPERS: dict[str, tuple[str, str]] = {
    "loadbalancers": ("loadbalancer", "loadbalancers"),
    "listeners": ("listener", "listeners"),
    "pools": ("pool", "pools"),
    "members": ("member", "members"),
    "healthmonitors": ("healthmonitor", "healthmonitors"),
    "l7policies": ("l7policy", "l7policies"),
    "rules": ("rule", "rules"),
    "flavors": ("flavor", "flavors"),
    "flavorprofiles": ("flavorprofile", "flavorprofiles"),
    "availabilityzones": ("availability_zone", "availability_zones"),
    "availabilityzoneprofiles": ("availability_zone_profile", "availability_zone_profiles"),
    "amphorae": ("amphora", "amphorae"),
    "quotas": ("quota", "quotas"),
    "providers": ("provider", "providers"),
}

_NULLABLE_STRING = {"type": ["string", "null"]}
OBJECT = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "name": _NULLABLE_STRING,
        "description": _NULLABLE_STRING,
        "project_id": _NULLABLE_STRING,
        "tenant_id": _NULLABLE_STRING,
        "provisioning_status": {
            "enum": [
                "ACTIVE",
                "DELETED",
                "ERROR",
                "PENDING_CREATE",
                "PENDING_UPDATE",
                "PENDING_DELETE",
            ]
        },
        "operating_status": {
            "enum": ["ONLINE", "DRAINING", "OFFLINE", "DEGRADED", "ERROR", "NO_MONITOR"]
        },
        "admin_state_up": {"type": "boolean"},
        "created_at": _NULLABLE_STRING,
        "updated_at": _NULLABLE_STRING,
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}
"""What every Octavia object's fields, where present, look like."""

LINKS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["href", "rel"],
        "properties": {"href": {"type": "string"}, "rel": {"enum": ["next", "previous"]}},
    },
}
FAULT = {
    "type": "object",
    "required": ["faultcode", "faultstring", "debuginfo"],
    "properties": {
        "faultcode": {"enum": ["Client", "Server"]},
        "faultstring": {"type": "string"},
        "debuginfo": {"type": "null"},
    },
}
ERROR_STATUSES = ("400", "401", "403", "404", "409", "413")


def _wrapped(key: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": [key], "properties": {key: schema}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _success(method: str, path: str) -> dict[str, Any]:
    """The documented success response of one operation."""
    if path == "/":
        return {"200": _json("The version document.", _wrapped("versions", {"type": "array"}))}
    if path in ("/v2", "/v2/lbaas"):
        return {"200": _json('The bare version, "v2".', {"type": "string"})}
    segments = [s for s in path.split("/") if s]
    last = segments[-1]
    is_param = _PARAM.fullmatch(last) is not None
    named = [s for s in segments if not _PARAM.fullmatch(s)]
    if method == "delete":
        return {"204": {"description": "Deleted (or marked PENDING_DELETE)."}}
    if last in ("failover", "config") or (method == "put" and last == "members"):
        return {"202": {"description": "Accepted."}}
    if last in ("status", "statuses"):
        return {"200": _json("Status tree.", _wrapped("statuses", {"type": "object"}))}
    if last == "stats":
        key = "amphora_stats" if "amphorae" in named else "stats"
        body = {"type": "array"} if key == "amphora_stats" else {"type": "object"}
        return {"200": _json("Statistics.", _wrapped(key, body))}
    if last.endswith("_capabilities"):
        return {"200": _json("Capabilities.", _wrapped(last, {"type": "array"}))}
    if last in ("defaults", "default"):
        return {"200": _json("Default quota.", _wrapped("quota", {"type": "object"}))}
    collection = named[-1]
    if collection not in WRAPPERS:
        return {"200": _json("OK.", {})}
    one, many = WRAPPERS[collection]
    if method == "get" and not is_param:
        page: dict[str, Any] = {
            "type": "object",
            "required": [many],
            "properties": {many: {"type": "array", "items": OBJECT}, f"{many}_links": LINKS},
        }
        return {"200": _json("A page of the collection.", page)}
    status = "201" if method == "post" else "200"
    return {status: _json("The object.", _wrapped(one, OBJECT))}


def build_document(app: FastAPI) -> dict[str, Any]:
    full = get_openapi(
        title="Statera: Octavia v2 API",
        version=__version__,
        description=app.description,
        routes=app.routes,
    )
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for path, operations in full["paths"].items():
        if not (path == "/" or path == "/v2" or path.startswith(("/v2/lbaas", "/v2/octavia"))):
            continue
        shape = _PARAM.sub("{}", path)
        for method, operation in operations.items():
            responses: dict[str, Any] = _success(method, path)
            for status in ERROR_STATUSES:
                responses[status] = _json("Octavia's fault body.", FAULT)
            operation["responses"] = responses
            model = REQUEST_BODIES.get((method, shape))
            if model is not None:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(schema.pop("$defs", {}))
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": schema}},
                }
        paths[path] = operations
    full["paths"] = paths
    full["components"] = {"schemas": components}
    return full


def install(app: FastAPI) -> None:
    """Serve the document at `PATH`, built once on first request."""
    cache: dict[str, Any] = {}

    def openapi_document() -> Any:
        if "doc" not in cache:
            cache["doc"] = build_document(app)
        return json_response(cache["doc"])

    # The request middleware drops a `.json` suffix before routing; serve both spellings.
    for path in (PATH, PATH.removesuffix(".json")):
        app.add_api_route(path, openapi_document, methods=["GET"], include_in_schema=False)
