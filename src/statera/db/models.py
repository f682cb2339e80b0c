"""ORM tables: the desired state the API writes and the controller reconciles.

One table per Octavia object. The load balancer row also carries the
reconciler's bookkeeping: `generation` (bumped by every accepted change),
`applied_generation` (the last generation the data plane is known to run),
the lease (`lease_owner`, `lease_expires`) a controller holds while it works,
and `last_error`. Children deleted through the API stay as PENDING_DELETE rows
until the controller has removed them from the data plane, then go.
Enums are stored as their string values.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from statera.db.base import Base, created_at, name_col, updated_at, uuid_pk


class LoadBalancer(Base):
    __tablename__ = "load_balancer"

    id: Mapped[uuid_pk]
    project_id: Mapped[str | None] = mapped_column(String(36), index=True)
    name: Mapped[name_col]
    description: Mapped[name_col]
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    provisioning_status: Mapped[str] = mapped_column(String(16), index=True)
    operating_status: Mapped[str] = mapped_column(String(16))
    topology: Mapped[str] = mapped_column(String(16), default="SINGLE")
    provider: Mapped[str] = mapped_column(String(64), default="amphora")
    flavor_id: Mapped[str | None] = mapped_column(String(36))
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    vip_address: Mapped[str | None] = mapped_column(String(64))
    vip_network_id: Mapped[str | None] = mapped_column(String(36))
    vip_subnet_id: Mapped[str | None] = mapped_column(String(36))
    vip_port_id: Mapped[str | None] = mapped_column(String(36))
    vip_qos_policy_id: Mapped[str | None] = mapped_column(String(36))
    additional_vips: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    """[{"subnet_id", "ip_address", "port_id"}]: more addresses on the VIP's network, each
    held by its own `port` row (device_id = this load balancer), in the order requested."""
    vip_sg_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Neutron security groups applied to the VIP instead of Statera's own rules."""
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    generation: Mapped[int] = mapped_column(Integer, default=1)
    applied_generation: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_expires: Mapped[datetime | None] = mapped_column(DateTime)
    not_before: Mapped[datetime | None] = mapped_column(DateTime)
    """Earliest time the controller may retry after a temporary failure."""
    pending_since: Mapped[datetime | None] = mapped_column(DateTime)
    """When the first unapplied change was accepted (for the build timeout)."""
    last_error: Mapped[str | None] = mapped_column(Text)

    listeners: Mapped[list["Listener"]] = relationship(
        back_populates="load_balancer", cascade="all, delete-orphan", passive_deletes=True
    )
    pools: Mapped[list["Pool"]] = relationship(
        back_populates="load_balancer", cascade="all, delete-orphan", passive_deletes=True
    )
    amphorae: Mapped[list["Amphora"]] = relationship(back_populates="load_balancer")

    __table_args__ = (
        Index("ix_load_balancer_work", "applied_generation", "generation"),
        Index("ix_load_balancer_list", "created_at", "id"),
    )


