"""Initial schema: every table of the Carrel models.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-22 21:28:31.863926
"""
from __future__ import annotations

from typing import Sequence

from alembic import op
import sqlalchemy as sa

revision: str = '0001_initial'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('authorised_values',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('value', sa.String(length=80), nullable=False),
        sa.Column('description', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_authorised_values')),
        sa.UniqueConstraint('category', 'value', name=op.f('uq_authorised_values_category_value')),
    )
    op.create_index(op.f('ix_authorised_values_category'), 'authorised_values', ['category'])

    op.create_table('circulation_rules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('library_code', sa.String(length=20), nullable=False),
        sa.Column('category_code', sa.String(length=20), nullable=False),
        sa.Column('item_type_code', sa.String(length=20), nullable=False),
        sa.Column('rule_name', sa.String(length=64), nullable=False),
        sa.Column('rule_value', sa.String(length=64), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_circulation_rules')),
        sa.UniqueConstraint('library_code', 'category_code', 'item_type_code', 'rule_name', name='uq_circulation_rules_cell'),
    )
    op.create_index(op.f('ix_circulation_rules_library_code'), 'circulation_rules', ['library_code'])

    op.create_table('item_types',
        sa.Column('code', sa.String(length=20), nullable=False),
        sa.Column('description', sa.String(length=200), nullable=False),
        sa.Column('not_for_loan', sa.Boolean(), nullable=False),
        sa.Column('sip_media_type', sa.String(length=3), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_item_types')),
    )

    op.create_table('libraries',
        sa.Column('code', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('address', sa.Text(), nullable=True),
        sa.Column('city', sa.String(length=100), nullable=True),
        sa.Column('postal_code', sa.String(length=25), nullable=True),
        sa.Column('country', sa.String(length=100), nullable=True),
        sa.Column('email', sa.String(length=200), nullable=True),
        sa.Column('phone', sa.String(length=50), nullable=True),
        sa.Column('is_pickup_location', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_libraries')),
    )

    op.create_table('login_throttles',
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_started_at', sa.DateTime(), nullable=False),
        sa.Column('locked_until', sa.DateTime(), nullable=True),
        sa.CheckConstraint('failures >= 0', name=op.f('ck_login_throttles_failures_non_negative')),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttles')),
    )

    op.create_table('patron_categories',
        sa.Column('code', sa.String(length=20), nullable=False),
        sa.Column('description', sa.String(length=200), nullable=False),
        sa.Column('category_type', sa.String(length=32), nullable=False),
        sa.Column('enrolment_period_months', sa.Integer(), nullable=False),
        sa.Column('upper_age_limit', sa.Integer(), nullable=True),
        sa.Column('minimum_age', sa.Integer(), nullable=True),
        sa.Column('default_privacy', sa.String(length=32), nullable=False),
        sa.Column('can_be_guarantee', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_patron_categories')),
    )

    op.create_table('sip_institutions',
        sa.Column('id', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('checkin_ok', sa.Boolean(), nullable=False),
        sa.Column('checkout_ok', sa.Boolean(), nullable=False),
        sa.Column('renewal_ok', sa.Boolean(), nullable=False),
        sa.Column('status_update_ok', sa.Boolean(), nullable=False),
        sa.Column('offline_ok', sa.Boolean(), nullable=False),
        sa.Column('timeout_period', sa.Integer(), nullable=False),
        sa.Column('retries_allowed', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sip_institutions')),
    )

    op.create_table('titles',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=500), nullable=False),
        sa.Column('subtitle', sa.String(length=500), nullable=True),
        sa.Column('author', sa.String(length=255), nullable=True),
        sa.Column('isbn', sa.String(length=30), nullable=True),
        sa.Column('publisher', sa.String(length=255), nullable=True),
        sa.Column('publication_year', sa.Integer(), nullable=True),
        sa.Column('series', sa.String(length=255), nullable=True),
        sa.Column('subjects', sa.Text(), nullable=True),
        sa.Column('language', sa.String(length=10), nullable=True),
        sa.Column('summary', sa.Text(), nullable=True),
        sa.Column('hold_queue_version', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_titles')),
    )
    op.create_index(op.f('ix_titles_author'), 'titles', ['author'])
    op.create_index(op.f('ix_titles_isbn'), 'titles', ['isbn'])

    op.create_table('attribute_types',
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('description', sa.String(length=255), nullable=False),
        sa.Column('repeatable', sa.Boolean(), nullable=False),
        sa.Column('unique_id', sa.Boolean(), nullable=False),
        sa.Column('authorised_value_category', sa.String(length=32), nullable=True),
        sa.Column('opac_display', sa.Boolean(), nullable=False),
        sa.Column('opac_editable', sa.Boolean(), nullable=False),
        sa.Column('staff_searchable', sa.Boolean(), nullable=False),
        sa.Column('mandatory', sa.Boolean(), nullable=False),
        sa.Column('category_code', sa.String(length=20), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['category_code'], ['patron_categories.code'], name=op.f('fk_attribute_types_category_code_patron_categories'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_attribute_types')),
    )

    op.create_table('closed_days',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('library_code', sa.String(length=20), nullable=False),
        sa.Column('on_date', sa.Date(), nullable=True),
        sa.Column('weekday', sa.Integer(), nullable=True),
        sa.Column('description', sa.String(length=200), nullable=True),
        sa.CheckConstraint('(on_date IS NULL) <> (weekday IS NULL)', name=op.f('ck_closed_days_date_or_weekday')),
        sa.CheckConstraint('weekday IS NULL OR (weekday >= 0 AND weekday <= 6)', name=op.f('ck_closed_days_weekday_range')),
        sa.ForeignKeyConstraint(['library_code'], ['libraries.code'], name=op.f('fk_closed_days_library_code_libraries'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_closed_days')),
        sa.UniqueConstraint('library_code', 'on_date', 'weekday', name=op.f('uq_closed_days_library_code_on_date_weekday')),
    )
    op.create_index(op.f('ix_closed_days_library_code'), 'closed_days', ['library_code'])

    op.create_table('items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('barcode', sa.String(length=40), nullable=False),
        sa.Column('title_id', sa.Integer(), nullable=False),
        sa.Column('home_library_code', sa.String(length=20), nullable=False),
        sa.Column('holding_library_code', sa.String(length=20), nullable=False),
        sa.Column('item_type_code', sa.String(length=20), nullable=False),
        sa.Column('callnumber', sa.String(length=255), nullable=True),
        sa.Column('enumchron', sa.String(length=80), nullable=True),
        sa.Column('copynumber', sa.String(length=32), nullable=True),
        sa.Column('shelving_location', sa.String(length=80), nullable=True),
        sa.Column('collection', sa.String(length=80), nullable=True),
        sa.Column('price', sa.Numeric(precision=28, scale=6), nullable=True),
        sa.Column('replacement_price', sa.Numeric(precision=28, scale=6), nullable=True),
        sa.Column('not_for_loan', sa.Integer(), nullable=False),
        sa.Column('lost', sa.Integer(), nullable=False),
        sa.Column('lost_on', sa.DateTime(), nullable=True),
        sa.Column('withdrawn', sa.Boolean(), nullable=False),
        sa.Column('damaged', sa.Boolean(), nullable=False),
        sa.Column('date_last_seen', sa.Date(), nullable=True),
        sa.Column('date_last_borrowed', sa.Date(), nullable=True),
        sa.Column('checkouts_count', sa.Integer(), nullable=False),
        sa.Column('renewals_count', sa.Integer(), nullable=False),
        sa.Column('public_note', sa.Text(), nullable=True),
        sa.Column('staff_note', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['holding_library_code'], ['libraries.code'], name=op.f('fk_items_holding_library_code_libraries')),
        sa.ForeignKeyConstraint(['home_library_code'], ['libraries.code'], name=op.f('fk_items_home_library_code_libraries')),
        sa.ForeignKeyConstraint(['item_type_code'], ['item_types.code'], name=op.f('fk_items_item_type_code_item_types')),
        sa.ForeignKeyConstraint(['title_id'], ['titles.id'], name=op.f('fk_items_title_id_titles')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_items')),
        sa.UniqueConstraint('barcode', name=op.f('uq_items_barcode')),
    )
    op.create_index(op.f('ix_items_holding_library_code'), 'items', ['holding_library_code'])
    op.create_index(op.f('ix_items_home_library_code'), 'items', ['home_library_code'])
    op.create_index('ix_items_title_enumchron', 'items', ['title_id', 'enumchron'])
    op.create_index(op.f('ix_items_title_id'), 'items', ['title_id'])

    op.create_table('patrons',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cardnumber', sa.String(length=32), nullable=True),
        sa.Column('userid', sa.String(length=75), nullable=True),
        sa.Column('surname', sa.String(length=200), nullable=False),
        sa.Column('firstname', sa.String(length=200), nullable=True),
        sa.Column('middle_name', sa.String(length=200), nullable=True),
        sa.Column('preferred_name', sa.String(length=200), nullable=True),
        sa.Column('title', sa.String(length=50), nullable=True),
        sa.Column('othernames', sa.String(length=200), nullable=True),
        sa.Column('initials', sa.String(length=20), nullable=True),
        sa.Column('pronouns', sa.String(length=50), nullable=True),
        sa.Column('streetnumber', sa.String(length=20), nullable=True),
        sa.Column('streettype', sa.String(length=50), nullable=True),
        sa.Column('address', sa.Text(), nullable=True),
        sa.Column('address2', sa.Text(), nullable=True),
        sa.Column('city', sa.String(length=100), nullable=True),
        sa.Column('state', sa.String(length=100), nullable=True),
        sa.Column('zipcode', sa.String(length=25), nullable=True),
        sa.Column('country', sa.String(length=100), nullable=True),
        sa.Column('email', sa.String(length=200), nullable=True),
        sa.Column('phone', sa.String(length=50), nullable=True),
        sa.Column('mobile', sa.String(length=50), nullable=True),
        sa.Column('fax', sa.String(length=50), nullable=True),
        sa.Column('emailpro', sa.String(length=200), nullable=True),
        sa.Column('phonepro', sa.String(length=50), nullable=True),
        sa.Column('smsalertnumber', sa.String(length=50), nullable=True),
        sa.Column('primary_contact_method', sa.String(length=20), nullable=True),
        sa.Column('b_streetnumber', sa.String(length=20), nullable=True),
        sa.Column('b_streettype', sa.String(length=50), nullable=True),
        sa.Column('b_address', sa.Text(), nullable=True),
        sa.Column('b_address2', sa.Text(), nullable=True),
        sa.Column('b_city', sa.String(length=100), nullable=True),
        sa.Column('b_state', sa.String(length=100), nullable=True),
        sa.Column('b_zipcode', sa.String(length=25), nullable=True),
        sa.Column('b_country', sa.String(length=100), nullable=True),
        sa.Column('b_email', sa.String(length=200), nullable=True),
        sa.Column('b_phone', sa.String(length=50), nullable=True),
        sa.Column('contactnote', sa.Text(), nullable=True),
        sa.Column('altcontactfirstname', sa.String(length=200), nullable=True),
        sa.Column('altcontactsurname', sa.String(length=200), nullable=True),
        sa.Column('altcontactaddress1', sa.String(length=255), nullable=True),
        sa.Column('altcontactaddress2', sa.String(length=255), nullable=True),
        sa.Column('altcontactaddress3', sa.String(length=255), nullable=True),
        sa.Column('altcontactstate', sa.String(length=100), nullable=True),
        sa.Column('altcontactzipcode', sa.String(length=25), nullable=True),
        sa.Column('altcontactcountry', sa.String(length=100), nullable=True),
        sa.Column('altcontactphone', sa.String(length=50), nullable=True),
        sa.Column('dateofbirth', sa.Date(), nullable=True),
        sa.Column('sex', sa.String(length=1), nullable=True),
        sa.Column('lang', sa.String(length=25), nullable=True),
        sa.Column('library_code', sa.String(length=20), nullable=False),
        sa.Column('category_code', sa.String(length=20), nullable=False),
        sa.Column('dateenrolled', sa.Date(), nullable=True),
        sa.Column('dateexpiry', sa.Date(), nullable=True),
        sa.Column('date_renewed', sa.Date(), nullable=True),
        sa.Column('sort1', sa.String(length=80), nullable=True),
        sa.Column('sort2', sa.String(length=80), nullable=True),
        sa.Column('guarantor_id', sa.Integer(), nullable=True),
        sa.Column('relationship_type', sa.String(length=100), nullable=True),
        sa.Column('gonenoaddress', sa.Boolean(), nullable=False),
        sa.Column('card_lost', sa.Boolean(), nullable=False),
        sa.Column('borrowernotes', sa.Text(), nullable=True),
        sa.Column('opacnote', sa.Text(), nullable=True),
        sa.Column('checkprevcheckout', sa.String(length=7), nullable=False),
        sa.Column('autorenew_checkouts', sa.Boolean(), nullable=False),
        sa.Column('privacy', sa.String(length=32), nullable=False),
        sa.Column('lastseen', sa.DateTime(), nullable=True),
        sa.Column('anonymized', sa.Boolean(), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=True),
        sa.Column('password_expiration_date', sa.Date(), nullable=True),
        sa.Column('login_attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['category_code'], ['patron_categories.code'], name=op.f('fk_patrons_category_code_patron_categories')),
        sa.ForeignKeyConstraint(['guarantor_id'], ['patrons.id'], name=op.f('fk_patrons_guarantor_id_patrons'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['library_code'], ['libraries.code'], name=op.f('fk_patrons_library_code_libraries')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_patrons')),
        sa.UniqueConstraint('cardnumber', name=op.f('uq_patrons_cardnumber')),
        sa.UniqueConstraint('userid', name=op.f('uq_patrons_userid')),
    )
    op.create_index(op.f('ix_patrons_category_code'), 'patrons', ['category_code'])
    op.create_index(op.f('ix_patrons_email'), 'patrons', ['email'])
    op.create_index(op.f('ix_patrons_guarantor_id'), 'patrons', ['guarantor_id'])
    op.create_index(op.f('ix_patrons_lastseen'), 'patrons', ['lastseen'])
    op.create_index(op.f('ix_patrons_library_code'), 'patrons', ['library_code'])
    op.create_index(op.f('ix_patrons_surname'), 'patrons', ['surname'])

    op.create_table('transport_costs',
        sa.Column('from_library_code', sa.String(length=20), nullable=False),
        sa.Column('to_library_code', sa.String(length=20), nullable=False),
        sa.Column('cost', sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column('blocked', sa.Boolean(), nullable=False),
        sa.CheckConstraint('cost >= 0', name=op.f('ck_transport_costs_cost_non_negative')),
        sa.ForeignKeyConstraint(['from_library_code'], ['libraries.code'], name=op.f('fk_transport_costs_from_library_code_libraries'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['to_library_code'], ['libraries.code'], name=op.f('fk_transport_costs_to_library_code_libraries'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('from_library_code', 'to_library_code', name=op.f('pk_transport_costs')),
    )

    op.create_table('account_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patron_id', sa.Integer(), nullable=True),
        sa.Column('item_id', sa.Integer(), nullable=True),
        sa.Column('loan_id', sa.Integer(), nullable=True),
        sa.Column('library_code', sa.String(length=20), nullable=True),
        sa.Column('debit_type', sa.String(length=32), nullable=True),
        sa.Column('credit_type', sa.String(length=32), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=True),
        sa.Column('amount', sa.Numeric(precision=28, scale=6), nullable=False),
        sa.Column('amount_outstanding', sa.Numeric(precision=28, scale=6), nullable=False),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('payment_type', sa.String(length=32), nullable=True),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('transaction_ref', sa.String(length=128), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('(debit_type IS NULL) <> (credit_type IS NULL)', name=op.f('ck_account_lines_debit_or_credit')),
        sa.ForeignKeyConstraint(['actor_id'], ['patrons.id'], name=op.f('fk_account_lines_actor_id_patrons'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_account_lines_item_id_items'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['library_code'], ['libraries.code'], name=op.f('fk_account_lines_library_code_libraries'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_account_lines_patron_id_patrons'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_lines')),
        sa.UniqueConstraint('transaction_ref', name=op.f('uq_account_lines_transaction_ref')),
    )
    op.create_index(op.f('ix_account_lines_loan_id'), 'account_lines', ['loan_id'])
    op.create_index(op.f('ix_account_lines_patron_id'), 'account_lines', ['patron_id'])

    op.create_table('api_clients',
        sa.Column('client_id', sa.String(length=191), nullable=False),
        sa.Column('secret_hash', sa.String(length=255), nullable=False),
        sa.Column('description', sa.String(length=255), nullable=True),
        sa.Column('patron_id', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_api_clients_patron_id_patrons'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('client_id', name=op.f('pk_api_clients')),
    )
    op.create_index(op.f('ix_api_clients_patron_id'), 'api_clients', ['patron_id'])

    op.create_table('audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('module', sa.String(length=32), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('object_type', sa.String(length=32), nullable=True),
        sa.Column('object_id', sa.String(length=64), nullable=True),
        sa.Column('info', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['actor_id'], ['patrons.id'], name=op.f('fk_audit_log_actor_id_patrons'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    )
    op.create_index(op.f('ix_audit_log_actor_id'), 'audit_log', ['actor_id'])
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'])
    op.create_index(op.f('ix_audit_log_object_id'), 'audit_log', ['object_id'])

    op.create_table('holds',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patron_id', sa.Integer(), nullable=True),
        sa.Column('title_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=True),
        sa.Column('volume', sa.String(length=80), nullable=True),
        sa.Column('item_type_code', sa.String(length=20), nullable=True),
        sa.Column('pickup_library_code', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('queue_key', sa.Integer(), nullable=True),
        sa.Column('lowest_priority', sa.Boolean(), nullable=False),
        sa.Column('placed_at', sa.DateTime(), nullable=False),
        sa.Column('not_needed_after', sa.Date(), nullable=True),
        sa.Column('suspended_until', sa.Date(), nullable=True),
        sa.Column('allocated_item_id', sa.Integer(), nullable=True),
        sa.Column('source_library_code', sa.String(length=20), nullable=True),
        sa.Column('waiting_since', sa.DateTime(), nullable=True),
        sa.Column('pickup_deadline', sa.Date(), nullable=True),
        sa.Column('unfilled_reason', sa.String(length=64), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('cancellation_reason', sa.String(length=80), nullable=True),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('placed_by_id', sa.Integer(), nullable=True),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('anonymized', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['allocated_item_id'], ['items.id'], name=op.f('fk_holds_allocated_item_id_items'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_holds_item_id_items'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['item_type_code'], ['item_types.code'], name=op.f('fk_holds_item_type_code_item_types'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_holds_patron_id_patrons'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['pickup_library_code'], ['libraries.code'], name=op.f('fk_holds_pickup_library_code_libraries')),
        sa.ForeignKeyConstraint(['placed_by_id'], ['patrons.id'], name=op.f('fk_holds_placed_by_id_patrons'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['source_library_code'], ['libraries.code'], name=op.f('fk_holds_source_library_code_libraries'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['title_id'], ['titles.id'], name=op.f('fk_holds_title_id_titles')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_holds')),
        sa.UniqueConstraint('title_id', 'queue_key', name='uq_holds_title_queue_key'),
    )
    op.create_index(op.f('ix_holds_allocated_item_id'), 'holds', ['allocated_item_id'])
    op.create_index(op.f('ix_holds_item_id'), 'holds', ['item_id'])
    op.create_index(op.f('ix_holds_patron_id'), 'holds', ['patron_id'])
    op.create_index('ix_holds_patron_status', 'holds', ['patron_id', 'status'])
    op.create_index(op.f('ix_holds_pickup_library_code'), 'holds', ['pickup_library_code'])
    op.create_index('ix_holds_title_status', 'holds', ['title_id', 'status'])

    op.create_table('item_transfers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('from_library_code', sa.String(length=20), nullable=False),
        sa.Column('to_library_code', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=False),
        sa.Column('arrived_at', sa.DateTime(), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['from_library_code'], ['libraries.code'], name=op.f('fk_item_transfers_from_library_code_libraries')),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_transfers_item_id_items'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['to_library_code'], ['libraries.code'], name=op.f('fk_item_transfers_to_library_code_libraries')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_item_transfers')),
    )
    op.create_index(op.f('ix_item_transfers_item_id'), 'item_transfers', ['item_id'])
    op.create_index(op.f('ix_item_transfers_to_library_code'), 'item_transfers', ['to_library_code'])

    op.create_table('loan_history',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('loan_id', sa.Integer(), nullable=False),
        sa.Column('patron_id', sa.Integer(), nullable=True),
        sa.Column('item_id', sa.Integer(), nullable=True),
        sa.Column('library_code', sa.String(length=20), nullable=True),
        sa.Column('return_library_code', sa.String(length=20), nullable=True),
        sa.Column('issued_at', sa.DateTime(), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('returned_at', sa.DateTime(), nullable=False),
        sa.Column('renewals_count', sa.Integer(), nullable=False),
        sa.Column('onsite_checkout', sa.Boolean(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('anonymized', sa.Boolean(), nullable=False),
        sa.Column('patron_category_code', sa.String(length=20), nullable=True),
        sa.Column('item_type_code', sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_loan_history_item_id_items'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['library_code'], ['libraries.code'], name=op.f('fk_loan_history_library_code_libraries'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_loan_history_patron_id_patrons'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['return_library_code'], ['libraries.code'], name=op.f('fk_loan_history_return_library_code_libraries'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_loan_history')),
        sa.UniqueConstraint('loan_id', name=op.f('uq_loan_history_loan_id')),
    )
    op.create_index(op.f('ix_loan_history_item_id'), 'loan_history', ['item_id'])
    op.create_index(op.f('ix_loan_history_patron_id'), 'loan_history', ['patron_id'])
    op.create_index(op.f('ix_loan_history_returned_at'), 'loan_history', ['returned_at'])

    op.create_table('loans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patron_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('library_code', sa.String(length=20), nullable=False),
        sa.Column('issued_at', sa.DateTime(), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('last_renewed_at', sa.DateTime(), nullable=True),
        sa.Column('renewals_count', sa.Integer(), nullable=False),
        sa.Column('unseen_renewals', sa.Integer(), nullable=False),
        sa.Column('auto_renew', sa.Boolean(), nullable=False),
        sa.Column('onsite_checkout', sa.Boolean(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('issuer_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['issuer_id'], ['patrons.id'], name=op.f('fk_loans_issuer_id_patrons'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_loans_item_id_items')),
        sa.ForeignKeyConstraint(['library_code'], ['libraries.code'], name=op.f('fk_loans_library_code_libraries')),
        sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_loans_patron_id_patrons')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_loans')),
        sa.UniqueConstraint('item_id', name=op.f('uq_loans_item_id')),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_loans_due_at'), 'loans', ['due_at'])
    op.create_index(op.f('ix_loans_patron_id'), 'loans', ['patron_id'])

    op.create_table('patron_attributes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patron_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('value', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(['code'], ['attribute_types.code'], name=op.f('fk_patron_attributes_code_attribute_types'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_patron_attributes_patron_id_patrons'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_patron_attributes')),
        sa.UniqueConstraint('patron_id', 'code', 'value', name=op.f('uq_patron_attributes_patron_id_code_value')),
    )
    op.create_index(op.f('ix_patron_attributes_patron_id'), 'patron_attributes', ['patron_id'])

    op.create_table('patron_lists',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('shared', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['owner_id'], ['patrons.id'], name=op.f('fk_patron_lists_owner_id_patrons'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_patron_lists')),
    )
    op.create_index(op.f('ix_patron_lists_owner_id'), 'patron_lists', ['owner_id'])

    op.create_table('patron_restrictions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patron_id', sa.Integer(), nullable=False),
        sa.Column('restriction_type', sa.String(length=32), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('expiration', sa.Date(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['patrons.id'], name=op.f('fk_patron_restrictions_created_by_id_patrons'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_patron_restrictions_patron_id_patrons'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_patron_restrictions')),
    )
    op.create_index(op.f('ix_patron_restrictions_patron_id'), 'patron_restrictions', ['patron_id'])

    op.create_table('pending_offline_operations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('workstation', sa.String(length=80), nullable=False),
        sa.Column('source', sa.String(length=255), nullable=False),
        sa.Column('line_number', sa.Integer(), nullable=True),
        sa.Column('staff_userid', sa.String(length=75), nullable=True),
        sa.Column('library_code', sa.String(length=20), nullable=True),
        sa.Column('occurred_at', sa.DateTime(), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('cardnumber', sa.String(length=32), nullable=True),
        sa.Column('barcode', sa.String(length=40), nullable=True),
        sa.Column('amount', sa.Numeric(precision=28, scale=6), nullable=True),
        sa.Column('due_at', sa.DateTime(), nullable=True),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('result', sa.Text(), nullable=True),
        sa.Column('uploaded_at', sa.DateTime(), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('processed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['library_code'], ['libraries.code'], name=op.f('fk_pending_offline_operations_library_code_libraries'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['patrons.id'], name=op.f('fk_pending_offline_operations_uploaded_by_id_patrons'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_offline_operations')),
        sa.UniqueConstraint('fingerprint', name=op.f('uq_pending_offline_operations_fingerprint')),
    )
    op.create_index(op.f('ix_pending_offline_operations_occurred_at'), 'pending_offline_operations', ['occurred_at'])
    op.create_index(op.f('ix_pending_offline_operations_status'), 'pending_offline_operations', ['status'])

    op.create_table('sip_accounts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('login', sa.String(length=80), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('institution_id', sa.String(length=20), nullable=False),
        sa.Column('library_code', sa.String(length=20), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('error_detection', sa.Boolean(), nullable=False),
        sa.Column('terminator', sa.String(length=4), nullable=False),
        sa.Column('delimiter', sa.String(length=1), nullable=False),
        sa.Column('encoding', sa.String(length=16), nullable=False),
        sa.Column('supports_magnetic_media', sa.Boolean(), nullable=False),
        sa.Column('supports_security_inhibit', sa.Boolean(), nullable=False),
        sa.Column('supports_offline', sa.Boolean(), nullable=False),
        sa.Column('checked_in_ok', sa.Boolean(), nullable=False),
        sa.Column('holds_block_checkin', sa.Boolean(), nullable=False),
        sa.Column('allow_empty_pin', sa.Boolean(), nullable=False),
        sa.Column('hidden_fields', sa.String(length=200), nullable=False),
        sa.Column('allowed_addresses', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['patrons.id'], name=op.f('fk_sip_accounts_actor_id_patrons'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['institution_id'], ['sip_institutions.id'], name=op.f('fk_sip_accounts_institution_id_sip_institutions')),
        sa.ForeignKeyConstraint(['library_code'], ['libraries.code'], name=op.f('fk_sip_accounts_library_code_libraries')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sip_accounts')),
        sa.UniqueConstraint('login', name=op.f('uq_sip_accounts_login')),
    )

    op.create_table('staff_permissions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patron_id', sa.Integer(), nullable=False),
        sa.Column('permission', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_staff_permissions_patron_id_patrons'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_permissions')),
        sa.UniqueConstraint('patron_id', 'permission', name=op.f('uq_staff_permissions_patron_id_permission')),
    )
    op.create_index(op.f('ix_staff_permissions_patron_id'), 'staff_permissions', ['patron_id'])

    op.create_table('system_preferences',
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['patrons.id'], name=op.f('fk_system_preferences_updated_by_id_patrons'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_system_preferences')),
    )

    op.create_table('account_offsets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('credit_id', sa.Integer(), nullable=True),
        sa.Column('debit_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('amount', sa.Numeric(precision=28, scale=6), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['credit_id'], ['account_lines.id'], name=op.f('fk_account_offsets_credit_id_account_lines'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['debit_id'], ['account_lines.id'], name=op.f('fk_account_offsets_debit_id_account_lines'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_offsets')),
    )
    op.create_index(op.f('ix_account_offsets_credit_id'), 'account_offsets', ['credit_id'])
    op.create_index(op.f('ix_account_offsets_debit_id'), 'account_offsets', ['debit_id'])

    op.create_table('api_tokens',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('client_id', sa.String(length=191), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['client_id'], ['api_clients.client_id'], name=op.f('fk_api_tokens_client_id_api_clients'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_api_tokens')),
    )
    op.create_index(op.f('ix_api_tokens_client_id'), 'api_tokens', ['client_id'])
    op.create_index(op.f('ix_api_tokens_expires_at'), 'api_tokens', ['expires_at'])

    op.create_table('hold_history',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hold_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('from_status', sa.String(length=32), nullable=True),
        sa.Column('to_status', sa.String(length=32), nullable=False),
        sa.Column('reason', sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(['actor_id'], ['patrons.id'], name=op.f('fk_hold_history_actor_id_patrons'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['hold_id'], ['holds.id'], name=op.f('fk_hold_history_hold_id_holds'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hold_history')),
    )
    op.create_index(op.f('ix_hold_history_hold_id'), 'hold_history', ['hold_id'])

    op.create_table('patron_list_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patron_list_id', sa.Integer(), nullable=False),
        sa.Column('patron_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_patron_list_entries_patron_id_patrons'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['patron_list_id'], ['patron_lists.id'], name=op.f('fk_patron_list_entries_patron_list_id_patron_lists'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_patron_list_entries')),
        sa.UniqueConstraint('patron_list_id', 'patron_id', name=op.f('uq_patron_list_entries_patron_list_id_patron_id')),
    )
    op.create_index(op.f('ix_patron_list_entries_patron_id'), 'patron_list_entries', ['patron_id'])


def downgrade() -> None:
    # Dropping a table drops its indexes and constraints with it.
    op.drop_table('patron_list_entries')
    op.drop_table('hold_history')
    op.drop_table('api_tokens')
    op.drop_table('account_offsets')
    op.drop_table('system_preferences')
    op.drop_table('staff_permissions')
    op.drop_table('sip_accounts')
    op.drop_table('pending_offline_operations')
    op.drop_table('patron_restrictions')
    op.drop_table('patron_lists')
    op.drop_table('patron_attributes')
    op.drop_table('loans')
    op.drop_table('loan_history')
    op.drop_table('item_transfers')
    op.drop_table('holds')
    op.drop_table('audit_log')
    op.drop_table('api_clients')
    op.drop_table('account_lines')
    op.drop_table('transport_costs')
    op.drop_table('patrons')
    op.drop_table('items')
    op.drop_table('closed_days')
    op.drop_table('attribute_types')
    op.drop_table('titles')
    op.drop_table('sip_institutions')
    op.drop_table('patron_categories')
    op.drop_table('login_throttles')
    op.drop_table('libraries')
    op.drop_table('item_types')
    op.drop_table('circulation_rules')
    op.drop_table('authorised_values')
