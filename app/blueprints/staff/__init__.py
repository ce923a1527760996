"""The staff site: home and the landing page of each area."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import Hold, Item, Loan, Patron, Title
from app.models.hold import LIVE_STATUSES

from ..access import staff_required, staff_session_required

bp = Blueprint("staff", __name__)


@bp.get("/")
@staff_session_required
def home():
    counts = [
        ("Titles", db.session.scalar(select(func.count()).select_from(Title))),
        ("Items", db.session.scalar(select(func.count()).select_from(Item))),
        ("Patrons", db.session.scalar(select(func.count()).select_from(Patron))),
        ("Open loans", db.session.scalar(select(func.count()).select_from(Loan))),
        ("Live holds", db.session.scalar(select(func.count()).select_from(Hold).where(Hold.status.in_(LIVE_STATUSES)))),
    ]
    return render_template("staff/home.html", counts=counts)


@bp.get("/patrons")
@staff_required("patrons")
def patrons():
    """Search by name (every word), card number, username or email; a card number or username
    that matches exactly one patron opens their page."""
    from flask import redirect, url_for

    from app.services.circulation import search_patrons

    from ..htmx import is_htmx
    from .patron_actions import PATRON_RESULTS_SHOWN

    query = request.args.get("q", "").strip()
    results: list[Patron] = []
    if query:
        results = db.session.scalars(search_patrons(query).limit(PATRON_RESULTS_SHOWN)).all()
        exact = [p for p in results if query in (p.cardnumber, p.userid)]
        if len(exact) == 1 and not is_htmx():
            return redirect(url_for("staff.patron_detail", patron_id=exact[0].id))
    return render_template("staff/patrons.html", query=query, results=results, limit=PATRON_RESULTS_SHOWN)


@bp.get("/patrons/<int:patron_id>")
@staff_required("patrons")
def patron_detail(patron_id: int):
    """Details, loans (renew, check in), fines (pay, write off, add a fee) and holds."""
    from .circulation.panel import account_context, panel_context

    patron = db.session.get(Patron, patron_id) or abort(404)
    return render_template("staff/patron_detail.html", **{**panel_context(patron), **account_context(patron)})


from . import patron_actions  # noqa: E402,F401  (pay, write off, add a fee)
from . import api_keys  # noqa: E402,F401  (API keys on the patron page)
