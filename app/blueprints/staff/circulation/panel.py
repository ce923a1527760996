"""What the patron panel shows, gathered in Python so the templates only render: loan rows with
the reasons each cannot be renewed now, holds, the account balance and the patron's standing."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
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
        .options(joinedload(Hold.title), joinedload(Hold.pickup_library)).order_by(Hold.placed_at, Hold.id)))


def summary_context(patron: Patron, loans: list[Loan] | None = None, holds: list[Hold] | None = None) -> dict[str, Any]:
    """The patron summary (standing, counts, balance): shown in the panel and refreshed
    out of band after every scan."""
    loans = _loans(patron) if loans is None else loans
    holds = _holds(patron) if holds is None else holds
    now = clock.now()
    balance: Decimal = fines.balance(db.session, patron)
    return {
        "patron": patron,
        "standing": circulation.patron_standing(db.session, patron),
        "loan_count": len(loans),
        "overdue_count": sum(1 for loan in loans if loan.due_at < now),
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
