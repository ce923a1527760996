"""Pending offline actions: list them in the order they will be applied, process or delete the
chosen ones. With htmx each changed row is swapped in place (out of band) with its outcome;
without JavaScript the form posts and the page comes back."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from app.extensions import db
from app.models import PendingOfflineOperation
from app.services import offline
from app.services.offline.listing import VIEWS

from ...access import staff_required
from ...htmx import is_htmx
from . import bp

PER_PAGE = 250


def _chosen_ids() -> list[int]:
    return [int(v) for v in request.form.getlist("operation") if v.isdigit()]


@bp.get("/pending")
@staff_required("offline_circulation")
def pending():
    view = request.args.get("view", "open")
    view = view if view in VIEWS else "open"
    page_number = max(1, request.args.get("page", 1, type=int) or 1)
    stmt = offline.operations_in_view(view)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    operations = db.session.scalars(stmt.limit(PER_PAGE).offset((page_number - 1) * PER_PAGE)).all()
    return render_template("staff/offline/pending.html", rows=offline.describe_operations(db.session, operations),
                           view=view, page=page_number, total=total, per_page=PER_PAGE,
                           counts=offline.status_counts(db.session))


def _changed_rows(ids: list[int]):
    operations = db.session.scalars(select(PendingOfflineOperation).where(PendingOfflineOperation.id.in_(ids))
                                    .order_by(PendingOfflineOperation.occurred_at, PendingOfflineOperation.id)).all()
    return offline.describe_operations(db.session, operations)


@bp.post("/pending/process")
@staff_required("offline_circulation")
def process_pending():
    """Apply the chosen actions (or every open one with ``all``) in time order."""
    everything = request.form.get("all") == "1"
    ids = None if everything else _chosen_ids()
    if ids == []:
        return _answer("Choose the actions to process.", [], "error")
    summary = offline.process_offline_operations(db.session, current_user, ids=ids, checkpoint=db.session.commit)
    db.session.commit()
    message = f"{summary.applied} applied, {summary.failed} failed."
    if summary.skipped:
        message += f" {summary.skipped} already applied or being processed elsewhere."
    category = "success" if not summary.failed else "info"
    if everything and is_htmx():  # far more rows than the page shows: show the page again
        flash(message, category)
        return "", 200, {"HX-Refresh": "true"}
    return _answer(message, [r.operation_id for r in summary.results], category)


@bp.post("/pending/delete")
@staff_required("offline_circulation")
def delete_pending():
    """Delete the chosen actions that were not applied."""
    ids = _chosen_ids()
    if not ids:
        return _answer("Choose the actions to delete.", [], "error")
    deleted = offline.delete_offline_operations(db.session, ids)
    db.session.commit()
    return _answer(f"{deleted} deleted.", [], "success", deleted_ids=ids)


def _answer(message: str, changed: list[int], category: str, deleted_ids: list[int] | None = None):
    if is_htmx():
        return render_template("staff/offline/_pending_answer.html", message=message, category=category,
                               rows=_changed_rows(changed) if changed else [], deleted_ids=deleted_ids or [],
                               counts=offline.status_counts(db.session))
    flash(message, category)
    return redirect(url_for(".pending"))
