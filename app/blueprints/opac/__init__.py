"""The OPAC: what patrons see in the browser."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, select

from app.extensions import db
from app.models import AccountLine, Hold, Loan
from app.models.hold import LIVE_STATUSES

from ..access import patron_required, public

bp = Blueprint("opac", __name__)


@bp.get("/")
@public
def home():
    return render_template("opac/home.html")


@bp.get("/account")
@patron_required
def account():
    patron = current_user
    loans = db.session.scalars(
        select(Loan).where(Loan.patron_id == patron.id).order_by(Loan.due_at)
    ).all()
    holds = db.session.scalars(
        select(Hold).where(Hold.patron_id == patron.id, Hold.status.in_(LIVE_STATUSES)).order_by(Hold.placed_at)
    ).all()
    balance = db.session.scalar(
        select(func.coalesce(func.sum(AccountLine.amount_outstanding), 0)).where(AccountLine.patron_id == patron.id)
    ) or Decimal("0")
    return render_template("opac/account.html", patron=patron, loans=loans, holds=holds, balance=Decimal(balance))
