"""System preferences: the library's policy switches, stored as text and typed by the
declarations in ``app.services.settings``."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app import clock

from .base import Base, UTCDateTime


class SystemPreference(Base):
    __tablename__ = "system_preferences"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)  # Koha's names where Koha has them
    value: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now, onupdate=clock.now, nullable=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"))


class PolicyGeneration(Base):
    """One row whose token changes, in the same transaction, with every edit of the system
    preferences, the circulation rules or the closed days: processes compare it to the token
    their cached copy of those tables was read under (``app.services.policy_cache``)."""

    __tablename__ = "policy_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1: a single row
    token: Mapped[str] = mapped_column(String(32), nullable=False)
