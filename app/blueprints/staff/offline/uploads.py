"""Upload a .koc file from a desktop tool: queue its actions, or apply them at once."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user

from app.extensions import db
from app.services import offline

from ...access import staff_required
from . import bp, disabled_page, offline_enabled
from .forms import MAX_KOC_BYTES, KocUploadForm


@bp.route("/upload", methods=["GET", "POST"])
@staff_required("offline_circulation")
def upload_koc():
    """The form, and on POST what the file held: queued, duplicates, malformed lines by number,
    and (applied directly) each failed action. Applying commits every batch: a long file never
    holds its locks to the end, and an interrupted upload leaves the rest pending."""
    if not offline_enabled():
        return disabled_page()
    form = KocUploadForm()
    if not form.validate_on_submit():
        return render_template("staff/offline/upload.html", form=form, upload=None), 400 if form.is_submitted() else 200
    data = form.koc.data.read(MAX_KOC_BYTES + 1)
    if len(data) > MAX_KOC_BYTES:
        form.koc.errors = [f"The file is larger than {MAX_KOC_BYTES // (1024 * 1024)} MB."]
        return render_template("staff/offline/upload.html", form=form, upload=None), 413
    name = (form.koc.data.filename or "upload.koc")[-120:]
    apply = form.mode.data == "apply"
    result = offline.upload_koc(db.session, data, name, apply=apply, uploaded_by=current_user,
                                library_code=current_user.library_code,
                                checkpoint=db.session.commit if apply else None)
    db.session.commit()
    return render_template("staff/offline/upload.html", form=KocUploadForm(formdata=None), upload=result)
