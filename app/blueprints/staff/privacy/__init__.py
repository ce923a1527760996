"""Staff privacy page: anonymise history now, and purge inactive patrons after a dry run.

A purge runs in batches (one short transaction each, so kiosks are never kept waiting) in slices
of at most ``SLICE_SECONDS`` per request: a small purge is over when the confirm request returns;
a large one shows its progress, and the progress fragment asks htmx for the next slice as soon as
it is swapped in. No thread is left running in a web worker: closing the page stops the purge
between two batches, and it is resumed from the same page, by ``flask carrel privacy resume`` or
by the daily job. Without JavaScript a Continue button does the same."""
from __future__ import annotations

import datetime as dt
import math

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app import clock
from app.extensions import db
from app.models import Library, PatronCategory, PurgeRun
from app.services import privacy
from app.services.settings import get_preference

from ...access import staff_required
from ...htmx import is_htmx
from .forms import ConfirmPurgeForm, CriteriaForm

bp = Blueprint("privacy", __name__)

PER_PAGE = 50
SLICE_SECONDS = 1.5  # work done per request before answering with the progress
PAUSE_SECONDS = 0.05  # between batches: other writers (kiosks, the desk) get the lock
RUNS_SHOWN = 10
DEFAULT_YEARS_INACTIVE = 2


def _criteria_form(formdata) -> CriteriaForm:
    form = CriteriaForm(formdata=formdata)
    form.categories.choices = [SelectChoice(c.code, f"{c.description} ({c.code})")
                               for c in db.session.scalars(select(PatronCategory).order_by(PatronCategory.description))]
    form.libraries.choices = [SelectChoice(lib.code, f"{lib.name} ({lib.code})")
                              for lib in db.session.scalars(select(Library).order_by(Library.name))]
    return form


def _default_since() -> dt.date:
    months = get_preference(db.session, "PurgeInactivePatronsAfterMonths")
    return privacy.months_before(clock.today(), months or 12 * DEFAULT_YEARS_INACTIVE)


def _page(name: str) -> int:
    try:
        return max(1, int(request.args.get(name, 1)))
    except ValueError:
        return 1


@bp.get("/")
@staff_required("privacy")
def index():
    form = _criteria_form(None)
    form.inactive_since.data = _default_since()
    runs = db.session.scalars(select(PurgeRun).order_by(PurgeRun.id.desc()).limit(RUNS_SHOWN)).all()
    return render_template("staff/privacy/index.html", form=form, runs=runs,
                           retention_days=get_preference(db.session, "AnonymizeHistoryAfterDays"))


@bp.get("/dry-run")
@staff_required("privacy")
def dry_run():
    """Who a purge with these criteria would delete, and who it keeps and why (paged lists; htmx
    asks for one list's page at a time with ``list``)."""
    if "inactive_since" not in request.args:
        return redirect(url_for(".index"))
    form = _criteria_form(request.args)
    criteria = form.criteria() if form.validate() else None
    if criteria is not None:
        try:
            criteria.check(db.session)
        except privacy.InvalidCriteria as error:
            form.inactive_since.errors.append(str(error))
            criteria = None
    if criteria is None:
        runs = db.session.scalars(select(PurgeRun).order_by(PurgeRun.id.desc()).limit(RUNS_SHOWN)).all()
        return render_template("staff/privacy/index.html", form=form, runs=runs,
                               retention_days=get_preference(db.session, "AnonymizeHistoryAfterDays")), 400
    summary = privacy.dry_run(db.session, criteria)
    lists = {
        "purge": _list_context("purge", criteria, summary.would_purge, _page("purge_page")),
        "kept": _list_context("kept", criteria, summary.kept, _page("kept_page")),
    }
    which = request.args.get("list")
    if is_htmx() and which in lists:
        return render_template(f"staff/privacy/_{which}_list.html", **lists[which])
    return render_template("staff/privacy/dry_run.html", summary=summary, criteria=criteria, form=form,
                           confirm=ConfirmPurgeForm.carrying(criteria), **lists["purge"], **lists["kept"])


