"""Patron import jobs: the uploaded file, options, progress, counts and report of each import.

Revision ID: 0004_patron_import
Revises: 0003_privacy
Create Date: 2026-11-22 22:20:00
"""
from __future__ import annotations

from typing import Sequence

from alembic import op
import sqlalchemy as sa

revision: str = '0004_patron_import'
down_revision: str | None = '0003_privacy'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('patron_import_jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('file_name', sa.String(length=255), nullable=False),
        sa.Column('file_size', sa.Integer(), nullable=False),
        sa.Column('file_data', sa.LargeBinary(), nullable=True),
        sa.Column('options', sa.JSON(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('phase', sa.String(length=16), nullable=True),
        sa.Column('rows_done', sa.Integer(), nullable=False),
        sa.Column('total_rows', sa.Integer(), nullable=False),
        sa.Column('created', sa.Integer(), nullable=False),
        sa.Column('overwritten', sa.Integer(), nullable=False),
        sa.Column('ignored', sa.Integer(), nullable=False),
        sa.Column('malformed', sa.Integer(), nullable=False),
        sa.Column('applied', sa.Boolean(), nullable=True),
        sa.Column('summary', sa.String(length=255), nullable=True),
        sa.Column('report', sa.Text(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('patron_list_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['actor_id'], ['patrons.id'], name=op.f('fk_patron_import_jobs_actor_id_patrons'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['patron_list_id'], ['patron_lists.id'],
                                name=op.f('fk_patron_import_jobs_patron_list_id_patron_lists'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_patron_import_jobs')),
    )
    op.create_index(op.f('ix_patron_import_jobs_actor_id'), 'patron_import_jobs', ['actor_id'])
    op.create_index(op.f('ix_patron_import_jobs_status'), 'patron_import_jobs', ['status'])


def downgrade() -> None:
    op.drop_index(op.f('ix_patron_import_jobs_status'), table_name='patron_import_jobs')
    op.drop_index(op.f('ix_patron_import_jobs_actor_id'), table_name='patron_import_jobs')
    op.drop_table('patron_import_jobs')
