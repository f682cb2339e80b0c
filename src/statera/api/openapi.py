"""The OpenAPI document of the v2 API, served at `/v2/openapi.json` (the root is the version document).

Handlers read their bodies as bytes (`api/validation.py` gives WSME's error
messages), so FastAPI cannot see what they accept or answer; this module adds
both. Each write's request body is the JSON schema of its pydantic model
(`api/schemas`). Each response is its wrapper key (`{"loadbalancer": {...}}`,
`{"loadbalancers": [...], "loadbalancers_links": [...]}`) around a component
schema built from one table per resource below (`LOAD_BALANCER`, `LISTENER`,
...): every field the views (`api/views.py`, and the dict builders of the
flavor, availability-zone, provider, quota and amphora routes) return, with
its JSON type, `null` added where the value can be null. Octavia's fault body
describes the errors. `/v2.0/...` (an alias) and the Neutron view are left
out. The schemathesis run in the tests fuzzes the API against this document:
a route added without an entry here is still described (path and
parameters), only less precisely.

The document is OpenAPI 3.1 (what FastAPI emits), whose schemas are JSON
Schema 2020-12: there is no `nullable`; a value that may be null is
`{"anyOf": [<schema>, {"type": "null"}]}`, the spelling pydantic uses for the
request bodies in the same document. Timestamps are strings of Octavia's
form (`TIMESTAMP`); the statuses are their enums.

`required` and `fields`: every answer carries every field of its object,
except that list and show GETs take `?fields=a,b` and then carry only the
named fields (none at all for unknown names). A JSON schema cannot depend on
the query, so each component `X` (all fields `required`) has a twin
`XSelection` with the same properties and no `required`. An answer that can be
a `fields` selection (a show or list GET of a collection with `fields=True`
in `COLLECTIONS`, and the provider capabilities) uses `XSelection`, and its
operation documents the `fields` query parameter (so the fuzzer sends it);
every other answer (POST, PUT, the status tree, stats, quotas, nested objects)
uses `X`, so a missing field fails there. The tests check GET answers without
`fields` against `X` as well (`XSelection` with the suffix dropped). Both
forms set `additionalProperties: false`: the views build fixed dicts (the
only free-form value is a listener's `insert_headers`), so an undocumented key
is an error of the document or the view.

A single-call load balancer create answers its children expanded as
Octavia's full response does (`LoadBalancerFull`: listeners with their
policies and rules, pools with their members and monitor, none of them with
the `loadbalancers` back-reference); an ordinary create answers the same
shape with empty lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
from statera.domain.enums import OperatingStatus, ProvisioningStatus

PATH = "/v2/openapi.json"
_PARAM = re.compile(r"\{[^}]+\}")
Schema = dict[str, Any]

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

# -- JSON types ---------------------------------------------------------------------------

SELECTION = "Selection"
"""Suffix of a component's `fields`-selection twin (same properties, nothing required)."""


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}
BOOLEAN: Schema = {"type": "boolean"}
STRINGS = array(STRING)
NULLABLE_STRING = nullable(STRING)
NULLABLE_INTEGER = nullable(INTEGER)
NULLABLE_STRINGS = nullable(STRINGS)
TIMESTAMP: Schema = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$"}
"""Octavia's timestamps: `2016-12-11T00:00:00`, seconds, no offset."""
NULLABLE_TIMESTAMP = nullable(TIMESTAMP)
PROVISIONING_STATUS: Schema = {"type": "string", "enum": [s.value for s in ProvisioningStatus]}
OPERATING_STATUS: Schema = {"type": "string", "enum": [s.value for s in OperatingStatus]}
ID_REFS = array(ref("IdReference"))
"""A related object named by its id alone: `[{"id": "..."}]`."""

# -- one table per resource: field → JSON schema -----------------------------------------

