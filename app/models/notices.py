"""Notices (Koha's letters and message_queue): the templates staff edit per event and library,
the queue of rendered messages the sender job delivers, the loans a loan notice told about, and
the patrons' messaging preferences (with defaults per patron category).

A notice is rendered when its event happens, in the event's own transaction, so the patron reads
what was true then; the sender only ever moves rows between statuses."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock

from .base import Base, Code, StrEnumType, TimestampMixin, UTCDateTime

ALL_LIBRARIES = "*"


class NoticeStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by one sender run; never picked by another
    SENT = "sent"
    FAILED = "failed"


class NoticeChannel(enum.StrEnum):
    EMAIL = "email"
    PRINT = "print"  # a slip staff print (patrons without an email address)


class Notice(Base):
    """One message to one patron (Koha's message_queue row)."""

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_notices_patron_id_queued_at", "patron_id", "queued_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), nullable=False)
    event: Mapped[str] = mapped_column(String(32), nullable=False)  # Koha's letter code: HOLD, ODUE...
    channel: Mapped[NoticeChannel] = mapped_column(StrEnumType(NoticeChannel), nullable=False)
    library_code: Mapped[str | None] = mapped_column(ForeignKey("libraries.code", ondelete="SET NULL"))
    to_address: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(255), nullable=False)
    body_text: Mapped[str] = mapped_column(Text, nullable=False)
    body_html: Mapped[str | None] = mapped_column(Text)
    status: Mapped[NoticeStatus] = mapped_column(StrEnumType(NoticeStatus), default=NoticeStatus.PENDING,
                                                 nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now, nullable=False)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now, nullable=False)
    claim_token: Mapped[str | None] = mapped_column(String(32), index=True)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    printed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Each event tells a patron once: "hold:12:ready:<waiting since>", "patron:7:welcome"...
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("holds.id", ondelete="SET NULL"), index=True)
    resent_from_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="SET NULL"))

    patron = relationship("Patron")
    library = relationship("Library")

    @property
    def is_pending(self) -> bool:
        return self.status is NoticeStatus.PENDING


class NoticeLoan(Base):
    """A loan a due-soon or overdue notice told the patron about: each loan is told once per
    event and due date (a renewal moves the due date, so the next overdue is told again)."""

    __tablename__ = "notice_loans"
    __table_args__ = (UniqueConstraint("loan_id", "event", "due_at", name="uq_notice_loans_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), nullable=False, index=True)
    loan_id: Mapped[int] = mapped_column(Integer, nullable=False)  # loans move to loan_history: no foreign key
    event: Mapped[str] = mapped_column(String(32), nullable=False)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)


class NoticeTemplate(TimestampMixin, Base):
    """A staff-edited template for one event at one library (``*``: every library). Events
    without a row use the template shipped in code."""

    __tablename__ = "notice_templates"
    __table_args__ = (UniqueConstraint("event", "library_code", name="uq_notice_templates_event_library"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[str] = mapped_column(String(32), nullable=False)
    library_code: Mapped[str] = mapped_column(Code, nullable=False, default=ALL_LIBRARIES)
    subject: Mapped[str] = mapped_column(String(255), nullable=False)
    body_text: Mapped[str] = mapped_column(Text, nullable=False)
    body_html: Mapped[str | None] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"), index=True)


class MessagingPreference(Base):
    """Whether a patron (or, as a default, a patron category) wants one kind of message by email
    (Koha's borrower_message_preferences; message names are Koha's message attributes)."""

    __tablename__ = "messaging_preferences"
    __table_args__ = (
        UniqueConstraint("patron_id", "message_name", name="uq_messaging_preferences_patron"),
        UniqueConstraint("category_code", "message_name", name="uq_messaging_preferences_category"),
        CheckConstraint("(patron_id IS NULL AND category_code IS NOT NULL) OR "
                        "(patron_id IS NOT NULL AND category_code IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patron_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"))
    category_code: Mapped[str | None] = mapped_column(ForeignKey("patron_categories.code", ondelete="CASCADE"))
    message_name: Mapped[str] = mapped_column(String(32), nullable=False)
    email: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    days_in_advance: Mapped[int | None] = mapped_column(Integer)
