"""Typed settings, loaded once from one INI file and passed down by group.

Section and option names follow Octavia's `octavia.conf` where Octavia has the
same thing (octavia-spec §6); Statera's own options live beside them. Every
option and its default is documented in `etc/statera.conf.example`; keep the
two in step (a unit test compares them). A bad value fails with a message that
names the section, the key, the value and what was expected.

Tenant networks are sections named `[network:<name>]`; with no such section
the built-in network `private` (10.0.0.0/24 on bridge `<prefix>-private`)
exists, so `statera up` needs no file at all.
"""

from __future__ import annotations

import configparser
import ipaddress
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# Stable namespace for ids derived from names (network and subnet ids).
_ID_NAMESPACE = uuid.UUID("5b0f2f8e-6f0c-4b8e-9b0e-7a7e4f6c1d2a")

_PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,4}$")
_IFNAME_MAX = 15
MAX_STATE_DIR_LENGTH = 97 - len("/amphorae/") - 36 - len("/haproxy.sock")


OWASP_SUITE_B_CIPHERS = (
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:"
    "DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "DHE-RSA-AES256-SHA256:DHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:"
    "ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256"
)
"""Octavia's default cipher list for listeners and pools (OWASP "suite B")."""
CIPHERS_PATTERN = r"^[A-Za-z0-9:+\-_.!@=]{1,2048}$"