LOAD_BALANCER: dict[str, Schema] = {
    "id": STRING,
    "name": STRING,
    "description": STRING,
    "provisioning_status": PROVISIONING_STATUS,
    "operating_status": OPERATING_STATUS,
    "admin_state_up": BOOLEAN,
    "project_id": STRING,
    "tenant_id": STRING,
    "created_at": TIMESTAMP,
    "updated_at": NULLABLE_TIMESTAMP,
    "vip_address": NULLABLE_STRING,
    "vip_port_id": NULLABLE_STRING,
    "vip_subnet_id": NULLABLE_STRING,
    "vip_network_id": NULLABLE_STRING,
    "vip_qos_policy_id": NULLABLE_STRING,
    "vip_vnic_type": STRING,
    "vip_sg_ids": STRINGS,
    "additional_vips": array(
        {
            "type": "object",
            "properties": {"subnet_id": STRING, "ip_address": STRING},
            "required": ["subnet_id", "ip_address"],
            "additionalProperties": False,
        }
    ),
    "listeners": ID_REFS,
    "pools": ID_REFS,
    "provider": STRING,
    "flavor_id": NULLABLE_STRING,
    "availability_zone": NULLABLE_STRING,
    "tags": STRINGS,
}

LISTENER: dict[str, Schema] = {
    "id": STRING,
    "name": STRING,
    "description": STRING,
    "provisioning_status": PROVISIONING_STATUS,
    "operating_status": OPERATING_STATUS,
    "admin_state_up": BOOLEAN,
    "protocol": STRING,
    "protocol_port": INTEGER,
    "connection_limit": INTEGER,
    "default_tls_container_ref": NULLABLE_STRING,
    "sni_container_refs": STRINGS,
    "project_id": STRING,
    "tenant_id": STRING,
    "default_pool_id": NULLABLE_STRING,
    "l7policies": ID_REFS,
    "insert_headers": {"type": "object", "additionalProperties": STRING},
    "created_at": TIMESTAMP,
    "updated_at": NULLABLE_TIMESTAMP,
    "loadbalancers": ID_REFS,
    "timeout_client_data": INTEGER,
    "timeout_member_connect": INTEGER,
    "timeout_member_data": INTEGER,
    "timeout_tcp_inspect": INTEGER,
    "tags": STRINGS,
    "client_ca_tls_container_ref": NULLABLE_STRING,
    "client_authentication": STRING,
    "client_crl_container_ref": NULLABLE_STRING,
    "allowed_cidrs": NULLABLE_STRINGS,
    "tls_ciphers": NULLABLE_STRING,
    "tls_versions": NULLABLE_STRINGS,
    "alpn_protocols": NULLABLE_STRINGS,
    "hsts_max_age": NULLABLE_INTEGER,
    "hsts_include_subdomains": BOOLEAN,
    "hsts_preload": BOOLEAN,
}

SESSION_PERSISTENCE: dict[str, Schema] = {
    "type": STRING,
    "cookie_name": NULLABLE_STRING,
    "persistence_timeout": NULLABLE_INTEGER,
    "persistence_granularity": NULLABLE_STRING,
}

POOL: dict[str, Schema] = {
    "id": STRING,
    "name": STRING,
    "description": STRING,
    "provisioning_status": PROVISIONING_STATUS,
    "operating_status": OPERATING_STATUS,
    "admin_state_up": BOOLEAN,
    "protocol": STRING,
    "lb_algorithm": STRING,
    "session_persistence": nullable(ref("SessionPersistence")),
    "project_id": STRING,
    "tenant_id": STRING,
    "loadbalancers": ID_REFS,
    "listeners": ID_REFS,
    "created_at": TIMESTAMP,
    "updated_at": NULLABLE_TIMESTAMP,
    "healthmonitor_id": NULLABLE_STRING,
    "members": ID_REFS,
    "tags": STRINGS,
    "tls_container_ref": NULLABLE_STRING,
    "ca_tls_container_ref": NULLABLE_STRING,
    "crl_container_ref": NULLABLE_STRING,
    "tls_enabled": BOOLEAN,
    "tls_ciphers": NULLABLE_STRING,
    "tls_versions": NULLABLE_STRINGS,
    "alpn_protocols": NULLABLE_STRINGS,
}

MEMBER: dict[str, Schema] = {
    "id": STRING,
    "name": STRING,
    "operating_status": OPERATING_STATUS,
    "provisioning_status": PROVISIONING_STATUS,
    "admin_state_up": BOOLEAN,
    "address": STRING,
    "protocol_port": INTEGER,
    "weight": INTEGER,
    "backup": BOOLEAN,
    "subnet_id": NULLABLE_STRING,
    "project_id": STRING,
    "tenant_id": STRING,
    "created_at": TIMESTAMP,
    "updated_at": NULLABLE_TIMESTAMP,
    "monitor_address": NULLABLE_STRING,
    "monitor_port": NULLABLE_INTEGER,
    "tags": STRINGS,
    "vnic_type": STRING,
}

