"""The check-in page (scan items, each row shows the outcome and where the item goes) and the
printable slip for an item going to a hold or another library."""
from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user

from app.extensions import db
from app.models import Item, Library
from app.services import circulation
from app.services.holds_hooks import allocated_hold_for_item, waiting_hold_for_item

from ...access import staff_required
from ...htmx import is_htmx
from . import bp, commit_then_render, desk_library
from .forms import BarcodeForm


@bp.get("/checkin")
@staff_required("circulate")
def checkin():
    return render_template("staff/circulation/checkin.html", outcomes=[], error=None,
                           library=db.session.get(Library, desk_library()))


@bp.post("/checkin")
@staff_required("circulate")
def check_in_item():
    """One scan on the check-in page."""
    form = BarcodeForm()
    library = db.session.get(Library, desk_library())
    if not form.validate():
        error = form.barcode.errors[0] if form.barcode.errors else "Scan or type a barcode."
        if is_htmx():
            return render_template("staff/circulation/_checkin_row.html", outcome=None, error=error)
        return render_template("staff/circulation/checkin.html", outcomes=[], error=error, library=library), 400
    barcode = form.barcode.data.strip()
    outcome = circulation.check_in(db.session, circulation.find_item(db.session, barcode), desk_library(),
                                   current_user, barcode=barcode)
    if is_htmx():
        return commit_then_render("staff/circulation/_checkin_row.html", outcome=outcome, error=None)
    return commit_then_render("staff/circulation/checkin.html", outcomes=[outcome], error=None, library=library)


@bp.get("/slip/<int:item_id>")
@staff_required("circulate")
def slip(item_id: int):
    """A slip to tuck in the item: who the hold is for and where to pick it up, or where the
    transfer goes. Nothing to print: 404."""
    item = db.session.get(Item, item_id) or abort(404)
    hold = waiting_hold_for_item(db.session, item) or allocated_hold_for_item(db.session, item)
    transfer = None if hold is not None else circulation.open_transfer(db.session, item)
    if hold is None and transfer is None:
        abort(404)
    destination = db.session.get(Library, hold.pickup_library_code if hold else transfer.to_library_code)
    return render_template("staff/circulation/slip.html", item=item, hold=hold, transfer=transfer,
                           destination=destination, here=db.session.get(Library, desk_library()))
