"""The patron's messaging preferences (Koha's "your messaging" tab): which notices come by email,
and how many days before a due date the due-soon notice comes."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db
from app.services.notices.events import MESSAGE_KINDS
from app.services.notices.preferences import InvalidMessagingPreference, patron_choices, set_patron_choices
from app.services.notices.queueing import email_of

from ..access import patron_required
from . import bp


def _page(*, error: str | None = None, submitted=None, status: int = 200):
    return render_template("opac/messaging.html", kinds=MESSAGE_KINDS, choices=patron_choices(db.session, current_user),
                           address=email_of(current_user), error=error, submitted=submitted), status


@bp.get("/account/messaging")
@patron_required
def messaging():
    return _page()


@bp.post("/account/messaging")
@patron_required
def save_messaging():
    try:
        set_patron_choices(db.session, current_user, request.form)
    except InvalidMessagingPreference as error:
        db.session.rollback()
        return _page(error=str(error), submitted=request.form, status=400)
    db.session.commit()
    flash("Your messaging preferences are saved.", "success")
    return redirect(url_for("opac.messaging"))
