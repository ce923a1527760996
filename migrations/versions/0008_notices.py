"""Notices: the message queue, staff-edited templates per event and library, the loans a loan
notice told about, and patron messaging preferences (with per-category defaults).

Revision ID: 0008_notices
Revises: 0007_policy_generation
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008_notices'
down_revision: str | None = '0007_policy_generation'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('messaging_preferences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patron_id', sa.Integer(), nullable=True),
    sa.Column('category_code', sa.String(length=20), nullable=True),
    sa.Column('message_name', sa.String(length=32), nullable=False),
    sa.Column('email', sa.Boolean(), nullable=False),
    sa.Column('days_in_advance', sa.Integer(), nullable=True),
    sa.CheckConstraint('(patron_id IS NULL AND category_code IS NOT NULL) OR (patron_id IS NOT NULL AND category_code IS NULL)', name=op.f('ck_messaging_preferences_one_owner')),
    sa.ForeignKeyConstraint(['category_code'], ['patron_categories.code'], name=op.f('fk_messaging_preferences_category_code_patron_categories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_messaging_preferences_patron_id_patrons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messaging_preferences')),
    sa.UniqueConstraint('category_code', 'message_name', name='uq_messaging_preferences_category'),
    sa.UniqueConstraint('patron_id', 'message_name', name='uq_messaging_preferences_patron')
    )
    op.create_table('notice_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('library_code', sa.String(length=20), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_id'], ['patrons.id'], name=op.f('fk_notice_templates_updated_by_id_patrons'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_templates')),
    sa.UniqueConstraint('event', 'library_code', name='uq_notice_templates_event_library')
    )
    with op.batch_alter_table('notice_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_templates_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patron_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('library_code', sa.String(length=20), nullable=True),
    sa.Column('to_address', sa.String(length=200), nullable=True),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('queued_at', sa.DateTime(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('printed_at', sa.DateTime(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=120), nullable=True),
    sa.Column('hold_id', sa.Integer(), nullable=True),
    sa.Column('resent_from_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['hold_id'], ['holds.id'], name=op.f('fk_notices_hold_id_holds'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['library_code'], ['libraries.code'], name=op.f('fk_notices_library_code_libraries'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_notices_patron_id_patrons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resent_from_id'], ['notices.id'], name=op.f('fk_notices_resent_from_id_notices'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notices_dedupe_key'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_claim_token'), ['claim_token'], unique=False)
        batch_op.create_index(batch_op.f('ix_notices_hold_id'), ['hold_id'], unique=False)
        batch_op.create_index('ix_notices_patron_id_queued_at', ['patron_id', 'queued_at'], unique=False)
        batch_op.create_index('ix_notices_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)

    op.create_table('notice_loans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_notice_loans_notice_id_notices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_loans')),
    sa.UniqueConstraint('loan_id', 'event', 'due_at', name='uq_notice_loans_once')
    )
    with op.batch_alter_table('notice_loans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_loans_notice_id'), ['notice_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('notice_loans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_loans_notice_id'))

    op.drop_table('notice_loans')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_status_next_attempt_at')
        batch_op.drop_index('ix_notices_patron_id_queued_at')
        batch_op.drop_index(batch_op.f('ix_notices_hold_id'))
        batch_op.drop_index(batch_op.f('ix_notices_claim_token'))

    op.drop_table('notices')
    with op.batch_alter_table('notice_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_templates_updated_by_id'))

    op.drop_table('notice_templates')
    op.drop_table('messaging_preferences')
