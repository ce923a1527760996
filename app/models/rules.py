"""The circulation rules matrix and the transport cost matrix.

A rule is one named value for a (library, patron category, item type) cell, each of which may be
``*`` for "all". ``*`` rather than NULL keeps the unique constraint honest and the cascade free of
NULL ordering, which PostgreSQL and MariaDB sort differently."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app import clock

from .base import Base, Code, UTCDateTime

ALL = "*"


class CirculationRule(Base):
    __tablename__ = "circulation_rules"
    __table_args__ = (
        UniqueConstraint("library_code", "category_code", "item_type_code", "rule_name", name="uq_circulation_rules_cell"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library_code: Mapped[str] = mapped_column(Code, nullable=False, default=ALL, index=True)
    category_code: Mapped[str] = mapped_column(Code, nullable=False, default=ALL)
    item_type_code: Mapped[str] = mapped_column(Code, nullable=False, default=ALL)
    rule_name: Mapped[str] = mapped_column(String(64), nullable=False)
    rule_value: Mapped[str] = mapped_column(String(64), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now, onupdate=clock.now, nullable=False)

    @property
    def specificity(self) -> int:
        """Library beats category beats item type: a set library outweighs both others together."""
        return (4 if self.library_code != ALL else 0) + (2 if self.category_code != ALL else 0) + (
            1 if self.item_type_code != ALL else 0
        )


class TransportCost(Base):
    """Difficulty of moving an item from one library to another; ``blocked`` keeps the cost."""

    __tablename__ = "transport_costs"
    __table_args__ = (CheckConstraint("cost >= 0", name="cost_non_negative"),)

    from_library_code: Mapped[str] = mapped_column(ForeignKey("libraries.code", ondelete="CASCADE"), primary_key=True)
    to_library_code: Mapped[str] = mapped_column(ForeignKey("libraries.code", ondelete="CASCADE"), primary_key=True)
    cost: Mapped[Decimal] = mapped_column(Numeric(8, 2), nullable=False)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
