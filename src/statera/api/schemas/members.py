"""Request bodies of members, one at a time and in a batch (Octavia §1.8)."""

from statera.api.schemas.base import Body
from statera.api.schemas.types import (
    IpAddress,
    Name,
    NetworkRef,
    Port,
    ProjectId,
    Tags,
    Weight,
)


class _Fields(Body):
    name: Name | None = None
    admin_state_up: bool | None = None
    weight: Weight | None = None
    backup: bool | None = None
    monitor_port: Port | None = None
    monitor_address: IpAddress | None = None
    tags: Tags | None = None


class MemberPUT(_Fields):
    pass


class MemberSingleCreate(_Fields):
    address: IpAddress
    protocol_port: Port
    subnet_id: NetworkRef | None = None
    request_sriov: bool | None = None


class MemberPOST(MemberSingleCreate):
    project_id: ProjectId | None = None
    tenant_id: ProjectId | None = None


class MemberRootPOST(Body):
    member: MemberPOST


class MemberRootPUT(Body):
    member: MemberPUT


class MembersRootPUT(Body):
    members: list[MemberPOST]
