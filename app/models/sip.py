"""SIP2 institutions (policies reported in ACS status) and kiosk accounts."""
from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Code, TimestampMixin


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
