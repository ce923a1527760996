"""Hold queue staging: the full rebuild plans into it, then swaps the plan into the holds in one
transaction.

Revision ID: 0009_hold_queue_staging
Revises: 0008_notices
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_hold_queue_staging"
down_revision: str | None = "0008_notices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hold_queue_staging",
        sa.Column("hold_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("title_id", sa.Integer(), nullable=False),
        sa.Column("title_version", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("source_library_code", sa.String(length=20), nullable=True),
        sa.Column("note", sa.String(length=255), nullable=True),
        sa.Column("unfilled_reason", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("hold_id", name=op.f("pk_hold_queue_staging")),
    )
    op.create_index("ix_hold_queue_staging_title", "hold_queue_staging", ["title_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_hold_queue_staging_title", table_name="hold_queue_staging")
    op.drop_table("hold_queue_staging")
