"""SIP2: the transactions kept so a retried kiosk request is answered without being done twice,
and the item properties kiosks store with an item status update.

Revision ID: 0005_sip2_transactions
Revises: 0004_patron_import
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_sip2_transactions"
down_revision: str | None = "0004_patron_import"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sip_transactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("message_code", sa.String(length=2), nullable=False),
        sa.Column("patron_ref", sa.String(length=64), nullable=False),
        sa.Column("item_ref", sa.String(length=64), nullable=False),
        sa.Column("transaction_date", sa.String(length=18), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["sip_accounts.id"],
                                name=op.f("fk_sip_transactions_account_id_sip_accounts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sip_transactions")),
        sa.UniqueConstraint("account_id", "message_code", "patron_ref", "item_ref", "transaction_date",
                            name="uq_sip_transactions_request"),
    )
    op.create_index(op.f("ix_sip_transactions_created_at"), "sip_transactions", ["created_at"])
    op.create_table(
        "sip_item_properties",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("properties", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["sip_accounts.id"],
                                name=op.f("fk_sip_item_properties_account_id_sip_accounts"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_sip_item_properties_item_id_items"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_sip_item_properties")),
    )


def downgrade() -> None:
    op.drop_table("sip_item_properties")
    op.drop_index(op.f("ix_sip_transactions_created_at"), table_name="sip_transactions")
    op.drop_table("sip_transactions")
