"""port.octavia_owned: tell ports Statera allocated from ports a tenant created

A load balancer created with `vip_port_id` uses a port the tenant made through
the Network view; deleting the load balancer unbinds that port instead of
deleting it. Every existing row was allocated by Statera, hence the default.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("port") as batch_op:
        batch_op.add_column(
            sa.Column("octavia_owned", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("port") as batch_op:
        batch_op.drop_column("octavia_owned")
