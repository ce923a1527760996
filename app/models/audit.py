"""Audit log of staff and API actions. ``info`` holds ids and counts, never passwords or PINs."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app import clock

from .base import Base, UTCDateTime


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now, nullable=False, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)  # staff, opac, api, sip2, job, cli
    module: Mapped[str] = mapped_column(String(32), nullable=False)  # AUTH, CIRCULATION, HOLDS, PATRONS, SETTINGS...
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    info: Mapped[dict | None] = mapped_column(JSON)
