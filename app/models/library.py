"""Libraries (Koha's branches) and the days they are closed."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Code, TimestampMixin


class Library(TimestampMixin, Base):
    __tablename__ = "libraries"

    code: Mapped[str] = mapped_column(Code, primary_key=True)  # Koha's branchcode, API library_id
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    address: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(25))
    country: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    is_pickup_location: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)

    closed_days: Mapped[list["ClosedDay"]] = relationship(back_populates="library", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Library {self.code}>"


class ClosedDay(Base):
    """A day the library is closed: either one date, or a weekday every week (0 = Monday)."""

    __tablename__ = "closed_days"
    __table_args__ = (
        CheckConstraint("(on_date IS NULL) <> (weekday IS NULL)", name="date_or_weekday"),
        CheckConstraint("weekday IS NULL OR (weekday >= 0 AND weekday <= 6)", name="weekday_range"),
        UniqueConstraint("library_code", "on_date", "weekday"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library_code: Mapped[str] = mapped_column(ForeignKey("libraries.code", ondelete="CASCADE"), nullable=False, index=True)
    on_date: Mapped[dt.date | None] = mapped_column(Date)
    weekday: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(String(200))

    library: Mapped[Library] = relationship(back_populates="closed_days")

    def covers(self, day: dt.date) -> bool:
        return self.on_date == day if self.on_date is not None else day.weekday() == self.weekday