HEALTH_MONITOR: dict[str, Schema] = {
    "id": STRING,
    "name": STRING,
    "type": STRING,
    "delay": INTEGER,
    "timeout": INTEGER,
    "max_retries": INTEGER,
    "max_retries_down": INTEGER,
    "http_method": NULLABLE_STRING,
    "url_path": NULLABLE_STRING,
    "expected_codes": NULLABLE_STRING,
    "admin_state_up": BOOLEAN,
    "project_id": STRING,
    "tenant_id": STRING,
    "pools": ID_REFS,
    "provisioning_status": PROVISIONING_STATUS,
    "operating_status": OPERATING_STATUS,
    "created_at": TIMESTAMP,
    "updated_at": NULLABLE_TIMESTAMP,
    "tags": STRINGS,
    "http_version": nullable(NUMBER),
    "domain_name": NULLABLE_STRING,
}

L7POLICY: dict[str, Schema] = {
    "id": STRING,
    "name": STRING,
    "description": STRING,
    "provisioning_status": PROVISIONING_STATUS,
    "operating_status": OPERATING_STATUS,
    "admin_state_up": BOOLEAN,
    "project_id": STRING,
    "tenant_id": STRING,
    "action": STRING,
    "listener_id": STRING,
    "redirect_pool_id": NULLABLE_STRING,
    "redirect_url": NULLABLE_STRING,
    "redirect_prefix": NULLABLE_STRING,
    "redirect_http_code": NULLABLE_INTEGER,
    "position": INTEGER,
    "rules": ID_REFS,
    "created_at": TIMESTAMP,
    "updated_at": NULLABLE_TIMESTAMP,
    "tags": STRINGS,
}

L7RULE: dict[str, Schema] = {
    "id": STRING,
    "type": STRING,
    "compare_type": STRING,
    "key": NULLABLE_STRING,
    "value": STRING,
    "invert": BOOLEAN,
    "provisioning_status": PROVISIONING_STATUS,
    "operating_status": OPERATING_STATUS,
    "admin_state_up": BOOLEAN,
    "project_id": STRING,
    "tenant_id": STRING,
    "created_at": TIMESTAMP,
    "updated_at": NULLABLE_TIMESTAMP,
    "tags": STRINGS,
}

FLAVOR: dict[str, Schema] = {
    "id": STRING,
    "name": STRING,
    "description": STRING,
    "enabled": BOOLEAN,
    "flavor_profile_id": STRING,
}

FLAVOR_PROFILE: dict[str, Schema] = {
    "id": STRING,
    "name": STRING,
    "provider_name": STRING,
    "flavor_data": STRING,
}

AVAILABILITY_ZONE: dict[str, Schema] = {
    "name": STRING,
    "description": STRING,
    "enabled": BOOLEAN,
    "availability_zone_profile_id": STRING,
}

AVAILABILITY_ZONE_PROFILE: dict[str, Schema] = {
    "id": STRING,
    "name": STRING,
    "provider_name": STRING,
    "availability_zone_data": STRING,
}

PROVIDER: dict[str, Schema] = {"name": STRING, "description": STRING}
CAPABILITY: dict[str, Schema] = {"name": STRING, "description": STRING}

AMPHORA: dict[str, Schema] = {
    "id": STRING,
    "loadbalancer_id": NULLABLE_STRING,
    "compute_id": NULLABLE_STRING,
    "lb_network_ip": NULLABLE_STRING,
    "vrrp_ip": NULLABLE_STRING,
    "ha_ip": NULLABLE_STRING,
    "vrrp_port_id": NULLABLE_STRING,
    "ha_port_id": NULLABLE_STRING,
    "cert_expiration": NULLABLE_TIMESTAMP,
    "cert_busy": BOOLEAN,
    "role": NULLABLE_STRING,
    "status": STRING,
    "vrrp_interface": NULLABLE_STRING,
    "vrrp_id": NULLABLE_INTEGER,
    "vrrp_priority": NULLABLE_INTEGER,
    "cached_zone": NULLABLE_STRING,
    "created_at": TIMESTAMP,
    "updated_at": NULLABLE_TIMESTAMP,
    "image_id": NULLABLE_STRING,
    "compute_flavor": NULLABLE_STRING,
}

