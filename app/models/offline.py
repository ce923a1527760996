"""Offline circulation actions waiting to be applied (Koha's pending_offline_operations), with
an outcome and a fingerprint so nothing is applied twice or dropped silently."""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app import clock

from .base import Base, Money, StrEnumType, UTCDateTime


class OfflineAction(enum.StrEnum):
    ISSUE = "issue"
    RETURN = "return"
    PAYMENT = "payment"


class OfflineStatus(enum.StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    FAILED = "failed"


class PendingOfflineOperation(Base):
    __tablename__ = "pending_offline_operations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    workstation: Mapped[str] = mapped_column(String(80), nullable=False)
    source: Mapped[str] = mapped_column(String(255), nullable=False)  # file name or "browser"
    line_number: Mapped[int | None] = mapped_column(Integer)
    staff_userid: Mapped[str | None] = mapped_column(String(75))
    library_code: Mapped[str | None] = mapped_column(ForeignKey("libraries.code", ondelete="SET NULL"))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    action: Mapped[OfflineAction] = mapped_column(StrEnumType(OfflineAction), nullable=False)
    cardnumber: Mapped[str | None] = mapped_column(String(32))
    barcode: Mapped[str | None] = mapped_column(String(40))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[OfflineStatus] = mapped_column(StrEnumType(OfflineStatus), default=OfflineStatus.PENDING, nullable=False, index=True)
    result: Mapped[str | None] = mapped_column(Text)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now, nullable=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"))
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    processed_by_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"), index=True)
    # What processing did, as a stable code (``checked_out``, ``item_not_found``...) beside the
    # human ``result``; the loan it made or closed, kept after the loan moves to history.
    outcome: Mapped[str | None] = mapped_column(String(40))
    loan_id: Mapped[int | None] = mapped_column(Integer)

    @property
    def is_done(self) -> bool:
        return self.status is OfflineStatus.APPLIED
