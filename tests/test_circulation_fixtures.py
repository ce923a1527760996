"""Fixtures shared by the circulation and fines tests (this module holds no tests itself):
a frozen Monday morning, a desk at CPL with a librarian, a patron and an item."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.models import ALL, Hold, HoldStatus, Item, Loan, Patron
from app.services import circulation
from app.services.rules import set_rule
from app.services.settings import set_preference

# Monday 4 March 2024, 10:00 UTC (the test app's time zone is UTC).
MONDAY = dt.datetime(2024, 3, 4, 10, 0, tzinfo=dt.timezone.utc)


def day(n: int) -> dt.date:
    """The date ``n`` days after the frozen Monday."""
    return MONDAY.date() + dt.timedelta(days=n)


def end_of(day_: dt.date) -> dt.datetime:
    return dt.datetime.combine(day_, dt.time(23, 59), tzinfo=dt.timezone.utc)


@dataclass
class Desk:
    session: Session
    make: Any
    librarian: Patron
    patron: Patron
    item: Item
    library: str = "CPL"

    def rule(self, name: str, value: Any, library: str = ALL, category: str = ALL, item_type: str = ALL) -> None:
        set_rule(self.session, library, category, item_type, name, value)

    def preference(self, name: str, value: Any) -> None:
        set_preference(self.session, name, value, actor_id=None)

    def check_out(self, patron: Patron | None = None, item: Item | None = None, **kw) -> circulation.CheckOutOutcome:
        kw.setdefault("library", self.library)
        library = kw.pop("library")
        return circulation.check_out(self.session, patron or self.patron, item or self.item, library,
                                     self.librarian, **kw)

    def check_in(self, item: Item | None = None, library: str | None = None, **kw) -> circulation.CheckInOutcome:
        return circulation.check_in(self.session, item or self.item, library or self.library, self.librarian, **kw)

    def loan_of(self, item: Item | None = None) -> Loan | None:
        return self.session.scalar(select(Loan).where(Loan.item_id == (item or self.item).id))

    def hold(self, patron: Patron, *, status: HoldStatus = HoldStatus.QUEUED, item: Item | None = None,
             allocated: Item | None = None, pickup: str = "CPL", queue_key: int = 1, **kw) -> Hold:
        item_ = item or self.item
        hold = Hold(patron_id=patron.id, title_id=item_.title_id, pickup_library_code=pickup, status=status,
                    queue_key=queue_key, allocated_item_id=allocated.id if allocated else None, **kw)
        self.session.add(hold)
        self.session.flush()
        return hold


@pytest.fixture
def frozen():
    with clock.freeze(MONDAY):
        yield MONDAY


@pytest.fixture
def desk(frozen, make, session) -> Desk:
    make.library("CPL", name="Centerville")
    make.library("FPL", name="Fairview")
    librarian = make.staff("circulate", userid="librarian", surname="Librarian")
    patron = make.patron(cardnumber="23529000000001", surname="Reader", firstname="Pat")
    item = make.item(make.title(title="The Left Hand of Darkness"), barcode="39999000000001")
    return Desk(session=session, make=make, librarian=librarian, patron=patron, item=item)
