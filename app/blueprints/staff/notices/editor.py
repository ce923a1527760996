"""Administration > Notices: every event's template per library, edited with a preview rendered
for a real patron (htmx swaps the preview in; without JavaScript the page comes back with it),
and the messaging defaults of each patron category."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from app.extensions import db
from app.models import Library, Patron, PatronCategory
from app.models.notices import ALL_LIBRARIES
from app.services.audit import record_audit
from app.services.notices.events import EVENTS, MESSAGE_KINDS, UnknownEvent, event
from app.services.notices.preferences import InvalidMessagingPreference, category_choices, set_category_defaults
from app.services.notices.sandbox import ALLOWED_FIELDS, LIST_OBJECTS, TemplateProblem
from app.services.notices.templates import (
    TemplateText,
    check_template,
    reset_template,
    save_template,
    saved_templates,
    template_for,
)

from ...access import staff_required
from ...htmx import is_htmx
from . import bp


def _event_or_404(code: str):
    try:
        return event(code)
    except UnknownEvent:
        abort(404)


def _library_code() -> str:
    code = (request.values.get("library") or ALL_LIBRARIES).strip()
    if code != ALL_LIBRARIES and db.session.get(Library, code) is None:
        abort(404)
    return code


def _fields_for(ev) -> list[tuple[str, tuple[str, ...]]]:
    names = ["patron", "library", *ev.objects]
    listed = []
    for name in names:
        kind = LIST_OBJECTS.get(name, name)
        label = f"{name} (a list: {{% for {kind} in {name} %}})" if name in LIST_OBJECTS else name
        listed.append((label, ALLOWED_FIELDS[kind]))
    return listed


def _preview_patron(text: str) -> Patron | None:
    text = text.strip()
    if not text:
        return db.session.get(Patron, current_user.id)
    return db.session.scalar(select(Patron).where(or_(Patron.cardnumber == text, Patron.userid == text)))


@bp.get("/admin/notices/")
@staff_required("administration")
def templates_index():
    saved = saved_templates(db.session)
    libraries = db.session.scalars(select(Library).order_by(Library.name)).all()
    return render_template("staff/notices/index.html", events=EVENTS, saved=saved, libraries=libraries,
                           ALL=ALL_LIBRARIES)


@bp.get("/admin/notices/<code>")
@staff_required("administration")
def edit_template(code: str):
    ev = _event_or_404(code)
    library = _library_code()
    template = template_for(db.session, code, None if library == ALL_LIBRARIES else library)
    return _edit_page(ev, library, template)


def _edit_page(ev, library: str, template: TemplateText, *, error: str | None = None, status: int = 200,
               preview=None, preview_error: str | None = None, preview_patron: str = ""):
    libraries = db.session.scalars(select(Library).order_by(Library.name)).all()
    saved = (ev.code, library) in saved_templates(db.session)
    return render_template("staff/notices/edit.html", ev=ev, library=library, template=template, libraries=libraries,
                           fields=_fields_for(ev), error=error, saved=saved, ALL=ALL_LIBRARIES, preview=preview,
                           preview_error=preview_error, preview_patron=preview_patron), status


def _submitted(code: str, library: str) -> TemplateText:
    form = request.form
    html = form.get("body_html", "")
    return TemplateText(code, library, form.get("subject", ""), form.get("body_text", ""),
                        html if html.strip() else None, False)


@bp.post("/admin/notices/<code>")
@staff_required("administration")
def save_template_view(code: str):
    ev = _event_or_404(code)
    library = _library_code()
    submitted = _submitted(code, library)
    try:
        save_template(db.session, code, library, subject=submitted.subject, body_text=submitted.body_text,
                      body_html=submitted.body_html, actor=current_user)
    except TemplateProblem as problem:
        db.session.rollback()
        return _edit_page(ev, library, submitted, error=str(problem), status=400)
    record_audit(db.session, actor_id=current_user.id, channel="staff", module="NOTICES", action="MODIFY",
                 object_type="notice_template", object_id=None, info={"event": code, "library": library})
    db.session.commit()
    flash(f"The {ev.name} template for {'every library' if library == ALL_LIBRARIES else library} is saved.", "success")
    return redirect(url_for("notices.edit_template", code=code, library=library))


@bp.post("/admin/notices/<code>/preview")
@staff_required("administration")
def preview_template(code: str):
    """The submitted (unsaved) template rendered for a real patron: their card number or
    username, else the member of staff previewing."""
    ev = _event_or_404(code)
    library_code = _library_code()
    submitted = _submitted(code, library_code)
    typed = request.form.get("preview_patron", "")
    patron = _preview_patron(typed)
    rendered, problem = None, None
    if patron is None:
        problem = f"No patron has the card number or username {typed.strip()!r}."
    else:
        library = db.session.get(Library, library_code) if library_code != ALL_LIBRARIES else patron.library
        try:
            rendered = check_template(submitted, patron, library)
        except TemplateProblem as error:
            problem = str(error)
    if is_htmx():
        response = render_template("staff/notices/_preview.html", preview=rendered, preview_error=problem,
                                   patron=patron)
        return response, 200, {"Vary": "HX-Request"}
    return _edit_page(ev, library_code, submitted, preview=rendered, preview_error=problem, preview_patron=typed)


@bp.post("/admin/notices/<code>/reset")
@staff_required("administration")
def reset_template_view(code: str):
    ev = _event_or_404(code)
    library = _library_code()
    if reset_template(db.session, code, library):
        record_audit(db.session, actor_id=current_user.id, channel="staff", module="NOTICES", action="DELETE",
                     object_type="notice_template", object_id=None, info={"event": code, "library": library})
        db.session.commit()
        flash(f"The saved {ev.name} template was removed; the default applies again.", "success")
    return redirect(url_for("notices.edit_template", code=code, library=library))


@bp.get("/admin/notices/defaults")
@staff_required("administration")
def category_defaults():
    categories = db.session.scalars(select(PatronCategory).order_by(PatronCategory.code)).all()
    return render_template("staff/notices/defaults.html", kinds=MESSAGE_KINDS, rows=[
        (category, category_choices(db.session, category.code)) for category in categories])


@bp.post("/admin/notices/defaults/<category>")
@staff_required("administration")
def save_category_defaults(category: str):
    if db.session.get(PatronCategory, category) is None:
        abort(404)
    try:
        set_category_defaults(db.session, category, request.form)
    except InvalidMessagingPreference as error:
        db.session.rollback()
        categories = db.session.scalars(select(PatronCategory).order_by(PatronCategory.code)).all()
        return render_template("staff/notices/defaults.html", kinds=MESSAGE_KINDS, error=str(error),
                               error_category=category, submitted=request.form, rows=[
                                   (c, category_choices(db.session, c.code)) for c in categories]), 400
    db.session.commit()
    flash(f"Messaging defaults for category {category} are saved.", "success")
    return redirect(url_for("notices.category_defaults"))
