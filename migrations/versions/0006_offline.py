"""Offline circulation: what processing did to each pending action (a stable outcome code, the
loan it made or closed, who processed it), kept beside the human result.

Revision ID: 0006_offline
Revises: 0005_sip2_transactions
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_offline"
down_revision: str | None = "0005_sip2_transactions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pending_offline_operations") as batch:
        batch.add_column(sa.Column("processed_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("loan_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_pending_offline_operations_processed_by_id_patrons"), "patrons",
                                 ["processed_by_id"], ["id"], ondelete="SET NULL")
        batch.create_index(op.f("ix_pending_offline_operations_processed_by_id"), ["processed_by_id"])


def downgrade() -> None:
    with op.batch_alter_table("pending_offline_operations") as batch:
        batch.drop_index(op.f("ix_pending_offline_operations_processed_by_id"))
        batch.drop_constraint(op.f("fk_pending_offline_operations_processed_by_id_patrons"), type_="foreignkey")
        batch.drop_column("loan_id")
        batch.drop_column("outcome")
        batch.drop_column("processed_by_id")
