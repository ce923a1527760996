"""The single holds report: a library's pull list (sortable, grouped by shelving location for a
walk through the stacks) with per-row actions, its CSV (formula-safe) and printable views, and
what is in transit to it and waiting on its pickup shelf. ``holds`` permission."""
from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import Hold, Library
from app.services.hold_queue import report

from ...access import staff_required
from ...htmx import is_htmx
from . import bp

ACTIONS = {"pulled": report.mark_pulled, "transit": report.mark_in_transit, "missing": report.cannot_find}


def _library() -> Library:
    code = request.values.get("library") or current_user.library_code
    return db.session.get(Library, code) or abort(404)


def _sort() -> str:
    sort = request.args.get("sort", "location")
    return sort if sort in report.SORTS else "location"


def _context(library: Library, sort: str, **extra):
    return dict(library=library, sort=sort, sorts=list(report.SORTS),
                rows=report.to_pull(db.session, library.code, sort),
                in_transit=report.in_transit_to(db.session, library.code),
                waiting=report.waiting_at(db.session, library.code),
                libraries=db.session.scalars(select(Library).order_by(Library.name)).all(), **extra)


@bp.get("/report")
@staff_required("holds")
def holds_report():
    library, sort = _library(), _sort()
    response = make_response(render_template("staff/holds/report.html", **_context(library, sort)))
    response.headers["Vary"] = "HX-Request"
    return response


@bp.get("/report/print")
@staff_required("holds")
def holds_report_print():
    library, sort = _library(), _sort()
    return render_template("staff/holds/report_print.html", **_context(library, sort))


@bp.get("/report.csv")
@staff_required("holds")
def holds_report_csv():
    library, sort = _library(), _sort()
    body = report.pull_list_csv(report.to_pull(db.session, library.code, sort))
    response = make_response(body)
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="holds-to-pull-{library.code}.csv"'
    return response


@bp.post("/report/act")
@staff_required("holds")
def holds_report_action():
    """One URL for every row: the pressed button says ``action:hold_id`` (one form for the whole
    list keeps a 5,000-row page light)."""
    action, _, raw_id = request.form.get("do", "").partition(":")
    work = ACTIONS.get(action) or abort(400)
    hold_id = int(raw_id) if raw_id.isdigit() else abort(400)
    hold = db.session.get(Hold, hold_id) or abort(404)
    library = _library()
    try:
        message, error = work(db.session, hold, library.code, current_user.id), None
        db.session.commit()
    except report.ReportRefusal as refusal:
        db.session.rollback()
        message, error = None, str(refusal)
    if is_htmx():
        return render_template("staff/holds/_report_row_done.html", hold_id=hold_id, message=message, error=error,
                               row_id=f"pull-{hold_id}")
    flash(error or f"Hold {hold_id}: {message}", "error" if error else "success")
    return redirect(url_for(".holds_report", library=library.code, sort=_sort()))
