"""Actions on a patron's account from the patron page: take a payment, write fees off, add a
manual fee. Each answers htmx with the account section and plain forms with a redirect."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Patron
from app.services import fines

from ..access import staff_required
from ..htmx import is_htmx
from . import bp
from .circulation.forms import FeeForm, PaymentForm, WriteOffForm
from .circulation.panel import account_context, summary_context

PATRON_RESULTS_SHOWN = 100


def _debit_ids() -> list[int] | None:
    ids = [int(v) for v in request.form.getlist("debit") if v.isdigit()]
    return ids or None


def _first_error(form) -> str:
    for errors in form.errors.values():
        if errors:
            return errors[0]
    return "The form could not be read."


def _answer(patron: Patron, message: str | None, error: str | None):
    if is_htmx():  # the account section, and the summary's balance out of band
        return (render_template("staff/circulation/_account.html",
                                **account_context(patron, message=message, error=error))
                + render_template("staff/circulation/_patron_summary.html", oob=True, **summary_context(patron)))
    flash(error or message or "", "error" if error else "success")
    return redirect(url_for("staff.patron_detail", patron_id=patron.id) + "#account")


def _run(patron: Patron, form, action) -> tuple[str | None, str | None]:
    """Validate, call the service, commit; (message, error)."""
    if not form.validate():
        return None, _first_error(form)
    try:
        message = action()
    except fines.FeeRefused as refusal:
        db.session.rollback()
        return None, str(refusal)
    db.session.commit()
    return message, None


@bp.post("/patrons/<int:patron_id>/pay")
@staff_required("patrons")
def patron_pay(patron_id: int):
    """Take a payment, applied to the oldest fees first."""
    patron = db.session.get(Patron, patron_id) or abort(404)
    form = PaymentForm()

    def pay() -> str:
        outcome = fines.pay_fees(db.session, patron, form.amount.data, form.payment_type.data, current_user,
                                 library_code=current_user.library_code, note=form.note.data or None)
        left = f" {fines.money(outcome.unapplied)} left as credit." if outcome.unapplied else ""
        return f"Payment of {fines.money(-outcome.credit.amount)} taken.{left}"

    return _answer(patron, *_run(patron, form, pay))


@bp.post("/patrons/<int:patron_id>/write-off")
@staff_required("patrons")
def patron_write_off(patron_id: int):
    """Write off the ticked fees (all outstanding fees when none are ticked)."""
    patron = db.session.get(Patron, patron_id) or abort(404)
    form = WriteOffForm()

    def write_off() -> str:
        outcome = fines.write_off_fees(db.session, patron, current_user, debit_ids=_debit_ids(),
                                       library_code=current_user.library_code, note=form.note.data or None)
        return f"Wrote off {fines.money(-outcome.credit.amount)}."

    return _answer(patron, *_run(patron, form, write_off))


@bp.post("/patrons/<int:patron_id>/fees")
@staff_required("patrons")
def patron_add_fee(patron_id: int):
    """Charge a manual fee."""
    patron = db.session.get(Patron, patron_id) or abort(404)
    form = FeeForm()

    def add_fee() -> str:
        line = fines.add_manual_fee(db.session, patron, form.amount.data, current_user,
                                    description=form.description.data, library_code=current_user.library_code)
        return f"Fee of {fines.money(line.amount)} added."

    return _answer(patron, *_run(patron, form, add_fee))
