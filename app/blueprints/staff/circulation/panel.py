"""What the patron panel shows, gathered in Python so the templates only render: loan rows with
the reasons each cannot be renewed now, holds, the account balance and the patron's standing."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from app import clock
from app.extensions import db
from app.models import Hold, Item, Loan, Patron
from app.models.hold import LIVE_STATUSES
from app.services import circulation, fines
from app.services.circulation import Message

from .forms import FeeForm, PaymentForm, WriteOffForm

PATRON_MATCHES_SHOWN = 20


@dataclass
class LoanRow:
    loan: Loan
    messages: list[Message] = field(default_factory=list)  # the answer to the last action on it
    refusals: list[Message] = field(default_factory=list)  # why it cannot be renewed now
    fresh: bool = False  # made or changed by the request that shows it


def loan_row(loan: Loan | None, messages: list[Message] | None = None, *, fresh: bool = False) -> LoanRow | None:
    if loan is None:
        return None
    refusals = circulation.renewal_refusals(db.session, loan).blocks
    return LoanRow(loan=loan, messages=list(messages or []), refusals=refusals, fresh=fresh)


def patron_matches(query: str) -> list[Patron]:
    return list(db.session.scalars(circulation.search_patrons(query).limit(PATRON_MATCHES_SHOWN)))


def _loans(patron: Patron) -> list[Loan]:
    stmt = circulation.loans_for_patron(patron).options(joinedload(Loan.item).joinedload(Item.title))
    return list(db.session.scalars(stmt).unique())


def _holds(patron: Patron) -> list[Hold]:
    return list(db.session.scalars(
        select(Hold).where(Hold.patron_id == patron.id, Hold.status.in_(LIVE_STATUSES))
        .options(joinedload(Hold.title), joinedload(Hold.pickup_library), joinedload(Hold.allocated_item))
        .order_by(Hold.placed_at, Hold.id)))


def _loan_counts(patron: Patron, now: dt.datetime) -> tuple[int, int]:
    """How many loans the patron has, and how many of them are overdue, without loading them."""
    total, overdue = db.session.execute(
        select(func.count(), func.count(case((Loan.due_at < now, 1)))).where(Loan.patron_id == patron.id)).one()
    return total, overdue


def summary_context(patron: Patron, loans: list[Loan] | None = None, holds: list[Hold] | None = None) -> dict[str, Any]:
    """The patron summary (standing, counts, balance): shown in the panel and refreshed
    out of band after every scan."""
    now = clock.now()
    if loans is None:
        loan_count, overdue_count = _loan_counts(patron, now)
    else:
        loan_count, overdue_count = len(loans), sum(1 for loan in loans if loan.due_at < now)
    holds = _holds(patron) if holds is None else holds
    balance: Decimal = fines.balance(db.session, patron)
    return {
        "patron": patron,
        "standing": circulation.patron_standing(db.session, patron),
        "loan_count": loan_count,
        "overdue_count": overdue_count,
        "waiting_count": sum(1 for hold in holds if hold.is_waiting),
        "hold_count": len(holds),
        "balance": balance,
        "money": fines.money,
    }


def panel_context(patron: Patron, *, exclude_loan: Loan | None = None) -> dict[str, Any]:
    """Everything the patron panel shows: the summary, every loan as a row, the holds."""
    loans, holds = _loans(patron), _holds(patron)
    shown = [loan for loan in loans if exclude_loan is None or loan.id != exclude_loan.id]
    return {
        **summary_context(patron, loans, holds),
        "rows": [loan_row(loan) for loan in shown],
        "holds": holds,
    }


ACCOUNT_LINES_SHOWN = 200


def account_context(patron: Patron, *, message: str | None = None, error: str | None = None) -> dict[str, Any]:
    """The patron's account as the patron page shows it, with its forms."""
    return {
        "patron": patron,
        "account_lines": list(db.session.scalars(fines.account_lines(patron).limit(ACCOUNT_LINES_SHOWN))),
        "balance": fines.balance(db.session, patron),
        "money": fines.money,
        "payment_form": PaymentForm(formdata=None),
        "fee_form": FeeForm(formdata=None),
        "write_off_form": WriteOffForm(formdata=None),
        "account_message": message,
        "account_error": error,
    }
