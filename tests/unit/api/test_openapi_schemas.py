"""The response schemas of the OpenAPI document (`api/openapi.py`), without a server.

What the real answers look like is checked in `tests/integration/api/test_openapi.py`;
here: the schemas are valid JSON Schema 2020-12 in OpenAPI 3.1's spelling,
each `XSelection` is `X` without `required`, every reference resolves, and
each kind of operation gets the schema its answers have.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from fastapi import FastAPI

from statera.api import openapi
from statera.api.openapi import COLLECTIONS, COMPONENTS, SELECTION, response_components


def _walk(schema: Any) -> Iterator[dict[str, Any]]:
    if isinstance(schema, dict):
        yield schema
        for value in schema.values():
            yield from _walk(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _walk(value)


def _schema(responses: dict[str, Any], status: str) -> dict[str, Any]:
    return dict(responses[status]["content"]["application/json"]["schema"])


def test_every_component_is_valid_json_schema() -> None:
    for name, schema in response_components().items():
        jsonschema_rs.meta.validate(schema)
        assert schema["type"] == "object", name
        assert schema["additionalProperties"] is False, name


def test_null_is_spelled_as_openapi_3_1_and_pydantic_do() -> None:
    for schema in _walk(response_components()):
        assert "nullable" not in schema, schema
        assert not isinstance(schema.get("type"), list), schema
        if "anyOf" in schema:
            assert schema["anyOf"][-1] == {"type": "null"}, schema


def test_every_field_is_required_except_in_a_selection() -> None:
    components = response_components()
    for name, component in COMPONENTS.items():
        schema = components[name]
        assert set(schema["required"]) == set(component.fields) - set(component.optional), name
        if component.selection:
            selection = components[name + SELECTION]
            assert "required" not in selection, name
            assert selection["properties"] == schema["properties"], name
        else:
            assert name + SELECTION not in components, name
    assert components["StatusPool"]["required"] == [
        "id",
        "name",
        "provisioning_status",
        "operating_status",
        "members",
    ]


def test_every_reference_resolves() -> None:
    components = response_components()
    for schema in _walk(components):
        if "$ref" in schema:
            assert schema["$ref"].removeprefix("#/components/schemas/") in components, schema
    for collection in COLLECTIONS.values():
        for name in (collection.schema, collection.item, collection.created):
            assert name is None or name in components, collection


def test_a_full_create_nests_full_children_without_back_references() -> None:
    components = response_components()
    full = components["LoadBalancerFull"]["properties"]
    assert full["listeners"]["items"] == {"$ref": "#/components/schemas/ListenerFull"}
    assert full["pools"]["items"] == {"$ref": "#/components/schemas/PoolFull"}
    for name in ("ListenerFull", "PoolFull"):
        assert "loadbalancers" not in components[name]["properties"], name
    assert "pools" not in components["HealthMonitorFull"]["properties"]
    assert set(components["PoolFull"]["properties"]) == set(openapi.POOL) - {"loadbalancers"} | {
        "healthmonitor"
    }


@pytest.mark.parametrize(
    ("method", "path", "status", "key", "component"),
    [
        ("get", "/v2/lbaas/loadbalancers/{lb_id}", "200", "loadbalancer", "LoadBalancerSelection"),
        ("put", "/v2/lbaas/loadbalancers/{lb_id}", "200", "loadbalancer", "LoadBalancer"),
        ("post", "/v2/lbaas/loadbalancers", "201", "loadbalancer", "LoadBalancerFull"),
        ("post", "/v2/lbaas/l7policies/{policy_id}/rules", "201", "rule", "L7Rule"),
        ("get", "/v2/lbaas/loadbalancers/{lb_id}/status", "200", "statuses", "StatusTree"),
        ("get", "/v2/lbaas/listeners/{listener_id}/stats", "200", "stats", "Stats"),
        ("get", "/v2/lbaas/quotas/{project_id}", "200", "quota", "Quota"),
        ("get", "/v2/lbaas/quotas/defaults", "200", "quota", "Quota"),
        ("put", "/v2/lbaas/quotas/{project_id}", "202", "quota", "Quota"),
        ("delete", "/v2/lbaas/quotas/{project_id}", "202", "quota", "Quota"),
        ("get", "/v2/octavia/amphorae/{amphora_id}", "200", "amphora", "AmphoraSelection"),
    ],
)
def test_an_operation_answers_its_component(
    method: str, path: str, status: str, key: str, component: str
) -> None:
    responses = openapi._success(method, path)
    assert list(responses) == [status]
    schema = _schema(responses, status)
    assert schema["required"] == [key]
    assert schema["properties"][key] == {"$ref": f"#/components/schemas/{component}"}


@pytest.mark.parametrize(
    ("path", "key", "links", "item"),
    [
        (
            "/v2/lbaas/loadbalancers",
            "loadbalancers",
            "loadbalancers_links",
            "LoadBalancerSelection",
        ),
        ("/v2/lbaas/pools/{pool_id}/members", "members", "members_links", "MemberSelection"),
        (
            "/v2/lbaas/flavorprofiles",
            "flavorprofiles",
            "flavorprofile_links",
            "FlavorProfileSelection",
        ),
        (
            "/v2/lbaas/availabilityzoneprofiles",
            "availability_zone_profiles",
            "availability_zone_profile_links",
            "AvailabilityZoneProfileSelection",
        ),
        ("/v2/lbaas/quotas", "quotas", "quotas_links", "ProjectQuota"),
        ("/v2/lbaas/providers", "providers", None, "ProviderSelection"),
        (
            "/v2/lbaas/providers/{provider}/flavor_capabilities",
            "flavor_capabilities",
            None,
            "CapabilitySelection",
        ),
        ("/v2/octavia/amphorae/{amphora_id}/stats", "amphora_stats", None, "AmphoraStats"),
    ],
)
def test_a_list_answers_its_entries_and_links(
    path: str, key: str, links: str | None, item: str
) -> None:
    schema = _schema(openapi._success("get", path), "200")
    assert schema["required"] == ([key] if links is None else [key, links])
    assert schema["properties"][key]["items"] == {"$ref": f"#/components/schemas/{item}"}


def test_actions_answer_no_body() -> None:
    for method, path, status in (
        ("delete", "/v2/lbaas/pools/{pool_id}", "204"),
        ("put", "/v2/lbaas/loadbalancers/{lb_id}/failover", "202"),
        ("put", "/v2/octavia/amphorae/{amphora_id}/config", "202"),
        ("put", "/v2/lbaas/pools/{pool_id}/members", "202"),
    ):
        responses = openapi._success(method, path)
        assert list(responses) == [status] and "content" not in responses[status], path


def test_the_document_keeps_request_and_response_schemas_apart() -> None:
    doc = openapi.build_document(FastAPI())
    assert doc["openapi"].startswith("3.1")
    assert set(response_components()) <= set(doc["components"]["schemas"])
