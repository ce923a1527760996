"""The SIP2 administration page: institutions and accounts created, edited and deleted by staff
with the administration permission, passwords hashed (blank keeps the old one), values checked,
CSRF required, every change audited; and a kiosk logs in with what the page saved."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import AuditEntry, SipAccount, SipInstitution
from app.services.passwords import verify_password

from .conftest import csrf_token_from, login_as
from .test_sip2_fixtures import Kiosk, limits  # noqa: F401  (fixtures)

PAGE = "/staff/admin/sip2"


@pytest.fixture
def admin(client, make, session):
    make.staff(userid="admin", password="admin-pass", library="CPL")
    make.library("FPL", name="Fairview")
    session.commit()
    assert login_as(client, "admin", "admin-pass", staff=True).status_code == 302
    return client


def token(client, page: str = PAGE) -> str:
    return csrf_token_from(client.get(page).get_data(as_text=True))


INSTITUTION = {"id": "CPLSELF", "name": "Centerville self-check", "checkin_ok": "y", "checkout_ok": "y",
               "renewal_ok": "y", "timeout_period": "50", "retries_allowed": "3"}


def account_form(**changes) -> dict:
    form = {"login": "kiosk-7", "password": "s3cret-pass", "institution_id": "CPLSELF", "library_code": "FPL",
            "actor": "admin", "enabled": "y", "terminator": "CRLF", "delimiter": "^", "encoding": "cp850",
            "supports_magnetic_media": "y", "checked_in_ok": "y", "hidden_fields": ["BD", "PB"],
            "allowed_addresses": "127.0.0.1\n10.1.0.0/16"}
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def test_staff_create_an_institution_and_an_account_that_a_kiosk_can_use(app, admin, session):
    response = admin.post(f"{PAGE}/institutions/new", data=INSTITUTION | {"csrf_token": token(admin)})
    assert response.status_code == 302
    response = admin.post(f"{PAGE}/accounts/new", data=account_form(csrf_token=token(admin)))
    assert response.status_code == 302, response.get_data(as_text=True)
    session.rollback()
    institution = session.get(SipInstitution, "CPLSELF")
    assert (institution.checkout_ok, institution.status_update_ok, institution.timeout_period) == (True, False, 50)
    account = session.scalar(select(SipAccount).where(SipAccount.login == "kiosk-7"))
    assert verify_password(account.password_hash, "s3cret-pass") and "s3cret-pass" not in account.password_hash
    assert (account.terminator, account.delimiter, account.encoding, account.library_code) == ("CRLF", "^", "cp850", "FPL")
    assert account.hidden_field_codes == {"BD", "PB"} and account.checked_in_ok and not account.allow_empty_pin
    assert account.actor_id is not None and account.allowed_addresses == "127.0.0.1\n10.1.0.0/16"
    html = admin.get(PAGE).get_data(as_text=True)
    assert "Centerville self-check" in html and "kiosk-7" in html and "s3cret" not in html
    actions = {entry.action for entry in session.scalars(select(AuditEntry).where(AuditEntry.module == "SIP2"))}
    assert actions == {"CREATE_INSTITUTION", "CREATE_ACCOUNT"}

    from app.sip2.server import Limits, SipServer

    with SipServer(app, ["tcp:127.0.0.1:0"], limits=Limits(), workers=1) as server:
        kiosk = Kiosk(server.addresses[0])
        try:
            kiosk.send(b"9300CNkiosk-7^COs3cret-pass^\r")
            assert kiosk.receive(b"\r\n") == b"941"  # CR LF, as the account says
        finally:
            kiosk.close()


def test_a_blank_password_keeps_the_old_one_and_edits_are_saved(admin, session):
    admin.post(f"{PAGE}/institutions/new", data=INSTITUTION | {"csrf_token": token(admin)})
    admin.post(f"{PAGE}/accounts/new", data=account_form(csrf_token=token(admin)))
    session.rollback()
    account = session.scalar(select(SipAccount).where(SipAccount.login == "kiosk-7"))
    old_hash = account.password_hash
    page = f"{PAGE}/accounts/{account.id}"
    form = admin.get(page).get_data(as_text=True)
    assert 'value="kiosk-7"' in form and "s3cret" not in form and "$argon2" not in form
    response = admin.post(page, data=account_form(password="", enabled=None, error_detection="y",
                                                  csrf_token=token(admin, page)))
    assert response.status_code == 302
    session.rollback()
    session.expire_all()
    account = session.get(SipAccount, account.id)
    assert account.password_hash == old_hash and not account.enabled and account.error_detection


@pytest.mark.parametrize("changes, words", [
    ({"allowed_addresses": "10.0.0.1, not-an-address"}, "Not an address or network: not-an-address"),
    ({"delimiter": "x"}, "not a letter"),
    ({"password": ""}, "A new account needs a password"),
    ({"actor": "nobody-at-all"}, "No staff member"),
])
def test_bad_account_values_are_refused_on_the_form(admin, session, changes, words):
    admin.post(f"{PAGE}/institutions/new", data=INSTITUTION | {"csrf_token": token(admin)})
    response = admin.post(f"{PAGE}/accounts/new", data=account_form(**changes, csrf_token=token(admin)))
    assert response.status_code == 200 and words in response.get_data(as_text=True)
    session.rollback()
    assert session.scalars(select(SipAccount)).all() == []


def test_a_taken_login_and_a_taken_institution_id_are_refused(admin, session):
    admin.post(f"{PAGE}/institutions/new", data=INSTITUTION | {"csrf_token": token(admin)})
    again = admin.post(f"{PAGE}/institutions/new", data=INSTITUTION | {"csrf_token": token(admin)})
    assert "already exists" in again.get_data(as_text=True)
    admin.post(f"{PAGE}/accounts/new", data=account_form(csrf_token=token(admin)))
    twice = admin.post(f"{PAGE}/accounts/new", data=account_form(csrf_token=token(admin)))
    assert "is taken" in twice.get_data(as_text=True)


def test_deleting_accounts_and_then_their_institution(admin, session):
    admin.post(f"{PAGE}/institutions/new", data=INSTITUTION | {"csrf_token": token(admin)})
    admin.post(f"{PAGE}/accounts/new", data=account_form(csrf_token=token(admin)))
    session.rollback()
    account = session.scalar(select(SipAccount))
    refused = admin.post(f"{PAGE}/institutions/CPLSELF/delete", data={"csrf_token": token(admin)},
                         follow_redirects=True)
    assert "Move or delete its accounts first." in refused.get_data(as_text=True)
    admin.post(f"{PAGE}/accounts/{account.id}/delete", data={"csrf_token": token(admin)})
    admin.post(f"{PAGE}/institutions/CPLSELF/delete", data={"csrf_token": token(admin)})
    session.rollback()
    assert session.scalars(select(SipAccount)).all() == [] and session.get(SipInstitution, "CPLSELF") is None


def test_posts_without_a_csrf_token_are_refused(admin, session):
    response = admin.post(f"{PAGE}/institutions/new", data=INSTITUTION)
    assert response.status_code == 400
    session.rollback()
    assert session.get(SipInstitution, "CPLSELF") is None


@pytest.mark.parametrize("method, url", [("get", PAGE), ("get", f"{PAGE}/accounts/new"),
                                         ("post", f"{PAGE}/institutions/new"), ("post", f"{PAGE}/accounts/1/delete")])
def test_staff_without_the_administration_permission_are_refused(client, make, session, method, url):
    make.staff("circulate", userid="clerk", password="clerk-pass")
    session.commit()
    login_as(client, "clerk", "clerk-pass", staff=True)
    data = {"csrf_token": token(client, "/staff/")} if method == "post" else None
    response = getattr(client, method)(url, data=data)
    assert response.status_code == 403
