"""The staff site: home and the landing page of each area."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import Hold, Item, Loan, Patron, PendingOfflineOperation, Title
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


@bp.get("/circulation")
@staff_required("circulate")
def circulation():
    return render_template("staff/area.html", area="Circulation",
                           summary="Check out, check in and renew at the desk.")


@bp.get("/patrons")
@staff_required("patrons")
def patrons():
    query = request.args.get("q", "").strip()
    results: list[Patron] = []
    if query:
        like = f"%{query}%"
        results = db.session.scalars(
            select(Patron).where(or_(
                Patron.cardnumber == query, Patron.userid == query, Patron.email.ilike(like),
                Patron.surname.ilike(like), Patron.firstname.ilike(like),
            )).order_by(Patron.surname, Patron.firstname).limit(100)
        ).all()
    return render_template("staff/patrons.html", query=query, results=results)


@bp.get("/patrons/<int:patron_id>")
@staff_required("patrons")
def patron_detail(patron_id: int):
    patron = db.session.get(Patron, patron_id) or abort(404)
    loans = db.session.scalars(select(Loan).where(Loan.patron_id == patron.id).order_by(Loan.due_at)).all()
    holds = db.session.scalars(
        select(Hold).where(Hold.patron_id == patron.id, Hold.status.in_(LIVE_STATUSES)).order_by(Hold.placed_at)
    ).all()
    return render_template("staff/patron_detail.html", patron=patron, loans=loans, holds=holds)


@bp.get("/holds")
@staff_required("holds")
def holds():
    return render_template("staff/area.html", area="Holds",
                           summary="Title queues and the single holds report of what to pull and where to send it.")


@bp.get("/tools")
@staff_required("import")
def tools():
    return render_template("staff/area.html", area="Tools", summary="Import patrons from Koha's patron CSV.")


@bp.get("/offline")
@staff_required("offline_circulation")
def offline():
    pending = db.session.scalar(select(func.count()).select_from(PendingOfflineOperation).where(
        PendingOfflineOperation.status != "applied"))
    return render_template("staff/area.html", area="Offline circulation",
                           summary=f"{pending} offline action(s) waiting to be processed.")


@bp.get("/privacy")
@staff_required("privacy")
def privacy():
    return render_template("staff/area.html", area="Privacy",
                           summary="Anonymise loan history and purge inactive patrons.")
