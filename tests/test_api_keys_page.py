"""API keys on the staff patron page: create (client id shown, secret shown once and stored
hashed), revoke, activate, delete; only the owner or a superlibrarian may grant a key."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.models import ApiClient, AuditEntry

from .conftest import csrf_token_from, login_as


def _client(app, make, session, *permissions, userid="keeper"):
    staff = make.staff(*permissions, userid=userid, password="pw", library="CPL")
    session.commit()
    client = app.test_client()
    assert login_as(client, userid, "pw", staff=True).status_code == 302
    return client, staff


def _post(client, url, **data):
    token = csrf_token_from(client.get("/staff/").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data}, headers={"HX-Request": "true"})


def test_patron_page_offers_api_keys_and_a_key_is_created_with_its_secret_shown_once(app, make, session):
    client, staff = _client(app, make, session, "patrons")
    page = client.get(f"/staff/patrons/{staff.id}").get_data(as_text=True)
    assert f'hx-get="/staff/patrons/{staff.id}/api-keys"' in page and "Manage API keys" in page
    response = _post(client, f"/staff/patrons/{staff.id}/api-keys", description="Prox sync")
    html = response.get_data(as_text=True)
    client_id = re.search(r'class="client-id">([^<]+)<', html).group(1)
    secret = re.search(r'class="client-secret">([^<]+)<', html).group(1)
    session.rollback()
    key = session.get(ApiClient, client_id)
    assert key.description == "Prox sync" and key.active and secret not in key.secret_hash
    assert key.secret_hash.startswith("$argon2id$")
    again = client.get(f"/staff/patrons/{staff.id}/api-keys").get_data(as_text=True)
    assert client_id in again and secret not in again  # shown once
    assert session.scalars(select(AuditEntry.action).where(AuditEntry.module == "APIKEYS")).all() == ["CREATE"]


def test_keys_are_revoked_activated_and_deleted(app, make, session):
    client, staff = _client(app, make, session, "patrons")
    html = _post(client, f"/staff/patrons/{staff.id}/api-keys").get_data(as_text=True)
    client_id = re.search(r'class="client-id">([^<]+)<', html).group(1)
    base = f"/staff/patrons/{staff.id}/api-keys/{client_id}"
    assert "revoked" in _post(client, f"{base}/revoke").get_data(as_text=True)
    session.rollback()
    assert session.get(ApiClient, client_id).active is False
    _post(client, f"{base}/activate")
    session.rollback()
    session.expire_all()
    assert session.get(ApiClient, client_id).active is True
    assert "No API keys" in _post(client, f"{base}/delete").get_data(as_text=True)
    assert _post(client, f"{base}/nonsense").status_code == 404


def test_only_the_owner_or_a_superlibrarian_may_grant_keys(app, make, session):
    client, _staff = _client(app, make, session, "patrons")
    boss = make.staff("superlibrarian", userid="boss", password="pw")
    session.commit()
    response = _post(client, f"/staff/patrons/{boss.id}/api-keys")
    assert response.status_code == 200 and "Only the patron or a superlibrarian" in response.get_data(as_text=True)
    session.rollback()
    assert session.scalars(select(ApiClient)).all() == []
    boss_client, _ = _client(app, make, session, "superlibrarian", userid="boss2")
    assert "client-secret" in _post(boss_client, f"/staff/patrons/{_staff.id}/api-keys").get_data(as_text=True)
