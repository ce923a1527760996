"""Staff actions on holds, each keyed by hold id: move (with the position the page showed, so a
stale page is told the queue changed instead of moving the wrong hold), cancel, suspend (with an
optional resume date), resume, bring back, change pickup, pin to the bottom, and a patron's
suspend all / resume all."""
from __future__ import annotations

from typing import Callable

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.extensions import db
from app.models import Hold, Library, Patron
from app.services import holds

from ...access import staff_required
from ...htmx import is_htmx
from . import bp, moved_context, patron_context, queue_context
from .forms import LowestPriorityForm, MoveForm, PickupForm, RowForm


def _hold(hold_id: int) -> Hold:
    return db.session.get(Hold, hold_id) or abort(404)


def _back(hold: Hold, place: str, *, message: str | None = None, error: str | None = None):
    """What an action answers: for htmx the piece of the page it came from, refreshed (the queue
    or the patron's list); otherwise a redirect there with the message."""
    if is_htmx() and place != "detail":
        if place == "patron" and hold.patron is not None:
            return render_template("staff/holds/_patron_holds.html",
                                   **patron_context(hold.patron, message=message, error=error))
        return render_template("staff/holds/_queue.html", **queue_context(hold.title, message=message, error=error))
    flash(error or message or "", "error" if error else "success")
    if place == "patron" and hold.patron_id is not None:
        return redirect(url_for(".patron_holds", patron_id=hold.patron_id))
    if place == "detail":
        return redirect(url_for(".hold_history", hold_id=hold.id))
    return redirect(url_for(".title_queue", title_id=hold.title_id))


def _first_error(form: RowForm) -> str:
    return next((e for errors in form.errors.values() for e in errors), "Check the form.")


def _who(hold: Hold) -> str:
    return hold.patron.full_name if hold.patron is not None else "an anonymised patron"


def _act(hold_id: int, form: RowForm, work: Callable[[Hold], str]) -> Response | str:
    """Load, parse, call the service, commit once, answer; a refusal is answered, not raised."""
    hold = _hold(hold_id)
    if not form.validate():
        return _back(hold, form.place, error=_first_error(form))
    try:
        message = work(hold)
    except holds.HoldRefused as refusal:
        db.session.rollback()
        return _back(hold, form.place, error=refusal.message)
    db.session.commit()
    return _back(hold, form.place, message=message)


@bp.post("/<int:hold_id>/move")
@staff_required("holds")
def move_hold(hold_id: int):
    """Top, bottom, up, down (the button pressed) or to the position typed."""
    hold = _hold(hold_id)
    form = MoveForm()
    if not form.validate():
        return _back(hold, form.place, error=_first_error(form))
    direction = (form.to.data or "").strip()
    to: str | int | None = direction if direction in holds.DIRECTIONS else form.position.data
    if to is None:
        return _back(hold, form.place, error="Type the position to move the hold to.")
    try:
        move = holds.move_hold(db.session, hold, to, current_user, expected_position=form.expected_position.data)
    except holds.HoldRefused as refusal:
        db.session.rollback()
        return _back(hold, form.place, error=refusal.message)
    db.session.commit()
    message = f"{_who(hold)} is now number {move.to_position} in the queue."
    if not (is_htmx() and form.place == "title"):
        return _back(hold, form.place, message=message)
    response = make_response(render_template("staff/holds/_queue_moved.html",
                                              **moved_context(hold.title, move, message)))
    response.headers["HX-Retarget"] = "#queue-message"  # the rows that moved come out of band
    response.headers["HX-Reswap"] = "innerHTML"
    return response


@bp.post("/<int:hold_id>/cancel")
@staff_required("holds")
def cancel_hold(hold_id: int):
    form = RowForm()

    def work(hold: Hold) -> str:
        holds.cancel_hold(db.session, hold, current_user, reason=form.reason.data or None)
        return f"The hold of {_who(hold)} is cancelled; it can be brought back to its place."

    return _act(hold_id, form, work)


@bp.post("/<int:hold_id>/suspend")
@staff_required("holds")
def suspend_hold(hold_id: int):
    form = RowForm()

    def work(hold: Hold) -> str:
        holds.suspend_hold(db.session, hold, current_user, until=form.until.data)
        until = f" until {form.until.data.isoformat()}" if form.until.data else ""
        return f"The hold of {_who(hold)} is suspended{until}; it keeps its place."

    return _act(hold_id, form, work)


@bp.post("/<int:hold_id>/resume")
@staff_required("holds")
def resume_hold(hold_id: int):
    form = RowForm()

    def work(hold: Hold) -> str:
        holds.resume_hold(db.session, hold, current_user)
        return f"The hold of {_who(hold)} is resumed at its place."

    return _act(hold_id, form, work)


@bp.post("/<int:hold_id>/bring-back")
@staff_required("holds")
def bring_back_hold(hold_id: int):
    form = RowForm()

    def work(hold: Hold) -> str:
        position = holds.bring_back_hold(db.session, hold, current_user)
        return f"The hold of {_who(hold)} is back in the queue at number {position}."

    return _act(hold_id, form, work)


@bp.post("/<int:hold_id>/pickup")
@staff_required("holds")
def change_pickup(hold_id: int):
    form = PickupForm()

    def work(hold: Hold) -> str:
        holds.change_pickup(db.session, hold, form.pickup.data, current_user)
        library = db.session.get(Library, hold.pickup_library_code)
        return f"The hold of {_who(hold)} will be picked up at {library.name if library else hold.pickup_library_code}."

    return _act(hold_id, form, work)


@bp.post("/<int:hold_id>/lowest-priority")
@staff_required("holds")
def set_lowest_priority(hold_id: int):
    form = LowestPriorityForm()

    def work(hold: Hold) -> str:
        position = holds.set_lowest_priority(db.session, hold, bool(form.pinned.data), current_user)
        pinned = "pinned to the bottom of" if form.pinned.data else "back in the normal order of"
        return f"The hold of {_who(hold)} is {pinned} the queue (number {position})."

    return _act(hold_id, form, work)


def _patron_answer(patron: Patron, *, message: str | None = None, error: str | None = None):
    if is_htmx():
        return render_template("staff/holds/_patron_holds.html", **patron_context(patron, message=message, error=error))
    flash(error or message or "", "error" if error else "success")
    return redirect(url_for(".patron_holds", patron_id=patron.id))


@bp.post("/patrons/<int:patron_id>/suspend-all")
@staff_required("holds")
def suspend_all_holds(patron_id: int):
    patron = db.session.get(Patron, patron_id) or abort(404)
    form = RowForm()
    if not form.validate():
        return _patron_answer(patron, error=_first_error(form))
    try:
        changed = holds.suspend_holds(db.session, patron, current_user, until=form.until.data)
    except holds.HoldRefused as refusal:
        db.session.rollback()
        return _patron_answer(patron, error=refusal.message)
    db.session.commit()
    until = f" until {form.until.data.isoformat()}" if form.until.data else ""
    return _patron_answer(patron, message=f"{len(changed)} hold(s) suspended{until}.")


@bp.post("/patrons/<int:patron_id>/resume-all")
@staff_required("holds")
def resume_all_holds(patron_id: int):
    patron = db.session.get(Patron, patron_id) or abort(404)
    resumed = holds.resume_holds(db.session, patron, current_user)
    db.session.commit()
    return _patron_answer(patron, message=f"{len(resumed)} hold(s) resumed at their place.")