class Listener(Base):
    __tablename__ = "listener"
    __table_args__ = (Index("ix_listener_list", "created_at", "id"),)

    id: Mapped[uuid_pk]
    project_id: Mapped[str | None] = mapped_column(String(36), index=True)
    load_balancer_id: Mapped[str] = mapped_column(
        ForeignKey("load_balancer.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[name_col]
    description: Mapped[name_col]
    protocol: Mapped[str] = mapped_column(String(16))
    protocol_port: Mapped[int] = mapped_column(Integer)
    connection_limit: Mapped[int] = mapped_column(Integer, default=-1)
    default_pool_id: Mapped[str | None] = mapped_column(
        ForeignKey("pool.id", ondelete="SET NULL", use_alter=True), index=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    provisioning_status: Mapped[str] = mapped_column(String(16))
    operating_status: Mapped[str] = mapped_column(String(16))
    timeout_client_data: Mapped[int] = mapped_column(Integer)
    timeout_member_connect: Mapped[int] = mapped_column(Integer)
    timeout_member_data: Mapped[int] = mapped_column(Integer)
    timeout_tcp_inspect: Mapped[int] = mapped_column(Integer)
    insert_headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    allowed_cidrs: Mapped[list[str]] = mapped_column(JSON, default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """TLS and other fields stored and returned but not yet built into HAProxy."""
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    load_balancer: Mapped[LoadBalancer] = relationship(back_populates="listeners")


class Pool(Base):
    __tablename__ = "pool"
    __table_args__ = (Index("ix_pool_list", "created_at", "id"),)

    id: Mapped[uuid_pk]
    project_id: Mapped[str | None] = mapped_column(String(36), index=True)
    load_balancer_id: Mapped[str] = mapped_column(
        ForeignKey("load_balancer.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[name_col]
    description: Mapped[name_col]
    protocol: Mapped[str] = mapped_column(String(16))
    lb_algorithm: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    provisioning_status: Mapped[str] = mapped_column(String(16))
    operating_status: Mapped[str] = mapped_column(String(16))
    session_persistence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    tls_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    load_balancer: Mapped[LoadBalancer] = relationship(back_populates="pools")
    members: Mapped[list["Member"]] = relationship(
        back_populates="pool", cascade="all, delete-orphan", passive_deletes=True
    )
    health_monitor: Mapped["HealthMonitor | None"] = relationship(
        back_populates="pool", cascade="all, delete-orphan", passive_deletes=True
    )


class Member(Base):
    __tablename__ = "member"

    id: Mapped[uuid_pk]
    project_id: Mapped[str | None] = mapped_column(String(36), index=True)
    pool_id: Mapped[str] = mapped_column(ForeignKey("pool.id", ondelete="CASCADE"), index=True)
    name: Mapped[name_col]
    address: Mapped[str] = mapped_column(String(64))
    protocol_port: Mapped[int] = mapped_column(Integer)
    weight: Mapped[int] = mapped_column(Integer, default=1)
    backup: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    subnet_id: Mapped[str | None] = mapped_column(String(36))
    monitor_address: Mapped[str | None] = mapped_column(String(64))
    monitor_port: Mapped[int | None] = mapped_column(Integer)
    provisioning_status: Mapped[str] = mapped_column(String(16))
    operating_status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    pool: Mapped[Pool] = relationship(back_populates="members")

    __table_args__ = (
        UniqueConstraint("pool_id", "address", "protocol_port"),
        Index("ix_member_list", "pool_id", "created_at", "id"),
    )


class HealthMonitor(Base):
    __tablename__ = "health_monitor"
    __table_args__ = (Index("ix_health_monitor_list", "created_at", "id"),)

    id: Mapped[uuid_pk]
    project_id: Mapped[str | None] = mapped_column(String(36), index=True)
    pool_id: Mapped[str] = mapped_column(ForeignKey("pool.id", ondelete="CASCADE"), unique=True)
    name: Mapped[name_col]
    type: Mapped[str] = mapped_column(String(16))
    delay: Mapped[int] = mapped_column(Integer)
    timeout: Mapped[int] = mapped_column(Integer)
    rise_threshold: Mapped[int] = mapped_column(Integer)
    """Octavia's `max_retries`."""
    fall_threshold: Mapped[int] = mapped_column(Integer)
    """Octavia's `max_retries_down`."""
    http_method: Mapped[str | None] = mapped_column(String(16))
    url_path: Mapped[str | None] = mapped_column(String(2048))
    expected_codes: Mapped[str | None] = mapped_column(String(64))
    http_version: Mapped[float | None]
    domain_name: Mapped[str | None] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    provisioning_status: Mapped[str] = mapped_column(String(16))
    operating_status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    pool: Mapped[Pool] = relationship(back_populates="health_monitor")


class Tag(Base):
    """Tags of any object, keyed by the object's id (ids are UUIDs, unique across kinds)."""

    __tablename__ = "tag"

    resource_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class Amphora(Base):
    __tablename__ = "amphora"

    id: Mapped[uuid_pk]
    load_balancer_id: Mapped[str | None] = mapped_column(
        ForeignKey("load_balancer.id", ondelete="SET NULL"), index=True
    )
    compute_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(36), index=True)
    role: Mapped[str | None] = mapped_column(String(36))
    lb_network_ip: Mapped[str | None] = mapped_column(String(64))
    vrrp_ip: Mapped[str | None] = mapped_column(String(64))
    ha_ip: Mapped[str | None] = mapped_column(String(64))
    vrrp_port_id: Mapped[str | None] = mapped_column(String(36))
    ha_port_id: Mapped[str | None] = mapped_column(String(36))
    cert_expiration: Mapped[datetime | None] = mapped_column(DateTime)
    cert_busy: Mapped[bool] = mapped_column(Boolean, default=False)
    vrrp_interface: Mapped[str | None] = mapped_column(String(16))
    vrrp_id: Mapped[int | None] = mapped_column(Integer)
    vrrp_priority: Mapped[int | None] = mapped_column(Integer)
    cached_zone: Mapped[str | None] = mapped_column(String(255))
    image_id: Mapped[str | None] = mapped_column(String(36))
    compute_flavor: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    load_balancer: Mapped[LoadBalancer | None] = relationship(back_populates="amphorae")


class Port(Base):
    """An address taken on a declared network: a VIP, an amphora's base port, a management IP."""

    __tablename__ = "port"

    id: Mapped[uuid_pk]
    network_id: Mapped[str] = mapped_column(String(36))
    subnet_id: Mapped[str] = mapped_column(String(36))
    ip_address: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), default="")
    device_owner: Mapped[str] = mapped_column(String(64), default="")
    device_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    project_id: Mapped[str | None] = mapped_column(String(36))
    octavia_owned: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    """True for ports Statera allocated (deleted with their device); False for a port a
    tenant created through the Network view (`POST /v2.0/ports`), which outlives the
    load balancer that used it as its VIP (Octavia's `vip.octavia_owned`)."""
    created_at: Mapped[created_at]

    __table_args__ = (UniqueConstraint("subnet_id", "ip_address"),)


class ListenerStatistics(Base):
    """Counters per (listener, amphora), accumulated across HAProxy reloads."""

    __tablename__ = "listener_statistics"

    listener_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    amphora_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    bytes_in: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_out: Mapped[int] = mapped_column(BigInteger, default=0)
    active_connections: Mapped[int] = mapped_column(BigInteger, default=0)
    total_connections: Mapped[int] = mapped_column(BigInteger, default=0)
    request_errors: Mapped[int] = mapped_column(BigInteger, default=0)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The amphora's last absolute counters; a smaller value than this means HAProxy
    restarted its counters (a reload), so the new value is added whole."""
    updated_at: Mapped[updated_at]


class L7Policy(Base):
    __tablename__ = "l7policy"
    __table_args__ = (Index("ix_l7policy_list", "created_at", "id"),)

    id: Mapped[uuid_pk]
    project_id: Mapped[str | None] = mapped_column(String(36), index=True)
    listener_id: Mapped[str] = mapped_column(
        ForeignKey("listener.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[name_col]
    description: Mapped[name_col]
    action: Mapped[str] = mapped_column(String(32))
    redirect_pool_id: Mapped[str | None] = mapped_column(
        ForeignKey("pool.id", ondelete="SET NULL"), index=True
    )
    redirect_url: Mapped[str | None] = mapped_column(String(2048))
    redirect_prefix: Mapped[str | None] = mapped_column(String(2048))
    redirect_http_code: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    provisioning_status: Mapped[str] = mapped_column(String(16))
    operating_status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


class L7Rule(Base):
    __tablename__ = "l7rule"
    __table_args__ = (Index("ix_l7rule_list", "created_at", "id"),)

    id: Mapped[uuid_pk]
    project_id: Mapped[str | None] = mapped_column(String(36), index=True)
    l7policy_id: Mapped[str] = mapped_column(
        ForeignKey("l7policy.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(32))
    compare_type: Mapped[str] = mapped_column(String(32))
    key: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))
    invert: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    provisioning_status: Mapped[str] = mapped_column(String(16))
    operating_status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


class Quota(Base):
    """Per-project overrides; NULL in a column means "use the configured default"."""

    __tablename__ = "quota"

    project_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    load_balancer: Mapped[int | None] = mapped_column(Integer)
    listener: Mapped[int | None] = mapped_column(Integer)
    pool: Mapped[int | None] = mapped_column(Integer)
    health_monitor: Mapped[int | None] = mapped_column(Integer)
    member: Mapped[int | None] = mapped_column(Integer)
    l7policy: Mapped[int | None] = mapped_column(Integer)
    l7rule: Mapped[int | None] = mapped_column(Integer)


class FlavorProfile(Base):
    __tablename__ = "flavor_profile"

    id: Mapped[uuid_pk]
    name: Mapped[str] = mapped_column(String(255))
    provider_name: Mapped[str] = mapped_column(String(64))
    flavor_data: Mapped[str] = mapped_column(String(4096))


class Flavor(Base):
    __tablename__ = "flavor"

    id: Mapped[uuid_pk]
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[name_col]
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    flavor_profile_id: Mapped[str] = mapped_column(ForeignKey("flavor_profile.id"), index=True)


class AvailabilityZoneProfile(Base):
    __tablename__ = "availability_zone_profile"

    id: Mapped[uuid_pk]
    name: Mapped[str] = mapped_column(String(255))
    provider_name: Mapped[str] = mapped_column(String(64))
    availability_zone_data: Mapped[str] = mapped_column(String(4096))


class AvailabilityZone(Base):
    __tablename__ = "availability_zone"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    description: Mapped[name_col]
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    availability_zone_profile_id: Mapped[str] = mapped_column(
        ForeignKey("availability_zone_profile.id"), index=True
    )


class SecurityGroup(Base):
    """A Neutron security group of the Network view (`services/security_groups.py`).

    A load balancer's `vip_sg_ids` names the groups whose rules guard its VIP; a
    group named there cannot be deleted. `revision_number` moves with every change
    of the group or of its rules, as Neutron's does.
    """

    __tablename__ = "security_group"

    id: Mapped[uuid_pk]
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(255), default="")
    stateful: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    revision_number: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    rules: Mapped[list["SecurityGroupRule"]] = relationship(
        back_populates="security_group",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(SecurityGroupRule.created_at, SecurityGroupRule.id)",
    )


class SecurityGroupRule(Base):
    """One rule of a security group, stored as Neutron shows it (protocol as given)."""

    __tablename__ = "security_group_rule"

    id: Mapped[uuid_pk]
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_group.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    """`ingress` or `egress`."""
    ethertype: Mapped[str] = mapped_column(String(8))
    """`IPv4` or `IPv6`."""
    protocol: Mapped[str | None] = mapped_column(String(40))
    """A Neutron protocol name (`tcp`, `ipv6-icmp`, ...) or a number 0-255 as text; NULL: any."""
    port_range_min: Mapped[int | None] = mapped_column(Integer)
    port_range_max: Mapped[int | None] = mapped_column(Integer)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64))
    remote_group_id: Mapped[str | None] = mapped_column(String(36))
    """Always NULL here: rules that name a remote group are refused (not supported)."""
    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[created_at]

    security_group: Mapped[SecurityGroup] = relationship(back_populates="rules")


class Secret(Base):
    """A key manager secret (Barbican's `/v1/secrets`), its payload encrypted at rest.

    `ciphertext` is `db/secret_box.py`'s sealed payload, bound to the row's id;
    NULL until a payload is given (Barbican's two-step create: POST the
    metadata, then PUT the payload). `payload_content_type` is the normalised
    type the payload was stored with (`text/plain` or a binary type).
    """

    __tablename__ = "secrets"
    id: Mapped[uuid_pk]
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[name_col]
    secret_type: Mapped[str] = mapped_column(String(32), default="opaque")
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    algorithm: Mapped[str | None] = mapped_column(String(255))
    bit_length: Mapped[int | None] = mapped_column(Integer)
    mode: Mapped[str | None] = mapped_column(String(255))
    expiration: Mapped[datetime | None] = mapped_column(DateTime)
    payload_content_type: Mapped[str | None] = mapped_column(String(255))
    creator_id: Mapped[str | None] = mapped_column(String(255))
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


class SecretContainer(Base):
    """A key manager container (Barbican's `/v1/containers`): named references to secrets.

    A `certificate` container holds `certificate`, `private_key`, `intermediates`
    and `private_key_passphrase`; an `rsa` one `private_key`, `public_key` and
    `private_key_passphrase`; a `generic` one anything.
    """

    __tablename__ = "secret_containers"
    id: Mapped[uuid_pk]
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[name_col]
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    creator_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    secrets: Mapped[list["ContainerSecret"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="ContainerSecret.position"
    )


class ContainerSecret(Base):
    """One named reference of a container to a secret.

    As in Barbican, deleting a secret leaves the reference in place (dangling:
    `secret_id` is not a foreign key); the container shows it, and reading the
    container's material for a listener fails as for any unknown secret.
    """

    __tablename__ = "container_secrets"

    container_id: Mapped[str] = mapped_column(
        ForeignKey("secret_containers.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    """Order of the references as given (Barbican keeps them unordered; clients show them so)."""
    name: Mapped[str | None] = mapped_column(String(255))
    secret_id: Mapped[str] = mapped_column(String(36), index=True)
