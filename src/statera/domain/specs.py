"""Frozen pictures of the desired state of one load balancer.

`db/snapshots.py` builds them from database rows; `rendering` turns them into
HAProxy configuration; the controller compares and applies them. They hold
only validated values (the API checked every string), and they contain no
object that is being deleted.
"""

from dataclasses import dataclass, field

from statera.domain.enums import (
    Algorithm,
    HealthMonitorType,
    L7PolicyAction,
    L7RuleCompareType,
    L7RuleType,
    ListenerProtocol,
    PoolProtocol,
    SessionPersistenceType,
    Topology,
)
from statera.domain.security_groups import SecurityGroupRuleSpec


@dataclass(frozen=True)
class HealthMonitorSpec:
    id: str
    type: HealthMonitorType
    delay_s: int
    timeout_s: int
    max_retries: int
    """Successful checks before a member is UP again (HAProxy `rise`)."""
    max_retries_down: int
    """Failed checks before a member is DOWN (HAProxy `fall`)."""
    admin_state_up: bool = True
    http_method: str | None = None
    url_path: str | None = None
    expected_codes: str | None = None
    http_version: float | None = None
    domain_name: str | None = None


@dataclass(frozen=True)
class MemberSpec:
    id: str
    address: str
    protocol_port: int
    weight: int = 1
    backup: bool = False
    admin_state_up: bool = True
    monitor_address: str | None = None
    monitor_port: int | None = None


@dataclass(frozen=True)
class SessionPersistenceSpec:
    type: SessionPersistenceType
    cookie_name: str | None = None
    persistence_timeout: int | None = None
    """UDP pools: seconds a client keeps its member (Octavia's default 360)."""
    persistence_granularity: str | None = None
    """UDP pools: the netmask clients are grouped by (default /32 or /128)."""


@dataclass(frozen=True)
class PoolTlsSpec:
    """Re-encryption to members: HAProxy speaks TLS to each server. Without a CA it does
    not verify the member (Octavia's `verify none`); file names are of
    `LoadBalancerSpec.tls_files`."""

    versions: tuple[str, ...] = ()
    """Octavia names (TLSv1 ... TLSv1.3); empty: HAProxy's defaults."""
    ciphers: str | None = None
    """OpenSSL cipher list; None: HAProxy's defaults."""
    alpn_protocols: tuple[str, ...] = ()
    """Offered to the member in this order; empty: no ALPN."""
    certificate: str | None = None
    """PEM file (certificate, intermediates, key) presented to members (`tls_container_ref`)."""
    ca: str | None = None
    """PEM file of the CAs members' certificates are verified against (`ca_tls_container_ref`)."""
    crl: str | None = None
    """PEM file of the revocation list (`crl_container_ref`); only with `ca`."""


@dataclass(frozen=True)
class ListenerTlsSpec:
    """TLS termination on a TERMINATED_HTTPS listener; file names are of
    `LoadBalancerSpec.tls_files`."""

    certificates: tuple[str, ...]
    """PEM files (certificate, intermediates, private key): the default certificate
    (`default_tls_container_ref`) first, then the SNI ones (`sni_container_refs`) in order."""
    client_ca: str | None = None
    """PEM file of the CAs client certificates are checked against."""
    client_crl: str | None = None
    """PEM file of the client CA's revocation list; only with `client_ca`."""
    client_authentication: str = "NONE"
    """NONE, OPTIONAL or MANDATORY (Octavia's names)."""
    versions: tuple[str, ...] = ()
    """Octavia names (TLSv1 ... TLSv1.3); empty: HAProxy's defaults."""
    ciphers: str | None = None
    """OpenSSL cipher list (TLS 1.2 and below); None: HAProxy's defaults."""
    alpn_protocols: tuple[str, ...] = ()
    """Offered to clients in this order (h2, http/1.1, http/1.0); empty: no ALPN."""
    hsts_max_age: int | None = None
    """Strict-Transport-Security max-age in seconds; None: no HSTS header."""
    hsts_include_subdomains: bool = False
    hsts_preload: bool = False


@dataclass(frozen=True)
class PoolSpec:
    id: str
    protocol: PoolProtocol
    lb_algorithm: Algorithm
    admin_state_up: bool = True
    members: tuple[MemberSpec, ...] = ()
    health_monitor: HealthMonitorSpec | None = None
    session_persistence: SessionPersistenceSpec | None = None
    tls: PoolTlsSpec | None = None
    """Set when the pool's `tls_enabled` is true."""


@dataclass(frozen=True)
class L7RuleSpec:
    id: str
    type: L7RuleType
    compare_type: L7RuleCompareType
    value: str
    key: str | None = None
    invert: bool = False
    admin_state_up: bool = True


