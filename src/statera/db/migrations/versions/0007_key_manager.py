"""secrets, secret_containers and container_secrets: the key manager of `/v1`

Barbican-compatible secrets (payloads sealed by `db/secret_box.py`) and
containers of named secret references, for the certificate references of
TERMINATED_HTTPS listeners and TLS pools. A container's references go with
it; a secret's deletion leaves references to it dangling, as in Barbican.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-12
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "secrets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("secret_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("algorithm", sa.String(length=255), nullable=True),
        sa.Column("bit_length", sa.Integer(), nullable=True),
        sa.Column("mode", sa.String(length=255), nullable=True),
        sa.Column("expiration", sa.DateTime(), nullable=True),
        sa.Column("payload_content_type", sa.String(length=255), nullable=True),
        sa.Column("creator_id", sa.String(length=255), nullable=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_secrets")),
    )
    op.create_index(op.f("ix_secrets_project_id"), "secrets", ["project_id"], unique=False)
    op.create_table(
        "secret_containers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("creator_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_secret_containers")),
    )
    op.create_index(
        op.f("ix_secret_containers_project_id"), "secret_containers", ["project_id"], unique=False
    )
    op.create_table(
        "container_secrets",
        sa.Column("container_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("secret_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["container_id"],
            ["secret_containers.id"],
            name=op.f("fk_container_secrets_container_id_secret_containers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("container_id", "position", name=op.f("pk_container_secrets")),
    )
    op.create_index(
        op.f("ix_container_secrets_secret_id"), "container_secrets", ["secret_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_container_secrets_secret_id"), table_name="container_secrets")
    op.drop_table("container_secrets")
    op.drop_index(op.f("ix_secret_containers_project_id"), table_name="secret_containers")
    op.drop_table("secret_containers")
    op.drop_index(op.f("ix_secrets_project_id"), table_name="secrets")
    op.drop_table("secrets")
