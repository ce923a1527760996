"""The check-out and check-in receipt (Koha's ISSUESLIP): today's check-outs and check-ins of a
patron, printed at the desk or emailed through the queue."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app import clock
from app.models import Item, Library, Loan, LoanHistory, Notice, Patron

from .fields import checkin_fields, loan_fields
from .queueing import email_of, queue_notice, render_notice
from .scheduled import _start_of
from .templates import Rendered


class NoEmailAddress(ValueError):
    """The patron has no email address to send a receipt to."""


def receipt_context(session: Session, patron: Patron, on: dt.date | None = None) -> dict[str, Any]:
    day = on or clock.today()
    start, end = _start_of(day), _start_of(day + dt.timedelta(days=1))
    loans = session.scalars(select(Loan).where(Loan.patron_id == patron.id, Loan.issued_at >= start,
                                               Loan.issued_at < end)
                            .options(selectinload(Loan.item).selectinload(Item.title)).order_by(Loan.issued_at))
    returned = session.scalars(select(LoanHistory).where(LoanHistory.patron_id == patron.id,
                                                         LoanHistory.returned_at >= start, LoanHistory.returned_at < end)
                               .options(selectinload(LoanHistory.item).selectinload(Item.title))
                               .order_by(LoanHistory.returned_at))
    return {"checkouts": [loan_fields(loan, day) for loan in loans], "checkins": [checkin_fields(e) for e in returned]}


def render_receipt(session: Session, patron: Patron, library: Library | None) -> Rendered:
    """Today's receipt for the desk to print."""
    return render_notice(session, "ISSUESLIP", patron, library, receipt_context(session, patron))


def email_receipt(session: Session, patron: Patron, library: Library | None) -> Notice:
    """Queue today's receipt to the patron's email address."""
    if email_of(patron) is None:
        raise NoEmailAddress("This patron has no email address.")
    notice = queue_notice(session, "ISSUESLIP", patron, library, receipt_context(session, patron), force_email=True)
    assert notice is not None
    session.flush()
    return notice
