"""System preferences: every declared preference by area, each edited inline.

With htmx a save answers the row fragment, an invalid value included (status 200, the error shown
in the row: htmx leaves 4xx answers unswapped). Without JavaScript the form posts and the page
comes back with a flash."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db
from app.services.audit import record_audit
from app.services.settings import (
    PREFERENCES_BY_NAME,
    InvalidPreference,
    Preference,
    all_preferences,
    set_preference,
)

from ...access import staff_required
from ...htmx import is_htmx
from . import bp

AREA_LABELS = {
    "general": "General",
    "circulation": "Circulation",
    "holds": "Holds",
    "patrons": "Patrons",
    "privacy": "Privacy",
    "api": "REST API",
}


@dataclass(frozen=True)
class PreferenceRow:
    """One row of the page: the declaration, the value in force and how it got there."""

    pref: Preference
    value: Any
    stored: str | None
    stored_value_invalid: bool = False
    error: str | None = None
    submitted: Any = None
    saved: bool = False

    @property
    def is_default(self) -> bool:
        return self.value == self.pref.default


def _rows() -> list[PreferenceRow]:
    rows = []
    for pref, value, stored in all_preferences(db.session):
        rows.append(PreferenceRow(pref, value, stored, stored is not None and _unparsable(pref, stored)))
    return rows


def _unparsable(pref: Preference, stored: str) -> bool:
    try:
        pref.parse(stored)
    except InvalidPreference:
        return True
    return False


def _row(name: str, **extra) -> PreferenceRow:
    row = next(r for r in _rows() if r.pref.name == name)
    return PreferenceRow(row.pref, row.value, row.stored, row.stored_value_invalid, **extra)


@bp.get("/preferences")
@staff_required("administration")
def preferences():
    groups: dict[str, list[PreferenceRow]] = {}
    for row in _rows():
        groups.setdefault(row.pref.area, []).append(row)
    ordered = sorted(groups.items(), key=lambda item: list(AREA_LABELS).index(item[0]) if item[0] in AREA_LABELS else 99)
    return render_template("staff/admin/preferences.html", groups=ordered, area_labels=AREA_LABELS)


@bp.post("/preferences/<name>", endpoint="set_preference")
@staff_required("administration")
def set_preference_view(name: str):
    pref = PREFERENCES_BY_NAME.get(name) or abort(404)
    before = _row(name)
    if pref.kind == "multiple":
        raw: Any = request.form.getlist("value")
    else:
        raw = request.form.get("value")
        if raw is None:
            abort(400)
    try:
        value = set_preference(db.session, name, raw, actor_id=current_user.id)
    except InvalidPreference as refusal:
        db.session.rollback()
        message = str(refusal).removeprefix(f"{name}: ")
        if not is_htmx():
            flash(f"{name} was not changed: {message}.", "error")
            return redirect(url_for("admin.preferences", _anchor=f"pref-{name}"))
        return render_template("staff/admin/_preference_row.html", row=_row(name, error=message, submitted=raw))
    if pref.serialise(value) != before.stored:
        record_audit(db.session, actor_id=current_user.id, channel="staff", module="SETTINGS", action="MODIFY",
                     object_type="system_preference", object_id=name,
                     info={"value": pref.serialise(value), "previous": before.stored})
    db.session.commit()
    if not is_htmx():
        flash(f"{name} saved.", "success")
        return redirect(url_for("admin.preferences", _anchor=f"pref-{name}"))
    return render_template("staff/admin/_preference_row.html", row=_row(name, saved=True))
