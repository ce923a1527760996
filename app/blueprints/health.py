"""Health endpoint for load balancers and monitoring: the app answers and the database too."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from app.extensions import db

from .access import public

bp = Blueprint("health", __name__)


@bp.get("/health")
@public
def health():
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # noqa: BLE001 - reported, not raised: the endpoint must answer
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return jsonify(status="ok" if status == 200 else "degraded", database=database, dialect=db.dialect), status
