"""What planning reads of holds, their patrons and copies, as plain rows: the full rebuild plans
every title from these instead of ORM objects (a patron loaded through the ORM brings its library
and category with it), the per-title update from the ORM objects it changes. Both expose the same
attributes, so ``plan_title`` gives both the same plan."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Union

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.models import Hold, HoldStatus, Item, ItemTransfer, ItemType, Loan, Patron
from app.models.hold import LIVE_STATUSES
from app.services.holds.scopes import QUEUE_ORDER

COMMITTED = (HoldStatus.PULLED, HoldStatus.IN_TRANSIT, HoldStatus.LONG_WAITING)
CHUNK = 5000


@dataclass(frozen=True, slots=True)
class PatronRow:
    """What the circulation rules ask of a hold's patron."""

    library_code: str
    category_code: str


@dataclass(frozen=True, slots=True)
class HoldRow:
    id: int
    title_id: int
    status: HoldStatus
    not_needed_after: dt.date | None
    pickup_library_code: str
    item_id: int | None
    item_type_code: str | None
    volume: str | None
    patron: PatronRow | None


@dataclass(frozen=True, slots=True)
class ItemRow:
    id: int
    title_id: int
    home_library_code: str
    holding_library_code: str
    item_type_code: str
    enumchron: str | None
    withdrawn: bool
    damaged: bool
    lost: int
    not_for_loan: int
    type_not_for_loan: bool

    @property
    def is_lost(self) -> bool:
        return self.lost != 0

    @property
    def is_not_for_loan(self) -> bool:  # as Item.is_not_for_loan
        return self.not_for_loan != 0 or self.type_not_for_loan


PlannedHold = Union[Hold, HoldRow]
PlannedItem = Union[Item, ItemRow]


def live_hold_rows(session: Session, title_ids: list[int]) -> dict[int, list[HoldRow]]:
    """Per title, its live holds in queue order."""
    live: dict[int, list[HoldRow]] = {title_id: [] for title_id in title_ids}
    stmt = (select(Hold.id, Hold.title_id, Hold.status, Hold.not_needed_after, Hold.pickup_library_code, Hold.item_id,
                   Hold.item_type_code, Hold.volume, Patron.library_code, Patron.category_code)
            .outerjoin(Patron, Patron.id == Hold.patron_id)
            .where(Hold.title_id.in_(title_ids), Hold.status.in_(LIVE_STATUSES))
            .order_by(Hold.title_id, *QUEUE_ORDER))
    for row in session.execute(stmt):
        patron = PatronRow(row[8], row[9]) if row[8] is not None else None
        live[row[1]].append(HoldRow(*row[:8], patron))
    return live


def free_item_rows_of(session: Session, title_ids: list[int]) -> list[ItemRow]:
    """The titles' copies not on loan, not moving and not held by a committed hold, in id order:
    what ``busy_item_ids`` leaves, asked in the same statement (no lists of item ids to send)."""
    stmt = (select(Item.id, Item.title_id, Item.home_library_code, Item.holding_library_code, Item.item_type_code,
                   Item.enumchron, Item.withdrawn, Item.damaged, Item.lost, Item.not_for_loan, ItemType.not_for_loan)
            .outerjoin(ItemType, ItemType.code == Item.item_type_code)
            .where(Item.title_id.in_(title_ids),
                   ~exists().where(Loan.item_id == Item.id),
                   ~exists().where(ItemTransfer.item_id == Item.id, ItemTransfer.arrived_at.is_(None),
                                   ItemTransfer.cancelled_at.is_(None)),
                   ~exists().where(Hold.allocated_item_id == Item.id, Hold.status.in_(COMMITTED)))
            .order_by(Item.id))
    return [ItemRow(*row[:10], bool(row[10])) for row in session.execute(stmt)]


def busy_item_ids(session: Session, item_ids: list[int]) -> set[int]:
    """Those of ``item_ids`` on loan, moving or held by a committed hold (pulled, in transit,
    waiting)."""
    busy: set[int] = set()
    for start in range(0, len(item_ids), CHUNK):
        chunk = item_ids[start:start + CHUNK]
        busy.update(session.scalars(select(Loan.item_id).where(Loan.item_id.in_(chunk))))
        busy.update(session.scalars(select(ItemTransfer.item_id).where(
            ItemTransfer.item_id.in_(chunk), ItemTransfer.arrived_at.is_(None),
            ItemTransfer.cancelled_at.is_(None))))
        busy.update(session.scalars(select(Hold.allocated_item_id).where(
            Hold.allocated_item_id.in_(chunk), Hold.status.in_(COMMITTED))))
    return busy
