"""API keys (OAuth2 client credentials) owned by a staff patron, and the tokens they obtain."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, UTCDateTime


class ApiClient(TimestampMixin, Base):
    __tablename__ = "api_clients"

    client_id: Mapped[str] = mapped_column(String(191), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(255), nullable=False)  # argon2; the secret is shown once
    description: Mapped[str | None] = mapped_column(String(255))
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), nullable=False, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    patron = relationship("Patron")


class ApiToken(Base):
    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the bearer token
    client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.client_id", ondelete="CASCADE"), nullable=False, index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)

    client: Mapped[ApiClient] = relationship(lazy="joined")
