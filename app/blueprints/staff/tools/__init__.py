"""Staff tools: the landing page and Import patrons (Koha's Tools > Import patrons).

The upload is stored in an import job and runs in the background (``app.services.patron_import.jobs``);
the job page shows a progress bar that htmx polls until the report is there."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import AttributeType, Library, PatronCategory, PatronImportJob
from app.services.patron_import import ImportOptions, sample_header
from app.services.patron_import.columns import DEFAULTABLE, PRESERVABLE, UPDATE_EXPIRY_CHOICES
from app.services.patron_import.jobs import is_stale, live_progress, queue_import, start_in_background

from ...access import staff_required
from ...htmx import is_htmx

bp = Blueprint("tools", __name__)

TOOLS = (("tools.import_patrons", "Import patrons", "Create or update patrons from Koha's patron CSV."),)
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


@bp.get("/")
@staff_required("import")
def index():
    jobs = db.session.scalars(select(PatronImportJob).order_by(PatronImportJob.id.desc()).limit(20)).all()
    return render_template("staff/tools/index.html", tools=TOOLS, jobs=jobs)


def _form_context(**extra):
    session = db.session
    return dict(
        libraries=session.scalars(select(Library).order_by(Library.name)).all(),
        categories=session.scalars(select(PatronCategory).order_by(PatronCategory.description)).all(),
        unique_types=session.scalars(select(AttributeType).where(AttributeType.unique_id.is_(True))
                                     .order_by(AttributeType.code)).all(),
        default_columns=[c for c in DEFAULTABLE if c not in ("branchcode", "categorycode")],
        preservable=PRESERVABLE, preserved=set(request.form.getlist("preserve_existing")),
        form=request.form, errors=[], **extra)


@bp.get("/import-patrons")
@staff_required("import")
def import_patrons():
    return render_template("staff/tools/import_patrons.html", **_form_context())


def _options_from_form(file_name: str) -> ImportOptions:
    form = request.form
    defaults = {column: form[f"default-{column}"] for column in DEFAULTABLE
                if form.get(f"default-{column}", "").strip()}
    patron_list = None
    if form.get("patron_list"):
        patron_list = form.get("patron_list_name", "").strip() or file_name
    return ImportOptions(
        match=form.get("match", "cardnumber"), overwrite=form.get("matched") == "overwrite",
        preserve_attributes=form.get("attributes", "preserve") == "preserve", defaults=defaults,
        patron_list=patron_list, welcome_email=bool(form.get("welcome_email")), dry_run=bool(form.get("dry_run")),
        skip_bad_rows=bool(form.get("skip_bad_rows")), overwrite_passwords=bool(form.get("overwrite_passwords")),
        preserve_fields=tuple(c for c in form.getlist("preserve_existing") if c in PRESERVABLE),
        update_expiry=form.get("update_expiry") if form.get("update_expiry") in UPDATE_EXPIRY_CHOICES else None,
        file_name=file_name)


@bp.post("/import-patrons")
@staff_required("import")
def start_import():
    """Store the file in a job and start it; the job page follows its progress."""
    upload = request.files.get("file")
    data = upload.read(MAX_UPLOAD_BYTES + 1) if upload else b""
    errors = []
    if not upload or not upload.filename:
        errors.append("Choose a CSV file to import.")
    elif not data.strip():
        errors.append("The file is empty.")
    elif len(data) > MAX_UPLOAD_BYTES:
        errors.append(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    if errors:
        return render_template("staff/tools/import_patrons.html", **{**_form_context(), "errors": errors}), 400
    job = queue_import(db.session, data, _options_from_form(upload.filename[:200]), current_user)
    db.session.commit()
    start_in_background(current_app._get_current_object(), job.id)  # type: ignore[attr-defined]
    return redirect(url_for("tools.import_job", job_id=job.id), code=303)


def _job_or_404(job_id: int) -> PatronImportJob:
    return db.session.get(PatronImportJob, job_id) or abort(404)


def _job_context(job: PatronImportJob):
    return dict(job=job, live=live_progress(job.id), stale=is_stale(job), options=ImportOptions.from_json(job.options))


@bp.get("/import-patrons/<int:job_id>")
@staff_required("import")
def import_job(job_id: int):
    job = _job_or_404(job_id)
    return render_template("staff/tools/import_job.html", **_job_context(job))


@bp.get("/import-patrons/<int:job_id>/progress")
@staff_required("import")
def import_progress(job_id: int):
    """The progress fragment htmx polls; once the job is finished it carries the report and
    no more polling."""
    job = _job_or_404(job_id)
    if not is_htmx():
        return redirect(url_for("tools.import_job", job_id=job.id))
    return render_template("staff/tools/_import_progress.html", **_job_context(job))


@bp.get("/import-patrons/<int:job_id>/report.txt")
@staff_required("import")
def import_report(job_id: int):
    job = _job_or_404(job_id)
    if not job.is_finished:
        abort(404)
    name = f"patron-import-{job.id}-report.txt"
    return Response(job.report or job.error or "", mimetype="text/plain",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/import-patrons/sample.csv")
@staff_required("import")
def import_sample():
    """Koha's header line, every column the import knows (``?sample=1`` in Koha)."""
    return Response(sample_header(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="patron_import.csv"'})
