"""Every registered route, walked as anonymous, patron, staff without the route's permission and
staff with it. New routes are covered automatically: a route without an access declaration fails."""
from __future__ import annotations

import datetime as dt

import pytest

from app import clock
from app.blueprints.access import access_of
from app.models import Hold, Loan, Permission

from .conftest import csrf_token_from, login_as
from .route_walk import build_url

LOGIN_PAGES = ("/login", "/staff/login")


@pytest.fixture
def world(make, session):
    """One of everything a route may need, plus the four kinds of visitor."""
    patron = make.patron(userid="reader", password="pw-reader")
    title = make.title(title="Walk test title")
    item = make.item(title)
    loan = Loan(patron_id=patron.id, item_id=item.id, library_code="CPL", issued_at=clock.now(),
                due_at=clock.now() + dt.timedelta(days=14))
    hold = Hold(patron_id=patron.id, title_id=title.id, pickup_library_code="CPL", queue_key=1)
    session.add_all([loan, hold])
    staff_by_permission = {}
    for permission in Permission:
        if permission is Permission.SUPERLIBRARIAN:
            continue
        staff_by_permission[permission.value] = make.staff(permission.value, userid=f"staff-{permission.value}",
                                                           password="pw-staff")
    session.commit()
    ids = {"patron_id": patron.id, "title_id": title.id, "item_id": item.id, "loan_id": loan.id,
           "hold_id": hold.id, "biblio_id": title.id, "name": "LibraryName"}
    return ids, staff_by_permission


def _routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        yield rule, app.view_functions[rule.endpoint]


def _method(rule) -> str:
    return "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]


def _request(client, rule, ids, token_page="/login"):
    method = _method(rule)
    url = build_url(rule, ids)
    if method == "GET":
        return client.get(url)
    token = csrf_token_from(client.get(token_page).get_data(as_text=True))
    return client.open(url, method=method, data={"csrf_token": token}, headers={"X-CSRFToken": token})


def _is_login_redirect(response, login_path: str) -> bool:
    return response.status_code == 302 and login_path in response.headers.get("Location", "")


def test_every_route_declares_who_may_use_it(app):
    undeclared = [rule.rule for rule, view in _routes(app) if access_of(view) is None]
    assert undeclared == [], f"routes without an access decorator: {undeclared}"


def test_anonymous_visitors_reach_only_public_routes(app, world):
    ids, _ = world
    for rule, view in _routes(app):
        audience, _permission = access_of(view)
        if audience == "api":
            continue
        response = _request(app.test_client(), rule, ids)
        if audience == "public":
            assert response.status_code not in (401, 403), rule.rule
        elif audience == "patron":
            assert _is_login_redirect(response, "/login"), f"{rule.rule}: {response.status_code}"
        else:
            assert _is_login_redirect(response, "/staff/login"), f"{rule.rule}: {response.status_code}"


def test_patrons_reach_opac_routes_but_never_staff_routes(app, world):
    ids, _ = world
    client = app.test_client()
    assert login_as(client, "reader", "pw-reader").status_code == 302
    for rule, view in _routes(app):
        audience, _permission = access_of(view)
        if audience == "api" or rule.rule in LOGIN_PAGES or rule.rule == "/logout":
            continue
        response = _request(client, rule, ids, token_page="/account")
        if audience == "staff":
            assert response.status_code == 403, f"{rule.rule}: {response.status_code}"
        else:
            assert response.status_code not in (401, 403) and not _is_login_redirect(response, "/login"), rule.rule


def test_staff_reach_exactly_the_areas_their_permissions_open(app, world):
    ids, staff_by_permission = world
    for permission in staff_by_permission:
        client = app.test_client()
        assert login_as(client, f"staff-{permission}", "pw-staff", staff=True).status_code == 302
        for rule, view in _routes(app):
            audience, needed = access_of(view)
            if audience != "staff":
                continue
            response = _request(client, rule, ids, token_page="/staff/")
            if needed is None or needed == permission:
                assert response.status_code not in (401, 403), f"{permission} refused {rule.rule}"
                assert not _is_login_redirect(response, "/staff/login"), rule.rule
            else:
                assert response.status_code == 403, f"{permission} reached {rule.rule}: {response.status_code}"


def test_superlibrarian_reaches_every_staff_route(app, world, make, session):
    ids, _ = world
    make.staff("superlibrarian", userid="boss", password="pw-boss")
    session.commit()
    client = app.test_client()
    login_as(client, "boss", "pw-boss", staff=True)
    for rule, view in _routes(app):
        audience, _needed = access_of(view)
        if audience != "staff":
            continue
        response = _request(client, rule, ids, token_page="/staff/")
        assert response.status_code not in (401, 403), rule.rule
        if _method(rule) == "GET":
            assert response.status_code in (200, 302, 404), f"{rule.rule}: {response.status_code}"
