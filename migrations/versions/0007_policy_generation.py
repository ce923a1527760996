"""Policy generation: a one-row token changed with every edit of the system preferences or the
circulation rules, so each process can keep both cached and know when its copy is out of date.

Revision ID: 0007_policy_generation
Revises: 0006_offline
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_policy_generation"
down_revision: str | None = "0006_offline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_generation")),
    )


def downgrade() -> None:
    op.drop_table("policy_generation")
