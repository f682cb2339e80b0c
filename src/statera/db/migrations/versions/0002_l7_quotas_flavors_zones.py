"""l7, quotas, flavors, availability zones, raw counters

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "availability_zone_profile",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("provider_name", sa.String(length=64), nullable=False),
        sa.Column("availability_zone_data", sa.String(length=4096), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_zone_profile")),
    )
    op.create_table(
        "flavor_profile",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("provider_name", sa.String(length=64), nullable=False),
        sa.Column("flavor_data", sa.String(length=4096), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flavor_profile")),
    )
    op.create_table(
        "quota",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("load_balancer", sa.Integer(), nullable=True),
        sa.Column("listener", sa.Integer(), nullable=True),
        sa.Column("pool", sa.Integer(), nullable=True),
        sa.Column("health_monitor", sa.Integer(), nullable=True),
        sa.Column("member", sa.Integer(), nullable=True),
        sa.Column("l7policy", sa.Integer(), nullable=True),
        sa.Column("l7rule", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_quota")),
    )
    op.create_table(
        "availability_zone",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("availability_zone_profile_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["availability_zone_profile_id"],
            ["availability_zone_profile.id"],
            name=op.f(
                "fk_availability_zone_availability_zone_profile_id_availability_zone_profile"
            ),
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_availability_zone")),
    )
    with op.batch_alter_table("availability_zone", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_availability_zone_availability_zone_profile_id"),
            ["availability_zone_profile_id"],
            unique=False,
        )

    op.create_table(
        "flavor",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("flavor_profile_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["flavor_profile_id"],
            ["flavor_profile.id"],
            name=op.f("fk_flavor_flavor_profile_id_flavor_profile"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flavor")),
        sa.UniqueConstraint("name", name=op.f("uq_flavor_name")),
    )
    with op.batch_alter_table("flavor", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_flavor_flavor_profile_id"), ["flavor_profile_id"], unique=False
        )

    op.create_table(
        "l7policy",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("listener_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("redirect_pool_id", sa.String(length=36), nullable=True),
        sa.Column("redirect_url", sa.String(length=2048), nullable=True),
        sa.Column("redirect_prefix", sa.String(length=2048), nullable=True),
        sa.Column("redirect_http_code", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("provisioning_status", sa.String(length=16), nullable=False),
        sa.Column("operating_status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["listener_id"],
            ["listener.id"],
            name=op.f("fk_l7policy_listener_id_listener"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["redirect_pool_id"],
            ["pool.id"],
            name=op.f("fk_l7policy_redirect_pool_id_pool"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_l7policy")),
    )
    with op.batch_alter_table("l7policy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_l7policy_listener_id"), ["listener_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_l7policy_project_id"), ["project_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_l7policy_redirect_pool_id"), ["redirect_pool_id"], unique=False
        )

    op.create_table(
        "l7rule",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("l7policy_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("compare_type", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=True),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("invert", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("provisioning_status", sa.String(length=16), nullable=False),
        sa.Column("operating_status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["l7policy_id"],
            ["l7policy.id"],
            name=op.f("fk_l7rule_l7policy_id_l7policy"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_l7rule")),
    )
    with op.batch_alter_table("l7rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_l7rule_l7policy_id"), ["l7policy_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_l7rule_project_id"), ["project_id"], unique=False)

    with op.batch_alter_table("listener_statistics", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("raw", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("listener_statistics", schema=None) as batch_op:
        batch_op.drop_column("raw")

    with op.batch_alter_table("l7rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_l7rule_project_id"))
        batch_op.drop_index(batch_op.f("ix_l7rule_l7policy_id"))

    op.drop_table("l7rule")
    with op.batch_alter_table("l7policy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_l7policy_redirect_pool_id"))
        batch_op.drop_index(batch_op.f("ix_l7policy_project_id"))
        batch_op.drop_index(batch_op.f("ix_l7policy_listener_id"))

    op.drop_table("l7policy")
    with op.batch_alter_table("flavor", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flavor_flavor_profile_id"))

    op.drop_table("flavor")
    with op.batch_alter_table("availability_zone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_availability_zone_availability_zone_profile_id"))

    op.drop_table("availability_zone")
    op.drop_table("quota")
    op.drop_table("flavor_profile")
    op.drop_table("availability_zone_profile")
