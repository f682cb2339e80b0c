"""Providers, flavor profiles, flavors, AZ profiles and AZs (Octavia §1.15), and what a
load balancer create does with `flavor_id` and `availability_zone`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.integration.api.helpers import V2, fault, ok

NO_SUCH = "b4ca07d1-a31e-43e2-891a-7d14f419f342"


def make_profile(client: Any, data: dict[str, Any] | str | None = None, **extra: Any) -> Any:
    flavor_data = data if isinstance(data, str) else json.dumps(data or {})
    body = {"name": "fp", "provider_name": "amphora", "flavor_data": flavor_data, **extra}
    return ok(client.post(f"{V2}/flavorprofiles", json={"flavorprofile": body}), 201)[
        "flavorprofile"
    ]


def make_flavor(client: Any, profile_id: str, **extra: Any) -> Any:
    body = {"name": "small", "flavor_profile_id": profile_id, **extra}
    return ok(client.post(f"{V2}/flavors", json={"flavor": body}), 201)["flavor"]


def make_az_profile(client: Any, data: dict[str, Any] | None = None) -> Any:
    body = {
        "name": "azp",
        "provider_name": "amphora",
        "availability_zone_data": json.dumps(data or {}),
    }
    return ok(
        client.post(f"{V2}/availabilityzoneprofiles", json={"availability_zone_profile": body}),
        201,
    )["availability_zone_profile"]


def make_az(client: Any, profile_id: str, name: str = "az1", **extra: Any) -> Any:
    body = {"name": name, "availability_zone_profile_id": profile_id, **extra}
    return ok(client.post(f"{V2}/availabilityzones", json={"availability_zone": body}), 201)[
        "availability_zone"
    ]


def create_lb(client: Any, **fields: Any) -> Any:
    body = {"loadbalancer": {"vip_subnet_id": "private-subnet", **fields}}
    return client.post(f"{V2}/loadbalancers", json=body)


# -- providers ----------------------------------------------------------------------------


def test_providers_list_amphora_and_its_deprecated_alias(client: Any) -> None:
    assert ok(client.get(f"{V2}/providers")) == {
        "providers": [
            {"name": "amphora", "description": "The Octavia Amphora driver."},
            {"name": "octavia", "description": "Deprecated alias of the Octavia Amphora driver."},
        ]
    }
    names = ok(client.get(f"{V2}/providers", params={"fields": "name"}))["providers"]
    assert names == [{"name": "amphora"}, {"name": "octavia"}]


@pytest.mark.parametrize(
    "settings_overrides",
    ["[api_settings]\nenabled_provider_drivers = amphora:'Only this one.'\n"],
)
def test_enabled_provider_drivers_decides_the_list(client: Any) -> None:
    providers = ok(client.get(f"{V2}/providers"))["providers"]
    assert providers == [{"name": "amphora", "description": "Only this one."}]
    message = fault(client.get(f"{V2}/providers/octavia/flavor_capabilities"), 400)
    assert message == "Provider 'octavia' is not enabled."
    assert fault(create_lb(client, provider="octavia"), 400) == (
        "Provider 'octavia' is not enabled."
    )


def test_flavor_capabilities(client: Any) -> None:
    caps = ok(client.get(f"{V2}/providers/amphora/flavor_capabilities"))["flavor_capabilities"]
    assert [c["name"] for c in caps] == [
        "loadbalancer_topology",
        "compute_flavor",
        "amp_image_tag",
        "sriov_vip",
        "allow_member_sriov",
    ]
    assert all(set(c) == {"name", "description"} and c["description"] for c in caps)
    one = ok(
        client.get(f"{V2}/providers/octavia/flavor_capabilities", params={"name": "compute_flavor"})
    )
    assert one == {
        "flavor_capabilities": [
            {"name": "compute_flavor", "description": "The compute driver flavor ID."}
        ]
    }


def test_availability_zone_capabilities(client: Any) -> None:
    r = client.get(
        f"{V2}/providers/amphora/availability_zone_capabilities", params={"fields": "name"}
    )
    assert ok(r) == {
        "availability_zone_capabilities": [
            {"name": "compute_zone"},
            {"name": "volume_zone"},
            {"name": "management_network"},
            {"name": "valid_vip_networks"},
        ]
    }


def test_unknown_provider_is_octavias_400(client: Any) -> None:
    for path in ("flavor_capabilities", "availability_zone_capabilities"):
        message = fault(client.get(f"{V2}/providers/ovn/{path}"), 400)
        assert message == "Provider 'ovn' is not enabled."


# -- flavor profiles ----------------------------------------------------------------------


def test_flavor_profile_crud(client: Any) -> None:
    fp = make_profile(client, {"loadbalancer_topology": "SINGLE", "compute_flavor": "m1"})
    assert set(fp) == {"id", "name", "provider_name", "flavor_data"}
    assert json.loads(fp["flavor_data"]) == {
        "loadbalancer_topology": "SINGLE",
        "compute_flavor": "m1",
    }
    assert ok(client.get(f"{V2}/flavorprofiles/{fp['id']}"))["flavorprofile"] == fp
    listed = ok(client.get(f"{V2}/flavorprofiles"))
    assert listed == {"flavorprofiles": [fp], "flavorprofile_links": []}
    r = client.put(
        f"{V2}/flavorprofiles/{fp['id']}",
        json={"flavorprofile": {"name": "renamed", "flavor_data": '{"amp_image_tag": "x"}'}},
    )
    updated = ok(r)["flavorprofile"]
    assert updated["name"] == "renamed" and updated["flavor_data"] == '{"amp_image_tag": "x"}'
    assert client.delete(f"{V2}/flavorprofiles/{fp['id']}").status_code == 204
    message = fault(client.get(f"{V2}/flavorprofiles/{fp['id']}"), 404)
    assert message == f"Flavor profile {fp['id']} not found."


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ("not json", 400, "not json is not a valid option for flavor_data"),
        (
            '{"foo": 1}',
            501,
            "Provider 'amphora' does not support a requested option: Additional properties "
            "are not allowed ('foo' was unexpected)",
        ),
        (
            '{"loadbalancer_topology": "TRIPLE"}',
            501,
            "Provider 'amphora' does not support a requested option: loadbalancer_topology "
            "'TRIPLE' is not one of ['SINGLE', 'ACTIVE_STANDBY']",
        ),
        (
            '{"sriov_vip": "yes"}',
            501,
            "Provider 'amphora' does not support a requested option: sriov_vip 'yes' is not "
            "of type 'boolean'",
        ),
        ("x" * 4097, 400, None),
    ],
)
def test_flavor_data_is_validated_by_the_provider(
    client: Any, data: str, status: int, message: str | None
) -> None:
    body = {"name": "fp", "provider_name": "amphora", "flavor_data": data}
    got = fault(client.post(f"{V2}/flavorprofiles", json={"flavorprofile": body}), status)
    if message is not None:
        assert got == message
    else:
        assert "maximum character requirement of 4096" in got
    assert ok(client.get(f"{V2}/flavorprofiles"))["flavorprofiles"] == []


def test_flavor_profile_validation(client: Any) -> None:
    body = {"name": "fp", "provider_name": "nope", "flavor_data": "{}"}
    message = fault(client.post(f"{V2}/flavorprofiles", json={"flavorprofile": body}), 400)
    assert message == "Provider 'nope' is not enabled."
    body = {"name": "fp", "flavor_data": "{}"}
    message = fault(client.post(f"{V2}/flavorprofiles", json={"flavorprofile": body}), 400)
    assert "provider_name" in message and "Mandatory field missing" in message
    body = {"name": "fp", "provider_name": "amphora", "flavor_data": "{}", "x": 1}
    message = fault(client.post(f"{V2}/flavorprofiles", json={"flavorprofile": body}), 400)
    assert message == "Unknown attribute for argument flavorprofile: x"
    fp = make_profile(client)
    r = client.put(f"{V2}/flavorprofiles/{fp['id']}", json={"flavorprofile": {"name": None}})
    assert fault(r, 400) == "None is not a valid option for name"
    r = client.put(f"{V2}/flavorprofiles/{NO_SUCH}", json={"flavorprofile": {"name": "x"}})
    assert fault(r, 404) == f"Flavor profile {NO_SUCH} not found."


def test_a_profile_in_use_cannot_be_deleted_or_have_its_data_changed(client: Any) -> None:
    fp = make_profile(client)
    flavor = make_flavor(client, fp["id"])
    expected = f"Flavor profile {fp['id']} is in use and cannot be modified."
    assert fault(client.delete(f"{V2}/flavorprofiles/{fp['id']}"), 409) == expected
    r = client.put(f"{V2}/flavorprofiles/{fp['id']}", json={"flavorprofile": {"flavor_data": "{}"}})
    assert fault(r, 409) == expected
    r = client.put(f"{V2}/flavorprofiles/{fp['id']}", json={"flavorprofile": {"name": "ok"}})
    assert ok(r)["flavorprofile"]["name"] == "ok"
    assert client.delete(f"{V2}/flavors/{flavor['id']}").status_code == 204
    assert client.delete(f"{V2}/flavorprofiles/{fp['id']}").status_code == 204


# -- flavors ------------------------------------------------------------------------------


def test_flavor_crud_and_defaults(client: Any) -> None:
    fp = make_profile(client)
    flavor = make_flavor(client, fp["id"])
    assert flavor == {
        "id": flavor["id"],
        "name": "small",
        "description": "",
        "enabled": True,
        "flavor_profile_id": fp["id"],
    }
    r = client.put(
        f"{V2}/flavors/{flavor['id']}",
        json={"flavor": {"description": "d", "enabled": False, "name": "tiny"}},
    )
    assert ok(r)["flavor"] | {"id": None} == {
        "id": None,
        "name": "tiny",
        "description": "d",
        "enabled": False,
        "flavor_profile_id": fp["id"],
    }
    shown = ok(client.get(f"{V2}/flavors/{flavor['id']}", params={"fields": "name"}))
    assert shown == {"flavor": {"name": "tiny"}}
    assert client.delete(f"{V2}/flavors/{flavor['id']}").status_code == 204
    assert fault(client.get(f"{V2}/flavors/{flavor['id']}"), 404) == (
        f"Flavor {flavor['id']} not found."
    )


def test_flavor_rules(client: Any) -> None:
    fp = make_profile(client)
    make_flavor(client, fp["id"])
    r = client.post(
        f"{V2}/flavors", json={"flavor": {"name": "small", "flavor_profile_id": fp["id"]}}
    )
    assert fault(r, 409) == "A flavor of small already exists."
    r = client.post(f"{V2}/flavors", json={"flavor": {"name": "b", "flavor_profile_id": NO_SUCH}})
    assert fault(r, 400) == f"{NO_SUCH} is not a valid option for flavor_profile_id"
    r = client.post(f"{V2}/flavors", json={"flavor": {"name": "b", "flavor_profile_id": "x"}})
    assert "Value should be UUID format" in fault(r, 400)
    r = client.post(f"{V2}/flavors", json={"flavor": {"name": "b"}})
    assert "Mandatory field missing" in fault(r, 400)
    r = client.put(f"{V2}/flavors/{NO_SUCH}", json={"flavor": {"name": "x"}})
    assert fault(r, 404) == f"Flavor {NO_SUCH} not found."


def test_flavor_lists_filter_sort_and_paginate(client: Any) -> None:
    fp = make_profile(client)
    for name in ("c", "a", "b"):
        make_flavor(client, fp["id"], name=name, enabled=name != "b")
    names = [
        f["name"] for f in ok(client.get(f"{V2}/flavors", params={"sort": "name:desc"}))["flavors"]
    ]
    assert names == ["c", "b", "a"]
    enabled = ok(client.get(f"{V2}/flavors", params={"enabled": "false"}))["flavors"]
    assert [f["name"] for f in enabled] == ["b"]
    page = ok(client.get(f"{V2}/flavors", params={"sort": "name", "limit": 2}))
    assert [f["name"] for f in page["flavors"]] == ["a", "b"]
    assert [link["rel"] for link in page["flavors_links"]] == ["next"]
    marker = page["flavors"][-1]["id"]
    rest = ok(client.get(f"{V2}/flavors", params={"sort": "name", "limit": 2, "marker": marker}))
    assert [f["name"] for f in rest["flavors"]] == ["c"]
    message = fault(client.get(f"{V2}/flavors", params={"color": "red"}), 400)
    assert message == "One or more arguments are either duplicate or invalid: color"


# -- availability zones -------------------------------------------------------------------


def test_availability_zone_profile_and_zone_crud(client: Any) -> None:
    azp = make_az_profile(client, {"compute_zone": "nova", "valid_vip_networks": ["private"]})
    assert set(azp) == {"id", "name", "provider_name", "availability_zone_data"}
    listed = ok(client.get(f"{V2}/availabilityzoneprofiles"))
    assert listed == {"availability_zone_profiles": [azp], "availability_zone_profile_links": []}
    az = make_az(client, azp["id"], description="first")
    assert az == {
        "name": "az1",
        "description": "first",
        "enabled": True,
        "availability_zone_profile_id": azp["id"],
    }
    assert ok(client.get(f"{V2}/availabilityzones/az1"))["availability_zone"] == az
    listed = ok(client.get(f"{V2}/availabilityzones"))
    assert listed == {"availability_zones": [az], "availability_zones_links": []}
    r = client.put(f"{V2}/availabilityzones/az1", json={"availability_zone": {"enabled": False}})
    assert ok(r)["availability_zone"]["enabled"] is False
    r = client.put(f"{V2}/availabilityzones/az1", json={"availability_zone": {"name": "x"}})
    assert fault(r, 400) == "Unknown attribute for argument availability_zone: name"
    r = client.post(
        f"{V2}/availabilityzones",
        json={"availability_zone": {"name": "az1", "availability_zone_profile_id": azp["id"]}},
    )
    assert fault(r, 409) == "A availability_zone of az1 already exists."
    expected = f"Availability Zone Profile {azp['id']} is in use and cannot be modified."
    assert fault(client.delete(f"{V2}/availabilityzoneprofiles/{azp['id']}"), 409) == expected
    assert client.delete(f"{V2}/availabilityzones/az1").status_code == 204
    assert fault(client.get(f"{V2}/availabilityzones/az1"), 404) == (
        "Availability Zone az1 not found."
    )
    assert client.delete(f"{V2}/availabilityzoneprofiles/{azp['id']}").status_code == 204


def test_availability_zone_data_is_validated(client: Any) -> None:
    body = {"name": "p", "provider_name": "amphora", "availability_zone_data": '{"zone": 1}'}
    r = client.post(f"{V2}/availabilityzoneprofiles", json={"availability_zone_profile": body})
    assert fault(r, 501) == (
        "Provider 'amphora' does not support a requested option: Additional properties are "
        "not allowed ('zone' was unexpected)"
    )
    body["availability_zone_data"] = '{"valid_vip_networks": "private"}'
    r = client.post(f"{V2}/availabilityzoneprofiles", json={"availability_zone_profile": body})
    assert "is not of type 'array'" in fault(r, 501)


def test_availability_zone_pagination_uses_the_name_as_marker(client: Any) -> None:
    azp = make_az_profile(client)
    for name in ("z2", "z1", "z3"):
        make_az(client, azp["id"], name=name)
    page = ok(client.get(f"{V2}/availabilityzones", params={"limit": 2}))
    assert [z["name"] for z in page["availability_zones"]] == ["z1", "z2"]
    rest = ok(client.get(f"{V2}/availabilityzones", params={"limit": 2, "marker": "z2"}))
    assert [z["name"] for z in rest["availability_zones"]] == ["z3"]


# -- load balancers with a flavor and an availability zone --------------------------------


def test_load_balancer_with_a_single_flavor_and_a_zone(client: Any, database: Any) -> None:
    from statera.db.models import LoadBalancer

    flavor = make_flavor(client, make_profile(client, {"loadbalancer_topology": "SINGLE"})["id"])
    make_az(client, make_az_profile(client, {"compute_zone": "nova"})["id"])
    lb = ok(create_lb(client, flavor_id=flavor["id"], availability_zone="az1"), 201)
    lb = lb["loadbalancer"]
    assert lb["flavor_id"] == flavor["id"] and lb["availability_zone"] == "az1"
    assert lb["provider"] == "amphora"
    with database.read() as s:
        row = s.get(LoadBalancer, lb["id"])
        assert row is not None and row.topology == "SINGLE"
    found = ok(client.get(f"{V2}/loadbalancers", params={"flavor_id": flavor["id"]}))
    assert [x["id"] for x in found["loadbalancers"]] == [lb["id"]]
    # In use: neither the flavor nor the zone can go while the load balancer exists.
    message = fault(client.delete(f"{V2}/flavors/{flavor['id']}"), 409)
    assert message == f"Flavor {flavor['id']} is in use and cannot be modified."
    message = fault(client.delete(f"{V2}/availabilityzones/az1"), 409)
    assert message == "Availability Zone az1 is in use and cannot be modified."


def test_flavor_and_zone_must_exist_and_be_enabled(client: Any, database: Any) -> None:
    assert fault(create_lb(client, flavor_id=NO_SUCH), 400) == (
        "Validation failure: Invalid flavor_id."
    )
    assert fault(create_lb(client, availability_zone="nowhere"), 400) == (
        "Validation failure: Invalid availability zone."
    )
    flavor = make_flavor(client, make_profile(client)["id"], enabled=False)
    make_az(client, make_az_profile(client)["id"], enabled=False)
    assert fault(create_lb(client, flavor_id=flavor["id"]), 400) == (
        f"The selected flavor is not allowed in this deployment: {flavor['id']}"
    )
    assert fault(create_lb(client, availability_zone="az1"), 400) == (
        "The selected availability_zone is not allowed in this deployment: az1"
    )
    assert ok(client.get(f"{V2}/loadbalancers"))["loadbalancers"] == []


def test_flavor_provider_must_match_the_requested_provider(client: Any) -> None:
    fp = make_profile(client, provider_name="octavia")
    flavor = make_flavor(client, fp["id"])
    assert fault(create_lb(client, flavor_id=flavor["id"], provider="amphora"), 400) == (
        f"Flavor '{flavor['id']}' is not compatible with provider 'amphora'"
    )
    lb = ok(create_lb(client, flavor_id=flavor["id"]), 201)["loadbalancer"]
    assert lb["provider"] == "octavia"


def test_an_active_standby_flavor_chooses_the_topology(client: Any, database: Any) -> None:
    fp = make_profile(client, {"loadbalancer_topology": "ACTIVE_STANDBY"})
    flavor = make_flavor(client, fp["id"])
    lb = ok(create_lb(client, flavor_id=flavor["id"]), 201)["loadbalancer"]
    assert lb["flavor_id"] == flavor["id"]
    with database.read() as s:
        from statera.db.models import LoadBalancer

        row = s.get(LoadBalancer, lb["id"])
        assert row is not None and row.topology == "ACTIVE_STANDBY"


def test_valid_vip_networks_of_a_zone_restrict_the_vip(client: Any) -> None:
    make_az(client, make_az_profile(client, {"valid_vip_networks": ["elsewhere"]})["id"])
    assert fault(create_lb(client, availability_zone="az1"), 400) == (
        "Validation failure: Supplied VIP network_id is not allowed by the configuration of "
        "this deployment."
    )
    make_az(client, make_az_profile(client, {"valid_vip_networks": ["private"]})["id"], "az2")
    assert ok(create_lb(client, availability_zone="az2"), 201)