@dataclass(frozen=True)
class L7PolicySpec:
    id: str
    action: L7PolicyAction
    position: int
    """1..N within the listener (the API keeps them contiguous)."""
    admin_state_up: bool = True
    redirect_pool_id: str | None = None
    redirect_url: str | None = None
    redirect_prefix: str | None = None
    redirect_http_code: int | None = None
    rules: tuple[L7RuleSpec, ...] = ()
    """ANDed; a policy with no enabled rule is not rendered."""


@dataclass(frozen=True)
class ListenerSpec:
    id: str
    protocol: ListenerProtocol
    protocol_port: int
    admin_state_up: bool = True
    connection_limit: int = -1
    """-1 means unlimited (rendered as `[haproxy_amphora] default_connection_limit`)."""
    default_pool_id: str | None = None
    timeout_client_data_ms: int = 50000
    timeout_member_connect_ms: int = 5000
    timeout_member_data_ms: int = 50000
    timeout_tcp_inspect_ms: int = 0
    allowed_cidrs: tuple[str, ...] = ()
    insert_headers: tuple[tuple[str, str], ...] = ()
    """(header name, "true"/"false") pairs, names from Octavia's closed list."""
    l7policies: tuple[L7PolicySpec, ...] = ()
    """In position order."""
    tls: ListenerTlsSpec | None = None
    """Set on TERMINATED_HTTPS listeners."""


@dataclass(frozen=True)
class LoadBalancerSpec:
    id: str
    vip_address: str
    admin_state_up: bool = True
    additional_vips: tuple[str, ...] = ()
    """More addresses every listener binds, on other subnets of the VIP network."""
    vip_security_rules: tuple[SecurityGroupRuleSpec, ...] | None = None
    """The rules of the load balancer's `vip_sg_ids`; None: no security group of the
    tenant's, the VIP is open to every listener port (`allowed_cidrs` aside)."""
    topology: Topology = Topology.SINGLE
    listeners: tuple[ListenerSpec, ...] = ()
    pools: tuple[PoolSpec, ...] = ()
    generation: int = 0
    peers: tuple[tuple[str, str], ...] = ()
    """ACTIVE_STANDBY: (amphora id, vrrp_ip) of both amphorae; their HAProxies sync stick
    tables, so session persistence survives the VIP moving."""
    tls_files: tuple[tuple[str, bytes], ...] = ()
    """(file name, PEM bytes) of every certificate, key, CA and CRL file the listeners and
    pools name; file names match [A-Za-z0-9_.-]+ and end in .pem. Secret: never logged."""

    @property
    def vip_addresses(self) -> tuple[str, ...]:
        return (self.vip_address, *self.additional_vips)

    def pool(self, pool_id: str) -> PoolSpec | None:
        return next((p for p in self.pools if p.id == pool_id), None)


@dataclass(frozen=True)
class AmphoraRuntime:
    """Where one amphora keeps its HAProxy files; rendered into the config."""

    amphora_id: str
    base_dir: str
    """Directory owned by this amphora's agent; the stats socket lives here."""

    @property
    def stats_socket(self) -> str:
        return f"{self.base_dir}/haproxy.sock"

    @property
    def server_state_file(self) -> str:
        return f"{self.base_dir}/haproxy.state"


@dataclass(frozen=True)
class HaproxyDefaults:
    """Operator-level rendering knobs from `[haproxy_amphora]`."""

    default_connection_limit: int = 50000
    max_global_connections: int = 8000
    """Ceiling for HAProxy's global maxconn; the host's nofile hard limit is 20000."""
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VrrpSpec:
    """One amphora's keepalived instance of an ACTIVE_STANDBY load balancer.

    `rendering/keepalived.py` turns it into keepalived.conf; both amphorae of the
    load balancer get one, alike but for `priority`, `own_ip` and `peer_ips`.
    """

    lb_id: str
    router_id: int
    """VRRP `virtual_router_id`, 1-255, shared by the two amphorae."""
    priority: int
    """100 on the MASTER, 90 on the BACKUP; the initial `state` follows from it."""
    own_ip: str
    """This amphora's vrrp_ip on `interface` (`unicast_src_ip`)."""
    peer_ips: tuple[str, ...]
    """The other amphora's vrrp_ip (`unicast_peer`)."""
    vip: str
    """The primary VIP; same IP family as `own_ip`."""
    additional_vips: tuple[str, ...] = ()
    """More VIPs the MASTER holds; may be of the other IP family."""
    vip_prefixes: tuple[tuple[str, int], ...] = ()
    """(address, prefix length of its subnet) of each VIP; a VIP not listed is a host route."""
    auth_pass: str = ""
    """VRRP PASS authentication, up to 8 of [A-Za-z0-9]; empty (and IPv6) means none."""
    advert_int: int = 1
    """Seconds between advertisements."""
    interface: str = "eth1"
