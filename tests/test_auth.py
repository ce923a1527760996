"""Logging in and out of the OPAC and the staff site."""
from __future__ import annotations

from app.models import AuditEntry, LoginThrottle
from sqlalchemy import select

from .conftest import csrf_token_from, login_as


def test_patron_logs_into_the_opac_by_cardnumber(client, make, session):
    make.patron(cardnumber="23529000000099", userid="reader", password="correct horse")
    session.commit()
    response = login_as(client, "23529000000099", "correct horse")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account")
    page = client.get("/account").get_data(as_text=True)
    assert "23529000000099" in page


def test_patron_logs_into_the_opac_by_userid(client, make, session):
    make.patron(userid="reader", password="correct horse")
    session.commit()
    assert login_as(client, "reader", "correct horse").status_code == 302


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, make, session):
    make.patron(userid="reader", password="correct horse")
    session.commit()
    response = login_as(client, "reader", "wrong")
    assert response.status_code == 401
    assert "Invalid login or password" in response.get_data(as_text=True)
    unknown = login_as(client, "nobody", "wrong")
    assert "Invalid login or password" in unknown.get_data(as_text=True)
    assert client.get("/account").status_code == 302  # still logged out


def test_patron_without_permissions_cannot_log_into_the_staff_site(client, make, session):
    make.patron(userid="reader", password="correct horse")
    session.commit()
    response = login_as(client, "reader", "correct horse", staff=True)
    assert response.status_code == 401
    assert "no access to the staff interface" in response.get_data(as_text=True)


def test_staff_logs_in_and_lands_on_the_staff_home(client, make, session):
    make.staff(userid="librarian", password="s3cret-pass")
    session.commit()
    response = login_as(client, "librarian", "s3cret-pass", staff=True)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/")
    assert "Welcome" in client.get("/staff/").get_data(as_text=True)


def test_an_opac_session_does_not_open_the_staff_site(client, make, session):
    make.staff(userid="librarian", password="s3cret-pass")
    session.commit()
    login_as(client, "librarian", "s3cret-pass")  # OPAC login
    response = client.get("/staff/")
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


def test_login_starts_a_new_session(client, make, session):
    make.patron(userid="reader", password="correct horse")
    session.commit()
    client.get("/login")
    with client.session_transaction() as before:
        before["planted"] = "by an attacker"
    login_as(client, "reader", "correct horse")
    with client.session_transaction() as after:
        assert "planted" not in after
        assert after.get("interface") == "opac"


def test_logout_ends_the_session(client, make, session):
    make.patron(userid="reader", password="correct horse")
    session.commit()
    login_as(client, "reader", "correct horse")
    token = csrf_token_from(client.get("/account").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/account").status_code == 302


def test_next_parameter_cannot_send_users_to_another_site(client, make, session):
    make.patron(userid="reader", password="correct horse")
    session.commit()
    page = client.get("/login?next=https://evil.example/steal")
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post("/login", data={"login": "reader", "password": "correct horse",
                                           "csrf_token": token, "next": "https://evil.example/steal"})
    assert response.headers["Location"].endswith("/account")


def test_repeated_failures_throttle_the_account_even_with_the_right_password(client, make, session, app):
    make.patron(userid="reader", password="correct horse")
    session.commit()
    for _ in range(app.config["LOGIN_MAX_FAILURES_ACCOUNT"]):
        assert login_as(client, "reader", "wrong").status_code == 401
    response = login_as(client, "reader", "correct horse")
    assert response.status_code == 429
    assert "Too many failed logins" in response.get_data(as_text=True)


def test_repeated_failures_from_one_address_throttle_that_address(client, make, session, app):
    make.patron(userid="reader", password="correct horse")
    session.commit()
    for n in range(app.config["LOGIN_MAX_FAILURES_ADDRESS"]):
        login_as(client, f"guess{n}", "wrong")
    assert login_as(client, "reader", "correct horse").status_code == 429


def test_successful_login_clears_the_failure_count(client, make, session):
    patron = make.patron(userid="reader", password="correct horse")
    session.commit()
    login_as(client, "reader", "wrong")
    assert login_as(client, "reader", "correct horse").status_code == 302
    session.expire_all()
    assert session.get(LoginThrottle, f"account:{patron.id}") is None


def test_logins_are_audited_without_passwords(client, make, session):
    make.patron(userid="reader", password="correct horse")
    session.commit()
    login_as(client, "reader", "wrong-password-123")
    login_as(client, "reader", "correct horse")
    entries = session.scalars(select(AuditEntry).where(AuditEntry.module == "AUTH").order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["FAILURE", "SUCCESS"]
    assert all("wrong-password-123" not in repr(e.info) and "correct horse" not in repr(e.info) for e in entries)


def test_session_cookie_is_httponly_and_samesite(client, make, session):
    make.patron(userid="reader", password="correct horse")
    session.commit()
    response = login_as(client, "reader", "correct horse")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_password_hashes_are_argon2id(make, session):
    patron = make.patron(password="correct horse")
    assert patron.password_hash.startswith("$argon2id$")
