"""Loans, loan history, transfers and the patron account (fines, fees, payments)."""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock

from .base import ZERO, Base, Money, StrEnumType, TimestampMixin, UTCDateTime


class Loan(TimestampMixin, Base):
    """An open checkout (Koha's issues). One row per item at most: the database refuses a second."""

    __tablename__ = "loans"
    # Never reuse a loan id (SQLite would hand out a deleted row's id again, colliding with
    # loan_history.loan_id and fines: Koha's bug 18242). Other databases use sequences.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # API checkout_id
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id"), nullable=False, index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), nullable=False, unique=True)
    library_code: Mapped[str] = mapped_column(ForeignKey("libraries.code"), nullable=False)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    last_renewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    renewals_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    unseen_renewals: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    onsite_checkout: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # How the loan was made: desk, opac, sip2, offline, api. Offline / store-and-forward loans
    # keep the due date they were given.
    channel: Mapped[str] = mapped_column(String(16), default="desk", nullable=False)
    issuer_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)

    patron = relationship("Patron", foreign_keys=[patron_id])
    item = relationship("Item")

    def is_overdue(self, at: dt.datetime | None = None) -> bool:
        return self.due_at < (at or clock.now())


class LoanHistory(Base):
    """A finished loan (Koha's old_issues). ``patron_id`` becomes NULL when anonymised."""

    __tablename__ = "loan_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    loan_id: Mapped[int] = mapped_column(Integer, nullable=False, unique=True)  # the open loan's id
    patron_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"), index=True)
    library_code: Mapped[str | None] = mapped_column(ForeignKey("libraries.code", ondelete="SET NULL"))
    return_library_code: Mapped[str | None] = mapped_column(ForeignKey("libraries.code", ondelete="SET NULL"))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    returned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    renewals_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    onsite_checkout: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    channel: Mapped[str] = mapped_column(String(16), default="desk", nullable=False)
    anonymized: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # Kept through anonymisation for statistics
    patron_category_code: Mapped[str | None] = mapped_column(String(20))
    item_type_code: Mapped[str | None] = mapped_column(String(20))

    patron = relationship("Patron")
    item = relationship("Item")


class TransferReason(enum.StrEnum):
    RETURN_HOME = "return_home"
    HOLD = "hold"
    MANUAL = "manual"


class ItemTransfer(TimestampMixin, Base):
    """An item travelling between libraries; open while ``arrived_at`` is NULL."""

    __tablename__ = "item_transfers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), nullable=False, index=True)
    from_library_code: Mapped[str] = mapped_column(ForeignKey("libraries.code"), nullable=False)
    to_library_code: Mapped[str] = mapped_column(ForeignKey("libraries.code"), nullable=False, index=True)
    reason: Mapped[TransferReason] = mapped_column(StrEnumType(TransferReason), nullable=False)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    arrived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    item = relationship("Item")


class DebitType(enum.StrEnum):
    OVERDUE = "OVERDUE"
    MANUAL = "MANUAL"
    LOST = "LOST"
    PROCESSING = "PROCESSING"
    RESERVE = "RESERVE"
    RESERVE_EXPIRED = "RESERVE_EXPIRED"
    ACCOUNT = "ACCOUNT"  # enrolment fee
    NEW_CARD = "NEW_CARD"


class CreditType(enum.StrEnum):
    PAYMENT = "PAYMENT"
    WRITEOFF = "WRITEOFF"
    FORGIVEN = "FORGIVEN"
    CREDIT = "CREDIT"
    REFUND = "REFUND"


class AccountLine(TimestampMixin, Base):
    """A debit (fine, fee) or credit (payment, write-off) on a patron's account.

    Debits have a positive ``amount``; credits a negative one, as in Koha. ``amount_outstanding``
    is what is left to pay on a debit, or left to apply of a credit."""

    __tablename__ = "account_lines"
    __table_args__ = (
        CheckConstraint("(debit_type IS NULL) <> (credit_type IS NULL)", name="debit_or_credit"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patron_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    loan_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the loan an overdue fine belongs to
    library_code: Mapped[str | None] = mapped_column(ForeignKey("libraries.code", ondelete="SET NULL"))
    debit_type: Mapped[DebitType | None] = mapped_column(StrEnumType(DebitType))
    credit_type: Mapped[CreditType | None] = mapped_column(StrEnumType(CreditType))
    # For overdue fines: "accruing" while the item is still out, then "returned" / "lost"
    status: Mapped[str | None] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    amount_outstanding: Mapped[Decimal] = mapped_column(Money, nullable=False, default=ZERO)
    description: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    payment_type: Mapped[str | None] = mapped_column(String(32))  # cash, card, sip2 code...
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"))
    # External id of the payment (SIP2 transaction id, offline fingerprint) for idempotency
    transaction_ref: Mapped[str | None] = mapped_column(String(128), unique=True)

    patron = relationship("Patron", foreign_keys=[patron_id])
    item = relationship("Item")

    @property
    def is_debit(self) -> bool:
        return self.debit_type is not None


class AccountOffset(Base):
    """How much of a credit was applied to which debit (Koha's account_offsets)."""

    __tablename__ = "account_offsets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit_id: Mapped[int | None] = mapped_column(ForeignKey("account_lines.id", ondelete="CASCADE"), index=True)
    debit_id: Mapped[int | None] = mapped_column(ForeignKey("account_lines.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # CREATE, APPLY, VOID, OVERDUE_INCREASE
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now, nullable=False)
