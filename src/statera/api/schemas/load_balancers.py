"""Request bodies of load balancers, including the single-call graph create (§1.5)."""

from statera.api.schemas.base import Body
from statera.api.schemas.listeners import ListenerSingleCreate
from statera.api.schemas.pools import PoolSingleCreate
from statera.api.schemas.types import (
    Description,
    IpAddress,
    Name,
    NetworkRef,
    ProjectId,
    ProviderName,
    Tags,
    Uuid,
)


class AdditionalVip(Body):
    subnet_id: NetworkRef
    ip_address: IpAddress | None = None


class LoadBalancerPOST(Body):
    name: Name | None = None
    description: Description | None = None
    admin_state_up: bool | None = None
    vip_address: IpAddress | None = None
    vip_port_id: Uuid | None = None
    vip_subnet_id: NetworkRef | None = None
    vip_network_id: NetworkRef | None = None
    vip_qos_policy_id: Uuid | None = None
    vip_sg_ids: list[Uuid] | None = None
    additional_vips: list[AdditionalVip] | None = None
    project_id: ProjectId | None = None
    tenant_id: ProjectId | None = None
    listeners: list[ListenerSingleCreate] | None = None
    pools: list[PoolSingleCreate] | None = None
    provider: ProviderName | None = None
    tags: Tags | None = None
    flavor_id: Uuid | None = None
    availability_zone: Name | None = None


class LoadBalancerPUT(Body):
    name: Name | None = None
    description: Description | None = None
    admin_state_up: bool | None = None
    vip_qos_policy_id: Uuid | None = None
    vip_sg_ids: list[Uuid] | None = None
    tags: Tags | None = None


class LoadBalancerRootPOST(Body):
    loadbalancer: LoadBalancerPOST


class LoadBalancerRootPUT(Body):
    loadbalancer: LoadBalancerPUT
