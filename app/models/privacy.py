"""Purges of inactive patrons: one row per run, holding its criteria, where it has got to and what
it did, so a run interrupted between batches is resumed where it stopped. It records counts,
never names.

Also the indexes the purge needs on foreign keys to ``patrons`` that their own tables do not
index: deleting a patron makes the database check (or set NULL in) every table that refers to
it, and without an index each deleted patron costs a full scan of that table (hold history,
loans, holds, account lines run to millions of rows)."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, StrEnumType, TimestampMixin, UTCDateTime
from .circulation import AccountLine, Loan
from .hold import Hold, HoldHistory
from .offline import PendingOfflineOperation
from .patron import PatronRestriction
from .settings import SystemPreference
from .sip import SipAccount


class PurgeStatus(enum.StrEnum):
    RUNNING = "running"  # batches remain (a run interrupted between batches stays here)
    FINISHED = "finished"
    CANCELLED = "cancelled"


class PurgeRun(TimestampMixin, Base):
    __tablename__ = "purge_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[PurgeStatus] = mapped_column(StrEnumType(PurgeStatus), default=PurgeStatus.RUNNING,
                                                nullable=False, index=True)
    # Criteria: inactive since this library-local date, optionally only these categories / libraries
    inactive_since: Mapped[dt.date] = mapped_column(Date, nullable=False)
    categories: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    libraries: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    batch_size: Mapped[int] = mapped_column(Integer, default=200, nullable=False)
    # Who and how: staff, cli or job (the actor is NULL for the CLI and the job)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"), index=True)
    # Progress: batches go by patron id, so a resumed run starts after the last id it handled
    selected: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # the dry run's count at the start
    last_patron_id: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    purged: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    batches: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    counts: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)  # rows anonymised / deleted by kind
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)  # why it was cancelled, or the last error

    @property
    def is_running(self) -> bool:
        return self.status is PurgeStatus.RUNNING

    @property
    def progress(self) -> float:
        """Share of the selected patrons handled so far (0..1)."""
        if self.status is PurgeStatus.FINISHED:
            return 1.0
        return min(1.0, self.purged / self.selected) if self.selected else 0.0


# Foreign keys to patrons that their tables leave unindexed (see the module docstring).
PATRON_REFERENCE_INDEXES = (
    Index("ix_account_lines_actor_id", AccountLine.__table__.c.actor_id),
    Index("ix_holds_placed_by_id", Hold.__table__.c.placed_by_id),
    Index("ix_hold_history_actor_id", HoldHistory.__table__.c.actor_id),
    Index("ix_loans_issuer_id", Loan.__table__.c.issuer_id),
    Index("ix_patron_restrictions_created_by_id", PatronRestriction.__table__.c.created_by_id),
    Index("ix_pending_offline_operations_uploaded_by_id", PendingOfflineOperation.__table__.c.uploaded_by_id),
    Index("ix_pending_offline_operations_cardnumber", PendingOfflineOperation.__table__.c.cardnumber),
    Index("ix_sip_accounts_actor_id", SipAccount.__table__.c.actor_id),
    Index("ix_system_preferences_updated_by_id", SystemPreference.__table__.c.updated_by_id),
)
