"""Fixtures shared by the holds tests (this module holds no tests itself): a frozen Monday, three
libraries (two of them pickup locations), a librarian with the holds permission, a title with
two copies, and helpers to place holds and read a title's queue."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.models import ALL, Hold, Item, Patron, Title
from app.services import holds
from app.services.rules import set_rule
from app.services.settings import set_preference

MONDAY = dt.datetime(2024, 3, 4, 10, 0, tzinfo=dt.timezone.utc)
TODAY = MONDAY.date()


def day(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


@dataclass
class Holds:
    """The scene and what a test does in it."""

    session: Session
    make: Any
    librarian: Patron
    patron: Patron
    title: Title
    items: list[Item]

    def rule(self, name: str, value: Any, library: str = ALL, category: str = ALL, item_type: str = ALL) -> None:
        set_rule(self.session, library, category, item_type, name, value)

    def preference(self, name: str, value: Any) -> None:
        set_preference(self.session, name, value, actor_id=None)

    def patrons(self, count: int, **kw) -> list[Patron]:
        return [self.make.patron(**kw) for _ in range(count)]

    def place(self, patron: Patron | None = None, title: Title | None = None, **kw) -> Hold:
        kw.setdefault("channel", "staff")
        return holds.place_hold(self.session, patron or self.patron, title or self.title, self.librarian, **kw)

    def queue(self, title: Title | None = None) -> list[int]:
        """Hold ids of the title's queue, in order."""
        return list(self.session.scalars(holds.scopes.live_for_title((title or self.title).id)
                                         .with_only_columns(Hold.id)))

    def positions(self, title: Title | None = None) -> dict[int, int]:
        return holds.positions_for(self.session, [(title or self.title).id])

    def keys(self, title: Title | None = None) -> dict[int, int | None]:
        rows = self.session.execute(select(Hold.id, Hold.queue_key).where(Hold.title_id == (title or self.title).id))
        return {hold_id: key for hold_id, key in rows}


@pytest.fixture
def frozen():
    with clock.freeze(MONDAY):
        yield MONDAY


@pytest.fixture
def scene(frozen, make, session) -> Holds:
    make.library("CPL", name="Centerville")
    make.library("FPL", name="Fairview")
    make.library("MPL", name="Midway depot", is_pickup_location=False)
    librarian = make.staff("holds", userid="holds-librarian", surname="Librarian")
    patron = make.patron(cardnumber="23529000000001", userid="reader", surname="Reader", firstname="Pat")
    title = make.title(title="The Dispossessed")
    items = [make.item(title, barcode="39999000000001"), make.item(title, barcode="39999000000002", library="FPL")]
    return Holds(session=session, make=make, librarian=librarian, patron=patron, title=title, items=items)
