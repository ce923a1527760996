"""Privacy: purge runs (criteria, progress and counts of each purge of inactive patrons) and
indexes on the foreign keys to patrons that had none, so deleting a patron never scans a table.

Revision ID: 0003_privacy
Revises: 0002_title_search
Create Date: 2026-11-22 22:13:27
"""
from __future__ import annotations

from typing import Sequence

from alembic import op
import sqlalchemy as sa

revision: str = '0003_privacy'
down_revision: str | None = '0002_title_search'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PATRON_REFERENCE_INDEXES = (
    ('ix_account_lines_actor_id', 'account_lines', 'actor_id'),
    ('ix_holds_placed_by_id', 'holds', 'placed_by_id'),
    ('ix_hold_history_actor_id', 'hold_history', 'actor_id'),
    ('ix_loans_issuer_id', 'loans', 'issuer_id'),
    ('ix_patron_restrictions_created_by_id', 'patron_restrictions', 'created_by_id'),
    ('ix_pending_offline_operations_uploaded_by_id', 'pending_offline_operations', 'uploaded_by_id'),
    ('ix_pending_offline_operations_cardnumber', 'pending_offline_operations', 'cardnumber'),
    ('ix_sip_accounts_actor_id', 'sip_accounts', 'actor_id'),
    ('ix_system_preferences_updated_by_id', 'system_preferences', 'updated_by_id'),
)


def upgrade() -> None:
    op.create_table('purge_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('inactive_since', sa.Date(), nullable=False),
        sa.Column('categories', sa.JSON(), nullable=False),
        sa.Column('libraries', sa.JSON(), nullable=False),
        sa.Column('batch_size', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('started_by_id', sa.Integer(), nullable=True),
        sa.Column('selected', sa.Integer(), nullable=False),
        sa.Column('last_patron_id', sa.Integer(), nullable=False),
        sa.Column('purged', sa.Integer(), nullable=False),
        sa.Column('batches', sa.Integer(), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['started_by_id'], ['patrons.id'], name=op.f('fk_purge_runs_started_by_id_patrons'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_purge_runs')),
    )
    op.create_index(op.f('ix_purge_runs_started_by_id'), 'purge_runs', ['started_by_id'])
    op.create_index(op.f('ix_purge_runs_status'), 'purge_runs', ['status'])
    for name, table, column in PATRON_REFERENCE_INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _column in reversed(PATRON_REFERENCE_INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index(op.f('ix_purge_runs_status'), table_name='purge_runs')
    op.drop_index(op.f('ix_purge_runs_started_by_id'), table_name='purge_runs')
    op.drop_table('purge_runs')
