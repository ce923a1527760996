"""SIP2 institutions and kiosk accounts, and the transport cost matrix: read-only for now (the
SIP2 editor comes with the SIP2 server, the matrix editor with hold filling)."""
from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from app.extensions import db
from app.models import Library, SipAccount, SipInstitution, TransportCost
from app.services.settings import get_preference

from ...access import staff_required
from . import bp


@bp.get("/sip2")
@staff_required("administration")
def sip2_accounts():
    institutions = db.session.scalars(select(SipInstitution).order_by(SipInstitution.id)).all()
    accounts = db.session.scalars(select(SipAccount).order_by(SipAccount.login)).all()
    return render_template("staff/admin/sip2_accounts.html", institutions=institutions, accounts=accounts)


@bp.get("/transport-costs")
@staff_required("administration")
def transport_costs():
    libraries = db.session.scalars(select(Library).order_by(Library.code)).all()
    costs = {(c.from_library_code, c.to_library_code): c for c in db.session.scalars(select(TransportCost))}
    return render_template("staff/admin/transport_costs.html", libraries=libraries, costs=costs,
                           matrix_in_use=get_preference(db.session, "UseTransportCostMatrix"))
