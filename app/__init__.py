"""Carrel: an integrated library system. ``create_app(config)`` builds the web application."""
from __future__ import annotations

import logging
from typing import Any, Mapping

from flask import Flask, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import joinedload

from . import clock
from .config import load_config
from .extensions import csrf, db, login_manager

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from declared settings, the environment and ``config`` (which wins)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(load_config(config))
    clock.set_timezone(app.config["TIMEZONE"])
    logging.getLogger("carrel").setLevel(logging.INFO)

    db.init_app(app)
    from .services import activity, fines, policy_cache
    from .services.hold_queue import maintenance as hold_queue_maintenance

    policy_cache.install()  # before any unit of work could edit the policy
    hold_queue_maintenance.install()  # allocations recomputed per title in the changing transaction
    fines.install()  # a balance remembered in a transaction is forgotten when it could change
    activity.install()  # last seen written after the commit of the activity
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.opac_login"
    login_manager.session_protection = "strong"

    from .models import Patron

    @login_manager.user_loader
    def _load_user(user_id: str):
        try:  # with the staff permissions every staff page checks: one statement, not two
            return db.session.get(Patron, int(user_id), options=[joinedload(Patron.permissions)])
        except ValueError:
            return None

    @app.before_request
    def _declare_writes():
        db.declare_write_intent(request.method in WRITE_METHODS)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        )
        response.vary.add("HX-Request")
        return response

    from .blueprints import register_blueprints
    from .blueprints.errors import register_error_handlers

    register_blueprints(app)
    register_error_handlers(app)
    app.register_error_handler(CSRFError, _csrf_error)

    from .cli import register_cli

    register_cli(app)
    return app


def _csrf_error(error: CSRFError):
    from flask import render_template

    return render_template("errors/error.html", code=400, title="Form expired or forged",
                           message="The form could not be accepted (security token missing or invalid). "
                                   "Go back, reload the page and try again."), 400
