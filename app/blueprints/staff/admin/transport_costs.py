"""The transport cost matrix editor: an htmx grid, one form per cell (cost and "block
transport"); a cell saves on change in one transaction; bad input comes back inline, unstored."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db
from app.services.settings import get_preference
from app.services.transport_costs import CostRefused, matrix, set_cell

from ...access import staff_required
from . import bp


@bp.get("/transport-costs")
@staff_required("administration")
def transport_costs():
    libraries, costs = matrix(db.session)
    return render_template("staff/admin/transport_costs.html", libraries=libraries, costs=costs,
                           matrix_in_use=get_preference(db.session, "UseTransportCostMatrix"))


@bp.post("/transport-costs/cell")
@staff_required("administration")
def transport_cost_cell():
    from_code, to_code = request.form.get("from", ""), request.form.get("to", "")
    raw = request.form.get("cost")
    blocked = request.form.get("blocked") in ("1", "on", "y")
    error = None
    try:
        set_cell(db.session, from_code, to_code, raw, blocked, current_user.id)
        db.session.commit()
    except LookupError:
        db.session.rollback()
        abort(404)
    except CostRefused as refused:
        db.session.rollback()
        error = str(refused)
    if not request.headers.get("HX-Request"):
        flash(error or f"Cost {from_code} → {to_code} saved.", "danger" if error else "success")
        return redirect(url_for("admin.transport_costs"))
    _libraries, costs = matrix(db.session)
    return render_template("staff/admin/_transport_cell.html", source=from_code, to=to_code,
                           cost=costs.get((from_code, to_code)), error=error, raw=raw, raw_blocked=blocked,
                           saved=error is None)
