"""Full-text search over titles: an FTS5 table kept by triggers on SQLite, a GIN index on a
weighted tsvector expression on PostgreSQL.

The DDL is the search service's own (``app.services.search.search_index_ddl``), the same the
test and demo schemas get from ``create_all``, so the two cannot drift. A later change to it
ships as a new revision that calls ``create_search_index`` again (it drops and re-creates).

Revision ID: 0002_title_search
Revises: 0001_initial
"""
from __future__ import annotations

from typing import Sequence

from alembic import op

from app.services.search import create_search_index, drop_search_index

revision: str = "0002_title_search"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_search_index(op.get_bind())


def downgrade() -> None:
    drop_search_index(op.get_bind())
