"""REST API authentication: OAuth2 client credentials as Koha answers them, bearer tokens with the
key owner's permissions, Basic auth with a staff login, JSON errors, and password validation."""
from __future__ import annotations

import base64
import datetime as dt

import pytest
from sqlalchemy import select, update

from app import clock
from app.models import ApiToken, Patron
from app.services.activity import default_tracker
from app.services.api_keys import create_api_key, digest
from app.services.settings import set_preference


@pytest.fixture
def api(app, make, session):
    """A staff member with the patrons and holds permissions and an API key of theirs."""
    make.library("CPL")
    make.library("MPL")
    make.category("PT")
    staff = make.staff("patrons", "holds", userid="apistaff", password="staff-pw", library="CPL")
    key = create_api_key(session, staff, "tests", staff)
    session.commit()
    return {"staff": staff, "client_id": key.client.client_id, "secret": key.secret}


def get_token(client, client_id, secret):
    return client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                    "client_secret": secret})


@pytest.fixture
def headers(client, api):
    token = get_token(client, api["client_id"], api["secret"]).get_json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def basic(login, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()}


def key_for(make, session, *permissions, userid):
    staff = make.staff(*permissions, userid=userid, password="pw", library="CPL")
    key = create_api_key(session, staff, None, staff)
    session.commit()
    return key


def test_token_flow_as_koha_answers_it(client, api, session):
    response = get_token(client, api["client_id"], api["secret"])
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and len(body["access_token"]) > 30
    stored = session.scalars(select(ApiToken)).one()
    assert stored.token_hash == digest(body["access_token"])  # only the digest is kept
    me = client.get("/api/v1/patrons", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200


def test_token_refusals(client, api, app, session):
    assert get_token(client, api["client_id"], "wrong").get_json() == {"error": "unauthorized_client"}
    assert get_token(client, "nobody", "x").status_code == 403
    response = client.post("/api/v1/oauth/token", data={"grant_type": "password"})
    assert response.status_code == 400 and response.get_json() == {"error": "Unimplemented grant type"}
    with app.app_context():
        from app.extensions import db

        set_preference(db.session, "RESTOAuth2ClientCredentials", False, None)
        db.session.commit()
    assert get_token(client, api["client_id"], api["secret"]).get_json() == {"error": "Unimplemented grant type"}


def test_client_credentials_in_basic_auth_on_the_token_endpoint(client, api):
    response = client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials"},
                           headers=basic(api["client_id"], api["secret"]))
    assert response.status_code == 200 and response.get_json()["access_token"]


def test_missing_bad_and_expired_tokens_are_401(client, api, headers, session):
    response = client.get("/api/v1/patrons")
    assert response.status_code == 401 and response.get_json() == {"error": "Authentication failure."}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/patrons", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    session.execute(update(ApiToken).values(expires_at=clock.now() - dt.timedelta(seconds=1)))
    session.commit()
    response = client.get("/api/v1/patrons", headers=headers)
    assert response.status_code == 401 and response.get_json()["error"] == "The token has expired."


def test_revoked_key_stops_its_tokens(client, api, headers, session):
    from app.models import ApiClient
    from app.services.api_keys import set_api_key_active

    set_api_key_active(session, session.get(ApiClient, api["client_id"]), False, None)
    session.commit()
    assert client.get("/api/v1/patrons", headers=headers).status_code == 401
    assert get_token(client, api["client_id"], api["secret"]).get_json() == {"error": "access_denied"}


def test_token_has_the_permissions_of_the_key_owner(client, api, make, session):
    key = key_for(make, session, "circulate", userid="circ")
    token = get_token(client, key.client.client_id, key.secret).get_json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    response = client.get("/api/v1/patrons", headers=auth)
    assert response.status_code == 403
    assert response.get_json()["error"] == "Authorization failure. Missing required permission(s)."
    assert client.get("/api/v1/libraries", headers=auth).status_code == 200  # any staff
    assert client.get("/api/v1/holds", headers=auth).status_code == 403
    patron = make.patron(library="CPL")
    key = create_api_key(session, patron, None, None)  # a key of a patron without permissions
    session.commit()
    token = get_token(client, key.client.client_id, key.secret).get_json()["access_token"]
    assert client.get("/api/v1/libraries", headers={"Authorization": f"Bearer {token}"}).status_code == 403


