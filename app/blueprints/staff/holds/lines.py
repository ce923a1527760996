"""A title's queue read for display as plain rows, not whole holds: a queue may have hundreds of
holds, and loading each with its patron and copy as full objects costs more than rendering the
page. A ``QueueLine`` answers the few questions the row and ``describe`` ask of a hold."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.models import Hold, HoldStatus, Item, Library, Patron
from app.models.hold import FOUND_STATUSES, LIVE_STATUSES, is_on_pickup_shelf
from app.services.holds import scopes


@dataclass(frozen=True)
class PatronName:
    sort_name: str
    cardnumber: str | None


@dataclass(frozen=True)
class CopyLabel:
    barcode: str


@dataclass(frozen=True)
class QueueLine:
    id: int
    status: HoldStatus
    lowest_priority: bool
    placed_at: dt.datetime
    not_needed_after: dt.date | None
    suspended_until: dt.date | None
    pickup_deadline: dt.date | None
    volume: str | None
    pickup_library: Library
    patron_id: int | None
    patron: PatronName | None
    item: CopyLabel | None
    allocated_holding_library_code: str | None

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def is_found(self) -> bool:
        return self.status in FOUND_STATUSES

    @property
    def is_waiting(self) -> bool:
        """As ``Hold.is_waiting``: on the pickup shelf (its copy, if known, is at the pickup library)."""
        return is_on_pickup_shelf(self.status, self.allocated_holding_library_code, self.pickup_library.code)


def queue_lines(session: Session, title_id: int, *, offset: int = 0, limit: int | None = None) -> list[QueueLine]:
    """The title's live holds in queue order (from the ``offset``-th, at most ``limit``), as
    display rows, in one query."""
    wanted, allocated = aliased(Item), aliased(Item)
    stmt = (scopes.live_for_title(title_id)
            .with_only_columns(Hold.id, Hold.status, Hold.lowest_priority, Hold.placed_at, Hold.not_needed_after,
                               Hold.suspended_until, Hold.pickup_deadline, Hold.volume, Hold.pickup_library_code,
                               Hold.patron_id, Patron.surname, Patron.firstname, Patron.cardnumber, wanted.barcode,
                               allocated.holding_library_code)
            .select_from(Hold)
            .outerjoin(Patron, Patron.id == Hold.patron_id)
            .outerjoin(wanted, wanted.id == Hold.item_id)
            .outerjoin(allocated, allocated.id == Hold.allocated_item_id)
            .offset(offset).limit(limit))
    libraries = {library.code: library for library in session.scalars(select(Library))}
    lines = []
    for (hold_id, status, lowest, placed_at, not_needed_after, suspended_until, deadline, volume, pickup,
         patron_id, surname, firstname, cardnumber, barcode, allocated_at) in session.execute(stmt):
        patron = None if patron_id is None else PatronName(f"{surname}, {firstname}" if firstname else surname,
                                                           cardnumber)
        lines.append(QueueLine(hold_id, status, bool(lowest), placed_at, not_needed_after, suspended_until, deadline,
                               volume, libraries[pickup], patron_id, patron,
                               CopyLabel(barcode) if barcode is not None else None, allocated_at))
    return lines
