"""Patron import jobs: one row per uploaded CSV, with its options, progress, counts and report.

The uploaded file is kept in the row (not on a web machine's disk) so whichever process runs the
job can read it; it is removed once the job has finished, leaving only the report."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from app import clock

from .base import Base, StrEnumType, UTCDateTime


class ImportJobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # the import ran to its end: applied, refused for bad rows, or a dry run
    FAILED = "failed"  # an unexpected error; nothing was written


class PatronImportJob(Base):
    __tablename__ = "patron_import_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[ImportJobStatus] = mapped_column(StrEnumType(ImportJobStatus), default=ImportJobStatus.QUEUED,
                                                    nullable=False, index=True)
    file_name: Mapped[str] = mapped_column(String(255), nullable=False)
    file_size: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    file_data: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    options: Mapped[dict] = mapped_column(JSON, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now, nullable=False)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Progress: rows read in the current phase (validating, then writing) out of total_rows.
    phase: Mapped[str | None] = mapped_column(String(16))
    rows_done: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    total_rows: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    created: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    overwritten: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    ignored: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    malformed: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    applied: Mapped[bool | None] = mapped_column(Boolean)
    summary: Mapped[str | None] = mapped_column(String(255))
    report: Mapped[str | None] = deferred(mapped_column(Text))
    error: Mapped[str | None] = mapped_column(Text)
    patron_list_id: Mapped[int | None] = mapped_column(ForeignKey("patron_lists.id", ondelete="SET NULL"))

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportJobStatus.DONE, ImportJobStatus.FAILED)

    @property
    def percent(self) -> int:
        """Overall progress: validating is the first half, writing the second."""
        if self.is_finished:
            return 100
        if not self.total_rows:
            return 0
        share = min(self.rows_done, self.total_rows) / self.total_rows
        return int((50 if self.phase == "writing" else 0) + share * (50 if self.phase in ("validating", "writing") else 0))
