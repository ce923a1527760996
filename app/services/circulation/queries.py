"""Finding what was scanned, and the loan scopes pages and jobs share (each returns a select)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from app import clock
from app.models import Item, ItemTransfer, Loan, Patron



def find_item(session: Session, barcode: str | None) -> Item | None:
    """The item with this barcode (surrounding blanks from the scanner ignored)."""
    code = (barcode or "").strip()
    return session.scalar(select(Item).where(Item.barcode == code)) if code else None


def find_patron(session: Session, card: str | None) -> Patron | None:
    """The patron with this card number, else with this username."""
    code = (card or "").strip()
    if not code:
        return None
    return (session.scalar(select(Patron).where(Patron.cardnumber == code))
            or session.scalar(select(Patron).where(Patron.userid == code)))


def loans_for_patron(patron: Patron):
    """The patron's open loans, soonest due first."""
    return select(Loan).where(Loan.patron_id == patron.id).order_by(Loan.due_at, Loan.id)


def overdue_loans(on: dt.date):
    """Loans that were due before library-local day ``on`` began: overdue on that day."""
    day_start = dt.datetime.combine(on, dt.time.min, tzinfo=clock.timezone())
    return select(Loan).where(Loan.due_at < day_start).order_by(Loan.due_at)


_OPEN_TRANSFER = select(ItemTransfer).where(
    ItemTransfer.item_id == bindparam("item_id"), ItemTransfer.arrived_at.is_(None),
    ItemTransfer.cancelled_at.is_(None)).order_by(ItemTransfer.id.desc()).limit(1)


def open_transfer(session: Session, item: Item) -> ItemTransfer | None:
    """The item's transfer still under way (sent, neither arrived nor cancelled), if any (asked
    at every check-in: the statement is built once)."""
    return session.scalar(_OPEN_TRANSFER, {"item_id": item.id})


def search_patrons(query: str):
    """Patrons matching what staff typed: an exact card number or username, an email, or
    every word of a name (surname, first, preferred or middle name), sorted by name."""
    text = query.strip()
    words = [w for w in text.split() if w]
    by_name = and_(*[or_(Patron.surname.ilike(f"%{w}%"), Patron.firstname.ilike(f"%{w}%"),
                         Patron.preferred_name.ilike(f"%{w}%"), Patron.middle_name.ilike(f"%{w}%"))
                     for w in words]) if words else Patron.id.is_(None)
    return (select(Patron)
            .where(or_(Patron.cardnumber == text, Patron.userid == text, Patron.email.ilike(f"%{text}%"), by_name))
            .order_by(Patron.surname, Patron.firstname, Patron.id))