def test_basic_auth_with_a_staff_login_when_the_preference_allows_it(client, api, app, session):
    response = client.get("/api/v1/patrons", headers=basic("apistaff", "staff-pw"))
    assert response.status_code == 401 and "RESTBasicAuth" in response.get_json()["error"]
    set_preference(session, "RESTBasicAuth", True, None)
    session.commit()
    assert client.get("/api/v1/patrons", headers=basic("apistaff", "staff-pw")).status_code == 200
    assert client.get("/api/v1/patrons", headers=basic("apistaff", "wrong")).status_code == 401
    session.rollback()
    session.expire_all()
    assert session.get(Patron, api["staff"].id).login_attempts == 1  # the failure was counted


def test_password_validation_counts_as_patron_activity(client, api, headers, make, session):
    set_preference(session, "TrackLastPatronActivityTriggers", "connection", None)
    reader = make.patron(cardnumber="C-77", userid="reader77", password="reader-pw", library="CPL")
    session.commit()
    default_tracker.forget()
    response = client.post("/api/v1/auth/password/validation", json={"identifier": "C-77", "password": "reader-pw"},
                           headers=headers)
    assert response.status_code == 201
    assert response.get_json() == {"patron_id": reader.id, "cardnumber": "C-77", "userid": "reader77"}
    session.rollback()
    session.expire_all()
    assert session.get(Patron, reader.id).lastseen is not None
    wrong = client.post("/api/v1/auth/password/validation", json={"userid": "reader77", "password": "no"},
                        headers=headers)
    assert wrong.status_code == 400 and wrong.get_json() == {"error": "Validation failed"}
    missing = client.post("/api/v1/auth/password/validation", json={"password": "x"}, headers=headers)
    assert missing.status_code == 400 and missing.get_json()["field"] == "identifier"


def test_api_errors_are_json(client, headers):
    assert client.get("/api/v1/nothing-here", headers=headers).get_json() == {"error": "Not found"}
    response = client.delete("/api/v1/libraries", headers=headers)
    assert response.status_code == 405 and "error" in response.get_json()
    response = client.post("/api/v1/patrons", data="{not json", headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.get_json()["error"] == "The body is not valid JSON."


def test_every_api_route_refuses_anonymous_and_unpermitted_callers(app, client, api, make, session):
    """The API's own permission walk (the site-wide walk skips audience "api")."""
    from app.blueprints.access import access_of

    from .route_walk import build_url

    keys = {permission: key_for(make, session, permission, userid=f"walk-{permission}")
            for permission in ("circulate", "patrons", "holds")}
    tokens = {p: get_token(client, k.client.client_id, k.secret).get_json()["access_token"] for p, k in keys.items()}
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        audience, permission = access_of(app.view_functions[rule.endpoint])
        assert audience == "api", rule.rule
        public = rule.endpoint in ("api.oauth_token", "api.openapi_document", "api.openapi_page")
        url = build_url(rule, {})
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            anonymous = client.open(url, method=method, json={})
            if public:
                assert anonymous.status_code not in (401, 403), rule.rule
                continue
            assert anonymous.status_code == 401, (method, rule.rule)
            for held, token in tokens.items():
                response = client.open(url, method=method, json={}, headers={"Authorization": f"Bearer {token}"})
                if permission is None or permission == held:
                    assert response.status_code not in (401, 403), (held, method, rule.rule)
                else:
                    assert response.status_code == 403, (held, method, rule.rule, response.status_code)
            checked += 1
    assert checked >= 20
