"""indexes in the default list order (created_at, id), so a page needs no sort

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIST_ORDER = ("load_balancer", "listener", "pool", "health_monitor", "l7policy", "l7rule")


def upgrade() -> None:
    for table in _LIST_ORDER:
        op.create_index(f"ix_{table}_list", table, ["created_at", "id"])
    op.create_index("ix_member_list", "member", ["pool_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_member_list", table_name="member")
    for table in reversed(_LIST_ORDER):
        op.drop_index(f"ix_{table}_list", table_name=table)
