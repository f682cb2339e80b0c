"""Request bodies of listeners (Octavia §1.6).

The TLS attributes are accepted with their types checked, so that a client
sending Octavia's full attribute set is understood; the service then refuses
any of them on an HTTP or TCP listener, as Octavia does.
"""

from statera.api.schemas.base import Body
from statera.api.schemas.l7policies import L7PolicySingleCreate
from statera.api.schemas.pools import PoolSingleCreate
from statera.api.schemas.types import (
    AlpnProtocols,
    Cidrs,
    Ciphers,
    ClientAuthentication,
    ConnectionLimit,
    Description,
    InsertHeaders,
    ListenerProtocolName,
    Name,
    NonNegative,
    Port,
    ProjectId,
    Ref,
    RefList,
    Tags,
    TimeoutMs,
    TlsVersions,
    Uuid,
)


class _Fields(Body):
    name: Name | None = None
    description: Description | None = None
    admin_state_up: bool | None = None
    connection_limit: ConnectionLimit | None = None
    default_tls_container_ref: Ref | None = None
    sni_container_refs: RefList | None = None
    default_pool_id: Uuid | None = None
    insert_headers: InsertHeaders | None = None
    timeout_client_data: TimeoutMs | None = None
    timeout_member_connect: TimeoutMs | None = None
    timeout_member_data: TimeoutMs | None = None
    timeout_tcp_inspect: TimeoutMs | None = None
    tags: Tags | None = None
    client_ca_tls_container_ref: Ref | None = None
    client_authentication: ClientAuthentication | None = None
    client_crl_container_ref: Ref | None = None
    allowed_cidrs: Cidrs | None = None
    tls_ciphers: Ciphers | None = None
    tls_versions: TlsVersions | None = None
    alpn_protocols: AlpnProtocols | None = None
    hsts_max_age: NonNegative | None = None
    hsts_include_subdomains: bool | None = None
    hsts_preload: bool | None = None


class ListenerPUT(_Fields):
    pass


class ListenerSingleCreate(_Fields):
    protocol: ListenerProtocolName
    protocol_port: Port
    default_pool: PoolSingleCreate | None = None
    l7policies: list[L7PolicySingleCreate] | None = None


class ListenerPOST(ListenerSingleCreate):
    loadbalancer_id: Uuid
    project_id: ProjectId | None = None
    tenant_id: ProjectId | None = None


class ListenerRootPOST(Body):
    listener: ListenerPOST


class ListenerRootPUT(Body):
    listener: ListenerPUT
