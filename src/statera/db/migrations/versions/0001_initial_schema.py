"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "listener_statistics",
        sa.Column("listener_id", sa.String(length=36), nullable=False),
        sa.Column("amphora_id", sa.String(length=36), nullable=False),
        sa.Column("bytes_in", sa.BigInteger(), nullable=False),
        sa.Column("bytes_out", sa.BigInteger(), nullable=False),
        sa.Column("active_connections", sa.BigInteger(), nullable=False),
        sa.Column("total_connections", sa.BigInteger(), nullable=False),
        sa.Column("request_errors", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("listener_id", "amphora_id", name=op.f("pk_listener_statistics")),
    )
    op.create_table(
        "load_balancer",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("provisioning_status", sa.String(length=16), nullable=False),
        sa.Column("operating_status", sa.String(length=16), nullable=False),
        sa.Column("topology", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("flavor_id", sa.String(length=36), nullable=True),
        sa.Column("availability_zone", sa.String(length=255), nullable=True),
        sa.Column("vip_address", sa.String(length=64), nullable=True),
        sa.Column("vip_network_id", sa.String(length=36), nullable=True),
        sa.Column("vip_subnet_id", sa.String(length=36), nullable=True),
        sa.Column("vip_port_id", sa.String(length=36), nullable=True),
        sa.Column("vip_qos_policy_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("applied_generation", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=255), nullable=True),
        sa.Column("lease_expires", sa.DateTime(), nullable=True),
        sa.Column("not_before", sa.DateTime(), nullable=True),
        sa.Column("pending_since", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_load_balancer")),
    )
    with op.batch_alter_table("load_balancer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_load_balancer_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_load_balancer_provisioning_status"),
            ["provisioning_status"],
            unique=False,
        )
        batch_op.create_index(
            "ix_load_balancer_work", ["applied_generation", "generation"], unique=False
        )

    op.create_table(
        "port",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("subnet_id", sa.String(length=36), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("device_owner", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_port")),
        sa.UniqueConstraint("subnet_id", "ip_address", name=op.f("uq_port_subnet_id")),
    )
    with op.batch_alter_table("port", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_port_device_id"), ["device_id"], unique=False)

    op.create_table(
        "tag",
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("resource_id", "tag", name=op.f("pk_tag")),
    )
    with op.batch_alter_table("tag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tag_tag"), ["tag"], unique=False)

    op.create_table(
        "amphora",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("load_balancer_id", sa.String(length=36), nullable=True),
        sa.Column("compute_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=36), nullable=True),
        sa.Column("lb_network_ip", sa.String(length=64), nullable=True),
        sa.Column("vrrp_ip", sa.String(length=64), nullable=True),
        sa.Column("ha_ip", sa.String(length=64), nullable=True),
        sa.Column("vrrp_port_id", sa.String(length=36), nullable=True),
        sa.Column("ha_port_id", sa.String(length=36), nullable=True),
        sa.Column("cert_expiration", sa.DateTime(), nullable=True),
        sa.Column("cert_busy", sa.Boolean(), nullable=False),
        sa.Column("vrrp_interface", sa.String(length=16), nullable=True),
        sa.Column("vrrp_id", sa.Integer(), nullable=True),
        sa.Column("vrrp_priority", sa.Integer(), nullable=True),
        sa.Column("cached_zone", sa.String(length=255), nullable=True),
        sa.Column("image_id", sa.String(length=36), nullable=True),
        sa.Column("compute_flavor", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["load_balancer_id"],
            ["load_balancer.id"],
            name=op.f("fk_amphora_load_balancer_id_load_balancer"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_amphora")),
    )
    with op.batch_alter_table("amphora", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_amphora_load_balancer_id"), ["load_balancer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_amphora_status"), ["status"], unique=False)

    op.create_table(
        "listener",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("load_balancer_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("protocol", sa.String(length=16), nullable=False),
        sa.Column("protocol_port", sa.Integer(), nullable=False),
        sa.Column("connection_limit", sa.Integer(), nullable=False),
        sa.Column("default_pool_id", sa.String(length=36), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("provisioning_status", sa.String(length=16), nullable=False),
        sa.Column("operating_status", sa.String(length=16), nullable=False),
        sa.Column("timeout_client_data", sa.Integer(), nullable=False),
        sa.Column("timeout_member_connect", sa.Integer(), nullable=False),
        sa.Column("timeout_member_data", sa.Integer(), nullable=False),
        sa.Column("timeout_tcp_inspect", sa.Integer(), nullable=False),
        sa.Column("insert_headers", sa.JSON(), nullable=False),
        sa.Column("allowed_cidrs", sa.JSON(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["load_balancer_id"],
            ["load_balancer.id"],
            name=op.f("fk_listener_load_balancer_id_load_balancer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listener")),
    )
    with op.batch_alter_table("listener", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_listener_default_pool_id"), ["default_pool_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_listener_load_balancer_id"), ["load_balancer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_listener_project_id"), ["project_id"], unique=False)

    op.create_table(
        "pool",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("load_balancer_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("protocol", sa.String(length=16), nullable=False),
        sa.Column("lb_algorithm", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("provisioning_status", sa.String(length=16), nullable=False),
        sa.Column("operating_status", sa.String(length=16), nullable=False),
        sa.Column("session_persistence", sa.JSON(), nullable=True),
        sa.Column("tls_enabled", sa.Boolean(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["load_balancer_id"],
            ["load_balancer.id"],
            name=op.f("fk_pool_load_balancer_id_load_balancer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool")),
    )
    with op.batch_alter_table("pool", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pool_load_balancer_id"), ["load_balancer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_pool_project_id"), ["project_id"], unique=False)

    # listener.default_pool_id and pool.load_balancer_id form a cycle: add this one last.
    with op.batch_alter_table("listener", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_listener_default_pool_id_pool"),
            "pool",
            ["default_pool_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "health_monitor",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("pool_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("delay", sa.Integer(), nullable=False),
        sa.Column("timeout", sa.Integer(), nullable=False),
        sa.Column("rise_threshold", sa.Integer(), nullable=False),
        sa.Column("fall_threshold", sa.Integer(), nullable=False),
        sa.Column("http_method", sa.String(length=16), nullable=True),
        sa.Column("url_path", sa.String(length=2048), nullable=True),
        sa.Column("expected_codes", sa.String(length=64), nullable=True),
        sa.Column("http_version", sa.Double(), nullable=True),
        sa.Column("domain_name", sa.String(length=255), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("provisioning_status", sa.String(length=16), nullable=False),
        sa.Column("operating_status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["pool.id"],
            name=op.f("fk_health_monitor_pool_id_pool"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_monitor")),
        sa.UniqueConstraint("pool_id", name=op.f("uq_health_monitor_pool_id")),
    )
    with op.batch_alter_table("health_monitor", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_health_monitor_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "member",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("pool_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("protocol_port", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("backup", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("subnet_id", sa.String(length=36), nullable=True),
        sa.Column("monitor_address", sa.String(length=64), nullable=True),
        sa.Column("monitor_port", sa.Integer(), nullable=True),
        sa.Column("provisioning_status", sa.String(length=16), nullable=False),
        sa.Column("operating_status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["pool.id"], name=op.f("fk_member_pool_id_pool"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member")),
        sa.UniqueConstraint("pool_id", "address", "protocol_port", name=op.f("uq_member_pool_id")),
    )
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_pool_id"), ["pool_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_member_project_id"), ["project_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("listener", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_listener_default_pool_id_pool"), type_="foreignkey")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_project_id"))
        batch_op.drop_index(batch_op.f("ix_member_pool_id"))

    op.drop_table("member")
    with op.batch_alter_table("health_monitor", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_monitor_project_id"))

    op.drop_table("health_monitor")
    with op.batch_alter_table("pool", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pool_project_id"))
        batch_op.drop_index(batch_op.f("ix_pool_load_balancer_id"))

    op.drop_table("pool")
    with op.batch_alter_table("listener", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listener_project_id"))
        batch_op.drop_index(batch_op.f("ix_listener_load_balancer_id"))
        batch_op.drop_index(batch_op.f("ix_listener_default_pool_id"))

    op.drop_table("listener")
    with op.batch_alter_table("amphora", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_amphora_status"))
        batch_op.drop_index(batch_op.f("ix_amphora_load_balancer_id"))

    op.drop_table("amphora")
    with op.batch_alter_table("tag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tag_tag"))

    op.drop_table("tag")
    with op.batch_alter_table("port", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_port_device_id"))

    op.drop_table("port")
    with op.batch_alter_table("load_balancer", schema=None) as batch_op:
        batch_op.drop_index("ix_load_balancer_work")
        batch_op.drop_index(batch_op.f("ix_load_balancer_provisioning_status"))
        batch_op.drop_index(batch_op.f("ix_load_balancer_project_id"))

    op.drop_table("load_balancer")
    op.drop_table("listener_statistics")
