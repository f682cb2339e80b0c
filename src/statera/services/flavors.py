"""Flavor profiles, flavors, availability-zone profiles and availability zones (Octavia §1.15).

These are operator objects with no provisioning status: a write is one plain
transaction, no load balancer is locked and the controller is not involved.
Profile data (`flavor_data`, `availability_zone_data`) is a JSON string the
provider validates when it is written (`domain/providers.py`). The rules a
reader could break: a profile used by a flavor (or AZ) cannot be deleted or
have its provider or data changed, and a flavor (or AZ) used by a load
balancer that is not DELETED cannot be deleted (409, "... is in use and cannot
be modified."). `for_load_balancer` is what a load balancer create asks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from statera.db.base import new_id
from statera.db.models import (
    AvailabilityZone,
    AvailabilityZoneProfile,
    Flavor,
    FlavorProfile,
    LoadBalancer,
)
from statera.domain.enums import ProvisioningStatus
from statera.domain.errors import (
    Conflict,
    InvalidSpec,
    NotFound,
    NotSupported,
    ProviderUnsupported,
)
from statera.domain.providers import check_availability_zone_data, check_flavor_data
from statera.settings import Settings

FLAVOR_PROFILE = "Flavor profile"
FLAVOR = "Flavor"
AZ_PROFILE = "Availability Zone Profile"
AZ = "Availability Zone"
DELETED = ProvisioningStatus.DELETED.value


def check_provider(settings: Settings, provider: str) -> str:
    """`provider` if it is enabled, else Octavia's 400."""
    if provider not in settings.api.providers:
        raise InvalidSpec(f"Provider '{provider}' is not enabled.")
    return provider


def _invalid_option(value: Any, option: str) -> InvalidSpec:
    return InvalidSpec(f"{value} is not a valid option for {option}")


def _in_use(kind: str, object_id: str) -> Conflict:
    return Conflict(f"{kind} {object_id} is in use and cannot be modified.")


def _decode(raw: str, option: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise _invalid_option(raw, option) from None


def _validate_flavor_data(settings: Settings, provider: str, raw: str) -> None:
    data = _decode(raw, "flavor_data")
    check_provider(settings, provider)
    problem = check_flavor_data(data)
    if problem is not None:
        raise ProviderUnsupported.of(provider, problem)


def _validate_az_data(settings: Settings, provider: str, raw: str) -> None:
    data = _decode(raw, "availability_zone_data")
    check_provider(settings, provider)
    problem = check_availability_zone_data(data)
    if problem is not None:
        raise ProviderUnsupported.of(provider, problem)


def _reject_nulls(values: Mapping[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        if key in values and values[key] is None:
            raise _invalid_option(None, key)


# -- flavor profiles ----------------------------------------------------------------------


def get_flavor_profile(session: Session, profile_id: str) -> FlavorProfile:
    row = session.get(FlavorProfile, profile_id)
    if row is None:
        raise NotFound.of(FLAVOR_PROFILE, profile_id)
    return row


def create_flavor_profile(
    session: Session, *, settings: Settings, values: Mapping[str, Any]
) -> FlavorProfile:
    _validate_flavor_data(settings, values["provider_name"], values["flavor_data"])
    row = FlavorProfile(
        id=new_id(),
        name=values["name"],
        provider_name=values["provider_name"],
        flavor_data=values["flavor_data"],
    )
    session.add(row)
    return row


def _flavors_using(session: Session, profile_id: str) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(Flavor).where(Flavor.flavor_profile_id == profile_id)
        )
        or 0
    )


def update_flavor_profile(
    session: Session, *, settings: Settings, profile_id: str, values: Mapping[str, Any]
) -> FlavorProfile:
    _reject_nulls(values, ("name", "provider_name", "flavor_data"))
    row = get_flavor_profile(session, profile_id)
    if ("flavor_data" in values or "provider_name" in values) and _flavors_using(
        session, profile_id
    ):
        raise _in_use(FLAVOR_PROFILE, profile_id)
    provider = values.get("provider_name", row.provider_name)
    if "flavor_data" in values:
        _validate_flavor_data(settings, provider, values["flavor_data"])
    elif "provider_name" in values:
        check_provider(settings, provider)
    for key in ("name", "provider_name", "flavor_data"):
        if key in values:
            setattr(row, key, values[key])
    return row


def delete_flavor_profile(session: Session, *, profile_id: str) -> None:
    row = get_flavor_profile(session, profile_id)
    if _flavors_using(session, profile_id):
        raise _in_use(FLAVOR_PROFILE, profile_id)
    session.delete(row)


# -- flavors ------------------------------------------------------------------------------


def get_flavor(session: Session, flavor_id: str) -> Flavor:
    row = session.get(Flavor, flavor_id)
    if row is None:
        raise NotFound.of(FLAVOR, flavor_id)
    return row


def _check_flavor_name(session: Session, name: str, *, other_than: str | None = None) -> None:
    query = select(Flavor.id).where(Flavor.name == name)
    if other_than is not None:
        query = query.where(Flavor.id != other_than)
    if session.scalar(query) is not None:
        raise Conflict(f"A flavor of {name} already exists.")


def create_flavor(session: Session, *, values: Mapping[str, Any]) -> Flavor:
    profile_id = values["flavor_profile_id"]
    if session.get(FlavorProfile, profile_id) is None:
        raise _invalid_option(profile_id, "flavor_profile_id")
    _check_flavor_name(session, values["name"])
    row = Flavor(
        id=new_id(),
        name=values["name"],
        description=values.get("description"),
        enabled=True if values.get("enabled") is None else values["enabled"],
        flavor_profile_id=profile_id,
    )
    session.add(row)
    return row


def update_flavor(session: Session, *, flavor_id: str, values: Mapping[str, Any]) -> Flavor:
    _reject_nulls(values, ("name",))
    row = get_flavor(session, flavor_id)
    if "name" in values and values["name"] != row.name:
        _check_flavor_name(session, values["name"], other_than=flavor_id)
        row.name = values["name"]
    if "description" in values:
        row.description = values["description"]
    if "enabled" in values:
        row.enabled = True if values["enabled"] is None else values["enabled"]
    return row


def _load_balancers_using(session: Session, condition: Any) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(LoadBalancer)
            .where(condition, LoadBalancer.provisioning_status != DELETED)
        )
        or 0
    )