def _list_context(which: str, criteria: privacy.PurgeCriteria, total: int, page: int) -> dict:
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(page, pages)
    rows = (privacy.would_purge_page if which == "purge" else privacy.kept_page)(
        db.session, criteria, page=page, per_page=PER_PAGE)
    args = request.args.to_dict(flat=False)
    args.pop("list", None)

    def page_url(number: int) -> str:
        return url_for("privacy.dry_run", **{**args, f"{which}_page": number})

    def fragment_url(number: int) -> str:
        return url_for("privacy.dry_run", **{**args, f"{which}_page": number, "list": which})

    return {f"{which}_rows": rows, f"{which}_total": total, f"{which}_page": page, f"{which}_pages": pages,
            f"{which}_page_url": page_url, f"{which}_fragment_url": fragment_url}


@bp.post("/purge")
@staff_required("privacy")
def purge():
    """Start a purge with the dry run's criteria and run its first slice."""
    criteria = ConfirmPurgeForm().criteria()
    if criteria is None:
        flash("Run a dry run first.", "error")
        return redirect(url_for(".index"))
    actor_id = current_user.id
    db.session.commit()  # no write lock held while counting (SQLite: kiosks would wait)
    try:
        with db.unit_of_work(write=False) as unit:
            criteria.check(unit)
            selected = privacy.count_purgeable(unit, criteria)
        with db.unit_of_work() as unit:
            run_id = privacy.start_purge(unit, criteria, selected=selected, actor_id=actor_id, channel="staff").id
    except privacy.InvalidCriteria as error:
        flash(str(error), "error")
        return redirect(url_for(".index"))
    _work_on(run_id)
    return redirect(url_for(".run", run_id=run_id))


def _work_on(run_id: int) -> PurgeRun | None:
    db.session.commit()  # end the request's own transaction: each batch takes the write lock itself
    return privacy.drive_purge(db.unit_of_work, run_id, seconds=SLICE_SECONDS, pause=PAUSE_SECONDS)


def _run_or_404(run_id: int) -> PurgeRun:
    run = db.session.get(PurgeRun, run_id)
    if run is None:
        abort(404)
    return run


@bp.get("/runs/<int:run_id>")
@staff_required("privacy")
def run(run_id: int):
    run = _run_or_404(run_id)
    if is_htmx():
        return render_template("staff/privacy/_run_progress.html", run=run)
    return render_template("staff/privacy/run.html", run=run)


@bp.post("/runs/<int:run_id>/continue")
@staff_required("privacy")
def continue_run(run_id: int):
    """One more slice of batches (htmx asks again while the run is running)."""
    _run_or_404(run_id)
    _work_on(run_id)
    if is_htmx():
        return render_template("staff/privacy/_run_progress.html", run=db.session.get(PurgeRun, run_id))
    return redirect(url_for(".run", run_id=run_id))


@bp.post("/runs/<int:run_id>/cancel")
@staff_required("privacy")
def cancel_run(run_id: int):
    _run_or_404(run_id)
    db.session.commit()
    with db.unit_of_work() as unit:
        privacy.cancel_purge(unit, run_id, actor_id=current_user.id, channel="staff")
    flash("Purge stopped. Patrons already purged stay purged.", "info")
    if is_htmx():
        return render_template("staff/privacy/_run_progress.html", run=db.session.get(PurgeRun, run_id))
    return redirect(url_for(".run", run_id=run_id))


@bp.post("/anonymise")
@staff_required("privacy")
def anonymise():
    """Anonymise now what the retention period (and never-keep patrons) make due."""
    days = get_preference(db.session, "AnonymizeHistoryAfterDays")
    actor_id = current_user.id
    db.session.commit()
    result, done = privacy.drive_anonymisation(db.unit_of_work, days, actor_id=actor_id, channel="staff",
                                               seconds=SLICE_SECONDS * 4, pause=PAUSE_SECONDS)
    more = "" if done else " More remains: press the button again, or let tonight's job finish it."
    flash(f"Anonymised {result.loans} loan(s) and {result.holds} finished hold(s).{more}", "success")
    return redirect(url_for(".index"))
