"""Finding what was scanned, and the loan scopes pages and jobs share (each returns a select)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.models import Item, Loan, Patron



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