QUOTA: dict[str, Schema] = {
    "loadbalancer": INTEGER,
    "listener": INTEGER,
    "member": INTEGER,
    "pool": INTEGER,
    "healthmonitor": INTEGER,
    "l7policy": INTEGER,
    "l7rule": INTEGER,
    "load_balancer": INTEGER,
    "health_monitor": INTEGER,
}
"""Every limit (-1: unlimited) and the deprecated aliases `load_balancer`, `health_monitor`."""
PROJECT_QUOTA: dict[str, Schema] = {"project_id": STRING, **QUOTA}
"""A quota list entry: the limits of one project with overrides."""

STATS: dict[str, Schema] = {
    "bytes_in": INTEGER,
    "bytes_out": INTEGER,
    "active_connections": INTEGER,
    "total_connections": INTEGER,
    "request_errors": INTEGER,
}
AMPHORA_STATS: dict[str, Schema] = {
    "id": STRING,
    "listener_id": STRING,
    "loadbalancer_id": STRING,
    **STATS,
}

# The status tree (`GET /loadbalancers/{id}/status`), innermost first.
STATUS_MEMBER: dict[str, Schema] = {
    "id": STRING,
    "name": STRING,
    "operating_status": OPERATING_STATUS,
    "provisioning_status": PROVISIONING_STATUS,
    "address": STRING,
    "protocol_port": INTEGER,
}
STATUS_HEALTH_MONITOR: dict[str, Schema] = {
    "id": STRING,
    "name": STRING,
    "type": STRING,
    "provisioning_status": PROVISIONING_STATUS,
    "operating_status": OPERATING_STATUS,
}
STATUS_POOL: dict[str, Schema] = {
    "id": STRING,
    "name": STRING,
    "provisioning_status": PROVISIONING_STATUS,
    "operating_status": OPERATING_STATUS,
    "health_monitor": ref("StatusHealthMonitor"),
    "members": array(ref("StatusMember")),
}
STATUS_LISTENER: dict[str, Schema] = {
    "id": STRING,
    "name": STRING,
    "operating_status": OPERATING_STATUS,
    "provisioning_status": PROVISIONING_STATUS,
    "pools": array(ref("StatusPool")),
}
STATUS_LOAD_BALANCER: dict[str, Schema] = {
    "id": STRING,
    "name": STRING,
    "operating_status": OPERATING_STATUS,
    "provisioning_status": PROVISIONING_STATUS,
    "listeners": array(ref("StatusListener")),
}

VERSION: dict[str, Schema] = {
    "id": STRING,
    "status": {"type": "string", "enum": ["CURRENT", "SUPPORTED"]},
    "updated": STRING,
    "links": array(ref("VersionLink")),
}


def _without(table: dict[str, Schema], *names: str) -> dict[str, Schema]:
    return {k: v for k, v in table.items() if k not in names}


# The expanded children of a single-call create: Octavia's full responses.
HEALTH_MONITOR_FULL = _without(HEALTH_MONITOR, "pools")
L7POLICY_FULL = {**L7POLICY, "rules": array(ref("L7Rule"))}
LISTENER_FULL = {**_without(LISTENER, "loadbalancers"), "l7policies": array(ref("L7PolicyFull"))}
POOL_FULL = {
    **_without(POOL, "loadbalancers"),
    "members": array(ref("Member")),
    "healthmonitor": nullable(ref("HealthMonitorFull")),
}
LOAD_BALANCER_FULL = {
    **LOAD_BALANCER,
    "listeners": array(ref("ListenerFull")),
    "pools": array(ref("PoolFull")),
}


@dataclass(frozen=True)
class Component:
    fields: dict[str, Schema]
    optional: tuple[str, ...] = ()
    """Fields the object carries only sometimes (the status tree's `health_monitor`)."""
    selection: bool = False
    """Also describe `<name>Selection`, what a `fields` query selects."""


