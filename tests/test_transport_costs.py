"""The transport cost matrix editor: a cell saved inline (htmx) and without JavaScript, the
block toggle keeping the cost, bad input refused inline and never stored, and who may edit."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import AuditEntry, TransportCost
from app.services.transport_costs import CostRefused, parse_cost

from .conftest import csrf_token_from, login_as

PAGE = "/staff/admin/transport-costs"
CELL = "/staff/admin/transport-costs/cell"
HX = {"HX-Request": "true"}


@pytest.fixture
def admin(client, make, session):
    make.staff(userid="admin", password="admin-pass", library="CPL")
    make.library("FPL")
    session.commit()
    assert login_as(client, "admin", "admin-pass", staff=True).status_code == 302
    return client


def _post(client, cost, blocked=False, headers=HX, source="CPL", to="FPL"):
    token = csrf_token_from(client.get(PAGE).get_data(as_text=True))
    data = {"csrf_token": token, "from": source, "to": to, "cost": cost}
    if blocked:
        data["blocked"] = "1"
    return client.post(CELL, data=data, headers=headers)


def _stored(session):
    session.rollback()
    return session.get(TransportCost, ("CPL", "FPL"))


@pytest.mark.parametrize("raw, value", [("0", "0.00"), ("2.5", "2.50"), (" 7 ", "7.00")])
def test_good_costs_parse(raw, value):
    assert parse_cost(raw) == Decimal(value)


@pytest.mark.parametrize("raw", ["", "   ", "-1", "abc", "NaN", "inf", "1e9", None])
def test_bad_costs_are_refused(raw):
    with pytest.raises(CostRefused):
        parse_cost(raw)


def test_the_grid_has_an_inline_form_per_pair(admin):
    html = admin.get(PAGE).get_data(as_text=True)
    assert 'id="cost-CPL-FPL"' in html and 'id="cost-FPL-CPL"' in html and 'id="cost-CPL-CPL"' not in html
    assert 'hx-post="/staff/admin/transport-costs/cell"' in html


def test_a_cell_is_saved_inline_and_audited(admin, session):
    response = _post(admin, "3.5")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<td id="cost-CPL-FPL"')
    assert 'value="3.50"' in html and "saved" in html
    row = _stored(session)
    assert row.cost == Decimal("3.50") and not row.blocked
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "transport_cost")) is not None


def test_blocking_keeps_the_cost(admin, session):
    _post(admin, "4")
    _post(admin, "4", blocked=True)
    row = _stored(session)
    assert row.blocked and row.cost == Decimal("4.00")
    _post(admin, "4", blocked=False)
    assert not _stored(session).blocked


@pytest.mark.parametrize("bad", ["", "-2", "twelve"])
def test_bad_input_is_shown_inline_and_never_stored(admin, session, bad):
    _post(admin, "6")
    response = _post(admin, bad, blocked=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'role="alert"' in html and 'aria-invalid="true"' in html
    row = _stored(session)
    assert row.cost == Decimal("6.00") and not row.blocked  # neither blocked nor zero


def test_bad_input_on_an_unset_pair_stores_nothing(admin, session):
    _post(admin, "x")
    assert _stored(session) is None


def test_without_javascript_the_cell_posts_and_redirects(admin, session):
    response = _post(admin, "1", headers={})
    assert response.status_code == 302
    assert _stored(session).cost == Decimal("1.00")


def test_an_unknown_library_is_not_found(admin):
    assert _post(admin, "1", to="NOPE").status_code == 404


def test_a_library_to_itself_is_refused(admin, session):
    html = _post(admin, "1", to="CPL").get_data(as_text=True)
    assert 'role="alert"' in html
    session.rollback()
    assert session.get(TransportCost, ("CPL", "CPL")) is None


def test_staff_without_administration_may_not_edit(client, make, session):
    make.staff("circulate", userid="clerk", password="clerk-pass")
    make.library("FPL")
    session.commit()
    login_as(client, "clerk", "clerk-pass", staff=True)
    assert client.post(CELL, data={"from": "CPL", "to": "FPL", "cost": "1"}).status_code in (302, 400, 403)
    session.rollback()
    assert session.get(TransportCost, ("CPL", "FPL")) is None
