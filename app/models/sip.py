"""SIP2 institutions (policies reported in ACS status), kiosk accounts, the transactions kept
so a retried request is answered without being done twice, and item properties kiosks store."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock

from .base import Base, Code, TimestampMixin, UTCDateTime


class SipInstitution(TimestampMixin, Base):
    __tablename__ = "sip_institutions"

    id: Mapped[str] = mapped_column(Code, primary_key=True)  # the AO field
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    checkin_ok: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    checkout_ok: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    renewal_ok: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    status_update_ok: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    offline_ok: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    timeout_period: Mapped[int] = mapped_column(Integer, default=100, nullable=False)  # tenths of a second, 3 digits
    retries_allowed: Mapped[int] = mapped_column(Integer, default=5, nullable=False)

    accounts: Mapped[list["SipAccount"]] = relationship(back_populates="institution")


class SipAccount(TimestampMixin, Base):
    """A kiosk login: its own password, institution, framing and privacy choices."""

    __tablename__ = "sip_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)  # the CN field
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    institution_id: Mapped[str] = mapped_column(ForeignKey("sip_institutions.id"), nullable=False)
    library_code: Mapped[str] = mapped_column(ForeignKey("libraries.code"), nullable=False)
    # Staff patron the account acts as (recorded as the actor of its transactions)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    # Framing
    error_detection: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    terminator: Mapped[str] = mapped_column(String(4), default="CR", nullable=False)  # CR | CRLF
    delimiter: Mapped[str] = mapped_column(String(1), default="|", nullable=False)
    encoding: Mapped[str] = mapped_column(String(16), default="utf-8", nullable=False)  # utf-8 | cp850 | ascii
    # support() answers
    supports_magnetic_media: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    supports_security_inhibit: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    supports_offline: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # Behaviour
    checked_in_ok: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    holds_block_checkin: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    allow_empty_pin: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    hidden_fields: Mapped[str] = mapped_column(String(200), default="BD,BE,BF,PB", nullable=False)
    allowed_addresses: Mapped[str | None] = mapped_column(Text)  # comma list of IPs / CIDRs; empty = any

    institution: Mapped[SipInstitution] = relationship(back_populates="accounts", lazy="joined")

    @property
    def hidden_field_codes(self) -> set[str]:
        return {c.strip().upper() for c in self.hidden_fields.split(",") if c.strip()}


class SipTransaction(Base):
    """The answer to one SIP2 request that changed something (a checkout, a renewal...), kept
    for a few days under the request's identity: a kiosk that lost the answer and sends the
    request again is answered the same, and nothing is done twice."""

    __tablename__ = "sip_transactions"
    __table_args__ = (
        UniqueConstraint("account_id", "message_code", "patron_ref", "item_ref", "transaction_date",
                         name="uq_sip_transactions_request"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("sip_accounts.id", ondelete="CASCADE"), nullable=False)
    message_code: Mapped[str] = mapped_column(String(2), nullable=False)
    patron_ref: Mapped[str] = mapped_column(String(64), nullable=False)  # AA as sent ("" when none)
    item_ref: Mapped[str] = mapped_column(String(64), nullable=False)  # AB, AJ, CG... as sent
    transaction_date: Mapped[str] = mapped_column(String(18), nullable=False)  # the request's, verbatim
    response: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)  # code, fixed, fields
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now, nullable=False, index=True)


class SipItemProperties(Base):
    """The free-text item properties (CH) a kiosk stored with an item status update (19)."""

    __tablename__ = "sip_item_properties"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    properties: Mapped[str] = mapped_column(String(255), nullable=False)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("sip_accounts.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now, onupdate=clock.now,
                                                    nullable=False)
