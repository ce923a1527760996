"""Login and logout for the OPAC and the staff site."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user

from app.extensions import db
from app.services.activity import record_activity
from app.services.authentication import LoginRefused, ThrottlePolicy, authenticate

from ..access import OPAC_INTERFACE, STAFF_INTERFACE, public
from .forms import LoginForm, LogoutForm

bp = Blueprint("auth", __name__)


def _policy() -> ThrottlePolicy:
    cfg = current_app.config
    return ThrottlePolicy(cfg["LOGIN_MAX_FAILURES_ACCOUNT"], cfg["LOGIN_MAX_FAILURES_ADDRESS"], cfg["LOGIN_THROTTLE_SECONDS"])


def _safe_next(target: str | None, default: str) -> str:
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def _login(interface: str, template: str, default_next: str):
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        try:
            patron = authenticate(db.session, form.login.data, form.password.data,
                                  address=request.remote_addr or "unknown", policy=_policy(),
                                  staff=interface == STAFF_INTERFACE, channel=interface)
        except LoginRefused as refusal:
            db.session.commit()  # keep the failure counters
            form.password.errors.append(str(refusal))
            return render_template(template, form=form), 401 if refusal.reason != "throttled" else 429
        record_activity(db.session, patron.id, "login")  # written once this commit succeeded
        db.session.commit()
        session.clear()  # a new session on login: nothing carried over from before
        login_user(patron)
        session["interface"] = interface
        return redirect(_safe_next(form.next.data, default_next))
    status = 400 if request.method == "POST" else 200
    return render_template(template, form=form), status


@bp.route("/login", methods=["GET", "POST"])
@public
def opac_login():
    return _login(OPAC_INTERFACE, "auth/opac_login.html", url_for("opac.account"))


@bp.route("/staff/login", methods=["GET", "POST"])
@public
def staff_login():
    return _login(STAFF_INTERFACE, "auth/staff_login.html", url_for("staff.home"))


@bp.post("/logout")
@public
def logout():
    form = LogoutForm()
    if not form.validate_on_submit():
        return redirect(url_for("opac.home"))
    was_staff = session.get("interface") == STAFF_INTERFACE
    logout_user()
    session.clear()
    flash("You have logged out.", "info")
    return redirect(url_for("auth.staff_login" if was_staff else "opac.home"))