COMPONENTS: dict[str, Component] = {
    "IdReference": Component({"id": STRING}),
    "LoadBalancer": Component(LOAD_BALANCER, selection=True),
    "LoadBalancerFull": Component(LOAD_BALANCER_FULL),
    "Listener": Component(LISTENER, selection=True),
    "ListenerFull": Component(LISTENER_FULL),
    "SessionPersistence": Component(SESSION_PERSISTENCE),
    "Pool": Component(POOL, selection=True),
    "PoolFull": Component(POOL_FULL),
    "Member": Component(MEMBER, selection=True),
    "HealthMonitor": Component(HEALTH_MONITOR, selection=True),
    "HealthMonitorFull": Component(HEALTH_MONITOR_FULL),
    "L7Policy": Component(L7POLICY, selection=True),
    "L7PolicyFull": Component(L7POLICY_FULL),
    "L7Rule": Component(L7RULE, selection=True),
    "Flavor": Component(FLAVOR, selection=True),
    "FlavorProfile": Component(FLAVOR_PROFILE, selection=True),
    "AvailabilityZone": Component(AVAILABILITY_ZONE, selection=True),
    "AvailabilityZoneProfile": Component(AVAILABILITY_ZONE_PROFILE, selection=True),
    "Provider": Component(PROVIDER, selection=True),
    "Capability": Component(CAPABILITY, selection=True),
    "Amphora": Component(AMPHORA, selection=True),
    "AmphoraStats": Component(AMPHORA_STATS),
    "Quota": Component(QUOTA),
    "ProjectQuota": Component(PROJECT_QUOTA),
    "Stats": Component(STATS),
    "StatusTree": Component({"loadbalancer": ref("StatusLoadBalancer")}),
    "StatusLoadBalancer": Component(STATUS_LOAD_BALANCER),
    "StatusListener": Component(STATUS_LISTENER),
    "StatusPool": Component(STATUS_POOL, optional=("health_monitor",)),
    "StatusHealthMonitor": Component(STATUS_HEALTH_MONITOR),
    "StatusMember": Component(STATUS_MEMBER),
    "Version": Component(VERSION),
    "VersionLink": Component({"href": STRING, "rel": STRING}),
}


def _object(component: Component) -> Schema:
    return {
        "type": "object",
        "properties": dict(component.fields),
        "required": [f for f in component.fields if f not in component.optional],
        "additionalProperties": False,
    }


def response_components() -> dict[str, Schema]:
    """The response schemas, by component name: each `X` and, where selectable, `XSelection`."""
    out: dict[str, Schema] = {}
    for name, component in COMPONENTS.items():
        out[name] = _object(component)
        if component.selection:
            out[name + SELECTION] = {
                "description": f"Any subset of {name}'s fields (`fields=`); all of them without.",
                "type": "object",
                "properties": dict(component.fields),
                "additionalProperties": False,
            }
    return out


# -- which answer each operation gives ----------------------------------------------------


@dataclass(frozen=True)
class Collection:
    one: str
    """The key of one object's answer."""
    many: str
    """The key of the list's answer."""
    schema: str
    """The component of one object."""
    links: str | None
    """The key of the list's links; None where the list has none."""
    fields: bool = True
    """Show and list take `fields`: their objects are `<schema>Selection`."""
    item: str | None = None
    """The component of a list entry, where it is not `schema`."""
    created: str | None = None
    """The component of a POST's answer, where it is not `schema`."""


# collection segment → its answers
COLLECTIONS: dict[str, Collection] = {
    "loadbalancers": Collection(
        "loadbalancer",
        "loadbalancers",
        "LoadBalancer",
        "loadbalancers_links",
        created="LoadBalancerFull",
    ),
    "listeners": Collection("listener", "listeners", "Listener", "listeners_links"),
    "pools": Collection("pool", "pools", "Pool", "pools_links"),
    "members": Collection("member", "members", "Member", "members_links"),
    "healthmonitors": Collection(
        "healthmonitor", "healthmonitors", "HealthMonitor", "healthmonitors_links"
    ),
    "l7policies": Collection("l7policy", "l7policies", "L7Policy", "l7policies_links"),
    "rules": Collection("rule", "rules", "L7Rule", "rules_links"),
    "flavors": Collection("flavor", "flavors", "Flavor", "flavors_links"),
    "flavorprofiles": Collection(
        "flavorprofile", "flavorprofiles", "FlavorProfile", "flavorprofile_links"
    ),
    "availabilityzones": Collection(
        "availability_zone", "availability_zones", "AvailabilityZone", "availability_zones_links"
    ),
    "availabilityzoneprofiles": Collection(
        "availability_zone_profile",
        "availability_zone_profiles",
        "AvailabilityZoneProfile",
        "availability_zone_profile_links",
    ),
    "amphorae": Collection("amphora", "amphorae", "Amphora", "amphorae_links"),
    "quotas": Collection(
        "quota", "quotas", "Quota", "quotas_links", fields=False, item="ProjectQuota"
    ),
    "providers": Collection("provider", "providers", "Provider", None),
}

