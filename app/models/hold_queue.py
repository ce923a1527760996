"""The full rebuild's staging table: the rebuild plans every title into it batch by batch (no
reader sees it), then one transaction swaps the plan into the holds, skipping titles whose queue
changed meanwhile (the per-title update already made them right)."""
from __future__ import annotations

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class HoldQueueStaging(Base):
    __tablename__ = "hold_queue_staging"
    __table_args__ = (Index("ix_hold_queue_staging_title", "title_id"),)

    hold_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    title_id: Mapped[int] = mapped_column(Integer, nullable=False)
    title_version: Mapped[int] = mapped_column(Integer, nullable=False)  # Title.hold_queue_version planned from
    item_id: Mapped[int | None] = mapped_column(Integer)
    source_library_code: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(255))
    unfilled_reason: Mapped[str | None] = mapped_column(String(64))
