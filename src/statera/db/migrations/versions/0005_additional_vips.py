"""load_balancer.additional_vips and load_balancer.vip_sg_ids (Octavia v2.26 and v2.29)

`additional_vips` lists the extra addresses of a load balancer on other
subnets of its VIP network; each is also a `port` row, which keeps two load
balancers from taking the same address. `vip_sg_ids` names the security
groups that guard the VIP. Existing load balancers have neither.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("load_balancer") as batch_op:
        batch_op.add_column(
            sa.Column("additional_vips", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(sa.Column("vip_sg_ids", sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("load_balancer") as batch_op:
        batch_op.drop_column("vip_sg_ids")
        batch_op.drop_column("additional_vips")
