"""API keys on the patron page (Koha's More > Manage API keys): create (the secret is shown once),
revoke, activate, delete. Answers htmx with the keys section and plain forms with the page.

A key carries its owner's permissions, so only the owner or a superlibrarian may create or
re-activate a key; anyone with the patrons permission may revoke or delete one."""
from __future__ import annotations

from flask import abort, redirect, render_template, render_template_string, request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import ApiClient, Patron, Permission
from app.services.api_keys import NewApiKey, create_api_key, delete_api_key, keys_of, set_api_key_active

from ..access import staff_required
from ..htmx import is_htmx
from . import bp

PAGE = """{% extends "staff/base.html" %}{% block page_title %}API keys · {{ patron.sort_name }}{% endblock %}
{% block content %}<h1>API keys of {{ patron.sort_name }}</h1>{% include "staff/_api_keys.html" %}
<p><a href="{{ url_for('staff.patron_detail', patron_id=patron.id) }}">Back to the patron</a></p>{% endblock %}"""


def _may_grant(patron: Patron) -> bool:
    return patron.id == current_user.id or current_user.has_permission(Permission.SUPERLIBRARIAN)


def _render(patron: Patron, new_key: NewApiKey | None = None, error: str | None = None):
    """The keys section (htmx) or page; a refusal is shown in it with status 200, which htmx swaps."""
    context = dict(patron=patron, api_keys=keys_of(db.session, patron), new_key=new_key, error=error,
                   may_grant=_may_grant(patron))
    if is_htmx():
        return render_template("staff/_api_keys.html", **context)
    return render_template_string(PAGE, **context)


def _patron(patron_id: int) -> Patron:
    return db.session.get(Patron, patron_id) or abort(404)


def _key(patron: Patron, client_id: str) -> ApiClient:
    client = db.session.get(ApiClient, client_id)
    if client is None or client.patron_id != patron.id:
        abort(404)
    return client


@bp.get("/patrons/<int:patron_id>/api-keys")
@staff_required("patrons")
def patron_api_keys(patron_id: int):
    return _render(_patron(patron_id))


@bp.post("/patrons/<int:patron_id>/api-keys")
@staff_required("patrons")
def patron_api_key_create(patron_id: int):
    patron = _patron(patron_id)
    if not _may_grant(patron):
        return _render(patron, error="Only the patron or a superlibrarian may create their API keys.")
    new_key = create_api_key(db.session, patron, request.form.get("description"), current_user)
    db.session.commit()
    return _render(patron, new_key=new_key)


@bp.post("/patrons/<int:patron_id>/api-keys/<client_id>/<action>")
@staff_required("patrons")
def patron_api_key_change(patron_id: int, client_id: str, action: str):
    if action not in ("revoke", "activate", "delete"):
        abort(404)
    patron = _patron(patron_id)
    client = _key(patron, client_id)
    if action == "activate" and not _may_grant(patron):
        return _render(patron, error="Only the patron or a superlibrarian may activate their API keys.")
    if action == "delete":
        delete_api_key(db.session, client, current_user)
    else:
        set_api_key_active(db.session, client, action == "activate", current_user)
    db.session.commit()
    if is_htmx():
        return _render(patron)
    return redirect(url_for("staff.patron_api_keys", patron_id=patron.id))
