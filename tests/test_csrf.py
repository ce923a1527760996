"""Every form is protected against cross-site request forgery, the login forms included."""
from __future__ import annotations

from .conftest import csrf_token_from, login_as


def test_opac_login_without_a_token_is_refused(client, make, session):
    make.patron(userid="reader", password="correct horse")
    session.commit()
    response = client.post("/login", data={"login": "reader", "password": "correct horse"})
    assert response.status_code == 400
    assert client.get("/account").status_code == 302


def test_staff_login_with_a_forged_token_is_refused(client, make, session):
    make.staff(userid="librarian", password="s3cret-pass")
    session.commit()
    client.get("/staff/login")
    response = client.post("/staff/login", data={"login": "librarian", "password": "s3cret-pass",
                                                 "csrf_token": "forged"})
    assert response.status_code == 400


def test_logout_without_a_token_does_not_log_out(client, make, session):
    make.patron(userid="reader", password="correct horse")
    session.commit()
    login_as(client, "reader", "correct horse")
    client.post("/logout")
    assert client.get("/account").status_code == 200


def test_every_post_route_refuses_a_missing_token(app, client, make, session):
    """Walks every registered route that accepts POST: without a token, each answers 400."""
    staff = make.staff(userid="librarian", password="s3cret-pass")
    session.commit()
    login_as(client, "librarian", "s3cret-pass", staff=True)
    from .route_walk import build_url

    checked = 0
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint == "static" or rule.rule.startswith("/api/"):
            continue
        response = client.post(build_url(rule, {"patron_id": staff.id}), data={})
        assert response.status_code == 400, f"{rule.rule} accepted a POST without a CSRF token"
        checked += 1
    assert checked >= 3
