"""Titles (Koha's biblios), item types and items."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Code, Money, TimestampMixin, UTCDateTime


class Title(TimestampMixin, Base):
    """A bibliographic record: what a patron searches for and places a hold on."""

    __tablename__ = "titles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # API biblio_id
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    subtitle: Mapped[str | None] = mapped_column(String(500))
    author: Mapped[str | None] = mapped_column(String(255), index=True)
    isbn: Mapped[str | None] = mapped_column(String(30), index=True)
    publisher: Mapped[str | None] = mapped_column(String(255))
    publication_year: Mapped[int | None] = mapped_column(Integer)
    series: Mapped[str | None] = mapped_column(String(255))
    subjects: Mapped[str | None] = mapped_column(Text)  # "; "-separated subject headings
    language: Mapped[str | None] = mapped_column(String(10))
    summary: Mapped[str | None] = mapped_column(Text)
    # Bumped on every change to the title's hold queue; the per-title lock row.
    hold_queue_version: Mapped[int] = mapped_column(Integer, default=0, nullable=False)

    items: Mapped[list["Item"]] = relationship(back_populates="title", order_by="Item.id")

    @property
    def full_title(self) -> str:
        return f"{self.title}: {self.subtitle}" if self.subtitle else self.title

    @property
    def subject_list(self) -> list[str]:
        return [s.strip() for s in (self.subjects or "").split(";") if s.strip()]


class ItemType(TimestampMixin, Base):
    __tablename__ = "item_types"

    code: Mapped[str] = mapped_column(Code, primary_key=True)
    description: Mapped[str] = mapped_column(String(200), nullable=False)
    not_for_loan: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    sip_media_type: Mapped[str] = mapped_column(String(3), default="001", nullable=False)  # SIP2 CK


class Item(TimestampMixin, Base):
    """A physical copy. ``holding_library`` is where it is now; ``home_library`` where it belongs."""

    __tablename__ = "items"
    __table_args__ = (
        Index("ix_items_title_enumchron", "title_id", "enumchron"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # API item_id
    barcode: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)  # API external_id
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id"), nullable=False, index=True)
    home_library_code: Mapped[str] = mapped_column(ForeignKey("libraries.code"), nullable=False, index=True)
    holding_library_code: Mapped[str] = mapped_column(ForeignKey("libraries.code"), nullable=False, index=True)
    item_type_code: Mapped[str] = mapped_column(ForeignKey("item_types.code"), nullable=False)
    callnumber: Mapped[str | None] = mapped_column(String(255))
    enumchron: Mapped[str | None] = mapped_column(String(80))  # volume / issue: "v.2", "2024 no.3"
    copynumber: Mapped[str | None] = mapped_column(String(32))
    shelving_location: Mapped[str | None] = mapped_column(String(80))
    collection: Mapped[str | None] = mapped_column(String(80))
    price: Mapped[Decimal | None] = mapped_column(Money)
    replacement_price: Mapped[Decimal | None] = mapped_column(Money)
    # Statuses, as Koha keeps them: 0 / NULL means "not set".
    not_for_loan: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    lost: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    lost_on: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    damaged: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # Circulation bookkeeping
    date_last_seen: Mapped[dt.date | None] = mapped_column(Date)
    date_last_borrowed: Mapped[dt.date | None] = mapped_column(Date)
    checkouts_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    renewals_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    public_note: Mapped[str | None] = mapped_column(Text)
    staff_note: Mapped[str | None] = mapped_column(Text)

    title: Mapped[Title] = relationship(back_populates="items")
    item_type = relationship("ItemType", lazy="joined")
    home_library = relationship("Library", foreign_keys=[home_library_code])
    holding_library = relationship("Library", foreign_keys=[holding_library_code])

    @property
    def is_lost(self) -> bool:
        return self.lost != 0

    @property
    def is_not_for_loan(self) -> bool:
        return self.not_for_loan != 0 or bool(self.item_type and self.item_type.not_for_loan)

    @property
    def status_words(self) -> list[str]:
        """Shelf statuses a librarian reads, in Koha's order."""
        words = []
        if self.withdrawn:
            words.append("withdrawn")
        if self.is_lost:
            words.append("lost")
        if self.damaged:
            words.append("damaged")
        if self.is_not_for_loan:
            words.append("not for loan")
        return words
