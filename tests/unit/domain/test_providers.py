"""The amphora provider's flavor and availability-zone metadata rules, and the
`enabled_provider_drivers` option they are looked up by."""

from __future__ import annotations

from typing import Any

import pytest

from statera.domain.providers import check_availability_zone_data, check_flavor_data
from statera.settings import SettingsError, load_settings, parse_provider_drivers


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"loadbalancer_topology": "SINGLE"},
        {"loadbalancer_topology": "ACTIVE_STANDBY", "compute_flavor": "m1", "amp_image_tag": "t"},
        {"sriov_vip": False, "allow_member_sriov": True},
    ],
)
def test_valid_flavor_data(data: dict[str, Any]) -> None:
    assert check_flavor_data(data) is None


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "[] is not of type 'object'"),
        ({"x": 1, "y": 2}, "Additional properties are not allowed ('x', 'y' were unexpected)"),
        ({"compute_flavor": 3}, "compute_flavor 3 is not of type 'string'"),
        ({"sriov_vip": 1}, "sriov_vip 1 is not of type 'boolean'"),
        ({"amp_image_tag": True}, "amp_image_tag True is not of type 'string'"),
        (
            {"loadbalancer_topology": "single"},
            "loadbalancer_topology 'single' is not one of ['SINGLE', 'ACTIVE_STANDBY']",
        ),
    ],
)
def test_invalid_flavor_data(data: Any, problem: str) -> None:
    assert check_flavor_data(data) == problem


def test_availability_zone_data() -> None:
    assert check_availability_zone_data({"compute_zone": "a", "valid_vip_networks": ["n"]}) is None
    assert check_availability_zone_data({"valid_vip_networks": [1]}) == (
        "valid_vip_networks [1] is not an array of strings"
    )
    assert check_availability_zone_data({"loadbalancer_topology": "SINGLE"}) == (
        "Additional properties are not allowed ('loadbalancer_topology' was unexpected)"
    )


def test_enabled_provider_drivers_are_octavias_dict_option() -> None:
    assert parse_provider_drivers("amphora:'A, with a comma',octavia:\"B\"") == {
        "amphora": "A, with a comma",
        "octavia": "B",
    }
    assert parse_provider_drivers(" octavia : plain words ") == {"octavia": "plain words"}
    for bad in ("", "amphora", "ovn:'OVN'", "amphora:'x' junk"):
        with pytest.raises(ValueError):
            parse_provider_drivers(bad)
    assert list(load_settings().api.providers) == ["amphora", "octavia"]
    with pytest.raises(SettingsError, match="enabled_provider_drivers"):
        load_settings(overrides="[api_settings]\nenabled_provider_drivers = ovn:'OVN'\n")
