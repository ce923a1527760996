"""The circulation desk: scan a patron card, then items; each scan becomes a row with its due
date or the refusal (and an override button where staff may override); renew and check in
from the rows. Every action is one htmx request answering with the rows it changed; without
JavaScript the same forms post and the page comes back whole."""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Loan, Patron
from app.services import circulation

from ...access import staff_required
from ...htmx import is_htmx
from .forms import CheckoutForm, RowActionForm
from .panel import account_context, loan_row, panel_context, patron_matches, summary_context

bp = Blueprint("circulation", __name__)


def desk_library() -> str:
    """Where the desk is: the logged-in librarian's library."""
    return current_user.library_code


def commit_then_render(template: str, **context) -> str:
    """End the unit of work, then render a context gathered before the commit: nothing loads
    lazily while the page renders, so no transaction is left open (PostgreSQL: "idle in
    transaction"; SQLite: a write lock) for the time a template takes."""
    db.session.commit()
    return render_template(template, **context)


@bp.get("/")
@staff_required("circulate")
def desk():
    """The desk, with a patron when one was scanned (``card``) or chosen (``patron_id``)."""
    card = request.args.get("card", "").strip()
    patron_id = request.args.get("patron_id", type=int)
    patron, matches = None, []
    if patron_id is not None:
        patron = db.session.get(Patron, patron_id) or abort(404)
    elif card:
        patron = circulation.find_patron(db.session, card)
        if patron is None:
            matches = patron_matches(card)
            if len(matches) == 1:
                patron, matches = matches[0], []
    context = dict(card=card, matches=matches, **(panel_context(patron) if patron else {"patron": None}))
    if not is_htmx():
        return render_template("staff/circulation/desk.html", **context)
    response = make_response(render_template("staff/circulation/_patron_panel.html", **context))
    if patron is not None:
        response.headers["HX-Push-Url"] = url_for(".desk", patron_id=patron.id)
    return response


@bp.post("/patrons/<int:patron_id>/checkout")
@staff_required("circulate")
def check_out_item(patron_id: int):
    """One scan at the desk: check the item out to the patron, or answer why not."""
    patron = db.session.get(Patron, patron_id) or abort(404)
    form = CheckoutForm()
    if not form.validate():
        error = form.barcode.errors[0] if form.barcode.errors else "Scan or type a barcode."
        if is_htmx():
            return render_template("staff/circulation/_checkout_result.html", outcome=None, error=error,
                                   **summary_context(patron))
        return render_template("staff/circulation/desk.html", card="", matches=[], error=error,
                               **panel_context(patron)), 400
    barcode = form.barcode.data.strip()
    outcome = circulation.check_out(db.session, patron, circulation.find_item(db.session, barcode), desk_library(),
                                    current_user, confirmed=request.form.getlist("confirm"),
                                    renew=form.renew.data, barcode=barcode, channel="desk")
    row = loan_row(outcome.loan, outcome.messages, fresh=True) if outcome.ok else None
    if is_htmx():
        return commit_then_render("staff/circulation/_checkout_result.html", outcome=outcome, error=None, row=row,
                                  **summary_context(patron))
    return commit_then_render("staff/circulation/desk.html", card="", matches=[], latest=outcome, latest_row=row,
                              **panel_context(patron, exclude_loan=outcome.loan))


def _back_to(where: str, patron_id: int):
    if where == "patron":
        return redirect(url_for("staff.patron_detail", patron_id=patron_id) + "#loans")
    return redirect(url_for(".desk", patron_id=patron_id))


def _refreshed(patron: Patron, where: str) -> dict:
    """What a row action refreshes out of band: the summary, and on the patron page the account."""
    return {**(account_context(patron) if where == "patron" else {}), **summary_context(patron)}


def _loan_gone(form: RowActionForm):
    if is_htmx():
        return render_template("staff/circulation/_gone_row.html")
    flash("That loan is no longer open.", "info")
    return redirect(url_for(".desk"))


@bp.post("/loans/<int:loan_id>/renew")
@staff_required("circulate")
def renew(loan_id: int):
    """Renew from a loan row, at the desk or on the patron page."""
    form = RowActionForm()
    loan = db.session.get(Loan, loan_id)
    if loan is None:
        return _loan_gone(form)
    outcome = circulation.renew_loan(db.session, loan, current_user)
    if is_htmx():
        return commit_then_render("staff/circulation/_loan_result.html", row=loan_row(loan, outcome.messages, fresh=True),
                                  where=form.where, **_refreshed(loan.patron, form.where))
    db.session.commit()
    flash(" ".join(m.text for m in outcome.messages), "success" if outcome.renewed else "error")
    return _back_to(form.where, loan.patron_id)


@bp.post("/loans/<int:loan_id>/checkin")
@staff_required("circulate")
def check_in_loan(loan_id: int):
    """Check in from a loan row: the row becomes the check-in's answer."""
    form = RowActionForm()
    loan = db.session.get(Loan, loan_id)
    if loan is None:
        return _loan_gone(form)
    patron, item = loan.patron, loan.item
    outcome = circulation.check_in(db.session, item, desk_library(), current_user)
    if is_htmx():
        return commit_then_render("staff/circulation/_returned_row.html", outcome=outcome, where=form.where,
                                  **_refreshed(patron, form.where))
    db.session.commit()
    flash(f"Checked in {item.barcode}. " + " ".join(m.text for m in outcome.alerts), "success")
    return _back_to(form.where, patron.id)


from . import checkin  # noqa: E402,F401  (the check-in page and slips)
