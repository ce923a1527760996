"""The patron's own account: loans (with renewal), holds, fines and reading history."""
from __future__ import annotations

import math
from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import AccountLine, Hold, Item, Loan, LoanHistory
from app.models.base import ZERO
from app.models.hold import LIVE_STATUSES
from app.services import circulation
from app.services.circulation import Code, RenewalOutcome
from app.services.settings import get_preference

from ..access import patron_required
from ..htmx import is_htmx
from . import bp

HISTORY_PER_PAGE = 50
ACCOUNT_LINES_SHOWN = 200

# Renewal refusals in the patron's words; the circulation messages speak to staff.
PATRON_REFUSALS: dict[Code, str] = {
    Code.TOO_MANY_RENEWALS: "you have renewed it as many times as allowed",
    Code.ON_HOLD: "another patron is waiting for it",
    Code.OVERDUE_NOT_RENEWABLE: "it is overdue, and overdue loans cannot be renewed online",
    Code.PATRON_EXPIRED: "your card has expired",
    Code.PATRON_RESTRICTED: "your account is restricted",
    Code.PATRON_CARD_LOST: "your card is reported lost",
    Code.PATRON_GONE_NO_ADDRESS: "the library has no valid address for you",
    Code.FINES_OVER_LIMIT: "you owe more than the library allows",
    Code.NOT_ON_LOAN: "it is no longer on loan to you",
}


def refusal_text(outcome: RenewalOutcome) -> str:
    words = [PATRON_REFUSALS.get(m.code, m.text) for m in outcome.blocks]
    return "; ".join(words) or "please ask at the library"


def _loans_of(patron_id: int):
    return (select(Loan).where(Loan.patron_id == patron_id)
            .options(joinedload(Loan.item).joinedload(Item.title)).order_by(Loan.due_at, Loan.id))


@bp.get("/account")
@patron_required
def account():
    patron = current_user
    loans = db.session.scalars(_loans_of(patron.id)).unique().all()
    holds = db.session.scalars(
        select(Hold).where(Hold.patron_id == patron.id, Hold.status.in_(LIVE_STATUSES))
        .options(joinedload(Hold.title), joinedload(Hold.pickup_library)).order_by(Hold.placed_at)
    ).all()
    lines = db.session.scalars(
        select(AccountLine).where(AccountLine.patron_id == patron.id)
        .order_by(AccountLine.created_at.desc(), AccountLine.id.desc()).limit(ACCOUNT_LINES_SHOWN)
    ).all()
    balance = db.session.scalar(
        select(func.coalesce(func.sum(AccountLine.amount_outstanding), 0)).where(AccountLine.patron_id == patron.id)
    )
    return render_template("opac/account.html", patron=patron, loans=loans, holds=holds, lines=lines,
                           balance=Decimal(balance or ZERO), refusal_text=refusal_text)


@bp.post("/account/loans/<int:loan_id>/renew")
@patron_required
def renew_loan(loan_id: int):
    loan = db.session.scalars(_loans_of(current_user.id).where(Loan.id == loan_id)).unique().one_or_none()
    if loan is None:
        abort(404)  # not a loan of this patron's: as if it did not exist
    outcome = circulation.renew_loan(db.session, loan, current_user)
    db.session.commit()
    if is_htmx():
        return render_template("opac/_loan_row.html", loan=loan, outcome=outcome, refusal_text=refusal_text)
    if outcome.renewed:
        flash(f"{loan.item.title.full_title} renewed.", "success")
    else:
        flash(f"{loan.item.title.full_title} was not renewed: {refusal_text(outcome)}.", "error")
    return redirect(url_for("opac.account"))


@bp.get("/account/history")
@patron_required
def reading_history():
    patron = current_user
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    mine = LoanHistory.patron_id == patron.id
    total = db.session.scalar(select(func.count(LoanHistory.id)).where(mine)) or 0
    page = min(page, max(1, math.ceil(total / HISTORY_PER_PAGE)))
    rows = db.session.scalars(
        select(LoanHistory).where(mine)
        .options(joinedload(LoanHistory.item).joinedload(Item.title))
        .order_by(LoanHistory.returned_at.desc(), LoanHistory.id.desc())
        .limit(HISTORY_PER_PAGE).offset((page - 1) * HISTORY_PER_PAGE)
    ).unique().all()
    return render_template("opac/history.html", patron=patron, rows=rows, page=page, total=total,
                           pages=max(1, math.ceil(total / HISTORY_PER_PAGE)),
                           may_choose=get_preference(db.session, "OPACPrivacy"))
