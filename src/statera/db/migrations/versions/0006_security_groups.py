"""security_group and security_group_rule: Neutron security groups of the Network view

A load balancer's `vip_sg_ids` (0005) names groups of this table; their rules
are enforced with nftables on the VIP's interface. Rules go with their group.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "security_group",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("stateful", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_group")),
    )
    op.create_index(
        op.f("ix_security_group_project_id"), "security_group", ["project_id"], unique=False
    )
    op.create_table(
        "security_group_rule",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("security_group_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("ethertype", sa.String(length=8), nullable=False),
        sa.Column("protocol", sa.String(length=40), nullable=True),
        sa.Column("port_range_min", sa.Integer(), nullable=True),
        sa.Column("port_range_max", sa.Integer(), nullable=True),
        sa.Column("remote_ip_prefix", sa.String(length=64), nullable=True),
        sa.Column("remote_group_id", sa.String(length=36), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["security_group_id"],
            ["security_group.id"],
            name=op.f("fk_security_group_rule_security_group_id_security_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_group_rule")),
    )
    op.create_index(
        op.f("ix_security_group_rule_project_id"),
        "security_group_rule",
        ["project_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_security_group_rule_security_group_id"),
        "security_group_rule",
        ["security_group_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_security_group_rule_security_group_id"), table_name="security_group_rule"
    )
    op.drop_index(op.f("ix_security_group_rule_project_id"), table_name="security_group_rule")
    op.drop_table("security_group_rule")
    op.drop_index(op.f("ix_security_group_project_id"), table_name="security_group")
    op.drop_table("security_group")