def delete_flavor(session: Session, *, flavor_id: str) -> None:
    row = get_flavor(session, flavor_id)
    if _load_balancers_using(session, LoadBalancer.flavor_id == flavor_id):
        raise _in_use(FLAVOR, flavor_id)
    session.delete(row)


# -- availability zone profiles -----------------------------------------------------------


def get_az_profile(session: Session, profile_id: str) -> AvailabilityZoneProfile:
    row = session.get(AvailabilityZoneProfile, profile_id)
    if row is None:
        raise NotFound.of(AZ_PROFILE, profile_id)
    return row


def create_az_profile(
    session: Session, *, settings: Settings, values: Mapping[str, Any]
) -> AvailabilityZoneProfile:
    _validate_az_data(settings, values["provider_name"], values["availability_zone_data"])
    row = AvailabilityZoneProfile(
        id=new_id(),
        name=values["name"],
        provider_name=values["provider_name"],
        availability_zone_data=values["availability_zone_data"],
    )
    session.add(row)
    return row


def _zones_using(session: Session, profile_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(AvailabilityZone)
            .where(AvailabilityZone.availability_zone_profile_id == profile_id)
        )
        or 0
    )


def update_az_profile(
    session: Session, *, settings: Settings, profile_id: str, values: Mapping[str, Any]
) -> AvailabilityZoneProfile:
    _reject_nulls(values, ("name", "provider_name", "availability_zone_data"))
    row = get_az_profile(session, profile_id)
    if ("availability_zone_data" in values or "provider_name" in values) and _zones_using(
        session, profile_id
    ):
        raise _in_use(AZ_PROFILE, profile_id)
    provider = values.get("provider_name", row.provider_name)
    if "availability_zone_data" in values:
        _validate_az_data(settings, provider, values["availability_zone_data"])
    elif "provider_name" in values:
        check_provider(settings, provider)
    for key in ("name", "provider_name", "availability_zone_data"):
        if key in values:
            setattr(row, key, values[key])
    return row


def delete_az_profile(session: Session, *, profile_id: str) -> None:
    row = get_az_profile(session, profile_id)
    if _zones_using(session, profile_id):
        raise _in_use(AZ_PROFILE, profile_id)
    session.delete(row)


