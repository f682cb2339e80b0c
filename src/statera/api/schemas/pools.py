"""Request bodies of pools and session persistence (Octavia §1.7).

A pool inside a single-call create (`PoolSingleCreate`) may be only a name: a
reference to a pool fully defined elsewhere in the same request.
"""

from statera.api.schemas.base import Body
from statera.api.schemas.health_monitors import HealthMonitorSingleCreate
from statera.api.schemas.members import MemberSingleCreate
from statera.api.schemas.types import (
    AlgorithmName,
    AlpnProtocols,
    Ciphers,
    CookieName,
    Description,
    IpAddress,
    Name,
    NonNegative,
    PersistenceTypeName,
    PoolProtocolName,
    ProjectId,
    Ref,
    Tags,
    TlsVersions,
    Uuid,
)


class SessionPersistencePOST(Body):
    type: PersistenceTypeName
    cookie_name: CookieName | None = None
    persistence_timeout: NonNegative | None = None
    persistence_granularity: IpAddress | None = None


class SessionPersistencePUT(Body):
    type: PersistenceTypeName | None = None
    cookie_name: CookieName | None = None
    persistence_timeout: NonNegative | None = None
    persistence_granularity: IpAddress | None = None


class _Fields(Body):
    name: Name | None = None
    description: Description | None = None
    admin_state_up: bool | None = None
    lb_algorithm: AlgorithmName | None = None
    tags: Tags | None = None
    tls_container_ref: Ref | None = None
    ca_tls_container_ref: Ref | None = None
    crl_container_ref: Ref | None = None
    tls_enabled: bool | None = None
    tls_ciphers: Ciphers | None = None
    tls_versions: TlsVersions | None = None
    alpn_protocols: AlpnProtocols | None = None


class PoolPUT(_Fields):
    session_persistence: SessionPersistencePUT | None = None


class PoolSingleCreate(_Fields):
    protocol: PoolProtocolName | None = None
    session_persistence: SessionPersistencePOST | None = None
    healthmonitor: HealthMonitorSingleCreate | None = None
    members: list[MemberSingleCreate] | None = None


class PoolPOST(PoolSingleCreate):
    protocol: PoolProtocolName
    lb_algorithm: AlgorithmName
    listener_id: Uuid | None = None
    loadbalancer_id: Uuid | None = None
    project_id: ProjectId | None = None
    tenant_id: ProjectId | None = None


class PoolRootPOST(Body):
    pool: PoolPOST


class PoolRootPUT(Body):
    pool: PoolPUT