LINKS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["href", "rel"],
        "properties": {"href": {"type": "string"}, "rel": {"enum": ["next", "previous"]}},
        "additionalProperties": False,
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


def _wrapped(key: str, schema: Schema) -> Schema:
    return {
        "type": "object",
        "required": [key],
        "properties": {key: schema},
        "additionalProperties": False,
    }


def _page(key: str, item: Schema, links: str | None) -> Schema:
    page: Schema = {
        "type": "object",
        "required": [key] if links is None else [key, links],
        "properties": {key: array(item)},
        "additionalProperties": False,
    }
    if links is not None:
        page["properties"][links] = LINKS
    return page


FIELDS_PARAMETER: Schema = {
    "name": "fields",
    "in": "query",
    "required": False,
    "description": "Answer only these fields of each object (repeated, or a comma list).",
    "schema": array(STRING),
    "style": "form",
    "explode": True,
}


def _selects(schema: Any) -> bool:
    """Whether `schema` refers to a `...Selection`: its operation takes `fields`."""
    if isinstance(schema, dict):
        target = schema.get("$ref")
        if isinstance(target, str) and target.endswith(SELECTION):
            return True
        return any(_selects(v) for v in schema.values())
    return isinstance(schema, list) and any(_selects(v) for v in schema)


def _json(description: str, schema: Schema) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _success(method: str, path: str) -> dict[str, Any]:
    """The documented success response of one operation."""
    if path == "/":
        doc = _wrapped("versions", array(ref("Version")))
        return {"200": _json("The version document.", doc)}
    if path in ("/v2", "/v2/lbaas"):
        return {"200": _json('The bare version, "v2".', {"type": "string"})}
    segments = [s for s in path.split("/") if s]
    last = segments[-1]
    is_param = _PARAM.fullmatch(last) is not None
    named = [s for s in segments if not _PARAM.fullmatch(s)]
    collection = COLLECTIONS.get(named[-1])
    if method == "delete":
        if collection is not None and collection.one == "quota":
            quota = _wrapped("quota", ref("Quota"))
            return {"202": _json("Reset: the default limits, the project's now.", quota)}
        return {"204": {"description": "Deleted (or marked PENDING_DELETE)."}}
    if last in ("failover", "config") or (method == "put" and last == "members"):
        return {"202": {"description": "Accepted."}}
    if last in ("status", "statuses"):
        return {"200": _json("Status tree.", _wrapped("statuses", ref("StatusTree")))}
    if last == "stats":
        if "amphorae" in named:
            body = _wrapped("amphora_stats", array(ref("AmphoraStats")))
        else:
            body = _wrapped("stats", ref("Stats"))
        return {"200": _json("Statistics.", body)}
    if last.endswith("_capabilities"):
        page = _page(last, ref("Capability" + SELECTION), None)
        return {"200": _json("Capabilities.", page)}
    if last in ("defaults", "default"):
        return {"200": _json("Default quota.", _wrapped("quota", ref("Quota")))}
    if collection is None:
        return {"200": _json("OK.", {})}
    suffix = SELECTION if collection.fields else ""
    if method == "get" and not is_param:
        item = ref((collection.item or collection.schema) + suffix)
        page = _page(collection.many, item, collection.links)
        return {"200": _json("A page of the collection.", page)}
    if method == "get":
        one = _wrapped(collection.one, ref(collection.schema + suffix))
        return {"200": _json("The object.", one)}
    if method == "post":
        one = _wrapped(collection.one, ref(collection.created or collection.schema))
        return {"201": _json("Created.", one)}
    one = _wrapped(collection.one, ref(collection.schema))
    return {"202" if collection.one == "quota" else "200": _json("Updated.", one)}


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
            if _selects(responses):
                operation.setdefault("parameters", []).append(FIELDS_PARAMETER)
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
    responses = response_components()
    clash = set(components) & set(responses)
    if clash:
        raise RuntimeError(f"response and request schemas share names: {sorted(clash)}")
    full["paths"] = paths
    full["components"] = {"schemas": {**components, **responses}}
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
