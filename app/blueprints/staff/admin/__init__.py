"""Staff administration: system preferences, circulation rules, SIP2 accounts."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ...access import staff_required

bp = Blueprint("admin", __name__)

ADMIN_PAGES = (
    ("admin.preferences", "System preferences", "The library's policy switches, with Koha's names."),
    ("admin.rules", "Circulation and holds rules", "Loan periods, limits, fines and hold policies by library, patron category and item type."),
    ("admin.transport_costs", "Transport cost matrix", "How hard it is to move items between libraries."),
    ("admin.sip2_accounts", "SIP2 accounts", "Self-check kiosk logins and their institution policies."),
    ("notices.templates_index", "Notices", "Templates of the notices patrons get, per event and library, and messaging defaults."),
)


@bp.get("/")
@staff_required("administration")
def index():
    return render_template("staff/admin/index.html", admin_pages=[
        (endpoint, label, text) for endpoint, label, text in ADMIN_PAGES if endpoint in current_app.view_functions])


from . import preferences, rules, sip2, transport_costs  # noqa: E402,F401  (routes)