class SettingsError(ValueError):
    """A configuration file or value that cannot be used; the message says why."""


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class DefaultSettings(_Group):
    state_dir: Path = Path("/var/lib/statera")
    """Everything Statera writes on disk lives under this directory."""
    name_prefix: str = "st"
    """Prefix of every bridge, namespace and veth Statera creates (1-5 of [a-z0-9])."""
    host: str = ""
    """Name of this process in leases; default: hostname and pid."""
    debug: bool = False
    """Log at DEBUG level."""

    @field_validator("state_dir")
    @classmethod
    def _state_dir(cls, value: Path) -> Path:
        if not value.is_absolute():
            raise ValueError("must be an absolute path")
        # HAProxy's unix sockets live at <state_dir>/amphorae/<uuid>/haproxy.sock and
        # HAProxy refuses socket paths longer than 97 bytes.
        if len(str(value)) > MAX_STATE_DIR_LENGTH:
            raise ValueError(
                f"must be at most {MAX_STATE_DIR_LENGTH} characters long (HAProxy limits the "
                "length of the socket paths that live under it)"
            )
        return value

    @field_validator("name_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not _PREFIX_RE.match(value):
            raise ValueError("must be 1-5 characters of a-z and 0-9, starting with a letter")
        return value


class ApiSettings(_Group):
    bind_host: str = "127.0.0.1"
    """Address the API listens on."""
    bind_port: int = Field(9876, ge=1, le=65535)
    """Port the API listens on (Octavia's)."""
    auth_strategy: str = "noauth"
    """`noauth` (every caller is admin), `testing` (X-Project-Id/X-Roles, policy enforced),
    `tokens` (X-Auth-Token looked up in token_file) or `keystone` ([keystone_authtoken])."""
    default_project_id: str = "admin"
    """noauth: project of a new load balancer when neither the body nor X-Project-Id names one."""
    token_file: str = ""
    """tokens: YAML or JSON file of sha256(token) -> project_id, user_id, roles; re-read when it changes."""
    response_cache_entries: int = Field(256, ge=0)
    """GET answers kept while the database is unchanged (SQLite; 0 turns the cache off)."""
    pagination_max_limit: int = Field(1000, ge=1)
    """Largest page a list call returns, whatever `limit` asks."""
    api_base_uri: str = ""
    """Base of the links in list responses; default: the request's own URL."""
    allow_pagination: bool = True
    """Honour `limit`/`marker` in list calls."""
    allow_sorting: bool = True
    """Honour `sort`/`sort_key`/`sort_dir` in list calls."""
    allow_filtering: bool = True
    """Honour `?field=value` filters in list calls."""
    allow_field_selection: bool = True
    """Honour `fields=` in GET calls."""
    default_provider_driver: str = "amphora"
    """Provider of a load balancer created without `provider`."""
    enabled_provider_drivers: str = (
        "amphora:'The Octavia Amphora driver.',"
        "octavia:'Deprecated alias of the Octavia Amphora driver.'"
    )
    """Providers clients may choose, as Octavia writes them: name:'description',...
    (`amphora` and its deprecated alias `octavia` are the drivers this release has)."""
    allow_ping_health_monitors: bool = True
    """Accept PING health monitors."""
    udp_connect_min_interval_health_monitor: int = Field(3, ge=0)
    """The smallest `delay` (seconds) of a UDP-CONNECT health monitor (Octavia's default)."""
    default_pool_ciphers: str = Field(OWASP_SUITE_B_CIPHERS, pattern=CIPHERS_PATTERN)
    """OpenSSL cipher list of a new TLS-enabled pool that names none (Octavia's OWASP suite B)."""
    default_pool_tls_versions: str = "TLSv1.2, TLSv1.3"
    """Comma-separated TLS versions of a new TLS-enabled pool that names none (Octavia's default)."""
    allow_tls_terminated_listeners: bool = True
    """Accept TERMINATED_HTTPS listeners (their certificates come from the key manager, /v1)."""
    allow_prometheus_listeners: bool = True
    """Accept PROMETHEUS listeners (HAProxy's own metrics at `/metrics` on their port)."""
    default_listener_ciphers: str = Field(OWASP_SUITE_B_CIPHERS, pattern=CIPHERS_PATTERN)
    """OpenSSL cipher list of a new TERMINATED_HTTPS listener that names none (OWASP suite B)."""
    default_listener_tls_versions: str = "TLSv1.2, TLSv1.3"
    """Comma-separated TLS versions of a new TERMINATED_HTTPS listener that names none."""
    default_listener_alpn_protocols: str = "h2, http/1.1, http/1.0"
    """Comma-separated ALPN protocols a new TERMINATED_HTTPS listener offers when it names none."""

    @field_validator("enabled_provider_drivers")
    @classmethod
    def _providers(cls, value: str) -> str:
        parse_provider_drivers(value)
        return value

    @field_validator("default_pool_tls_versions", "default_listener_tls_versions")
    @classmethod
    def _pool_tls_versions(cls, value: str) -> str:
        versions = [v.strip() for v in value.split(",") if v.strip()]
        if not versions:
            raise ValueError("expected at least one TLS version")
        for version in versions:
            _one_of(version, {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"})
        return value

    @property
    def pool_tls_versions(self) -> list[str]:
        """`default_pool_tls_versions` as a list, in the order written."""
        return [v.strip() for v in self.default_pool_tls_versions.split(",") if v.strip()]

    @property
    def listener_tls_versions(self) -> list[str]:
        """`default_listener_tls_versions` as a list, in the order written."""
        return [v.strip() for v in self.default_listener_tls_versions.split(",") if v.strip()]

    @field_validator("default_listener_alpn_protocols")
    @classmethod
    def _alpn(cls, value: str) -> str:
        protocols = [v.strip() for v in value.split(",") if v.strip()]
        if not protocols:
            raise ValueError("expected at least one ALPN protocol")
        for protocol in protocols:
            _one_of(protocol, {"h2", "http/1.1", "http/1.0"})
        return value

    @property
    def listener_alpn_protocols(self) -> list[str]:
        """`default_listener_alpn_protocols` as a list, in the order written."""
        return [v.strip() for v in self.default_listener_alpn_protocols.split(",") if v.strip()]

    @property
    def providers(self) -> dict[str, str]:
        """Enabled provider drivers: name → description, in the configured order."""
        return parse_provider_drivers(self.enabled_provider_drivers)

    @field_validator("auth_strategy")
    @classmethod
    def _auth(cls, value: str) -> str:
        return _one_of(value, {"noauth", "testing", "tokens", "keystone"})


class OsloPolicySettings(_Group):
    policy_file: str = ""
    """YAML or JSON file of policy rules that override the built-in defaults (Octavia's rule names)."""


class QuotaSettings(_Group):
    default_load_balancer_quota: int = Field(-1, ge=-1, le=2000000000)
    """Load balancers per project unless the project has an override; -1 is unlimited."""
    default_listener_quota: int = Field(-1, ge=-1, le=2000000000)
    """Listeners per project unless the project has an override; -1 is unlimited."""
    default_member_quota: int = Field(-1, ge=-1, le=2000000000)
    """Members per project unless the project has an override; -1 is unlimited."""
    default_pool_quota: int = Field(-1, ge=-1, le=2000000000)
    """Pools per project unless the project has an override; -1 is unlimited."""
    default_health_monitor_quota: int = Field(-1, ge=-1, le=2000000000)
    """Health monitors per project unless the project has an override; -1 is unlimited."""
    default_l7policy_quota: int = Field(-1, ge=-1, le=2000000000)
    """L7 policies per project unless the project has an override; -1 is unlimited."""
    default_l7rule_quota: int = Field(-1, ge=-1, le=2000000000)
    """L7 rules per project unless the project has an override; -1 is unlimited."""


class CertificatesSettings(_Group):
    secret_key_file: Path | None = None
    """AES-256-GCM key (32 random bytes) that encrypts the key manager's secret payloads at
    rest; created (mode 0600) on first use. Default: <state_dir>/pki/secrets.key. Hosts that
    share a database must share this file."""

    @field_validator("secret_key_file")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_absolute():
            raise ValueError("must be an absolute path")
        return value


class DatabaseSettings(_Group):
    connection: str = ""
    """SQLAlchemy URL; default: sqlite under state_dir. PostgreSQL: postgresql+psycopg://..."""


class ControllerSettings(_Group):
    amphora_driver: str = "amphora_haproxy_rest_driver"
    """`amphora_haproxy_rest_driver` (real agents) or `amphora_noop_driver`."""
    compute_driver: str = "compute_netns_driver"
    """`compute_netns_driver` (namespaces on this host) or `compute_noop_driver`."""
    network_driver: str = "network_bridge_driver"
    """`network_bridge_driver` (Linux bridges on this host) or `network_noop_driver`."""
    loadbalancer_topology: str = "SINGLE"
    """Topology of new load balancers without a flavor that names one: SINGLE (one amphora)
    or ACTIVE_STANDBY (two, with keepalived moving the VIP between them)."""
    workers: int = Field(4, ge=1, le=64)
    """Load balancers reconciled at the same time by one controller process."""
    lease_seconds: float = Field(30.0, gt=1)
    """How long a claim on a load balancer lasts without renewal before another worker may take it."""
    poll_interval: float = Field(0.5, gt=0)
    """Seconds between scans for work when nothing wakes the controller sooner."""
    build_timeout: float = Field(300.0, gt=0)
    """Seconds a change may keep failing temporarily before its objects go to ERROR."""

    @field_validator("amphora_driver")
    @classmethod
    def _amphora(cls, value: str) -> str:
        return _one_of(value, {"amphora_haproxy_rest_driver", "amphora_noop_driver"})

    @field_validator("compute_driver")
    @classmethod
    def _compute(cls, value: str) -> str:
        return _one_of(value, {"compute_netns_driver", "compute_noop_driver"})

    @field_validator("network_driver")
    @classmethod
    def _network(cls, value: str) -> str:
        return _one_of(value, {"network_bridge_driver", "network_noop_driver"})

    @field_validator("loadbalancer_topology")
    @classmethod
    def _topology(cls, value: str) -> str:
        return _one_of(value, {"SINGLE", "ACTIVE_STANDBY"})


class HaproxyAmphoraSettings(_Group):
    bind_port: int = Field(9443, ge=1, le=65535)
    """Port of the amphora agent's mTLS REST API on the management network."""
    haproxy_cmd: str = "/usr/sbin/haproxy"
    """The HAProxy binary amphorae run (2.6 or newer)."""
    timeout_client_data: int = Field(50000, ge=0, le=2073600000)
    """Default listener timeout_client_data, milliseconds."""
    timeout_member_connect: int = Field(5000, ge=0, le=2073600000)
    """Default listener timeout_member_connect, milliseconds."""
    timeout_member_data: int = Field(50000, ge=0, le=2073600000)
    """Default listener timeout_member_data, milliseconds."""
    timeout_tcp_inspect: int = Field(0, ge=0, le=2073600000)
    """Default listener timeout_tcp_inspect, milliseconds."""
    default_connection_limit: int = Field(50000, ge=1)
    """Connection limit of a listener whose connection_limit is -1."""
    max_global_connections: int = Field(8000, ge=100, le=1000000)
    """HAProxy's global maxconn ceiling (the host's nofile hard limit is what bounds it)."""
    rest_request_conn_timeout: float = Field(10.0, gt=0)
    """Seconds to connect to an amphora agent."""
    rest_request_read_timeout: float = Field(60.0, gt=0)
    """Seconds to wait for an amphora agent's answer."""
    agent_start_timeout: float = Field(30.0, gt=0)
    """Seconds to wait for a new amphora's agent to answer before the build fails."""


class HealthManagerSettings(_Group):
    status_poll_interval: float = Field(2.0, gt=0)
    """Seconds between status reads from each amphora (operating status and stats)."""


class ManagementSettings(_Group):
    cidr: str = "172.31.248.0/21"
    """The management network between the controller host and amphora agents."""
    gateway: str = "172.31.248.1"
    """The host's address on the management bridge."""
    bridge: str = ""
    """Default: <name_prefix>-mgmt."""

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        return str(ipaddress.ip_network(value, strict=True))


class SubnetSettings(_Group):
    """One subnet of a tenant network: IPv4 or IPv6, the host's address on the bridge its gateway."""

    name: str
    id: str
    network_id: str
    cidr: str
    gateway: str
    allocation_pool_start: str
    allocation_pool_end: str

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidr)

    @property
    def ip_version(self) -> int:
        return self.network.version


class NetworkSettings(_Group):
    """One tenant network: a Linux bridge, the host as its gateway.

    Its first (primary) subnet is IPv4 and described by the fields here; more
    subnets of either family come from `[subnet:<name>]` sections (`extra_subnets`).
    """

    name: str
    cidr: str
    gateway: str
    bridge: str
    id: str
    subnet_id: str
    subnet_name: str
    allocation_pool_start: str
    allocation_pool_end: str
    extra_subnets: tuple[SubnetSettings, ...] = ()

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidr)

    @property
    def primary(self) -> SubnetSettings:
        return SubnetSettings(
            name=self.subnet_name,
            id=self.subnet_id,
            network_id=self.id,
            cidr=self.cidr,
            gateway=self.gateway,
            allocation_pool_start=self.allocation_pool_start,
            allocation_pool_end=self.allocation_pool_end,
        )

    @property
    def subnets(self) -> tuple[SubnetSettings, ...]:
        """The primary subnet first, then the extra ones in the order they were declared."""
        return (self.primary, *self.extra_subnets)

    def subnet(self, key: str) -> SubnetSettings | None:
        """This network's subnet with id or name `key`."""
        return next((s for s in self.subnets if key in (s.id, s.name)), None)

    def subnet_containing(self, address: str) -> SubnetSettings | None:
        """This network's subnet whose CIDR holds `address`."""
        ip = ipaddress.ip_address(address)
        return next((s for s in self.subnets if ip in s.network), None)


@dataclass(frozen=True)
class Settings:
    default: DefaultSettings
    api: ApiSettings
    database: DatabaseSettings
    controller: ControllerSettings
    haproxy_amphora: HaproxyAmphoraSettings
    health_manager: HealthManagerSettings
    management: ManagementSettings
    networks: tuple[NetworkSettings, ...]
    source: str = "<built-in defaults>"
    oslo_policy: OsloPolicySettings = field(default_factory=OsloPolicySettings)
    quotas: QuotaSettings = field(default_factory=lambda: QuotaSettings.model_validate({}))
    certificates: CertificatesSettings = field(default_factory=CertificatesSettings)
    keystone_authtoken: tuple[tuple[str, str], ...] = ()
    """The `[keystone_authtoken]` section as written, handed to keystonemiddleware unchanged."""

    @property
    def secret_key_file(self) -> Path:
        return self.certificates.secret_key_file or self.default.state_dir / "pki" / "secrets.key"

    @property
    def database_url(self) -> str:
        return self.database.connection or f"sqlite:///{self.default.state_dir}/statera.db"

    @property
    def management_bridge(self) -> str:
        return self.management.bridge or f"{self.default.name_prefix}-mgmt"

    def network_named(self, key: str) -> NetworkSettings | None:
        """Find a network by its name, id, or the id or name of one of its subnets."""
        for net in self.networks:
            if key in (net.name, net.id) or net.subnet(key) is not None:
                return net
        return None

    def subnet_named(self, key: str) -> tuple[NetworkSettings, SubnetSettings] | None:
        """Find a subnet, and its network, by the subnet's id or name."""
        for net in self.networks:
            subnet = net.subnet(key)
            if subnet is not None:
                return net, subnet
        return None


_GROUPS: dict[str, tuple[str, type[_Group]]] = {
    "DEFAULT": ("default", DefaultSettings),
    "api_settings": ("api", ApiSettings),
    "database": ("database", DatabaseSettings),
    "controller_worker": ("controller", ControllerSettings),
    "haproxy_amphora": ("haproxy_amphora", HaproxyAmphoraSettings),
    "health_manager": ("health_manager", HealthManagerSettings),
    "management": ("management", ManagementSettings),
    "oslo_policy": ("oslo_policy", OsloPolicySettings),
    "quotas": ("quotas", QuotaSettings),
    "certificates": ("certificates", CertificatesSettings),
}

PASS_THROUGH_SECTIONS = ("keystone_authtoken",)
"""Sections read as plain key/value pairs and handed to a library (keystonemiddleware)."""


PROVIDER_DRIVERS = frozenset({"amphora", "octavia"})
"""Provider names this release can drive (`octavia` is Octavia's deprecated alias of `amphora`)."""
_PROVIDER_ITEM_RE = re.compile(
    r"\s*([A-Za-z0-9_.-]+)\s*:\s*(?:'([^']*)'|\"([^\"]*)\"|([^,'\"]*))\s*(?:,|$)"
)


def parse_provider_drivers(value: str) -> dict[str, str]:
    """`name:'description',...` (Octavia's dict option) → {name: description}."""
    out: dict[str, str] = {}
    pos = 0
    text = value.strip()
    while pos < len(text):
        match = _PROVIDER_ITEM_RE.match(text, pos)
        if match is None or match.end() == pos:
            raise ValueError("must be a list of name:'description' pairs separated by commas")
        name = match.group(1)
        if name not in PROVIDER_DRIVERS:
            raise ValueError(
                f"unknown provider driver {name!r} (known: {', '.join(sorted(PROVIDER_DRIVERS))})"
            )
        out[name] = next((g for g in match.groups()[1:] if g is not None), "").strip()
        pos = match.end()
    if not out:
        raise ValueError("must enable at least one provider driver")
    return out


def derived_id(kind: str, name: str) -> str:
    """A stable UUID for a named network or subnet, the same on every host."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{kind}:{name}"))


def _one_of(value: str, allowed: set[str]) -> str:
    if value not in allowed:
        raise ValueError(f"must be one of {', '.join(sorted(allowed))}")
    return value


def _build(section: str, model: type[_Group], values: dict[str, Any]) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "?"
        if err["type"] == "extra_forbidden":
            raise SettingsError(f"[{section}] {key}: unknown option") from None
        raise SettingsError(f"[{section}] {key} = {values.get(key)!r}: {err['msg']}") from None


def _network(name: str, values: dict[str, str], prefix: str) -> NetworkSettings:
    section = f"network:{name}"
    if not re.match(r"^[A-Za-z0-9_.-]{1,64}$", name):
        raise SettingsError(f"[{section}]: network names use 1-64 of A-Z a-z 0-9 _ . -")
    allowed = {
        "cidr",
        "gateway",
        "bridge",
        "id",
        "subnet_id",
        "subnet_name",
        "allocation_pool_start",
        "allocation_pool_end",
    }
    for key in values:
        if key not in allowed:
            raise SettingsError(f"[{section}] {key}: unknown option")
    net = _cidr_of(section, values, versions=(4,))
    gw, start, end = _address_range(section, values, net)
    bridge = values.get("bridge") or f"{prefix}-{name}"
    if len(bridge) > _IFNAME_MAX or not re.match(r"^[A-Za-z0-9_.-]+$", bridge):
        raise SettingsError(
            f"[{section}] bridge = {bridge!r}: interface names have at most 15 characters "
            "of A-Z a-z 0-9 _ . - (set `bridge` explicitly for a long network name)"
        )
    _check_uuids(section, values, ("id", "subnet_id"))
    return NetworkSettings(
        name=name,
        cidr=str(net),
        gateway=str(gw),
        bridge=bridge,
        id=values.get("id") or derived_id("network", name),
        subnet_id=values.get("subnet_id") or derived_id("subnet", name),
        subnet_name=values.get("subnet_name") or f"{name}-subnet",
        allocation_pool_start=start,
        allocation_pool_end=end,
    )


def _cidr_of(
    section: str, values: dict[str, str], *, versions: tuple[int, ...]
) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if "cidr" not in values:
        raise SettingsError(f"[{section}] cidr: required (for example 10.0.0.0/24)")
    try:
        net = ipaddress.ip_network(values["cidr"], strict=True)
    except ValueError as exc:
        raise SettingsError(f"[{section}] cidr = {values['cidr']!r}: {exc}") from None
    if net.version not in versions or net.num_addresses < 8:
        wanted = (
            "an IPv4 /29 or larger" if versions == (4,) else "an IPv4 /29 or IPv6 /125 or larger"
        )
        raise SettingsError(f"[{section}] cidr = {values['cidr']!r}: use {wanted}")
    return net


def _address_range(
    section: str, values: dict[str, str], net: ipaddress.IPv4Network | ipaddress.IPv6Network
) -> tuple[str, str, str]:
    """(gateway, allocation_pool_start, allocation_pool_end) of a subnet, defaults filled in.

    Computed from the ends of the range, never by listing it: an IPv6 /64 has 2**64 hosts.
    """
    first = net.network_address + 1
    last = net.broadcast_address - 1 if net.version == 4 else net.broadcast_address
    gateway = values.get("gateway", str(first))
    try:
        gw = ipaddress.ip_address(gateway)
    except ValueError as exc:
        raise SettingsError(f"[{section}] gateway = {gateway!r}: {exc}") from None
    if gw not in net:
        raise SettingsError(f"[{section}] gateway = {gateway!r}: not inside {net}")
    start = values.get("allocation_pool_start") or str(first + 1 if first == gw else first)
    end = values.get("allocation_pool_end") or str(last)
    for key, addr in (("allocation_pool_start", start), ("allocation_pool_end", end)):
        try:
            if ipaddress.ip_address(addr) not in net:
                raise ValueError(f"not inside {net}")
        except ValueError as exc:
            raise SettingsError(f"[{section}] {key} = {addr!r}: {exc}") from None
    if int(ipaddress.ip_address(start)) > int(ipaddress.ip_address(end)):
        raise SettingsError(f"[{section}] allocation_pool_start {start} is after the end {end}")
    return str(gw), str(ipaddress.ip_address(start)), str(ipaddress.ip_address(end))


def _check_uuids(section: str, values: dict[str, str], keys: tuple[str, ...]) -> None:
    for key in keys:
        if key in values:
            try:
                uuid.UUID(values[key])
            except ValueError:
                raise SettingsError(f"[{section}] {key} = {values[key]!r}: not a UUID") from None


def _subnet(
    name: str, values: dict[str, str], networks: dict[str, NetworkSettings]
) -> SubnetSettings:
    section = f"subnet:{name}"
    if not re.match(r"^[A-Za-z0-9_.-]{1,64}$", name):
        raise SettingsError(f"[{section}]: subnet names use 1-64 of A-Z a-z 0-9 _ . -")
    allowed = {"network", "cidr", "gateway", "id", "allocation_pool_start", "allocation_pool_end"}
    for key in values:
        if key not in allowed:
            raise SettingsError(f"[{section}] {key}: unknown option")
    owner = values.get("network")
    if not owner:
        raise SettingsError(f"[{section}] network: required (the name of a [network:<name>])")
    if owner not in networks:
        raise SettingsError(f"[{section}] network = {owner!r}: no [network:{owner}] is declared")
    net = _cidr_of(section, values, versions=(4, 6))
    gw, start, end = _address_range(section, values, net)
    _check_uuids(section, values, ("id",))
    return SubnetSettings(
        name=name,
        id=values.get("id") or derived_id("subnet", f"{owner}/{name}"),
        network_id=networks[owner].id,
        cidr=str(net),
        gateway=gw,
        allocation_pool_start=start,
        allocation_pool_end=end,
    )


def _with_subnets(
    networks: tuple[NetworkSettings, ...], declared: dict[str, dict[str, str]]
) -> tuple[NetworkSettings, ...]:
    """Attach each `[subnet:<name>]` to its network; no two subnets of a host may overlap."""
    by_name = {n.name: n for n in networks}
    extra: dict[str, list[SubnetSettings]] = {n.name: [] for n in networks}
    for name, values in declared.items():
        subnet = _subnet(name, values, by_name)
        extra[values["network"]].append(subnet)
    result = tuple(n.model_copy(update={"extra_subnets": tuple(extra[n.name])}) for n in networks)
    seen: list[tuple[SubnetSettings, str]] = []
    for net in result:
        for subnet in net.subnets:
            for other, owner in seen:
                a, b = subnet.network, other.network
                if a.version == b.version and a.overlaps(b):
                    raise SettingsError(
                        f"subnet {subnet.name} ({subnet.cidr}) of network {net.name} overlaps "
                        f"subnet {other.name} ({other.cidr}) of network {owner}"
                    )
                if subnet.id == other.id or subnet.name == other.name:
                    raise SettingsError(
                        f"subnet {subnet.name} of network {net.name}: its name or id is also "
                        f"used by subnet {other.name} of network {owner}"
                    )
            seen.append((subnet, net.name))
    return result


DEFAULT_NETWORKS: dict[str, dict[str, str]] = {
    "private": {"cidr": "10.0.0.0/24", "gateway": "10.0.0.1"}
}


def example_config() -> str:
    """The documented example file: every option with its default, commented out."""
    lines = [
        "; Statera configuration. Every option is shown with its default, commented out.",
        "; Sections and names follow Octavia's octavia.conf where Octavia has the option.",
        "",
    ]
    for section, (_attr, model) in _GROUPS.items():
        lines.append(f"[{section}]")
        for name, info in model.model_fields.items():
            for doc_line in (info.description or "").splitlines():
                lines.append(f"; {doc_line.strip()}")
            default = info.default
            if isinstance(default, bool):
                shown = str(default).lower()
            else:
                shown = "" if default is None else str(default)
            lines.append(f"; {name} = {shown}".rstrip())
        lines.append("")
    lines += [
        "; auth_strategy = keystone: keystonemiddleware's auth_token options, passed through",
        "; unchanged (see its documentation), for example:",
        "; [keystone_authtoken]",
        "; www_authenticate_uri = http://127.0.0.1:5000",
        "; auth_url = http://127.0.0.1:5000",
        "; auth_type = password",
        "; username = statera",
        "; password = secret",
        "; project_name = service",
        "; user_domain_name = Default",
        "; project_domain_name = Default",
        "",
        "; Tenant networks: one section per network. Without any, this one exists:",
        "; [network:private]",
        "; cidr = 10.0.0.0/24",
        "; The host's address on the bridge; default: the first address of cidr.",
        "; gateway = 10.0.0.1",
        "; Linux bridge, created if missing; default: <name_prefix>-<network name>.",
        "; bridge = st-private",
        "; Stable UUIDs; default: derived from the network name.",
        "; id =",
        "; subnet_id =",
        "; Name of the subnet in the API; default: <network name>-subnet.",
        "; subnet_name = private-subnet",
        "; Range for VIPs and amphora ports; default: every host address but the gateway.",
        "; allocation_pool_start = 10.0.0.2",
        "; allocation_pool_end = 10.0.0.254",
        "",
        "; More subnets of a network, IPv4 or IPv6, for additional VIPs (and members):",
        "; one section per subnet, named as the API shows it. None exists by default.",
        "; [subnet:private-ipv6-subnet]",
        "; The [network:<name>] this subnet belongs to (required).",
        "; network = private",
        "; cidr = fd00:5a::/64",
        "; gateway = fd00:5a::1",
        "; id =",
        "; allocation_pool_start = fd00:5a::2",
        "; allocation_pool_end = fd00:5a::ffff:ffff:ffff:ffff",
        "",
    ]
    return "\n".join(lines)


def load_settings(path: str | Path | None = None, *, overrides: str = "") -> Settings:
    """Read the INI file at `path` (or nothing: built-in defaults), then `overrides` text."""
    parser = configparser.ConfigParser(
        interpolation=None, inline_comment_prefixes=(";", "#"), default_section="DEFAULT"
    )
    source = "<built-in defaults>"
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise SettingsError(f"configuration file {path} does not exist")
        try:
            parser.read(path, encoding="utf-8")
        except configparser.Error as exc:
            raise SettingsError(f"{path}: {exc}") from None
        source = str(path)
    if overrides:
        parser.read_string(overrides, source="<overrides>")

    known_sections = set(_GROUPS) - {"DEFAULT"}
    for section in parser.sections():
        if (
            section not in known_sections
            and section not in PASS_THROUGH_SECTIONS
            and not section.startswith(("network:", "subnet:"))
        ):
            raise SettingsError(f"[{section}]: unknown section")

    defaults = dict(parser.defaults())
    groups: dict[str, Any] = {}
    for section, (attr, model) in _GROUPS.items():
        if section == "DEFAULT":
            values = defaults
        elif parser.has_section(section):
            # configparser mixes DEFAULT into every section; keep only the section's own.
            values = {k: v for k, v in parser.items(section) if k not in defaults}
        else:
            values = {}
        groups[attr] = _build(section, model, values)

    prefix = groups["default"].name_prefix
    declared = {
        s.split(":", 1)[1]: {k: v for k, v in parser.items(s) if k not in defaults}
        for s in parser.sections()
        if s.startswith("network:")
    }
    networks = tuple(
        _network(name, values, prefix) for name, values in (declared or DEFAULT_NETWORKS).items()
    )
    subnets = {
        s.split(":", 1)[1]: {k: v for k, v in parser.items(s) if k not in defaults}
        for s in parser.sections()
        if s.startswith("subnet:")
    }
    networks = _with_subnets(networks, subnets)
    _check_distinct(networks, groups["management"])
    keystone_authtoken: tuple[tuple[str, str], ...] = ()
    if parser.has_section("keystone_authtoken"):
        items = parser.items("keystone_authtoken")
        keystone_authtoken = tuple((k, v) for k, v in items if k not in defaults)
    return Settings(
        networks=networks, source=source, keystone_authtoken=keystone_authtoken, **groups
    )


def _check_distinct(networks: tuple[NetworkSettings, ...], mgmt: ManagementSettings) -> None:
    seen: dict[str, str] = {}
    for net in networks:
        for key in (net.bridge, net.id, net.subnet_id, net.subnet_name):
            if key in seen and seen[key] != net.name:
                raise SettingsError(
                    f"[network:{net.name}]: {key!r} is also used by [network:{seen[key]}]"
                )
            seen[key] = net.name
    mgmt_net = ipaddress.ip_network(mgmt.cidr)
    if ipaddress.ip_address(mgmt.gateway) not in mgmt_net:
        raise SettingsError(f"[management] gateway = {mgmt.gateway!r}: not inside {mgmt_net}")
