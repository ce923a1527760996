"""Holds (Koha's reserves), their closed set of statuses and transition history.

One table for every hold, live or finished, so ids never collide (Koha's reserves/old_reserves
split does). A title's queue order is ``queue_key``, unique per title; the positions people see
(1..n, no gaps) are ranks of the live holds by that key."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock

from .base import Base, StrEnumType, TimestampMixin, UTCDateTime


class HoldStatus(enum.StrEnum):
    QUEUED = "queued"
    READY_TO_PULL = "ready_to_pull"
    PULLED = "pulled"
    IN_TRANSIT = "in_transit"
    LONG_WAITING = "long_waiting"
    FILLED = "filled"
    EXPIRED = "expired"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"


S = HoldStatus
TRANSITIONS: dict[HoldStatus, frozenset[HoldStatus]] = {
    S.QUEUED: frozenset({S.READY_TO_PULL, S.EXPIRED, S.SUSPENDED, S.CANCELLED}),
    S.READY_TO_PULL: frozenset({S.PULLED, S.IN_TRANSIT, S.QUEUED, S.EXPIRED, S.SUSPENDED, S.CANCELLED}),
    S.PULLED: frozenset({S.FILLED, S.IN_TRANSIT, S.LONG_WAITING, S.EXPIRED, S.CANCELLED}),
    S.IN_TRANSIT: frozenset({S.PULLED, S.CANCELLED}),
    S.LONG_WAITING: frozenset({S.FILLED, S.CANCELLED, S.SUSPENDED, S.EXPIRED}),
    S.FILLED: frozenset(),
    S.EXPIRED: frozenset({S.QUEUED}),
    S.SUSPENDED: frozenset({S.QUEUED}),
    S.CANCELLED: frozenset({S.QUEUED}),
}
# Holds that take part in the queue (have a position people see).
LIVE_STATUSES = frozenset({S.QUEUED, S.READY_TO_PULL, S.PULLED, S.IN_TRANSIT, S.LONG_WAITING, S.SUSPENDED})
# Holds with an item allocated to them.
FOUND_STATUSES = frozenset({S.READY_TO_PULL, S.PULLED, S.IN_TRANSIT, S.LONG_WAITING})
# Holds whose copy staff have in hand (pulled from the shelf, travelling, on the pickup shelf):
# a patron no longer cancels these alone (Koha's rule for found holds). A hold ready to pull only
# tops the queue; its copy is still on the shelf.
IN_HAND_STATUSES = frozenset({S.PULLED, S.IN_TRANSIT, S.LONG_WAITING})
del S


def is_on_pickup_shelf(status: HoldStatus, copy_at: str | None, pickup_library_code: str) -> bool:
    """A hold waits on the pickup shelf when pulled (or long waiting) and its copy, if known, is
    at the pickup library."""
    return status in (HoldStatus.PULLED, HoldStatus.LONG_WAITING) and copy_at in (None, pickup_library_code)


class InvalidHoldTransition(Exception):
    """A status change the transition table does not allow."""

    def __init__(self, hold_id: int | None, from_status: HoldStatus, to_status: HoldStatus):
        self.hold_id, self.from_status, self.to_status = hold_id, from_status, to_status
        super().__init__(f"hold {hold_id}: cannot go from {from_status.value} to {to_status.value}")


class Hold(TimestampMixin, Base):
    __tablename__ = "holds"
    __table_args__ = (
        UniqueConstraint("title_id", "queue_key", name="uq_holds_title_queue_key"),
        Index("ix_holds_title_status", "title_id", "status"),
        Index("ix_holds_patron_status", "patron_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # API hold_id
    patron_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), index=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id"), nullable=False)
    # Item-level hold: the copy asked for. Volume hold: the enumchron asked for.
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"), index=True)
    volume: Mapped[str | None] = mapped_column(String(80))
    item_type_code: Mapped[str | None] = mapped_column(ForeignKey("item_types.code", ondelete="SET NULL"))
    pickup_library_code: Mapped[str] = mapped_column(ForeignKey("libraries.code"), nullable=False, index=True)
    status: Mapped[HoldStatus] = mapped_column(StrEnumType(HoldStatus), default=HoldStatus.QUEUED, nullable=False)
    # Ordering key, unique per title; NULL once the hold has left the queue for good (filled).
    queue_key: Mapped[int | None] = mapped_column(Integer)
    lowest_priority: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now, nullable=False)
    not_needed_after: Mapped[dt.date | None] = mapped_column(Date)  # Koha's patron_expiration_date
    suspended_until: Mapped[dt.date | None] = mapped_column(Date)
    # Filling: the copy chosen and where it is pulled from
    allocated_item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"), index=True)
    source_library_code: Mapped[str | None] = mapped_column(ForeignKey("libraries.code", ondelete="SET NULL"))
    waiting_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    pickup_deadline: Mapped[dt.date | None] = mapped_column(Date)
    unfilled_reason: Mapped[str | None] = mapped_column(String(64))
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancellation_reason: Mapped[str | None] = mapped_column(String(80))
    notes: Mapped[str | None] = mapped_column(Text)
    placed_by_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16), default="opac", nullable=False)
    anonymized: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)

    patron = relationship("Patron", foreign_keys=[patron_id])
    title = relationship("Title")
    item = relationship("Item", foreign_keys=[item_id])
    allocated_item = relationship("Item", foreign_keys=[allocated_item_id])
    pickup_library = relationship("Library", foreign_keys=[pickup_library_code])
    history: Mapped[list["HoldHistory"]] = relationship(
        back_populates="hold", cascade="all, delete-orphan", order_by="HoldHistory.id"
    )

    # --- predicates -------------------------------------------------------------------------
    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def is_found(self) -> bool:
        return self.status in FOUND_STATUSES

    @property
    def has_copy_in_hand(self) -> bool:
        return self.status in IN_HAND_STATUSES

    @property
    def is_waiting(self) -> bool:
        """On the pickup shelf (pulled at the pickup library, or long waiting)."""
        copy_at = None if self.allocated_item is None else self.allocated_item.holding_library_code
        return is_on_pickup_shelf(self.status, copy_at, self.pickup_library_code)

    @property
    def is_item_level(self) -> bool:
        return self.item_id is not None

    def can_move_to(self, status: HoldStatus) -> bool:
        return status in TRANSITIONS[self.status]

    # --- the one verb every status change goes through ---------------------------------------
    def transition(self, to: HoldStatus, *, actor_id: int | None, reason: str | None = None,
                   at: dt.datetime | None = None) -> "HoldHistory":
        """Move to ``to`` if the transition table allows it and record who, when, from, to, why."""
        if to not in TRANSITIONS[self.status]:
            raise InvalidHoldTransition(self.id, self.status, to)
        entry = HoldHistory(
            from_status=self.status, to_status=to, actor_id=actor_id, reason=reason, at=at or clock.now()
        )
        self.status = to
        self.history.append(entry)
        return entry


class HoldHistory(Base):
    __tablename__ = "hold_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hold_id: Mapped[int] = mapped_column(ForeignKey("holds.id", ondelete="CASCADE"), nullable=False, index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"))
    from_status: Mapped[HoldStatus | None] = mapped_column(StrEnumType(HoldStatus))
    to_status: Mapped[HoldStatus] = mapped_column(StrEnumType(HoldStatus), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(255))

    hold: Mapped[Hold] = relationship(back_populates="history")
