"""Error pages, in the audience's layout."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request

from app.extensions import db

MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Not allowed", "You do not have permission to see this page."),
    404: ("Not found", "There is nothing at this address."),
    405: ("Method not allowed", "This page cannot be used that way."),
    500: ("Something went wrong", "The error has been logged. Nothing was saved; please try again."),
}


def register_error_handlers(app: Flask) -> None:
    def handle(error):
        code = getattr(error, "code", 500) or 500
        if code == 500:
            db.session.rollback()
        title, message = MESSAGES.get(code, ("Error", str(error)))
        if request.path.startswith("/api/"):
            return jsonify(error=title), code
        return render_template("errors/error.html", code=code, title=title, message=message), code

    for code in MESSAGES:
        app.register_error_handler(code, handle)
