"""Who may reach a route: every view carries one of these decorators, and a test walks every
registered route to check each audience gets what it should.

- ``public``: anyone.
- ``patron_required``: a logged-in patron (OPAC pages); anonymous users go to the OPAC login.
- ``staff_required(permission)``: a staff session holding ``permission`` (or superlibrarian);
  anonymous users go to the staff login, everyone else gets 403."""
from __future__ import annotations

import functools
from typing import Callable

from flask import abort, redirect, request, session, url_for
from flask_login import current_user

from app.models import Permission

STAFF_INTERFACE = "staff"
OPAC_INTERFACE = "opac"


def _mark(view: Callable, audience: str, permission: str | None = None) -> Callable:
    view._carrel_access = (audience, permission)  # type: ignore[attr-defined]
    return view


def access_of(view: Callable) -> tuple[str, str | None] | None:
    return getattr(view, "_carrel_access", None)


def public(view: Callable) -> Callable:
    return _mark(view, "public")


def patron_required(view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.opac_login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return _mark(wrapper, "patron")


def _refuse_unless_staff_session():
    """None when a staff session is open; otherwise the response to send instead: the staff
    login for anonymous visitors and OPAC sessions of staff, 403 for patrons."""
    if current_user.is_authenticated and session.get("interface") == STAFF_INTERFACE:
        return None
    if current_user.is_authenticated and not current_user.is_staff:
        abort(403)
    return redirect(url_for("auth.staff_login", next=request.full_path.rstrip("?")))


def staff_required(permission: Permission | str) -> Callable[[Callable], Callable]:
    permission = Permission(permission)

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            refusal = _refuse_unless_staff_session()
            if refusal is not None:
                return refusal
            if not current_user.has_permission(permission):
                abort(403)
            return view(*args, **kwargs)

        return _mark(wrapper, "staff", permission.value)

    return decorator


def staff_session_required(view: Callable) -> Callable:
    """Any staff member, whatever their permissions (the staff home page)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        return _refuse_unless_staff_session() or view(*args, **kwargs)

    return _mark(wrapper, "staff", None)
