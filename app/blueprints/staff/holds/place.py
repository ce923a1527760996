"""Placing a hold for a patron at the staff desk: find the title (from the patron's holds page)
or the patron (from a title's queue), then the form: any pickup location, any copy or volume,
a "not needed after" date, notes, and, when ``AllowHoldPolicyOverride`` is on, placing it
anyway when the rules refuse (audited)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Item, Patron, Title
from app.services import holds
from app.services.circulation import find_patron, search_patrons

from ...access import staff_required
from . import RESULTS_SHOWN, bp, find_titles
from .forms import PlaceHoldForm


def _place_page(patron: Patron, title: Title | None, form: PlaceHoldForm, *, error: holds.HoldRefused | str | None = None,
                status: int = 200):
    query = request.args.get("q", "")[:200]
    options = holds.hold_options(db.session, patron, title, channel="staff",
                                 pickup_library_code=form.pickup.data or None) if title is not None else None
    refusal = error if isinstance(error, holds.HoldRefused) else None
    return render_template(
        "staff/holds/place.html", patron=patron, title=title, form=form, options=options, query=query,
        titles=find_titles(query) if title is None else [], error=error.message if refusal else error,
        offer_override=bool(refusal and refusal.overridable and options and options.may_override)), status


@bp.get("/patrons/<int:patron_id>/place")
@staff_required("holds")
def place_hold_form(patron_id: int):
    """Search for the title (``q``), then the form for the title chosen (``title_id``)."""
    patron = db.session.get(Patron, patron_id) or abort(404)
    title_id = request.args.get("title_id", type=int)
    title = db.session.get(Title, title_id) if title_id else None
    if title_id and title is None:
        abort(404)
    form = PlaceHoldForm(formdata=None, title_id=title_id)
    return _place_page(patron, title, form)


@bp.post("/patrons/<int:patron_id>/place")
@staff_required("holds")
def place_hold(patron_id: int):
    patron = db.session.get(Patron, patron_id) or abort(404)
    form = PlaceHoldForm()
    if not form.validate():
        title = db.session.get(Title, form.title_id.data) if form.title_id.data else None
        first = next(e for errors in form.errors.values() for e in errors)
        return _place_page(patron, title, form, error=first, status=400)
    title = db.session.get(Title, form.title_id.data) or abort(404)
    copy = db.session.get(Item, int(form.copy.data)) if (form.copy.data or "").isdigit() else None
    try:
        hold = holds.place_hold(db.session, patron, title, current_user, channel="staff",
                                pickup_library_code=form.pickup.data or None, item=copy,
                                volume=(form.volume.data or "").strip() or None,
                                not_needed_after=form.not_needed_after.data, notes=form.notes.data or None,
                                override=bool(form.override.data))
    except holds.HoldRefused as refusal:
        db.session.rollback()
        return _place_page(patron, title, form, error=refusal, status=409)
    position = holds.position_of(db.session, hold)
    db.session.commit()
    flash(f"Hold placed for {patron.full_name} on {title.full_title}: number {position} in the queue.", "success")
    return redirect(url_for(".patron_holds", patron_id=patron.id))


@bp.get("/titles/<int:title_id>/place")
@staff_required("holds")
def place_hold_on_title(title_id: int):
    """From a title's queue: find the patron (card number, username or name), then their form."""
    title = db.session.get(Title, title_id) or abort(404)
    card = request.args.get("card", "").strip()[:200]
    matches: list[Patron] = []
    if card:
        patron = find_patron(db.session, card)
        matches = [patron] if patron is not None else list(db.session.scalars(search_patrons(card).limit(RESULTS_SHOWN)))
        if len(matches) == 1:
            return redirect(url_for(".place_hold_form", patron_id=matches[0].id, title_id=title.id))
        if not matches:
            flash(f"No patron matches “{card}”.", "error")
    return render_template("staff/holds/find_patron.html", title=title, card=card, matches=matches)
