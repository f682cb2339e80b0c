"""Request bodies of flavor profiles, flavors, AZ profiles and AZs (Octavia §1.15).

Profile data is a JSON *string* of at most 4096 characters; what it may
contain is the provider's business (`domain/providers.py`), checked by the
service after the body has parsed.
"""

from typing import Annotated

from pydantic import AfterValidator

from statera.api.schemas.base import Body
from statera.api.schemas.types import Description, Name, Uuid, fail

DATA_MAX = 4096


def _data(value: str) -> str:
    if len(value) > DATA_MAX:
        fail(f"Value should have a maximum character requirement of {DATA_MAX}")
    return value


def _provider(value: str) -> str:
    if len(value) > 255:
        fail("Value should have a maximum character requirement of 255")
    return value


ProfileData = Annotated[str, AfterValidator(_data)]
ProviderName = Annotated[str, AfterValidator(_provider)]


class FlavorProfilePOST(Body):
    name: Name
    provider_name: ProviderName
    flavor_data: ProfileData


class FlavorProfilePUT(Body):
    name: Name | None = None
    provider_name: ProviderName | None = None
    flavor_data: ProfileData | None = None


class FlavorProfileRootPOST(Body):
    flavorprofile: FlavorProfilePOST


class FlavorProfileRootPUT(Body):
    flavorprofile: FlavorProfilePUT


class FlavorPOST(Body):
    name: Name
    description: Description | None = None
    enabled: bool | None = None
    flavor_profile_id: Uuid


class FlavorPUT(Body):
    name: Name | None = None
    description: Description | None = None
    enabled: bool | None = None


class FlavorRootPOST(Body):
    flavor: FlavorPOST


class FlavorRootPUT(Body):
    flavor: FlavorPUT


class AvailabilityZoneProfilePOST(Body):
    name: Name
    provider_name: ProviderName
    availability_zone_data: ProfileData


class AvailabilityZoneProfilePUT(Body):
    name: Name | None = None
    provider_name: ProviderName | None = None
    availability_zone_data: ProfileData | None = None


class AvailabilityZoneProfileRootPOST(Body):
    availability_zone_profile: AvailabilityZoneProfilePOST


class AvailabilityZoneProfileRootPUT(Body):
    availability_zone_profile: AvailabilityZoneProfilePUT


class AvailabilityZonePOST(Body):
    name: Name
    description: Description | None = None
    enabled: bool | None = None
    availability_zone_profile_id: Uuid


class AvailabilityZonePUT(Body):
    description: Description | None = None
    enabled: bool | None = None


class AvailabilityZoneRootPOST(Body):
    availability_zone: AvailabilityZonePOST


class AvailabilityZoneRootPUT(Body):
    availability_zone: AvailabilityZonePUT
