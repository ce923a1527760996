"""A patron's notices on the staff side: what was sent, what waits, what failed and why, with the
content and a resend button; their messaging preferences; printed slips; the desk receipt."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Library, Notice, NoticeChannel, Patron
from app.services.notices import mark_printed, patron_notices, resend_notice
from app.services.notices.events import EVENTS_BY_CODE, MESSAGE_KINDS
from app.services.notices.preferences import InvalidMessagingPreference, patron_choices, set_patron_choices
from app.services.notices.queueing import email_of
from app.services.notices.receipts import NoEmailAddress, email_receipt, render_receipt

from ...access import staff_required
from . import bp

NOTICES_SHOWN = 200


def _patron_or_404(patron_id: int) -> Patron:
    return db.session.get(Patron, patron_id) or abort(404)


def _notice_or_404(patron: Patron, notice_id: int) -> Notice:
    notice = db.session.get(Notice, notice_id)
    if notice is None or notice.patron_id != patron.id:
        abort(404)
    return notice


def _page(patron: Patron, *, error: str | None = None, submitted=None, status: int = 200):
    rows = db.session.scalars(patron_notices(patron.id).limit(NOTICES_SHOWN)).all()
    return render_template("staff/notices/patron.html", patron=patron, notices=rows, events=EVENTS_BY_CODE,
                           kinds=MESSAGE_KINDS, choices=patron_choices(db.session, patron), error=error,
                           submitted=submitted, address=email_of(patron), shown=NOTICES_SHOWN), status


@bp.get("/patrons/<int:patron_id>/notices")
@staff_required("patrons")
def patron_notices_page(patron_id: int):
    return _page(_patron_or_404(patron_id))


@bp.post("/patrons/<int:patron_id>/notices/<int:notice_id>/resend")
@staff_required("patrons")
def resend(patron_id: int, notice_id: int):
    patron = _patron_or_404(patron_id)
    notice = _notice_or_404(patron, notice_id)
    copy = resend_notice(db.session, notice)
    db.session.commit()
    where = copy.to_address if copy.channel is NoticeChannel.EMAIL else "the slips to print"
    flash(f"The notice “{notice.subject}” is queued again, to {where}.", "success")
    return redirect(url_for("notices.patron_notices_page", patron_id=patron.id))


@bp.post("/patrons/<int:patron_id>/messaging")
@staff_required("patrons")
def save_messaging(patron_id: int):
    patron = _patron_or_404(patron_id)
    try:
        set_patron_choices(db.session, patron, request.form)
    except InvalidMessagingPreference as error:
        db.session.rollback()
        return _page(patron, error=str(error), submitted=request.form, status=400)
    db.session.commit()
    flash("Messaging preferences saved.", "success")
    return redirect(url_for("notices.patron_notices_page", patron_id=patron.id))


@bp.get("/patrons/<int:patron_id>/notices/<int:notice_id>/print")
@staff_required("patrons")
def print_notice(patron_id: int, notice_id: int):
    patron = _patron_or_404(patron_id)
    notice = _notice_or_404(patron, notice_id)
    return render_template("staff/notices/print.html", patron=patron, notice=notice)


@bp.post("/patrons/<int:patron_id>/notices/<int:notice_id>/printed")
@staff_required("patrons")
def printed(patron_id: int, notice_id: int):
    patron = _patron_or_404(patron_id)
    notice = _notice_or_404(patron, notice_id)
    if mark_printed(db.session, [notice]):
        db.session.commit()
        flash("The slip is recorded as printed.", "success")
    return redirect(url_for("notices.patron_notices_page", patron_id=patron.id))


@bp.get("/patrons/<int:patron_id>/receipt")
@staff_required("circulate")
def receipt(patron_id: int):
    """Today's check-outs and check-ins, laid out to print."""
    patron = _patron_or_404(patron_id)
    library = db.session.get(Library, current_user.library_code)
    rendered = render_receipt(db.session, patron, library)
    return render_template("staff/notices/receipt.html", patron=patron, receipt=rendered,
                           address=email_of(patron))


@bp.post("/patrons/<int:patron_id>/receipt/email")
@staff_required("circulate")
def email_receipt_view(patron_id: int):
    patron = _patron_or_404(patron_id)
    library = db.session.get(Library, current_user.library_code)
    try:
        notice = email_receipt(db.session, patron, library)
    except NoEmailAddress as error:
        flash(str(error), "error")
        return redirect(url_for("notices.receipt", patron_id=patron.id))
    db.session.commit()
    flash(f"The receipt is queued to {notice.to_address}.", "success")
    return redirect(url_for("notices.receipt", patron_id=patron.id))