# -- availability zones -------------------------------------------------------------------


def get_az(session: Session, name: str) -> AvailabilityZone:
    row = session.get(AvailabilityZone, name)
    if row is None:
        raise NotFound.of(AZ, name)
    return row


def create_az(session: Session, *, values: Mapping[str, Any]) -> AvailabilityZone:
    profile_id = values["availability_zone_profile_id"]
    if session.get(AvailabilityZoneProfile, profile_id) is None:
        raise _invalid_option(profile_id, "availability_zone_profile_id")
    if session.get(AvailabilityZone, values["name"]) is not None:
        raise Conflict(f"A availability_zone of {values['name']} already exists.")
    row = AvailabilityZone(
        name=values["name"],
        description=values.get("description"),
        enabled=True if values.get("enabled") is None else values["enabled"],
        availability_zone_profile_id=profile_id,
    )
    session.add(row)
    return row


def update_az(session: Session, *, name: str, values: Mapping[str, Any]) -> AvailabilityZone:
    row = get_az(session, name)
    if "description" in values:
        row.description = values["description"]
    if "enabled" in values:
        row.enabled = True if values["enabled"] is None else values["enabled"]
    return row


def delete_az(session: Session, *, name: str) -> None:
    row = get_az(session, name)
    if _load_balancers_using(session, LoadBalancer.availability_zone == name):
        raise _in_use(AZ, name)
    session.delete(row)


# -- what a load balancer create uses -----------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """What a flavor and an availability zone decide for a new load balancer."""

    provider: str
    topology: str
    compute_flavor: str | None = None
    compute_zone: str | None = None
    valid_vip_networks: tuple[str, ...] | None = None
    """None: any declared network may hold the VIP."""


def for_load_balancer(
    session: Session,
    *,
    settings: Settings,
    provider: str | None,
    flavor_id: str | None,
    availability_zone: str | None,
) -> Placement:
    """Check the flavor and AZ a load balancer asks for and say what they decide.

    Octavia's rules: each must exist (400 "Invalid flavor_id." / "Invalid
    availability zone.") and be enabled (400 "The selected ... is not allowed
    in this deployment"); a flavor's provider must match an explicit
    `provider`, and without one the flavor's provider is used.
    """
    flavor_data: dict[str, Any] = {}
    if flavor_id is not None:
        flavor = session.get(Flavor, flavor_id)
        if flavor is None:
            raise InvalidSpec("Validation failure: Invalid flavor_id.")
        if not flavor.enabled:
            raise InvalidSpec(f"The selected flavor is not allowed in this deployment: {flavor_id}")
        profile = session.get(FlavorProfile, flavor.flavor_profile_id)
        assert profile is not None  # a foreign key
        if provider is not None and provider != profile.provider_name:
            raise InvalidSpec(f"Flavor '{flavor_id}' is not compatible with provider '{provider}'")
        provider = profile.provider_name
        flavor_data = json.loads(profile.flavor_data)
    provider = check_provider(settings, provider or settings.api.default_provider_driver)
    az_data: dict[str, Any] = {}
    if availability_zone is not None:
        zone = session.get(AvailabilityZone, availability_zone)
        if zone is None:
            raise InvalidSpec("Validation failure: Invalid availability zone.")
        if not zone.enabled:
            raise InvalidSpec(
                "The selected availability_zone is not allowed in this deployment: "
                f"{availability_zone}"
            )
        az_profile = session.get(AvailabilityZoneProfile, zone.availability_zone_profile_id)
        assert az_profile is not None
        if az_profile.provider_name != provider:
            raise InvalidSpec(
                f"Availability zone '{availability_zone}' is not compatible with provider "
                f"'{provider}'"
            )
        az_data = json.loads(az_profile.availability_zone_data)
    topology = flavor_data.get("loadbalancer_topology") or settings.controller.loadbalancer_topology
    if flavor_data.get("sriov_vip"):
        raise NotSupported("sriov_vip is not supported by this release: amphorae use veths.")
    valid = az_data.get("valid_vip_networks")
    return Placement(
        provider=provider,
        topology=topology,
        compute_flavor=flavor_data.get("compute_flavor"),
        compute_zone=az_data.get("compute_zone"),
        valid_vip_networks=None if not valid else tuple(valid),
    )
